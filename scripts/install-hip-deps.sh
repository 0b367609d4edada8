#!/usr/bin/env bash
# Installs what the HIP backend needs to be *built* (not run) on Debian 12 (bookworm):
# hipcc 5.2 (clang 15), the HIP runtime (libamdhip64), rocPRIM 5.3 headers, the AMD GPU device
# libraries, and binutils (objdump, used by roc-obj-ls in the hip_code_objects test).
# Idempotent: does nothing when everything is there. CI calls it before configuring.
set -euo pipefail
pkgs=(hipcc libamdhip64-dev librocprim-dev rocm-device-libs binutils)
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "install-hip-deps: already installed: ${pkgs[*]}"
  exit 0
fi
sudo=""
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null || { echo "install-hip-deps: need root (or sudo) to install ${missing[*]}" >&2; exit 1; }
  sudo=sudo
fi
echo "install-hip-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
# A fresh machine may have no package lists yet; retry after an update when the install fails.
$sudo apt-get install -y -q "${missing[@]}" || { $sudo apt-get update -q && $sudo apt-get install -y -q "${missing[@]}"; }
echo "install-hip-deps: hip $(hipconfig --version 2>/dev/null || echo "?")"
