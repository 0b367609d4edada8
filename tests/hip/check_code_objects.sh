#!/usr/bin/env bash
# CTest hip_code_objects (labels hip-build, cpu; needs no GPU).
#   check_code_objects.sh ARCHS FILE...
# ARCHS is a comma-separated list of gfx targets (e.g. gfx90a,gfx1030). For every FILE (the
# hipcc object, a program linked with ecostat_lib) and every arch it checks that:
#   - the offload bundle holds an entry hipv4-amdgcn-amd-amdhsa--<arch>,
#   - that entry is an AMDGPU ELF code object whose metadata names amdgcn-amd-amdhsa--<arch>,
#   - it holds kernels (kernel descriptors), and prints their count and wavefront sizes,
#   - every name in ECOSTAT_HIP_EXPECT_KERNELS (comma-separated substrings of mangled kernel
#     names) is among them.
# Tools: roc-obj-ls (Debian's hipcc package, ROCm) lists the bundle entries; dd extracts them;
# llvm-readelf reads them.
set -u
archs=$1
shift
fail=0
say() { printf '%s\n' "$*"; }
bad() { printf 'FAIL: %s\n' "$*"; fail=1; }

find_tool() {  # ROCm's own tools first (they know the newest targets), then PATH
  local name dir
  for dir in ${ROCM_PATH:+"$ROCM_PATH/llvm/bin" "$ROCM_PATH/bin"} /opt/rocm/llvm/bin /opt/rocm/bin; do
    for name in "$@"; do
      [ -x "$dir/$name" ] && { echo "$dir/$name"; return 0; }
    done
  done
  for name in "$@"; do
    command -v "$name" 2>/dev/null && return 0
  done
  return 1
}
readelf=$(find_tool llvm-readelf-17 llvm-readelf-16 llvm-readelf-15 llvm-readelf) \
  || { say "FAIL: llvm-readelf not found"; exit 1; }
objls=$(find_tool roc-obj-ls) || { say "FAIL: roc-obj-ls not found (hipcc package)"; exit 1; }

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

for file in "$@"; do
  say "== $file"
  [ -f "$file" ] || { bad "$file does not exist"; continue; }
  # Lines: <count> <bundle entry id> file://<path>#offset=<n>&size=<n>
  if ! "$objls" "$file" >"$tmp/list" 2>"$tmp/err"; then
    bad "roc-obj-ls failed on $file: $(cat "$tmp/err")"
    continue
  fi
  IFS=',' read -r -a want <<<"$archs"
  for arch in "${want[@]}"; do
    # Target ids may carry features: hipv4-amdgcn-amd-amdhsa--gfx90a:sramecc+:xnack-
    line=$(grep -E "amdgcn-amd-amdhsa--${arch}(:[^ ]*)?[[:space:]]" "$tmp/list" | head -n 1)
    if [ -z "$line" ]; then
      bad "$arch: no code object in $file (bundle entries: $(awk '{print $2}' "$tmp/list" | tr '\n' ' '))"
      continue
    fi
    uri=$(awk '{print $3}' <<<"$line")
    offset=$(sed -E 's/.*offset=([0-9]+).*/\1/' <<<"$uri")
    size=$(sed -E 's/.*size=([0-9]+).*/\1/' <<<"$uri")
    if [ "${size:-0}" -eq 0 ]; then
      bad "$arch: empty code object in $file"
      continue
    fi
    co="$tmp/$arch.co"
    dd if="$file" of="$co" bs=4096 iflag=skip_bytes,count_bytes skip="$offset" count="$size" status=none
    machine=$("$readelf" -h "$co" 2>/dev/null | awk -F: '/Machine/ {gsub(/ /, "", $2); print $2}')
    [ "$machine" = "EM_AMDGPU" ] || { bad "$arch: entry is not an AMDGPU ELF (machine '$machine')"; continue; }
    notes=$("$readelf" --notes "$co" 2>/dev/null)
    target=$(grep -m1 -E 'amdhsa\.target:' <<<"$notes" | awk '{print $2}')
    case "$target" in
      amdgcn-amd-amdhsa--"$arch"|amdgcn-amd-amdhsa--"$arch":*) ;;
      *) bad "$arch: code object metadata names target '$target'"; continue ;;
    esac
    kernels=$("$readelf" --symbols "$co" 2>/dev/null | awk '$NF ~ /\.kd$/ {print $NF}' | sort -u)
    nk=$(grep -c . <<<"$kernels")
    waves=$(grep -E '\.wavefront_size:' <<<"$notes" | awk '{print $2}' | sort -u | tr '\n' ' ')
    [ "$nk" -gt 0 ] || { bad "$arch: code object holds no kernel"; continue; }
    say "ok   $arch: $size bytes, target $target, $nk kernels, wavefront size ${waves% }"
    if [ -n "${ECOSTAT_HIP_EXPECT_KERNELS:-}" ]; then
      IFS=',' read -r -a expect <<<"$ECOSTAT_HIP_EXPECT_KERNELS"
      for k in "${expect[@]}"; do
        grep -q -- "$k" <<<"$kernels" || bad "$arch: no kernel named like '$k'"
      done
    fi
  done
done
if [ "$fail" -ne 0 ]; then
  say "hip_code_objects: FAILED"
  exit 1
fi
say "hip_code_objects: ok"
