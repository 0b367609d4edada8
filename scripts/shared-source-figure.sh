#!/usr/bin/env bash
# How much GPU source CUDA and HIP share: lines in kernels/common (written once) against the
# lines each backend has for itself in kernels/cuda and kernels/hip.
#
#   scripts/shared-source-figure.sh            prints the figure (Markdown)
#   scripts/shared-source-figure.sh --write    also puts it into docs/hip-backend.md, between
#                                              the shared-source-figure markers
#
# "code" counts lines that are neither blank nor only a comment; "all" counts every line.
# Build files (CMakeLists.txt) and the not-compiled stubs (stub.cpp) are left out: they are not
# device code. Where the `duplicates` tool is on PATH, its count of repeated runs between
# kernels/cuda and kernels/hip is added (near zero is the point of kernels/common).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"

files_of() {  # the source files of one folder (not its subfolders), sorted
  [ -d "$1" ] || return 0
  find "$1" -maxdepth 1 -type f \( -name '*.hpp' -o -name '*.h' -o -name '*.cuh' -o -name '*.cu' \
    -o -name '*.cpp' -o -name '*.cc' -o -name '*.inc' -o -name '*.hip' \) \
    ! -name 'stub.cpp' | LC_ALL=C sort
}

# all and code lines of the files given on stdin: "<all> <code>"
count() {
  local all=0 code=0 f a c
  while IFS= read -r f; do
    a=$(wc -l <"$f")
    c=$(awk '
      { line = $0 }
      inblock { if (index(line, "*/")) { inblock = 0; line = substr(line, index(line, "*/") + 2) } else next }
      {
        gsub(/^[ \t]+|[ \t]+$/, "", line)
        while (substr(line, 1, 2) == "/*") {
          e = index(substr(line, 3), "*/")
          if (e == 0) { inblock = 1; line = ""; break }
          line = substr(line, e + 4); gsub(/^[ \t]+/, "", line)
        }
        if (line == "" || substr(line, 1, 2) == "//") next
        n++
      }
      END { print n + 0 }' "$f")
    all=$((all + a)); code=$((code + c))
  done
  echo "$all $code"
}

read -r common_all common_code < <(files_of kernels/common | count)
read -r cuda_all cuda_code < <(files_of kernels/cuda | count)
read -r hip_all hip_code < <(files_of kernels/hip | count)
# kernels/common/emu: a CPU emulator of the portability layer, for tests (a third user of the
# shared code, neither backend's): shown apart, counted in neither.
read -r emu_all emu_code < <(files_of kernels/common/emu | count)

pct() {  # share of $1 in $1 + $2, one decimal
  awk -v s="$1" -v o="$2" 'BEGIN { if (s + o == 0) print "n/a"; else printf "%.1f%%", 100 * s / (s + o) }'
}

list() { files_of "$1" | sed 's|^.*/||' | paste -sd, - | sed 's/,/, /g'; }

dup_line=""
if command -v duplicates >/dev/null 2>&1 && [ -d kernels/cuda ] && [ -d kernels/hip ]; then
  tmp=$(mktemp -d)
  trap 'rm -rf "$tmp"' EXIT
  mkdir -p "$tmp/cuda" "$tmp/hip"
  files_of kernels/cuda | while IFS= read -r f; do cp "$f" "$tmp/cuda/"; done
  files_of kernels/hip | while IFS= read -r f; do cp "$f" "$tmp/hip/"; done
  out=$(cd "$tmp" && duplicates --repo "$tmp" --min-lines 6 --most 50 2>&1 || true)
  rows=$(grep -E '^D[0-9]+ ' <<<"$out" | grep -E '(cuda/.*~.*hip/|hip/.*~.*cuda/)' || true)
  same=$(grep -c . <<<"$rows" || true)
  shape=$(grep -c ' shape' <<<"$rows" || true)
  [ -n "$rows" ] || same=0 shape=0
  dup_line="Places where kernels/cuda and kernels/hip share 6+ lines (\`duplicates\`): $((same - shape)) copied to the letter, ${shape} alike in shape only (the same portability names over the two runtimes)."
fi

emu_row=""
if [ "$emu_all" -gt 0 ]; then
  emu_row="| kernels/common/emu | CPU emulator of the layer, for tests (in neither backend) | ${emu_code} | ${emu_all} | $(list kernels/common/emu) |
"
fi

figure=$(cat <<EOF
| folder | what | lines (code) | lines (all) | files |
| --- | --- | ---: | ---: | --- |
| kernels/common | kernel bodies + device backend, written once | ${common_code} | ${common_all} | $(list kernels/common) |
| kernels/cuda | CUDA only: runtime aliases, CUB wrappers, the .cu unit | ${cuda_code} | ${cuda_all} | $(list kernels/cuda) |
| kernels/hip | HIP only: runtime aliases, rocPRIM wrappers, the .hip.cpp unit | ${hip_code} | ${hip_all} | $(list kernels/hip) |
${emu_row}
Shared share of each backend's code lines: CUDA $(pct "$common_code" "$cuda_code"), HIP $(pct "$common_code" "$hip_code").
${dup_line}
(From \`scripts/shared-source-figure.sh\`; "code" = lines neither blank nor only a comment.)
EOF
)
echo "$figure"

if [ "${1:-}" = "--write" ]; then
  doc=docs/hip-backend.md
  begin='<!-- shared-source-figure:begin -->'
  end='<!-- shared-source-figure:end -->'
  grep -qF "$begin" "$doc" && grep -qF "$end" "$doc" || { echo "no markers in $doc" >&2; exit 1; }
  FIG="$figure" awk -v b="$begin" -v e="$end" '
    $0 == b { print; print ENVIRON["FIG"]; skip = 1; next }
    $0 == e { skip = 0 }
    !skip { print }' "$doc" >"$doc.tmp"
  mv "$doc.tmp" "$doc"
  echo "written into $doc" >&2
fi
