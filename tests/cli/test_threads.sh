#!/usr/bin/env bash
# The whole job with --threads 1, 2 and 7 gives byte-identical results JSON (timings and the
# device's thread count aside) and rejects files: on the embedded sample, and on a messy generated
# downloads file (BOM, CRLF, quotes, a record spanning lines, blank lines, bad rows, duplicates,
# unknown repositories) read as a mapped file (the parallel reader), from a pipe, and gzip'd and
# zstd'd through a pipe and from a file (the streamed reader). --threads 1 is the sequential reader.
set -u
ecostat=$1 fixtures=$2
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
pass=0 fail=0
ok() { echo "ok   $1"; pass=$((pass+1)); }
bad() { echo "FAIL $1"; fail=$((fail+1)); }

# About 9 MB (over the parallel reader's 8 MiB threshold); the multi-line record sits near the end,
# so the parallel part runs first and the sequential reader takes over from it.
python3 - "$fixtures/engine/repos.jsonl" "$tmp/messy.csv" <<'EOF'
import json, random, sys
known = [json.loads(l)["id"] for l in open(sys.argv[1]) if l.strip()]
rng = random.Random(7)
out = ["\ufeffrepo,date,downloads\r\n"]
n = 400000
for i in range(n):
    repo = rng.choice(known) if rng.random() < 0.8 else "new%d/x" % rng.randrange(500)
    line = "%s,2024-%02d-%02d,%d" % (repo, rng.randrange(1, 13), rng.randrange(1, 29), rng.randrange(1000))
    k = rng.randrange(40)
    if k == 0: line = repo + ",2024-13-01,5"                  # bad date
    elif k == 1: line = repo + ",2024-01-01,-3"               # bad count
    elif k == 2: line = '"%s",2024-03-04,7' % repo             # quoted
    elif k == 3: line = ""                                      # blank
    elif k == 4: line += "\r"                                   # CRLF
    elif k == 5: line = repo + ",2024-01-01"                   # wrong column count
    elif k == 6: line = 'a"b,2024-01-01,5'                      # a quote inside a field
    if i == n - 50: line = '"acme/ba\nse",2024-01-05,5'         # a record spanning two lines
    out.append(line + "\n")
open(sys.argv[2], "w", encoding="utf-8", newline="").write("".join(out))
EOF
[ "$(wc -c <"$tmp/messy.csv")" -gt 8900000 ] && ok "messy input generated" || bad "messy input too small"
gzip -1 -c "$tmp/messy.csv" >"$tmp/messy.csv.gz"
have_zstd=no; command -v zstd >/dev/null && zstd -q -1 -c "$tmp/messy.csv" >"$tmp/messy.csv.zst" && have_zstd=yes

# Results JSON without what may differ by thread count: timings and the device's name.
normalise() {
  python3 -c 'import json, sys
j = json.load(open(sys.argv[1]))
j.pop("timings_ms", None)
j.get("backend", {}).pop("device", None)
print(json.dumps(j, indent=1, sort_keys=True))' "$1"
}

# run NAME THREADS PIPED [input args...]: results in $tmp/NAME.THREADS.{json,rejects}; the
# file PIPED (unless empty) comes through a pipe on standard input.
run() {
  local name=$1 threads=$2 piped=$3; shift 3
  if ! cat ${piped:-/dev/null} | "$ecostat" run --backend cpu -q --threads "$threads" --max-reject-fraction 0.9 \
       --json "$tmp/$name.$threads.raw" --rejects "$tmp/$name.$threads.rejects" "$@" >"$tmp/out" 2>&1; then
    bad "$name, $threads threads: exit $?"; sed 's/^/  | /' "$tmp/out" | head -10; return 1
  fi
  normalise "$tmp/$name.$threads.raw" >"$tmp/$name.$threads.json"
}

# same NAME PIPED [input args...]: threads 2 and 7 against threads 1.
same() {
  local name=$1 piped=$2; shift 2
  run "$name" 1 "$piped" "$@" || return
  for threads in 2 7; do
    run "$name" "$threads" "$piped" "$@" || continue
    if cmp -s "$tmp/$name.1.json" "$tmp/$name.$threads.json" && cmp -s "$tmp/$name.1.rejects" "$tmp/$name.$threads.rejects"; then
      ok "$name: $threads threads = 1 thread"
    else
      bad "$name: $threads threads differ from 1"
      diff "$tmp/$name.1.json" "$tmp/$name.$threads.json" | head -10
      diff "$tmp/$name.1.rejects" "$tmp/$name.$threads.rejects" | head -10
    fi
  done
}

engine=(--repos "$fixtures/engine/repos.jsonl" --orgs "$fixtures/engine/orgs.csv")
same sample ""
same mapped "" "${engine[@]}" --downloads "$tmp/messy.csv"
same pipe "$tmp/messy.csv" "${engine[@]}" --downloads -
same gzip-pipe "$tmp/messy.csv.gz" "${engine[@]}" --downloads -
same gzip-file "" "${engine[@]}" --downloads "$tmp/messy.csv.gz"
if [ $have_zstd = yes ]; then
  same zstd-pipe "$tmp/messy.csv.zst" "${engine[@]}" --downloads -
  same zstd-file "" "${engine[@]}" --downloads "$tmp/messy.csv.zst"
fi

# The inputs really were messy: rejects of several kinds, and lines counted past the spanning record.
rejects="$tmp/mapped.1.rejects"
for reason in "unparseable date" "bad count" "wrong column count" "invalid repo id"; do
  grep -q "$reason" "$rejects" && ok "rejects include: $reason" || bad "rejects lack: $reason"
done
last=$(tail -n 1 "$rejects" | cut -d, -f2)
[ "${last:-0}" -gt $((400000 - 48)) ] && ok "rejects numbered past the spanning record ($last)" || bad "last reject at line ${last:-none}"

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
