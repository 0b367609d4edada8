#!/usr/bin/env python3
"""Download records from columnar input: ecostat from CSV, from Parquet (dictionary-encoded repo
ids) and from an in-memory pyarrow Table, next to DuckDB reading the same Parquet file; same
tables, same run, every result checked equal to ecostat's CSV run (docs/benchmarks.md,
"Columnar input").

    python3 bench/columnar_ingest.py --ecostat build/cli/ecostat --records 1e7 --models 500k \
        --data /tmp/eco-columnar [--repeats 3] [--json out.json]

The job: download records only (no repository file, so the figure is the downloads path), share
by model (top 1000 rows, total, group count) and model x month (top 100 per month, month
totals), no study. Modes, run interleaved round by round (order alternating), median of rounds:
  csv      `ecostat run --downloads downloads.csv` (wall time of the process)
  parquet  `ecostat run --downloads downloads.parquet` (wall time of the process)
  arrow    ecostat.run(downloads=<pyarrow Table in memory>) in this process (the call alone)
  duckdb   one DuckDB connection reading downloads.parquet: (repo, month) sums, then the same
           top lists and totals (the queries alone, the connection opened before)
Threads: ecostat and DuckDB use all cores (--threads 0 / DuckDB's default).
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

TOP_MODEL, TOP_MONTH = 1000, 100
JOB = ["--share-groups", "model", "--month-groups", "model", "--units", "model", "--study", "none",
       "--share-limit", str(TOP_MODEL), "--family-limit", "10", "-q"]


def parse_count(s):
    s = s.strip().upper()
    mult = {"K": 1e3, "M": 1e6, "G": 1e9}
    return int(float(s[:-1]) * mult[s[-1]]) if s[-1] in mult else int(float(s))


def prepare(args):
    os.makedirs(args.data, exist_ok=True)
    csv = os.path.join(args.data, "downloads.csv")
    pq = os.path.join(args.data, "downloads.parquet")
    if not os.path.exists(csv):
        subprocess.run([args.ecostat, "gen", "--out", args.data, "--records", args.records, "--models", args.models,
                        "--formats", "downloads"], check=True)
    if not os.path.exists(pq):
        import pyarrow as pa
        import pyarrow.csv as pcsv
        import pyarrow.parquet as pq_
        t = pcsv.read_csv(csv, convert_options=pcsv.ConvertOptions(
            column_types={"repo": pa.string(), "date": pa.date32(), "downloads": pa.int64()}))
        t = t.set_column(0, "repo", t.column("repo").dictionary_encode())
        pq_.write_table(t, pq, row_group_size=1 << 20, use_dictionary=True, compression="snappy")
    return csv, pq


def ecostat_tables(doc):
    model = [(r["key"], r["downloads"]) for r in doc["share"]["model"]]
    months = {}
    for r in doc["share"]["model_x_month"]:
        months.setdefault(r["month"], []).append((r["key"], r["downloads"]))
    info = doc["share_info"]["model"]
    return {"model": model, "months": months, "total": info["total"], "groups": info["groups"]}


def run_cli(args, path):
    with tempfile.NamedTemporaryFile(suffix=".json") as out:
        t0 = time.perf_counter()
        subprocess.run([args.ecostat, "run", "--downloads", path, "--json", out.name] + JOB, check=True)
        wall = time.perf_counter() - t0
        return wall, json.load(open(out.name))


def month_top(doc_months):
    return {m: rows[:TOP_MONTH] for m, rows in doc_months.items()}


def run_arrow(table):
    import ecostat
    opts = dict(share_groups=["model"], month_groups=["model"], concentration_units=["model"], study=[],
                share_limit=TOP_MODEL, family_limit=10)
    t0 = time.perf_counter()
    res = ecostat.run(downloads=table, **opts)
    wall = time.perf_counter() - t0
    return wall, res.to_dict()


def run_duckdb(con, pq):
    t0 = time.perf_counter()
    con.execute(f"""CREATE OR REPLACE TEMP TABLE um AS
        SELECT repo, strftime(date, '%Y-%m') AS month, sum(downloads)::UBIGINT AS s
        FROM read_parquet('{pq}') GROUP BY ALL""")
    model = con.execute(f"""SELECT repo, sum(s)::UBIGINT AS d FROM um GROUP BY repo
        ORDER BY d DESC, repo LIMIT {TOP_MODEL}""").fetchall()
    totals = con.execute("SELECT sum(s)::UBIGINT, count(DISTINCT repo) FROM um").fetchone()
    months = con.execute(f"""SELECT month, repo, s FROM um
        QUALIFY row_number() OVER (PARTITION BY month ORDER BY s DESC, repo) <= {TOP_MONTH}
        ORDER BY month, s DESC, repo""").fetchall()
    wall = time.perf_counter() - t0
    by_month = {}
    for m, r, s in months:
        by_month.setdefault(m, []).append((r, s))
    return wall, {"model": [(r, d) for r, d in model], "months": by_month, "total": totals[0], "groups": totals[1]}


def check(name, got, want):
    for k in ("total", "groups"):
        if got[k] != want[k]:
            sys.exit(f"{name}: {k} {got[k]} != ecostat's {want[k]}")
    if got["model"] != want["model"]:
        sys.exit(f"{name}: share by model differs from ecostat's")
    if month_top(got["months"]) != month_top(want["months"]):
        sys.exit(f"{name}: model x month top lists differ from ecostat's")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--ecostat", required=True)
    ap.add_argument("--records", default="1e7")
    ap.add_argument("--models", default="500k")
    ap.add_argument("--data", default="/tmp/eco-columnar")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--json")
    args = ap.parse_args()
    csv, pq = prepare(args)
    import duckdb
    import pyarrow.parquet as pq_
    table = pq_.read_table(pq)  # the pipeline's in-memory Arrow data (dictionary-encoded repo)
    n = table.num_rows
    con = duckdb.connect()
    times = {m: [] for m in ("csv", "parquet", "arrow", "duckdb")}
    reference = None
    for rnd in range(args.repeats):
        order = ["csv", "parquet", "arrow", "duckdb"]
        if rnd % 2:
            order.reverse()
        for mode in order:
            if mode == "csv":
                wall, doc = run_cli(args, csv)
            elif mode == "parquet":
                wall, doc = run_cli(args, pq)
            elif mode == "arrow":
                wall, doc = run_arrow(table)
            else:
                wall, got = run_duckdb(con, pq)
            if mode != "duckdb":
                got = ecostat_tables(doc)
                if doc["input"]["rejected"] != 0:
                    sys.exit(f"{mode}: {doc['input']['rejected']} records rejected")
            if reference is None and mode == "csv":
                reference = got
            if reference is not None:
                check(mode, got, reference)
            times[mode].append(wall)
        print(f"round {rnd + 1}: " + ", ".join(f"{m} {times[m][-1]:.2f} s" for m in order), flush=True)
    sizes = {"csv": os.path.getsize(csv), "parquet": os.path.getsize(pq), "arrow": table.nbytes,
             "duckdb": os.path.getsize(pq)}
    rows = []
    for m, ts in times.items():
        med = statistics.median(ts)
        rows.append({"mode": m, "median_s": med, "min_s": min(ts), "max_s": max(ts), "records": n,
                     "records_per_s": n / med, "input_bytes": sizes[m], "mb_per_s": sizes[m] / med / 1e6})
    print(f"{n} download records, {os.cpu_count()} cores; all results equal to ecostat's CSV run")
    print(f"{'mode':8} {'median s':>9} {'min':>6} {'max':>6} {'Mrec/s':>7} {'input MB':>9} {'MB/s':>7}")
    for r in rows:
        print(f"{r['mode']:8} {r['median_s']:9.2f} {r['min_s']:6.2f} {r['max_s']:6.2f} {r['records_per_s'] / 1e6:7.2f} "
              f"{r['input_bytes'] / 1e6:9.1f} {r['mb_per_s']:7.1f}")
    if args.json:
        json.dump({"schema": "ecostat.columnar/1", "rows": rows, "repeats": args.repeats}, open(args.json, "w"), indent=2)


if __name__ == "__main__":
    main()
