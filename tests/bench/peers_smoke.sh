#!/usr/bin/env bash
# Smoke test of bench/peers_cpu.py at a tiny size. Needs Python with the packages of
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
"$py" "$benchdir/peers_cpu.py" --ecostat "$ecostat" --data "$tmp/data" --records 2e4 --models 2000 --repeats 1 \
  --warmup 0 --csv --json "$tmp/peers.json" >"$tmp/out" 2>&1
rc=$?
cat "$tmp/out" | grep -v '^+ ' | tail -20
if [ $rc -ne 0 ]; then echo "FAIL: peers_cpu.py exited $rc"; exit 1; fi
if grep -q -E '^(REFUSED|SKIPPED) ' "$tmp/out"; then echo "FAIL: a peer was refused or skipped"; exit 1; fi
for p in duckdb polars pandas; do
  grep -q "x vs $p" "$tmp/out" || { echo "FAIL: no ratio for $p"; exit 1; }
done
echo "1 passed, 0 failed"
