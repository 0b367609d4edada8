#!/usr/bin/env bash
# Smoke test of the benchmark harness at a tiny size (seconds): ecostat gen -> ecostat run ->
# ecostat bench, with Python-free checks. Benchmarks proper never run in CI (docs/benchmarks.md).
set -u
ecostat=$1
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
pass=0 fail=0
. "$(dirname "$0")/../cli/check_lib.sh"  # check, expect, same_json
d=$tmp/data
check "gen help"            0 "--records"        -- "$ecostat" gen --help
check "bench help"          0 "--backend"        -- "$ecostat" bench --help
check "gen needs a target"  2 "--out"            -- "$ecostat" gen --records 10
check "gen bad count"       2 "not a"            -- "$ecostat" gen --out "$d" --records ten
check "gen 10^4 records"    0 ""                 -- "$ecostat" gen --out "$d" --records 1e4 --models 1000 --seed 7 --formats repos,downloads,orgs,bin -q
check "gen files"           0 "manifest.json"    -- ls "$d"
check "gen header"          0 "^repo,date,downloads$" -- head -1 "$d/downloads.csv"
check "gen record count"    0 "^10001 "          -- wc -l "$d/downloads.csv"
check "gen repos count"     0 "^1000 "           -- wc -l "$d/repos.jsonl"
check "gen binary columns"  0 "^40000 "          -- wc -c "$d/events/unit.u32"
check "same seed, 1 thread: same bytes" 0 ""     -- sh -c "'$ecostat' gen --stdout downloads --records 1e4 --models 1000 --seed 7 --threads 1 | cmp - '$d/downloads.csv'"
check "same seed: same repos"           0 ""     -- sh -c "'$ecostat' gen --stdout repos --records 1e4 --models 1000 --seed 7 | cmp - '$d/repos.jsonl'"
check "other seed: other bytes"         1 ""     -- sh -c "'$ecostat' gen --stdout downloads --records 1e4 --models 1000 --seed 8 | cmp -s - '$d/downloads.csv'"
check "run on generated files, strict" 0 "\"rejected\": 0" -- "$ecostat" run --backend cpu --strict --repos "$d/repos.jsonl" --downloads "$d/downloads.csv" --orgs "$d/orgs.csv" --json - -q
check "bench on the files" 0 "end_to_end"        -- "$ecostat" bench --data "$d" --backend cpu --repeats 2 --warmup 1 --json "$tmp/bench.json" --dump "$tmp/dump"
check "bench json ok"      0 "\"ok\": true"      -- cat "$tmp/bench.json"
check "bench json schema"  0 "ecostat.bench/1"   -- cat "$tmp/bench.json"
for s in groupby_model groupby_model_month groupby_organisation_month groupby_country_month groupby_org_type_month \
         groupby_family_month all_tables group_sum concentration lineage dictionary_lookup duplicate_marks parse_repos parse_downloads csv_groupby_model end_to_end; do
  check "stage $s checked" 0 "" -- sh -c "grep -A40 '\"stage\": \"$s\"' '$tmp/bench.json' | grep -m1 '\"verified\"' | grep -q '\"ok\"'"
done
check "ceiling measured"   0 "cpu_memcpy_bytes_per_s\": [1-9]" -- cat "$tmp/bench.json"
check "random-line ceiling" 0 "cpu_random_line_1thread_bytes_per_s\": [1-9]" -- cat "$tmp/bench.json"
check "dump written"       0 "model_x_month.u64" -- ls "$tmp/dump"
check "dump verified"      0 "\"verified\": true" -- cat "$tmp/dump/results.json"
check "in-memory bench"    0 "groupby_model"     -- "$ecostat" bench --records 2e4 --models 500 --repeats 1 --warmup 0 --stages groupby_model,concentration --json -
check "unknown backend"    2 "unknown backend"                -- "$ecostat" bench --records 1e3 --models 100 --repeats 1 --backend nosuch
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
