#!/usr/bin/env bash
# Installs the build and test dependencies from Debian's packages (needs root or sudo).
# Skips apt entirely when everything is already there. ECOSTAT_NO_HIP=1 leaves out the HIP toolchain.
set -euo pipefail
# pkgconf: scripts/check-package.sh checks ecostat.pc.
# clang and libclang-rt-dev (libFuzzer and the sanitizer runtimes): the fuzz targets, scripts/fuzz.sh.
# libopenmpi-dev, openmpi-bin: `mpirun -np N ecostat run` and its test (docs/scale-out.md).
# libsimdjson-dev: the repository JSON reader's fast path (ECOSTAT_SIMDJSON, docs/input-formats.md).
pkgs=(cmake g++ make catch2 nlohmann-json3-dev libcli11-dev zlib1g-dev libzstd-dev pkgconf python3 chromium clang libclang-rt-dev
      libopenmpi-dev openmpi-bin libsimdjson-dev)
[ "${ECOSTAT_NO_HIP:-0}" = 1 ] || pkgs+=(hipcc libamdhip64-dev librocprim-dev rocm-device-libs)
missing=()
for p in "${pkgs[@]}"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
[ ${#missing[@]} -eq 0 ] && exit 0
sudo=""; [ "$(id -u)" -eq 0 ] || sudo=sudo
echo "installing: ${missing[*]}"
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
