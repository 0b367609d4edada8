#!/usr/bin/env bash
# Cross-check after ctest: runs the Catch2 binary once directly (every test case but the
# GPU-only ones) and fails unless it passes and ran exactly as many test cases as ctest has
# Catch2 entries. A test name that catch_discover_tests split (a ';' in it) or any entry that
# matches no test case makes the counts differ, so a test can never pass by running nothing.
#   scripts/check-test-count.sh BUILD_DIR
set -euo pipefail
build=${1:?usage: check-test-count.sh BUILD_DIR}
root=$(cd "$(dirname "$0")/.." && pwd)
tests_bin="$build/tests/ecostat_tests"
spec='~[gpu-only]'  # the TEST_SPEC given to catch_discover_tests in tests/CMakeLists.txt

# Catch2 entries registered with ctest: those whose command is the test binary.
entries=$(cd "$build" && ctest --show-only=json-v1 | python3 -c '
import json, os, sys
tests = json.load(sys.stdin)["tests"]
print(sum(1 for t in tests if os.path.basename((t.get("command") or [""])[0]) == "ecostat_tests"))')
# (Catch2 v2's --list-test-names-only exits with the number of tests listed, not 0.)
listed=$({ "$tests_bin" "$spec" --list-test-names-only || true; } | grep -c . || true)

echo "== direct run: $tests_bin \"$spec\""
log=$(mktemp); trap 'rm -f "$log"' EXIT
status=0
"$tests_bin" "$spec" >"$log" 2>&1 || status=$?
summary=$(tail -n 3 "$log" | grep -E 'All tests passed|test cases:' || true)
echo "${summary:-no summary line}"
if [ "$status" -ne 0 ] || ! grep -qE '^All tests passed \([0-9]+ assertions? in [0-9]+ test cases?\)' <<<"$summary"; then
  tail -n 80 "$log"
  echo "check-test-count: the direct run of the Catch2 binary failed (exit $status)" >&2
  exit 1
fi
ran=$(sed -E 's/.* in ([0-9]+) test cases?\).*/\1/' <<<"$summary")
if [ "$ran" -ne "$entries" ] || [ "$listed" -ne "$entries" ]; then
  echo "check-test-count: ctest has $entries Catch2 entries, the binary lists $listed test cases and ran $ran." >&2
  echo "  A test name with ';' is split by catch_discover_tests into entries that run nothing:" >&2
  grep -rn 'TEST_CASE("[^"]*;' "$root/tests" >&2 || true
  exit 1
fi
echo "check-test-count: $ran test cases, each run once by ctest and once directly"
