#!/usr/bin/env bash
# Failures that must never be silent (docs/cli.md): exit codes, outputs written atomically,
# write errors with the OS reason, invalid UTF-8 in outputs, ECOSTAT_BACKEND, --version,
# thread limits. Prints each check and exits non-zero when any is wrong.
set -u
ecostat=$1 fixtures=$2
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
pass=0 fail=0
. "$(dirname "$0")/check_lib.sh"  # check, expect, same_json
no_temporaries() { ! ls -A "$1" | grep -Eq '\.tmp-|\.ecostat-tmp-'; }
E=$fixtures/engine
job=(--backend cpu --repos "$E/repos.jsonl" --downloads "$E/downloads.csv" --orgs "$E/orgs.csv")

# --- item 8: exit codes, the reject summary, the reject limit --------------------------------
check "version"                  0 "^ecostat [0-9]+\.[0-9]+\.[0-9]+ \(commit ([0-9a-f]+|unknown)\)$" -- "$ecostat" --version
check "version backends"         0 "backends compiled: cpu"     -- "$ecostat" --version
check "results name the version" 0 '"ecostat_version": "[0-9.]+",' -- "$ecostat" run --backend cpu --json -
check "rejects above the limit"  3 "downloads.csv: 2 of 7 records rejected .*--max-reject-fraction 0.01" -- "$ecostat" run "${job[@]}" -q
check "summary even with -q"     3 "^ecostat: 2 of 15 records rejected \(--rejects FILE lists them\)" -- "$ecostat" run "${job[@]}" -q
check "limit raised"             0 "2 of 15 records rejected"   -- "$ecostat" run "${job[@]}" -q --max-reject-fraction 0.5
check "limit out of range"       2 "max-reject-fraction"        -- "$ecostat" run --max-reject-fraction 2
printf 'repo,date,downloads\nacme/base,never,3\nacme/base,2024-13-01,4\n' >"$tmp/all-bad.csv"
check "no record accepted"       3 "all-bad.csv: none of its 2 records was accepted" -- "$ecostat" run --backend cpu --repos "$E/repos.jsonl" --downloads "$tmp/all-bad.csv" -q --max-reject-fraction 1
check "no rejects, no summary"   0 ""                           -- "$ecostat" run --backend cpu -q
expect "nothing on the terminal" [ ! -s "$tmp/out" ]
check "two inputs on stdin"      2 "--repos and --downloads both read standard input" -- sh -c "'$ecostat' run --repos - --downloads - </dev/null"
check "ECOSTAT_BACKEND=bogus"    2 "ECOSTAT_BACKEND: unknown backend 'bogus'" -- env ECOSTAT_BACKEND=bogus "$ecostat" run -q
check "ECOSTAT_BACKEND=cpu"      0 '"name": "cpu"'              -- env ECOSTAT_BACKEND=cpu "$ecostat" run --json -
check "--backend wins over env"  0 '"name": "cpu"'              -- env ECOSTAT_BACKEND=bogus "$ecostat" run --backend cpu --json -
for b in cuda hip; do  # asked for through the environment without a device: an error, not the CPU
  if ! "$ecostat" backends --probe $b >/dev/null; then
    check "ECOSTAT_BACKEND=$b"     1 "backend '$b'"                -- env ECOSTAT_BACKEND=$b "$ecostat" run -q
  fi
done

# --- item 9: thread limits ---------------------------------------------------------------------
check "threads capped"           2 "--threads 100000: at most"  -- timeout 60 "$ecostat" run --threads 100000
# With address space for fewer thread stacks than asked: runs with the threads it got, or
# fails with a message; never hangs or aborts. (Skipped where the binary cannot start under
# the limit, as with ASan.)
if (ulimit -v 1500000; "$ecostat" --version >/dev/null 2>&1); then
  check "threads refused by the OS" 0 '"device": "[0-9]+ CPU threads"|error: out of memory' -- bash -c "ulimit -v 1500000; timeout 60 '$ecostat' run --backend cpu --threads 250 -q --json -; rc=\$?; [ \$rc = 1 ] && exit 0; exit \$rc"
fi

# --- item 7: outputs are atomic, checked, never an input --------------------------------------
check "json to /dev/full"        1 "cannot write /dev/full: No space left on device" -- "$ecostat" run --backend cpu -q --json /dev/full
check "tables to a full stdout"  1 "cannot write standard output: No space left on device" -- sh -c "'$ecostat' run --backend cpu > /dev/full"
check "report to /dev/full"      1 "cannot write /dev/full: No space left on device" -- "$ecostat" report --backend cpu --out /dev/full
cp "$E/downloads.csv" "$tmp/in.csv"; sum_before=$(cksum <"$tmp/in.csv")
check "rejects onto an input"    2 "--rejects .*in.csv is the input file of --downloads" -- "$ecostat" run --backend cpu --downloads "$tmp/in.csv" --rejects "$tmp/in.csv"
ln "$tmp/in.csv" "$tmp/hardlink.csv"
check "rejects onto a link of an input" 2 "is the input file of --downloads" -- "$ecostat" run --backend cpu --downloads "$tmp/in.csv" --rejects "$tmp/./hardlink.csv"
check "json onto an input"       2 "--json .* is the input file of --downloads" -- "$ecostat" run --backend cpu --downloads "$tmp/in.csv" --json "$tmp/in.csv"
expect "the input is untouched"  [ "$(cksum <"$tmp/in.csv")" = "$sum_before" ]
# Output directories are checked before the computation: the error names the output, not the
# strict reject the computation would meet first.
check "json dir checked first"   1 "cannot write $tmp/no/such/r.json: No such file or directory" -- "$ecostat" run "${job[@]}" --strict --json "$tmp/no/such/r.json"
check "rejects dir checked first" 1 "cannot write $tmp/no/such/rej.csv" -- "$ecostat" run "${job[@]}" --strict --rejects "$tmp/no/such/rej.csv"
check "csv parents created"      0 ""                           -- "$ecostat" run --backend cpu -q --csv "$tmp/a/b/tables"
expect "csv tables in nested dir" [ -s "$tmp/a/b/tables/share_author.csv" ]
expect "csv: no staging dir left" no_temporaries "$tmp/a/b/tables"
# A failed run keeps the previous outputs and leaves no temporary files.
mkdir -p "$tmp/prev/tables"
echo previous >"$tmp/prev/r.json"; echo previous >"$tmp/prev/rej.csv"; echo previous >"$tmp/prev/tables/share_author.csv"
check "failed run"               1 "downloads.csv:7"            -- "$ecostat" run "${job[@]}" --strict --json "$tmp/prev/r.json" --rejects "$tmp/prev/rej.csv" --csv "$tmp/prev/tables"
expect "previous json kept"      [ "$(cat "$tmp/prev/r.json")" = previous ]
expect "previous rejects kept"   [ "$(cat "$tmp/prev/rej.csv")" = previous ]
expect "previous table kept"     [ "$(cat "$tmp/prev/tables/share_author.csv")" = previous ]
expect "no temporaries left"     no_temporaries "$tmp/prev"
expect "no staging dir left"     no_temporaries "$tmp/prev/tables"
check "successful run replaces"  3 ""                           -- "$ecostat" run "${job[@]}" -q --json "$tmp/prev/r.json" --rejects "$tmp/prev/rej.csv" --csv "$tmp/prev/tables"
check "new rejects file"         0 "downloads.csv,7,downloads"  -- cat "$tmp/prev/rej.csv"
check "new json"                 0 '"schema": "ecostat.results/1"' -- cat "$tmp/prev/r.json"
expect "no temporaries after"    no_temporaries "$tmp/prev"

# --- item 5: invalid UTF-8 never aborts an output ----------------------------------------------
printf '{"id":"acme/ok","author":"acme","downloads":5}\n{"id":"acme/bad\xff","author":"ac\xc0\x80me","downloads":7}\n' >"$tmp/utf8.jsonl"
check "invalid UTF-8 to json"    0 ""                           -- "$ecostat" run --backend cpu --repos "$tmp/utf8.jsonl" --max-reject-fraction 1 -q --json "$tmp/utf8.json" --rejects "$tmp/utf8-rej.csv" --csv "$tmp/utf8-csv"
check "the json parses"          0 "wrote"                      -- "$ecostat" report --results "$tmp/utf8.json" --out "$tmp/utf8.html"
expect "rejects file is UTF-8"   iconv -f UTF-8 -t UTF-8 "$tmp/utf8-rej.csv" -o /dev/null
expect "csv tables are UTF-8"    sh -c "cat '$tmp'/utf8-csv/*.csv | iconv -f UTF-8 -t UTF-8 >/dev/null"

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
