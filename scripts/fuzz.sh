#!/usr/bin/env bash
# Builds the fuzz targets (tests/fuzz: clang, libFuzzer, ASan, UBSan; the four readers and the
# Arrow C Data Interface importer) and runs each for FUZZ_SECONDS seconds (default 20), starting
# from the seed corpus in tests/fuzz/corpus/ and the inputs earlier runs kept in
# $FUZZ_BUILD_DIR/corpus/. Exits non-zero when any target finds a crash, a leak, a hang or a
# broken invariant; the input is saved in $FUZZ_BUILD_DIR/crashes/<target>/ (reproduce:
# $FUZZ_BUILD_DIR/fuzz_<target> FILE).
# Inputs saved under tests/fuzz/crashes/<target>/ (fixed bugs) are replayed first.
#   FUZZ_SECONDS=3600 FUZZ_TARGETS="repos" scripts/fuzz.sh     # one target for an hour
# Long runs and parallel jobs: docs/testing.md.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${FUZZ_SECONDS:-20}
build=${FUZZ_BUILD_DIR:-build-fuzz}
read -r -a targets <<< "${FUZZ_TARGETS:-repos downloads attribution params arrow}"
scripts/install-deps.sh

cmake -S tests/fuzz -B "$build" -DCMAKE_CXX_COMPILER="${FUZZ_CXX:-clang++}" >/dev/null
cmake --build "$build" -j "$(nproc)" --target "${targets[@]/#/fuzz_}"

export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
failed=()
for t in "${targets[@]}"; do
  # fuzz_arrow reads a binary description of arrays: no text dictionary.
  case "$t" in
    repos) dict=(-dict=tests/fuzz/repos.dict) ;;
    arrow) dict=() ;;
    *) dict=(-dict=tests/fuzz/csv.dict) ;;
  esac
  mkdir -p "$build/corpus/$t" "$build/crashes/$t"
  fuzzer=("$build/fuzz_$t" ${dict[@]+"${dict[@]}"} -timeout=25 -rss_limit_mb=2048)
  # Reproducers of fixed bugs must stay fixed.
  known=(tests/fuzz/crashes/"$t"/*)
  if [ -e "${known[0]}" ]; then
    echo "== fuzz_$t: replaying ${#known[@]} saved reproducer(s)"
    "${fuzzer[@]}" "${known[@]}" || { failed+=("$t (a saved reproducer fails again)"); continue; }
  fi
  echo "== fuzz_$t: ${seconds}s"
  if ! "${fuzzer[@]}" -max_total_time="$seconds" -print_final_stats=1 \
       -artifact_prefix="$build/crashes/$t/" "$build/corpus/$t" "tests/fuzz/corpus/$t" 2>"$build/fuzz_$t.log"; then
    tail -n 60 "$build/fuzz_$t.log"
    failed+=("$t (input saved in $build/crashes/$t/)")
    continue
  fi
  grep -E '^(Done|stat::number_of_executed_units|stat::peak_rss_mb)' "$build/fuzz_$t.log" || true
done
if [ ${#failed[@]} -gt 0 ]; then
  printf 'fuzzing found a problem in: %s\n' "${failed[@]}" >&2
  exit 1
fi
echo "fuzzing: ${targets[*]}: no crash in ${seconds}s each"
