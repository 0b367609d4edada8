#!/usr/bin/env bash
# --device and ECOSTAT_DEVICE (docs/cli.md "Backend and threads", docs/scale-out.md "Devices"):
# the option parses, reaches the job and leaves the CPU backend's results byte for byte as they
# were; a GPU backend that cannot run here fails as it did without it; bad values are usage
# errors (exit 2). Prints each check and exits non-zero when any is wrong.
set -u
ecostat=$1 fixtures=$2
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
pass=0 fail=0
. "$(dirname "$0")/check_lib.sh"  # check, expect, same_json
E=$fixtures/engine
job=(--repos "$E/repos.jsonl" --downloads "$E/downloads.csv" --orgs "$E/orgs.csv" --max-reject-fraction 1)

check "run --help lists --device" 0 "mod the devices on this node" -- "$ecostat" run --help
check "backends --help lists --device" 0 "--device" -- "$ecostat" backends --help

# The CPU backend ignores the device: same results, tables and rejects, on the sample and on the
# engine fixtures (which have rejects).
check "sample, cpu"               0 "" -- "$ecostat" run --backend cpu -q --json "$tmp/a.json" --csv "$tmp/a"
check "sample, cpu, --device 3"   0 "" -- "$ecostat" run --backend cpu --device 3 -q --json "$tmp/b.json" --csv "$tmp/b"
expect "sample: same results JSON" same_json "$tmp/a.json" "$tmp/b.json"
expect "sample: same CSV tables" diff -r "$tmp/a" "$tmp/b"
expect "sample: backend is cpu" grep -q '"name": "cpu"' "$tmp/b.json"
check "fixtures, cpu"             0 "" -- "$ecostat" run "${job[@]}" --backend cpu -q --json "$tmp/c.json" --rejects "$tmp/c.rej"
check "fixtures, cpu, --device 1" 0 "" -- env ECOSTAT_DEVICE=5 "$ecostat" run "${job[@]}" --backend cpu --device 1 -q --json "$tmp/d.json" --rejects "$tmp/d.rej"
expect "fixtures: same results JSON" same_json "$tmp/c.json" "$tmp/d.json"
expect "fixtures: same rejects" cmp -s "$tmp/c.rej" "$tmp/d.rej"

# A GPU backend that cannot run here: the same error (and exit 1) with a device as without.
for b in cuda hip; do
  if ! "$ecostat" backends --probe $b >/dev/null; then
    "$ecostat" run --backend $b -q >"$tmp/plain" 2>&1; plain_rc=$?
    "$ecostat" run --backend $b --device 2 -q >"$tmp/with" 2>&1; with_rc=$?
    expect "--backend $b --device 2: exit 1 as without" [ "$plain_rc" = 1 ] && [ "$with_rc" = 1 ]
    expect "--backend $b --device 2: the same message" cmp -s "$tmp/plain" "$tmp/with"
  fi
done

# Bad values.
check "--device -1"               2 "--device: Value -1 not in range" -- "$ecostat" run --backend cpu --device -1 -q
check "--device abc"              2 "--device" -- "$ecostat" run --backend cpu --device abc -q
check "ECOSTAT_DEVICE=abc, auto"  2 "ECOSTAT_DEVICE: 'abc' is not a device index" -- env ECOSTAT_DEVICE=abc "$ecostat" run -q
check "ECOSTAT_DEVICE=-1, auto"   2 "ECOSTAT_DEVICE: '-1' is not a device index" -- env ECOSTAT_DEVICE=-1 "$ecostat" run -q
# --device reaches the engine: with it the (bad) variable is not read.
check "ECOSTAT_DEVICE=abc, --device 0 wins" 0 "" -- env ECOSTAT_DEVICE=abc "$ecostat" run --device 0 -q
check "ECOSTAT_DEVICE=abc, --backend cpu"   0 "" -- env ECOSTAT_DEVICE=abc "$ecostat" run --backend cpu -q
check "ECOSTAT_DEVICE=7, auto"    0 "" -- env ECOSTAT_DEVICE=7 "$ecostat" run -q
check "backends --device 3"       0 "^cpu +yes +yes" -- "$ecostat" backends --device 3
check "backends, ECOSTAT_DEVICE=x" 2 "ECOSTAT_DEVICE" -- env ECOSTAT_DEVICE=x "$ecostat" backends

echo "device: $pass passed, $fail failed"
[ $fail = 0 ]
