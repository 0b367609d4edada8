# The assertions the shell tests share (sourced; the caller sets tmp, pass=0 and fail=0, and ends
# with: echo "$pass passed, $fail failed"; [ "$fail" -eq 0 ]).

# check NAME EXPECTED_EXIT PATTERN -- command...: the exit status, and (unless PATTERN is empty)
# an extended regex the output (stdout and stderr) must match.
check() {
  local name=$1 want=$2 pattern=$3; shift 4
  "$@" >"$tmp/out" 2>&1; local got=$?
  if [ "$got" -ne "$want" ]; then echo "FAIL $name: exit $got, wanted $want"; sed 's/^/  | /' "$tmp/out" | head -20; fail=$((fail+1)); return; fi
  if [ -n "$pattern" ] && ! grep -Eq -- "$pattern" "$tmp/out"; then echo "FAIL $name: output lacks /$pattern/"; sed 's/^/  | /' "$tmp/out" | head -20; fail=$((fail+1)); return; fi
  echo "ok   $name"; pass=$((pass+1))
}

# expect NAME CONDITION...: a plain assertion.
expect() {
  local name=$1; shift
  if "$@"; then echo "ok   $name"; pass=$((pass+1)); else echo "FAIL $name"; fail=$((fail+1)); fi
}

# same_json A B: the two results documents are equal without their timings.
same_json() {
  python3 - "$1" "$2" <<'PY'
import json, sys
a, b = (json.load(open(p)) for p in sys.argv[1:3])
for d in (a, b): d.pop("timings_ms", None)
sys.exit(0 if a == b else 1)
PY
}
