#!/usr/bin/env bash
# Scale-out of `ecostat run` (docs/scale-out.md).
#   mpi.sh ECOSTAT FIXTURES SAMPLE_DIR shards   several download files in one process: the same
#                                               results as one concatenated file (no MPI needed)
#   mpi.sh ECOSTAT FIXTURES SAMPLE_DIR mpi WITH_MPI
#                                               mpirun -np 1..5: results JSON, CSV tables and the
#                                               rejects file byte-identical to the one-process run
#                                               (timings aside; 3 and 5 are not powers of two, so
#                                               the reduction tree is uneven); failures name the
#                                               rank, leave no output. Exit 77 (ctest: skipped) with the reason
#                                               when MPI is not built or mpirun is absent.
set -u
ecostat=$1 fixtures=$2 sample=$3 mode=$4 with_mpi=${5:-OFF}
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
pass=0 fail=0
ok() { echo "ok   $1"; pass=$((pass+1)); }
bad() { echo "FAIL $1"; [ -f "$tmp/out" ] && sed 's/^/  | /' "$tmp/out" | head -20; fail=$((fail+1)); }

# Results JSON without timings (and, with a 3rd argument, without the input file list and the
# first rejects, which name the files, and the count of duplicate rows, which are found within
# each file: docs/scale-out.md): equal or not.
same_json() {
  python3 - "$1" "$2" "${3:-}" <<'EOF'
import json, sys
def load(p, drop_files):
    d = json.load(open(p))
    d.pop("timings_ms", None)
    if drop_files:
        d["input"].pop("files", None)
        d["input"].pop("first_rejects", None)
        d["input"].pop("duplicate_download_rows", None)
    return d
a, b = load(sys.argv[1], sys.argv[3]), load(sys.argv[2], sys.argv[3])
if a != b:
    for k in sorted(set(a) | set(b)):
        if a.get(k) != b.get(k): print("differs:", k)
    sys.exit(1)
EOF
}

# run NAME -- command: exit 0 expected, output kept in $tmp/out.
run_ok() {
  local name=$1; shift 2
  if "$@" >"$tmp/out" 2>&1; then return 0; fi
  bad "$name: exit $?"
  return 1
}

if [ "$mode" = mpi ]; then
  if [ "$with_mpi" != ON ]; then echo "SKIPPED: ecostat was built without MPI (ECOSTAT_MPI; install libopenmpi-dev)"; exit 77; fi
  if ! command -v mpirun >/dev/null; then echo "SKIPPED: mpirun not found (Debian: openmpi-bin)"; exit 77; fi
fi

# Generated data: 5,000 models, 60,000 records, the downloads split in 5 files at line
# boundaries (each with the header), plus the concatenation as one file.
gen=$tmp/gen
"$ecostat" gen --out "$gen" --records 60000 --models 5000 --seed 7 -q || { echo "FAIL gen"; exit 1; }
tail -n +2 "$gen/downloads.csv" >"$gen/rows"
split -n l/5 -d "$gen/rows" "$gen/part" && rm "$gen/rows"
parts=()
for p in "$gen"/part0*; do { head -1 "$gen/downloads.csv"; cat "$p"; } >"$p.csv"; rm "$p"; parts+=("$p.csv"); done
gen_files=$(IFS=,; echo "${parts[*]}")
gen_args=(--backend cpu -q --repos "$gen/repos.jsonl" --orgs "$gen/orgs.csv")

# The sample's tracked models (CSV repository records, parameters) and two download files.
sample_files="$sample/downloads.csv,$sample/downloads_generated.csv"
sample_args=(--backend cpu -q --repos "$sample/repos.csv" --orgs "$sample/orgs.csv" --params "$sample/params.csv"
             --max-reject-fraction 1)

# The engine fixture's downloads (a reject on line 7) split in two files.
fx=$tmp/fx
mkdir -p "$fx"
head -5 "$fixtures/engine/downloads.csv" >"$fx/d1.csv"
{ head -1 "$fixtures/engine/downloads.csv"; tail -n +6 "$fixtures/engine/downloads.csv"; } >"$fx/d2.csv"
fx_args=(--backend cpu -q --repos "$fixtures/engine/repos.jsonl" --orgs "$fixtures/engine/orgs.csv" --max-reject-fraction 1)

if [ "$mode" = shards ]; then
  # One process, several files = one process, one file (the input file list aside).
  if run_ok "gen one file" -- "$ecostat" run "${gen_args[@]}" --downloads "$gen/downloads.csv" --json "$tmp/one.json" &&
     run_ok "gen 5 files" -- "$ecostat" run "${gen_args[@]}" --downloads "$gen_files" --json "$tmp/five.json"; then
    if same_json "$tmp/one.json" "$tmp/five.json" drop-files >"$tmp/out"; then ok "5 download files = their concatenation"
    else bad "5 download files differ from their concatenation"; fi
    files=$(python3 -c "import json,sys; print(sum(f['role']=='downloads' for f in json.load(open(sys.argv[1]))['input']['files']))" "$tmp/five.json")
    [ "$files" = 5 ] && ok "input.files lists the 5 download files" || bad "input.files lists $files download files, not 5"
  fi
  # Repeated --downloads is the same as a comma-separated list.
  repeated=(); for p in "${parts[@]}"; do repeated+=(--downloads "$p"); done
  if run_ok "repeated" -- "$ecostat" run "${gen_args[@]}" "${repeated[@]}" --json "$tmp/rep.json"; then
    cmp -s "$tmp/five.json" "$tmp/rep.json" || same_json "$tmp/five.json" "$tmp/rep.json" >"$tmp/out" &&
      ok "repeated --downloads = comma-separated" || bad "repeated --downloads differs"
  fi
  # The sample, two files: the same as one file holding both.
  { cat "$sample/downloads.csv"; tail -n +2 "$sample/downloads_generated.csv"; } >"$tmp/sample_dl.csv"
  if run_ok "sample one file" -- "$ecostat" run "${sample_args[@]}" --downloads "$tmp/sample_dl.csv" --json "$tmp/s1.json" &&
     run_ok "sample 2 files" -- "$ecostat" run "${sample_args[@]}" --downloads "$sample_files" --json "$tmp/s2.json"; then
    same_json "$tmp/s1.json" "$tmp/s2.json" drop-files >"$tmp/out" && ok "sample: 2 download files = their concatenation" ||
      bad "sample: 2 download files differ from their concatenation"
  fi
  # Rejects of several files: each file's own line numbers, in file order.
  if "$ecostat" run "${fx_args[@]}" --downloads "$fx/d1.csv,$fx/d2.csv" --rejects "$tmp/rej.csv" >"$tmp/out" 2>&1; then
    grep -q "d2.csv,3," "$tmp/rej.csv" && ok "rejects name the file and its own line" || bad "rejects: $(cat "$tmp/rej.csv")"
  else bad "fixture 2 files"; fi
  # A missing file: exit 1, the file named, no output.
  "$ecostat" run "${gen_args[@]}" --downloads "${parts[0]},$tmp/no-such.csv" --json "$tmp/miss.json" >"$tmp/out" 2>&1
  rc=$?
  [ $rc = 1 ] && grep -q "no-such.csv" "$tmp/out" && [ ! -e "$tmp/miss.json" ] && ok "missing file: exit 1, named, no output" ||
    bad "missing file: exit $rc"
  # Standard input cannot be one of several files; report takes one file.
  "$ecostat" run --downloads "-,${parts[0]}" >"$tmp/out" 2>&1; rc=$?
  [ $rc = 2 ] && grep -q "standard input" "$tmp/out" && ok "stdin among several: usage error" || bad "stdin among several: exit $rc"
  "$ecostat" report --out "$tmp/r.html" --downloads "$gen_files" >"$tmp/out" 2>&1; rc=$?
  [ $rc = 2 ] && grep -q "ecostat run" "$tmp/out" && ok "report with several files: usage error" || bad "report several: exit $rc"
  echo "$pass passed, $fail failed"
  [ "$fail" -eq 0 ]
  exit
fi

# --- MPI ---
mpi=(mpirun --oversubscribe --bind-to none)
[ "$(id -u)" = 0 ] && mpi+=(--allow-run-as-root)
# Containers often forbid the cross-memory attach OpenMPI's shared-memory transport tries first.
export OMPI_MCA_btl_vader_single_copy_mechanism=none
# Under ASan (scripts/sanitize.sh) OpenMPI's own allocations would count as leaks; the same
# code without MPI runs with leak checks in the `shards` mode.
export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0"
# Small messages: the chunked transfer path runs here too (docs/scale-out.md).
export ECOSTAT_MPI_MAX_MESSAGE=65536

# ECOSTAT_TEST_MPI_NPS / ECOSTAT_TEST_MPI_SLICE_NPS: the rank counts of the byte-identity loops
# (default 1..5 and 2..4; scripts/sanitize.sh runs fewer, the same code being run here first).
# Files fewer than ranks are cut into slices at any size here (the default: 8 MiB and more), so
# that every launch below with more ranks than files reads slices (docs/scale-out.md).
export ECOSTAT_SLICE_MIN_BYTES=0

# The reference runs: one process.
run_ok "reference gen" -- "$ecostat" run "${gen_args[@]}" --downloads "$gen_files" --json "$tmp/ref_gen.json" --csv "$tmp/ref_gen_csv" || exit 1
run_ok "reference sample" -- "$ecostat" run "${sample_args[@]}" --downloads "$sample_files" --json "$tmp/ref_sample.json" || exit 1
run_ok "reference one file" -- "$ecostat" run "${sample_args[@]}" --downloads "$sample/downloads.csv" --json "$tmp/ref_single.json" || exit 1
"$ecostat" run "${fx_args[@]}" --downloads "$fx/d1.csv,$fx/d2.csv" --rejects "$tmp/ref_rej.csv" --json "$tmp/ref_fx.json" >/dev/null 2>&1

for n in ${ECOSTAT_TEST_MPI_NPS:-1 2 3 4 5}; do
  if run_ok "gen np $n" -- "${mpi[@]}" -np $n "$ecostat" run "${gen_args[@]}" --downloads "$gen_files" --json "$tmp/gen$n.json" --csv "$tmp/gen${n}_csv"; then
    same_json "$tmp/ref_gen.json" "$tmp/gen$n.json" >"$tmp/out" && ok "np $n: generated data, 5 files: results JSON identical" ||
      bad "np $n: generated results differ"
    diff -r "$tmp/ref_gen_csv" "$tmp/gen${n}_csv" >"$tmp/out" && ok "np $n: CSV tables identical" || bad "np $n: CSV tables differ"
  fi
  if run_ok "sample np $n" -- "${mpi[@]}" -np $n "$ecostat" run "${sample_args[@]}" --downloads "$sample_files" --json "$tmp/sample$n.json"; then
    same_json "$tmp/ref_sample.json" "$tmp/sample$n.json" >"$tmp/out" && ok "np $n: sample, 2 files: results JSON identical" ||
      bad "np $n: sample results differ"
  fi
  if run_ok "single np $n" -- "${mpi[@]}" -np $n "$ecostat" run "${sample_args[@]}" --downloads "$sample/downloads.csv" --json "$tmp/single$n.json"; then
    same_json "$tmp/ref_single.json" "$tmp/single$n.json" >"$tmp/out" && ok "np $n: one download file: results JSON identical" ||
      bad "np $n: one-file results differ"
  fi
  "${mpi[@]}" -np $n "$ecostat" run "${fx_args[@]}" --downloads "$fx/d1.csv,$fx/d2.csv" --rejects "$tmp/rej$n.csv" --json "$tmp/fx$n.json" >"$tmp/out" 2>&1
  cmp -s "$tmp/ref_rej.csv" "$tmp/rej$n.csv" && same_json "$tmp/ref_fx.json" "$tmp/fx$n.json" >>"$tmp/out" &&
    ok "np $n: rejects file and results identical" || bad "np $n: rejects file or results differ"
done

# Input summary counted once: the repositories of the generated data, 5 download files (the
# last launch of the loop above).
python3 - "$tmp/gen$n.json" <<'EOF' >"$tmp/out" && ok "np $n: repositories and files counted once" || bad "np $n: input summary"
import json, sys
i = json.load(open(sys.argv[1]))["input"]
roles = [f["role"] for f in i["files"]]
assert i["repositories"] == 5000, i["repositories"]
assert roles.count("repos") == 1 and roles.count("orgs") == 1 and roles.count("downloads") == 5, roles
EOF

# Only rank 0 prints: the tables once, and one line on what the reduction sent (stderr, without
# -q): a figure for each rank but 0, none over the message limit.
if run_ok "np 3 text" -- "${mpi[@]}" -np 3 "$ecostat" run --backend cpu --repos "$gen/repos.jsonl" --downloads "$gen_files"; then
  c=$(grep -c "Concentration by model" "$tmp/out")
  [ "$c" = 1 ] && ok "np 3: the tables are printed once" || bad "np 3: tables printed $c times"
  line=$(grep "^ecostat: 3 ranks: " "$tmp/out")
  if [ "$(grep -c "^ecostat: 3 ranks: " "$tmp/out")" = 1 ] &&
     [[ "$line" =~ bytes\ sent:\ rank\ 1\ ([0-9]+),\ rank\ 2\ ([0-9]+)\ \(([0-9]+)\ in\ all,\ largest\ message\ ([0-9]+)\) ]] &&
     [ "${BASH_REMATCH[1]}" -gt 0 ] && [ "${BASH_REMATCH[2]}" -gt 0 ] &&
     [ "${BASH_REMATCH[3]}" = $((BASH_REMATCH[1] + BASH_REMATCH[2])) ] && [ "${BASH_REMATCH[4]}" -le 65536 ]; then
    ok "np 3: bytes sent by ranks 1 and 2 reported once, messages within the limit"
  else bad "np 3: reduction line: '$line'"; fi
fi

# A download file missing (on rank 2): non-zero exit, the rank and the file named, no output.
"${mpi[@]}" -np 3 "$ecostat" run "${gen_args[@]}" --downloads "${parts[0]},${parts[1]},$tmp/no-such.csv" --json "$tmp/miss.json" >"$tmp/out" 2>&1
rc=$?
[ $rc -ne 0 ] && grep -q "rank 2: .*no-such.csv" "$tmp/out" && [ ! -e "$tmp/miss.json" ] &&
  ok "missing file on rank 2: exit $rc, rank and file named, no output" || bad "missing file on rank 2: exit $rc"
# A rank failing mid-job (--strict, a reject in the file of rank 1).
"${mpi[@]}" -np 2 "$ecostat" run "${fx_args[@]}" --strict --downloads "$fx/d1.csv,$fx/d2.csv" --json "$tmp/strict.json" >"$tmp/out" 2>&1
rc=$?
[ $rc = 1 ] && grep -q "rank 1: .*d2.csv:3" "$tmp/out" && [ ! -e "$tmp/strict.json" ] &&
  ok "--strict reject on rank 1: exit 1, rank and line named, no output" || bad "--strict on rank 1: exit $rc"
# A rank failing in the reduction (ECOSTAT_MPI_FAIL_RANK, a test hook): a leaf (rank 3, below
# rank 2 in the tree of 4) and an inner rank (2, after receiving from 3). The job stops naming
# only the failing rank, the ranks above it are not blamed, nothing is written.
for r in 3 2; do
  ECOSTAT_MPI_FAIL_RANK=$r "${mpi[@]}" -np 4 "$ecostat" run "${gen_args[@]}" --downloads "$gen_files" --json "$tmp/fail$r.json" >"$tmp/out" 2>&1
  rc=$?
  [ $rc = 1 ] && grep -q "rank $r: injected failure" "$tmp/out" && [ "$(grep -c "error: rank" "$tmp/out")" = 1 ] &&
    [ ! -e "$tmp/fail$r.json" ] && ok "rank $r fails in the reduction: exit 1, only rank $r named, no output" ||
    bad "rank $r fails in the reduction: exit $rc"
done
# A usage error found by rank 0 (an output over an input) stops every rank with exit 2.
"${mpi[@]}" -np 2 "$ecostat" run "${gen_args[@]}" --downloads "$gen_files" --json "${parts[1]}" >"$tmp/out" 2>&1
rc=$?
[ $rc = 2 ] && grep -q "refusing to overwrite" "$tmp/out" && ok "usage error on rank 0: exit 2 on every rank" || bad "usage error: exit $rc"
# Each rank picks its device (docs/scale-out.md, "Devices"): a bad ECOSTAT_DEVICE is a usage
# error on every rank, each named, before any work.
ECOSTAT_DEVICE=abc "${mpi[@]}" -np 2 "$ecostat" run "${gen_args[@]/cpu/auto}" --downloads "$gen_files" --json "$tmp/dev.json" >"$tmp/out" 2>&1
rc=$?
[ $rc = 2 ] && grep -q "rank 0: .*ECOSTAT_DEVICE" "$tmp/out" && grep -q "rank 1: .*ECOSTAT_DEVICE" "$tmp/out" && [ ! -e "$tmp/dev.json" ] &&
  ok "a bad ECOSTAT_DEVICE: exit 2, every rank named" || bad "bad ECOSTAT_DEVICE: exit $rc"
# The exit code of rejects beyond the limit (3) is every rank's.
"${mpi[@]}" -np 2 "$ecostat" run --backend cpu -q --repos "$fixtures/engine/repos.jsonl" --downloads "$fx/d1.csv,$fx/d2.csv" >"$tmp/out" 2>&1
rc=$?
[ $rc = 3 ] && ok "rejects beyond the limit: exit 3" || bad "rejects beyond the limit: exit $rc"

# A rank killed mid-job: rank 1 blocks reading a FIFO (held open, no data) and is killed;
# mpirun ends the job naming the rank, and no output is written.
mkfifo "$tmp/hang.csv"
exec 3<>"$tmp/hang.csv"  # a writer that never writes: rank 1's read blocks
timeout 120 "${mpi[@]}" -np 2 "$ecostat" run "${gen_args[@]}" --downloads "${parts[0]},$tmp/hang.csv" --json "$tmp/killed.json" >"$tmp/out" 2>&1 3>&- &
job=$!
victim=""
for _ in $(seq 1 200); do
  for p in /proc/[0-9]*; do
    [ "${p#/proc/}" = $$ ] && continue
    ls -l "$p/fd" 2>/dev/null | grep -q "hang.csv" && victim=${p#/proc/} && break
  done
  [ -n "$victim" ] && break
  sleep 0.1
done
[ -n "$victim" ] && kill -9 "$victim"
wait $job; rc=$?
exec 3>&-
[ -n "$victim" ] && [ $rc -ne 0 ] && [ $rc -ne 124 ] && grep -q "rank 1" "$tmp/out" && [ ! -e "$tmp/killed.json" ] &&
  ok "rank 1 killed: exit $rc, rank named, no output" || bad "rank 1 killed (pid '${victim}'): exit $rc"

# One messy file in slices: rows repeated across slices (duplicate rows), rejects, blank lines,
# CRLF; the results, the CSV tables and the rejects file (the file's own line numbers) are those
# of one process. Rank 1 sending more than an empty result (8 bytes) shows that it read a slice.
python3 - "$gen/downloads.csv" "$tmp/messy.csv" <<'EOF'
import random, sys
random.seed(3)
lines = open(sys.argv[1]).read().split("\n")
rows = [l for l in lines[1:] if l]
out = [lines[0]]
for i, r in enumerate(rows):
    out.append(r)
    if i % 997 == 0: out.append(rows[random.randrange(len(rows))])  # a row repeated anywhere
    if i % 1999 == 0: out.append("bad/repo id,2024-13-01,5")
    if i % 3001 == 0: out.append("")
    if i % 4001 == 0: out.append(r + "\r")
open(sys.argv[2], "w").write("\n".join(out) + "\n")
EOF
messy_args=("${gen_args[@]}" --max-reject-fraction 1 --downloads "$tmp/messy.csv")
run_ok "messy reference" -- "$ecostat" run "${messy_args[@]}" --json "$tmp/ref_messy.json" --csv "$tmp/ref_messy_csv" --rejects "$tmp/ref_messy_rej.csv" || exit 1
for n in ${ECOSTAT_TEST_MPI_SLICE_NPS:-2 3 4}; do
  if run_ok "messy np $n" -- "${mpi[@]}" -np $n "$ecostat" run "${messy_args[@]}" --json "$tmp/messy$n.json" --csv "$tmp/messy${n}_csv" --rejects "$tmp/messy${n}_rej.csv"; then
    same_json "$tmp/ref_messy.json" "$tmp/messy$n.json" >"$tmp/out" && diff -r "$tmp/ref_messy_csv" "$tmp/messy${n}_csv" >>"$tmp/out" &&
      cmp "$tmp/ref_messy_rej.csv" "$tmp/messy${n}_rej.csv" >>"$tmp/out" &&
      ok "np $n: one messy file in $n slices: results, CSV tables and rejects identical" || bad "np $n: slices differ"
  fi
done
python3 -c "import json,sys; d=json.load(open(sys.argv[1]))['input']; assert d['duplicate_download_rows'] > 1000 and d['rejected'] > 20, d" \
  "$tmp/ref_messy.json" >"$tmp/out" 2>&1 && ok "the messy file has duplicate rows and rejects to compare" || bad "messy file too clean"
# rank1_sent ARGS...: the bytes rank 1 sent up the tree in a 2-rank run.
rank1_sent() {
  "${mpi[@]}" -np 2 "$@" 2>&1 >/dev/null | sed -n 's/.*bytes sent: rank 1 \([0-9]*\).*/\1/p'
}
sent=$(rank1_sent "$ecostat" run --backend cpu --repos "$gen/repos.jsonl" --downloads "$tmp/messy.csv" --max-reject-fraction 1)
[ "${sent:-0}" -gt 8 ] && ok "np 2, one file: rank 1 read a slice (sent $sent bytes)" || bad "np 2, one file: rank 1 sent '${sent}'"
sent=$(ECOSTAT_SLICE_MIN_BYTES=100000000 rank1_sent "$ecostat" run --backend cpu --repos "$gen/repos.jsonl" --downloads "$tmp/messy.csv" --max-reject-fraction 1)
[ "$sent" = 8 ] && ok "np 2, a file under ECOSTAT_SLICE_MIN_BYTES: read whole by rank 0" || bad "small file: rank 1 sent '${sent}'"
# Progress (docs/scale-out.md, "Progress"): with ECOSTAT_PROGRESS=1 rank 0 prints the downloads of
# all ranks together, once at the end with every rank's bytes in (the whole file: 3 slices);
# without it, nothing (the ranks' stderr is not a terminal).
mb=$(python3 -c "import os,sys; print(f'{os.path.getsize(sys.argv[1]) / 1e6:.1f}')" "$tmp/messy.csv")
ECOSTAT_PROGRESS=1 "${mpi[@]}" -np 3 "$ecostat" run "${messy_args[@]}" --json "$tmp/prog.json" >"$tmp/out" 2>&1
[ "$(grep -c "downloads on 3 ranks: $mb / $mb MB (100%)" "$tmp/out")" = 1 ] && [ "$(grep -c "downloads on" "$tmp/out")" -ge 1 ] &&
  ok "ECOSTAT_PROGRESS=1, np 3: rank 0 reports all ranks' $mb MB once at the end" || bad "progress over ranks"
"${mpi[@]}" -np 3 "$ecostat" run "${messy_args[@]}" --json "$tmp/prog.json" >"$tmp/out" 2>&1
! grep -q "downloads on" "$tmp/out" && ok "no progress without ECOSTAT_PROGRESS (not a terminal)" || bad "progress printed unasked"
# A record spanning lines anywhere: the file is read whole (rank 1 idles), the same results.
{ cat "$tmp/messy.csv"; printf '"org1/m\nx",2024-01-01,5\n'; } >"$tmp/spans.csv"
"$ecostat" run "${gen_args[@]}" --max-reject-fraction 1 --downloads "$tmp/spans.csv" --json "$tmp/ref_spans.json" --rejects "$tmp/ref_spans_rej.csv" >/dev/null 2>&1
"${mpi[@]}" -np 2 "$ecostat" run "${gen_args[@]}" --max-reject-fraction 1 --downloads "$tmp/spans.csv" --json "$tmp/spans2.json" --rejects "$tmp/spans2_rej.csv" >"$tmp/out" 2>&1 &&
  same_json "$tmp/ref_spans.json" "$tmp/spans2.json" >>"$tmp/out" && cmp "$tmp/ref_spans_rej.csv" "$tmp/spans2_rej.csv" >>"$tmp/out" &&
  ok "np 2, a record spanning lines: read whole, results and rejects identical" || bad "np 2, record spanning lines"
sent=$(rank1_sent "$ecostat" run --backend cpu --repos "$gen/repos.jsonl" --downloads "$tmp/spans.csv" --max-reject-fraction 1)
[ "$sent" = 8 ] && ok "np 2, a record spanning lines: rank 1 read nothing" || bad "spanning record: rank 1 sent '${sent}'"

# A Parquet file (tests/fixtures/parquet: 3 row groups of 100 rows) is cut between row groups;
# --min-date makes rejects in every row group, whose row numbers must be the file's own.
pq="$fixtures/parquet/downloads.parquet"
pq_args=(--backend cpu -q --max-reject-fraction 1 --min-date 2024-02-01 --downloads "$pq")
if "$ecostat" run "${pq_args[@]}" --json "$tmp/ref_pq.json" --rejects "$tmp/ref_pq_rej.csv" >"$tmp/out" 2>&1; then
  for n in 2 3; do
    "${mpi[@]}" -np $n "$ecostat" run "${pq_args[@]}" --json "$tmp/pq$n.json" --rejects "$tmp/pq${n}_rej.csv" >"$tmp/out" 2>&1 &&
      same_json "$tmp/ref_pq.json" "$tmp/pq$n.json" >>"$tmp/out" && cmp "$tmp/ref_pq_rej.csv" "$tmp/pq${n}_rej.csv" >>"$tmp/out" &&
      ok "np $n: a Parquet file in row-group slices: results and rejects identical" || bad "np $n: Parquet slices differ"
  done
  sent=$(rank1_sent "$ecostat" run --backend cpu --downloads "$pq" --max-reject-fraction 1 --min-date 2024-02-01)
  [ "${sent:-0}" -gt 8 ] && ok "np 2, Parquet: rank 1 read row groups (sent $sent bytes)" || bad "np 2, Parquet: rank 1 sent '${sent}'"
elif grep -q "without Parquet" "$tmp/out"; then
  echo "SKIPPED (Parquet slices): built without Parquet"
else
  bad "Parquet reference run"
fi

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
