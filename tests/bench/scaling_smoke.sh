#!/usr/bin/env bash
# Smoke test of bench/scaling.py (the readers' scaling table over thread counts) at a tiny size,
# so the script cannot rot between the sessions that run it for real: three thread counts, two
# rounds, its JSON checked; then an ecostat whose results change with the thread count is
# REFUSED with exit 1. Needs only Python 3 (skipped, exit 77, without it).
set -u
ecostat=$1 benchdir=$2
py=${PYTHON:-python3}
if ! command -v "$py" >/dev/null; then echo "SKIPPED: no $py"; exit 77; fi
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*"; sed 's/^/  | /' "$tmp/out" | tail -40; exit 1; }

"$py" "$benchdir/scaling.py" --ecostat "$ecostat" --data "$tmp/data" --records 2e4 --models 2000 \
  --threads 1,2,3 --repeats 2 --json "$tmp/scaling.json" >"$tmp/out" 2>&1 || fail "scaling.py exited $?"
grep -v '^[{+]' "$tmp/out"
grep -q 'results equal for every thread count' "$tmp/out" || fail "no table"
"$py" - "$tmp/scaling.json" <<'PY' || fail "scaling.json incomplete"
import json, sys
d = json.load(open(sys.argv[1]))
assert d["schema"] == "ecostat.scaling/1", d["schema"]
assert d["threads"] == [1, 2, 3] and d["repeats"] == 2 and d["commit"], d
for stage in ("read_repositories", "read_and_accumulate_downloads"):
    for t in ("1", "2", "3"):
        row = d["stages"][stage][t]
        assert len(row["samples_s"]) == 2 and row["min_s"] <= row["median_s"] <= row["max_s"], row
        assert row["mb_per_s"] > 0 and abs(row["mb_per_s_per_thread"] * int(t) - row["mb_per_s"]) < 1e-6, row
    assert d["stages"][stage]["1"]["speedup_vs_1"] == 1.0
assert d["bytes"]["read_and_accumulate_downloads"] > 0
PY

# An ecostat whose results change with --threads 2 must be refused.
cat > "$tmp/ecostat-unstable" <<WRAP
#!/usr/bin/env bash
"$ecostat" "\$@" || exit \$?
args=("\$@")
for ((i = 0; i < \${#args[@]}; ++i)); do
  [ "\${args[i]}" = --threads ] && t=\${args[i+1]}
  [ "\${args[i]}" = --json ] && out=\${args[i+1]}
done
if [ "\${t:-}" = 2 ] && [ -n "\${out:-}" ]; then
  sed -i 's/"repositories": \([0-9]*\)/"repositories": 1\1/' "\$out"
fi
WRAP
chmod +x "$tmp/ecostat-unstable"
"$py" "$benchdir/scaling.py" --ecostat "$tmp/ecostat-unstable" --data "$tmp/data" --threads 1,2 --repeats 1 \
  >"$tmp/out" 2>&1 && fail "results that change with the thread count were not refused"
grep -q 'results with --threads 2 differ from those with --threads 1' "$tmp/out" || fail "refused without saying why"
echo "scaling smoke: ok"
