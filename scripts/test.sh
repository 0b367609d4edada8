#!/usr/bin/env bash
# The test command: installs what is missing, builds every backend this machine can compile,
# and runs the whole suite. GPU tests are skipped, with the reason shown, where no device exists.
# Then the Catch2 binary runs once directly: it must pass and run as many test cases as ctest
# has Catch2 entries (scripts/check-test-count.sh), so no test can pass by running nothing.
# Then scripts/check-package.sh installs the build to a temporary prefix and builds examples/ against it;
# last, scripts/test-python.sh builds the Python module (pip install .) and runs its pytest suite.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
build=${BUILD_DIR:-build}
scripts/install-deps.sh
scripts/install-python-deps.sh  # pyarrow: Parquet input (ECOSTAT_PARQUET=AUTO finds it)
scripts/build.sh "$@"
echo "Backends in this build (GPU tests are skipped, exit 77, where a backend cannot run here):"
"$build/cli/ecostat" backends
(cd "$build" && ctest --output-on-failure -j "$(nproc)")
"$root/scripts/check-test-count.sh" "$build"
# The installed library: CMake package, pkg-config, examples/ (docs/library.md).
BUILD_DIR="$build" "$root/scripts/check-package.sh"
# The Python module: pip install . and pytest tests/python (docs/python.md), compared with the CLI above.
BUILD_DIR="$build" "$root/scripts/test-python.sh"
