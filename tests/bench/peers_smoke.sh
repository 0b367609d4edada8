#!/usr/bin/env bash
# Smoke test of bench/peers_cpu.py at a tiny size: the in-memory stages, the CSV stages and the
# end-to-end mode, two interleaved rounds. Needs Python with the packages of
# bench/requirements.txt; without them the test is skipped (exit 77), saying which is missing.
set -u
ecostat=$1 benchdir=$2
py=${PYTHON:-python3}
if ! command -v "$py" >/dev/null; then echo "SKIPPED: no $py"; exit 77; fi
missing=$("$py" -c '
import importlib.util as u
print(" ".join(m for m in ("numpy", "pyarrow", "duckdb", "polars", "pandas") if u.find_spec(m) is None))' 2>&1)
if [ -n "$missing" ]; then
  echo "SKIPPED: Python packages missing: $missing (pip install -r bench/requirements.txt)"; exit 77
fi
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
"$py" "$benchdir/peers_cpu.py" --ecostat "$ecostat" --data "$tmp/data" --records 2e4 --models 2000 --repeats 2 \
  --warmup 0 --csv --end-to-end --json "$tmp/peers.json" >"$tmp/out" 2>&1
rc=$?
grep -v '^+ ' "$tmp/out" | tail -32
fail() { echo "FAIL: $*"; exit 1; }
[ $rc -eq 0 ] || fail "peers_cpu.py exited $rc"
if grep -q -E '^(REFUSED|SKIPPED) ' "$tmp/out"; then fail "a peer was refused or skipped"; fi
for p in duckdb polars pandas numpy; do
  grep -q "x vs $p" "$tmp/out" || fail "no ratio for $p"
  grep -q "x/thread vs $p" "$tmp/out" || fail "no per-thread ratio for $p"
done
# Every stage of every tool has a figure from both rounds, and the end-to-end rows are checked.
"$py" - "$tmp/peers.json" <<'PY' || fail "peers.json incomplete"
import json, sys
d = json.load(open(sys.argv[1]))
assert d["schema"] == "ecostat.peers/2", d["schema"]
stages = ["groupby_model", "groupby_model_month", "all_tables", "concentration", "csv_groupby_model",
          "csv_groupby_model_incl_dictionary"]
for s in stages:
    assert len(d["ecostat_stages"][s]["samples_ms"]) == 2, ("ecostat", s)
for p in ("duckdb", "polars", "pandas", "numpy"):
    st = d["peers"][p]["stages"]
    for s in stages:
        if p == "numpy" and s.startswith("csv"):
            continue
        assert st[s]["status"] == "ok" and len(st[s]["samples_ms"]) == 2, (p, s, st.get(s))
        assert st[s]["min_ms"] <= st[s]["median_ms"] <= st[s]["max_ms"], (p, s)
e2e = d["end_to_end"]
for p in ("ecostat", "duckdb", "polars", "pandas"):
    assert e2e[p]["status"] == "ok" and len(e2e[p]["samples_ms"]) == 2 and e2e[p]["peak_rss_mib"] > 0, (p, e2e.get(p))
PY
echo "1 passed, 0 failed"
