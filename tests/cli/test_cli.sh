#!/usr/bin/env bash
# Checks the ecostat command end to end; prints each check and fails on the first wrong one.
set -u
ecostat=$1 fixtures=$2
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
pass=0 fail=0
. "$(dirname "$0")/check_lib.sh"  # check, expect, same_json
check "top-level help"        0 "backends +List"  -- "$ecostat" --help
check "run help"              0 "--downloads"                  -- "$ecostat" run --help
check "backends help"         0 "--probe"                      -- "$ecostat" backends --help
check "no subcommand"         2   ""                           -- "$ecostat"
check "backends table"        0 "^cpu +yes +yes"               -- "$ecostat" backends
check "probe cpu"             0 "cpu"                          -- "$ecostat" backends --probe cpu
check "sample job"            0 "Concentration by model"       -- "$ecostat" run --backend cpu
check "sample job json"       0 ""                             -- "$ecostat" run --backend cpu -q --json "$tmp/r.json" --csv "$tmp/csv"
check "json schema"           0 "ecostat.results/1"            -- cat "$tmp/r.json"
check "csv tables"            0 "share_country_x_month.csv"    -- ls "$tmp/csv"
check "json to stdout"        0 "\"schema\": \"ecostat.results/1\"" -- "$ecostat" run --backend cpu --json -
check "fixture job"           0 "Acme Corp"                    -- "$ecostat" run --backend cpu --max-reject-fraction 0.5 --repos "$fixtures/engine/repos.jsonl" --downloads "$fixtures/engine/downloads.csv" --orgs "$fixtures/engine/orgs.csv" --rejects "$tmp/rej.csv"
check "rejects file"          0 "downloads.csv,7,"             -- cat "$tmp/rej.csv"
check "strict names the line" 1 "downloads.csv:7"              -- "$ecostat" run --backend cpu --strict --repos "$fixtures/engine/repos.jsonl" --downloads "$fixtures/engine/downloads.csv"
check "missing file"          1 "no/such/file.jsonl"           -- "$ecostat" run --repos no/such/file.jsonl
check "stdin input"           0 "acme/base"                    -- sh -c "'$ecostat' run --backend cpu --repos - < '$fixtures/engine/repos.jsonl'"
check "bad measure"           2   "measure"                    -- "$ecostat" run --measure weekly
check "bad group"             2 "planet"                       -- "$ecostat" run --share-groups planet
# No month table (`none`): the run keeps one total per model while reading; its share tables,
# concentration and lineage equal those of a run with every month table.
check "month groups none"     0 ""                             -- "$ecostat" run --backend cpu --month-groups none --study none --json "$tmp/nm.json"
check "month groups default"  0 ""                             -- "$ecostat" run --backend cpu --study none --json "$tmp/all.json"
expect "none: no x_month table, the same share tables" python3 - "$tmp/nm.json" "$tmp/all.json" <<'PY'
import json, sys
a, b = (json.load(open(p)) for p in sys.argv[1:3])
assert not [k for k in a["share"] if k.endswith("_x_month")], "a month table was written"
assert [k for k in b["share"] if k.endswith("_x_month")], "the default run wrote no month table"
assert all(a["share"][k] == b["share"][k] for k in a["share"]) and len(a["share"]) >= 5
assert a["concentration"] == b["concentration"] and a["lineage"] == b["lineage"]
PY
check "share groups none"     0 '"share": \{\}'                -- "$ecostat" run --backend cpu --share-groups none --month-groups none --study none --json -
for b in cuda hip; do  # asked for by name without a device: a clear error, not a fallback
  if ! "$ecostat" backends --probe $b >/dev/null; then
    check "$b by name"          1 "backend '$b'"                 -- "$ecostat" run --backend $b
  fi
done
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
