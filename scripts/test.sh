#!/usr/bin/env bash
# The test command: installs what is missing, builds every backend this machine can compile,
# and runs the whole suite. GPU tests are skipped, with the reason shown, where no device exists.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
scripts/build.sh "$@"
cd "${BUILD_DIR:-build}"
echo "Backends in this build (GPU tests are skipped, exit 77, where a backend cannot run here):"
cli/ecostat backends
ctest --output-on-failure -j "$(nproc)"
