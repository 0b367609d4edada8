#!/usr/bin/env bash
# Smoke test of bench/gpu_e2e.py (issue 12's end-to-end GPU benchmark) at a tiny size, CPU backend
# only, so the script cannot rot between GPU sessions: two interleaved rounds on CSV and Parquet
# (Parquet skipped, visibly, without pyarrow), every run checked equal to the first, the peer
# harness run on the host (--peers numpy) and checked against ecostat's share tables, torch/cupy
# SKIPPED with a reason where absent; then a run whose results change after the first is REFUSED
# with exit 1. Needs Python with numpy and pandas; without them the test is skipped (exit 77).
set -u
ecostat=$1 benchdir=$2
py=${PYTHON:-python3}
if ! command -v "$py" >/dev/null; then echo "SKIPPED: no $py"; exit 77; fi
missing=$("$py" -c '
import importlib.util as u
print(" ".join(m for m in ("numpy", "pandas") if u.find_spec(m) is None))' 2>&1)
if [ -n "$missing" ]; then
  echo "SKIPPED: Python packages missing: $missing (pip install -r bench/requirements.txt)"; exit 77
fi
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*"; sed 's/^/  | /' "$tmp/out" | tail -40; exit 1; }
run() {  # run ECOSTAT JSON: the bench at 2e4 records, two rounds
  "$py" "$benchdir/gpu_e2e.py" --ecostat "$1" --data "$tmp/data" --records 2e4 --models 2000 --repeats 2 \
    --backends cpu --threads 2 --peers torch,cupy,numpy --json "$2" >"$tmp/out" 2>&1
}

run "$ecostat" "$tmp/e2e.json"
rc=$?
grep -v '^{' "$tmp/out" | tail -30
[ $rc -eq 0 ] || fail "gpu_e2e.py exited $rc"
grep -q '^checks: passed$' "$tmp/out" || fail "no 'checks: passed'"
grep -Eq '^(SKIPPED peer torch: .+|peer torch \(.*checks ok)$' "$tmp/out" || fail "torch peer neither ran nor said why not"
"$py" - "$tmp/e2e.json" <<'PY' || fail "gpu_e2e.json incomplete"
import json, sys
d = json.load(open(sys.argv[1]))
assert d["schema"] == "ecostat.gpu_e2e/1", d["schema"]
assert d["checks_passed"] is True and d["failed"] == [], d["failed"]
assert d["reference"] == "cpu_csv", d["reference"]
assert d["commit"] and d["date"] and d["host"]["cpus"] >= 1
assert d["data"]["records"] == 20000 and d["rounds_done"] == 2
m = d["modes"]
assert set(m) == {"cpu_csv", "cpu_parquet"}, sorted(m)
c = m["cpu_csv"]
assert c["status"] == "ok" and len(c["samples"]) == 2 and c["min_s"] <= c["median_s"] <= c["max_s"], c
assert c["peak_rss_mib"] > 1 and c["timings_ms_median"]["read_and_accumulate_downloads"] > 0, c
p = m["cpu_parquet"]
assert (p["status"] == "ok" and len(p["samples"]) == 2) or (p["status"] == "SKIPPED" and p["reason"]), p
n = d["peers"]["numpy"]
assert n["status"] == "ok" and n["records"] == 20000 and n["read_s"] > 0 and n["device_s"] > 0, n
for g in ("torch", "cupy"):
    assert d["peers"][g]["status"] in ("ok", "SKIPPED") and (d["peers"][g]["status"] == "ok" or d["peers"][g]["reason"]), d["peers"][g]
PY

# An ecostat whose results change after its first run: the later runs are REFUSED, exit 1.
cat > "$tmp/tamper.sh" <<EOF
#!/usr/bin/env bash
"$ecostat" "\$@" || exit \$?
[ "\$1" = run ] || exit 0
if [ -e "$tmp/tamper.count" ]; then
  json=""; prev=""
  for a in "\$@"; do [ "\$prev" = --json ] && json=\$a; prev=\$a; done
  sed -i 's/"duplicate_download_rows": \([0-9]*\)/"duplicate_download_rows": 1\1/' "\$json"
fi
touch "$tmp/tamper.count"
EOF
chmod +x "$tmp/tamper.sh"
run "$tmp/tamper.sh" "$tmp/tampered.json"
rc=$?
[ $rc -eq 1 ] || fail "a run with changed results exited $rc, wanted 1"
grep -Eq '^cpu_csv +REFUSED .*duplicate_download_rows' "$tmp/out" || fail "cpu_csv not REFUSED on duplicate_download_rows"
grep -q '^checks: FAILED$' "$tmp/out" || fail "no 'checks: FAILED'"
"$py" -c 'import json,sys; d=json.load(open(sys.argv[1])); assert d["checks_passed"] is False and "cpu_csv" in d["failed"], d["failed"]' \
  "$tmp/tampered.json" || fail "tampered run's JSON does not say it failed"
echo "1 passed, 0 failed"
