#!/usr/bin/env bash
# The Python module's tests (docs/python.md, "Tests"), for the python3 on PATH as .ci/run uses
# it: pytest, pyarrow, Polars, DuckDB and pandas from PyPI (scripts/install-python-deps.sh),
# `pip install .` (the library and the nanobind extension, built in $BUILD_DIR/python-wheel
# so that a second run rebuilds only what changed), then pytest tests/python. ECOSTAT_CLI
# (default: $BUILD_DIR/cli/ecostat when it exists) is the binary the tests compare the module's
# results with; without it those tests are skipped. Debian's python3 needs python3-dev
# (Python.h) for the build: installed here when missing.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
build=$(realpath -m "${BUILD_DIR:-build}")

if ! python3 -c 'import os, sysconfig; raise SystemExit(not os.path.exists(os.path.join(sysconfig.get_paths()["include"], "Python.h")))'; then
  sudo=""; [ "$(id -u)" -eq 0 ] || sudo=sudo
  echo "installing: python3-dev"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends python3-dev
fi
scripts/install-python-deps.sh "pytest>=7" "polars>=1.0" "duckdb>=1.0" "pandas>=2.1"

start=$(date +%s)
pip=(python3 -m pip install --quiet --disable-pip-version-check --force-reinstall --no-deps)
# Debian's python3 is "externally managed": pip installs into it only when told to.
if python3 -c 'import os, sysconfig; raise SystemExit(not os.path.exists(os.path.join(sysconfig.get_path("stdlib"), "EXTERNALLY-MANAGED")))'; then
  pip+=(--break-system-packages)
fi
"${pip[@]}" . -C build-dir="$build/python-wheel"
echo "pip install .: $(( $(date +%s) - start )) s"

if [ -z "${ECOSTAT_CLI:-}" ] && [ -x "$build/cli/ecostat" ]; then export ECOSTAT_CLI=$build/cli/ecostat; fi
echo "ECOSTAT_CLI=${ECOSTAT_CLI:-(unset: the comparisons with the CLI are skipped)}"
cd "$root"
python3 -m pytest -q -rs tests/python
