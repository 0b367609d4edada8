#!/usr/bin/env bash
# The whole test suite under AddressSanitizer and UndefinedBehaviorSanitizer (g++, CPU only):
# any invalid memory access, leak or undefined behaviour fails the test that hit it.
# Builds into ${SANITIZE_BUILD_DIR:-build-sanitize}; extra arguments go to cmake. CI runs it
# after the test command (.ci/run). Timings on a 2-core machine: docs/testing.md.
set -euo pipefail
cd "$(dirname "$0")/.."
build=${SANITIZE_BUILD_DIR:-build-sanitize}
scripts/install-deps.sh
flags="-fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer"
# -O1 with asserts on (no NDEBUG): the sanitizers' usual setting, and much faster than -O0.
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Debug -DCMAKE_CXX_FLAGS_DEBUG="-O1 -g" \
  -DCMAKE_CXX_FLAGS="$flags" -DCMAKE_EXE_LINKER_FLAGS="$flags" -DCMAKE_SHARED_LINKER_FLAGS="$flags" \
  -DECOSTAT_CUDA=OFF -DECOSTAT_HIP=OFF -DECOSTAT_BUILD_BENCH=OFF "$@"
cmake --build "$build" -j "$(nproc)"
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:strict_string_checks=1:detect_stack_use_after_return=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
# The MPI byte-identity loops with fewer rank counts (uneven trees and slices still covered),
# and the streamed reader's thread x block-size matrix with fewer points (ECOSTAT_TEST_SHORT):
# the plain build runs them all first, and mpirun and those reads are slow under ASan.
export ECOSTAT_TEST_MPI_NPS=${ECOSTAT_TEST_MPI_NPS:-3 5} ECOSTAT_TEST_MPI_SLICE_NPS=${ECOSTAT_TEST_MPI_SLICE_NPS:-3}
export ECOSTAT_TEST_SHORT=${ECOSTAT_TEST_SHORT:-1}
(cd "$build" && ctest --output-on-failure -j "$(nproc)" -LE gpu)
echo "sanitize: the suite passed under ASan and UBSan"
