#!/usr/bin/env bash
# Installs the Python packages the build uses from PyPI, for the python3 on PATH (the one CMake
# finds): pyarrow, whose wheel ships the Arrow C++ headers and libraries that Parquet input is
# built with (ECOSTAT_PARQUET, docs/input-formats.md). Skips pip when they are already there.
# Extra arguments are more requirement specifiers. On a Debian python3 ("externally managed")
# pip needs --break-system-packages, and python3-pip from apt when pip is missing.
set -euo pipefail
reqs=("pyarrow>=26" "$@")
python3 - "${reqs[@]}" <<'PY' && exit 0
import sys
from importlib.metadata import version, PackageNotFoundError
try:
    from packaging.requirements import Requirement
except ImportError:
    sys.exit(1)
for spec in sys.argv[1:]:
    r = Requirement(spec)
    try:
        if not r.specifier.contains(version(r.name), prereleases=True):
            sys.exit(1)
    except PackageNotFoundError:
        sys.exit(1)
PY
if ! python3 -m pip --version >/dev/null 2>&1; then
  sudo=""; [ "$(id -u)" -eq 0 ] || sudo=sudo
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends python3-pip
fi
echo "installing from PyPI: ${reqs[*]}"
pip=(python3 -m pip install --quiet --disable-pip-version-check)
"${pip[@]}" "${reqs[@]}" || "${pip[@]}" --break-system-packages "${reqs[@]}"
