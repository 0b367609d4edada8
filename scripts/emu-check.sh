#!/usr/bin/env bash
# The device code without a GPU (CI, every run): builds the CPU emulator of kernels/common
# (kernels/common/emu, docs/cuda-backend.md "The emulator in CI") and runs the whole conformance
# suite plus tests/unit/test_cuda_backend.cpp on it twice, both at once (one per core), then the
# accumulate cases again under a device memory cap (partitioned passes):
#   ecostat_emu_tests      32-lane warps, 227 KiB shared memory per block (NVIDIA, the CUDA backend)
#   ecostat_emu_tests_w64  64-lane warps and lane masks, 64 KiB LDS (AMD CDNA, HIP's logic)
# Neither is under AddressSanitizer by default: with ASan the fiber switches of the emulator make
# one suite take over 7 CPU minutes (measured), past CI's budget. EMU_ASAN_TARGETS (e.g.
# "ecostat_emu_tests_w64", or both separated by ';') builds those with ASan, for a run by hand.
# Env: EMU_BUILD_DIR (default build-emu), EMU_ASAN_TARGETS (default none).
set -euo pipefail
cd "$(dirname "$0")/.."
build=${EMU_BUILD_DIR:-build-emu}
asan_targets=${EMU_ASAN_TARGETS:-}
start=$SECONDS

cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Release -DECOSTAT_CUDA=OFF -DECOSTAT_HIP=OFF \
  -DECOSTAT_DEVICE_EMULATOR=ON "-DECOSTAT_EMU_ASAN=$([ -n "$asan_targets" ] && echo ON || echo OFF)" \
  "-DECOSTAT_EMU_ASAN_TARGETS=$asan_targets" >/dev/null
cmake --build "$build" -j "$(nproc)" --target ecostat_emu_tests ecostat_emu_tests_w64
echo "emu-check: built in $((SECONDS - start)) s"

run_start=$SECONDS
pids=()
for t in ecostat_emu_tests ecostat_emu_tests_w64; do
  # --warn NoTests: a filter that matches nothing fails instead of passing.
  ECOSTAT_TEST_BACKEND=cuda ASAN_OPTIONS=detect_leaks=0 \
    "$build/bench/$t" "[conformance],[cuda]" --warn NoTests >"$build/$t.log" 2>&1 &
  pids+=($!)
done
status=0
i=0
for t in ecostat_emu_tests ecostat_emu_tests_w64; do
  if wait "${pids[$i]}"; then
    echo "emu-check: $t: $(grep -E '^All tests passed' "$build/$t.log" || tail -n 2 "$build/$t.log")"
  else
    status=1
    echo "emu-check: $t FAILED; its log:"
    cat "$build/$t.log"
  fi
  i=$((i + 1))
done
# The accumulator's partitioned passes (docs/cuda-backend.md): the accumulate conformance cases
# under a 6 MiB device cap, where the 2^20-event ones no longer fit the table and are summed in
# passes over unit ranges, equal to the CPU backend.
for t in ecostat_emu_tests ecostat_emu_tests_w64; do
  if ECOSTAT_TEST_BACKEND=cuda ECOSTAT_DEVICE_CHUNK_EVENTS=4096 ECOSTAT_DEVICE_MEMORY_LIMIT=6M ASAN_OPTIONS=detect_leaks=0 \
      "$build/bench/$t" "accumulate:*" --warn NoTests >"$build/$t.capped.log" 2>&1; then
    echo "emu-check: $t, accumulate under a 6 MiB cap: $(grep -E '^All tests passed' "$build/$t.capped.log")"
  else
    status=1
    echo "emu-check: $t, accumulate under a 6 MiB cap FAILED; its log:"
    cat "$build/$t.capped.log"
  fi
done
echo "emu-check: suites ran in $((SECONDS - run_start)) s; total $((SECONDS - start)) s"
exit $status
