#!/usr/bin/env python3
"""ecostat's CPU backend against DuckDB, Polars and pandas: same data, same machine, same run.

    python3 bench/peers_cpu.py --ecostat build/cli/ecostat --data /tmp/eco-1e8 \
        --records 1e8 --models 2.2M [--csv] [--repeats 3] [--json results.json]

1. `ecostat gen` writes the data set (unless --data already holds it): binary columns for the
   in-memory comparison, and with --csv the CSV files for the parse comparison.
2. `ecostat bench --data DIR --backend cpu --dump DIR/dump` times ecostat's stages on the same
   events (generated in memory, bit-identical to the files) and writes its results after
   checking them against a plain loop.
3. Each peer runs in its own process (so memory is returned between peers): the events are
   loaded from the binary files into the peer's own in-memory form (not timed, reported as
   ingest), then each group-by and the concentration figures are timed (warm-up, repeats,
   median) and the result of the last repeat is checked against ecostat's: integers exactly,
   ratios to 1e-12 relative. A peer whose result differs is REFUSED: its time is not reported.
4. One table of ratios: peer time / ecostat time per stage (above 1: ecostat is faster).

Like with like: every tool groups columnar arrays that are already in memory (u32 unit, u16
month, u32 count; the group of a unit comes from a u32 array indexed by unit), with all cores
(DuckDB and Polars use their thread pools, ecostat --threads; pandas is single-threaded by
design). Parsing is compared separately (--csv): CSV file -> downloads per model.
"""
import argparse
import json
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import peerlib as pl_  # noqa: E402
import numpy as np  # noqa: E402

PEERS = ["duckdb", "polars", "pandas"]


# ---------------------------------------------------------------------------------------------
# Peers. Each: ingest(data) once; stage functions returning a native result; to_rows(result)
# turning it into numpy arrays for the check (not timed); concentration(model_result).
# ---------------------------------------------------------------------------------------------
class DuckDBPeer:
    name = "duckdb"

    def __init__(self, threads):
        import duckdb
        import pyarrow as pa
        self.duckdb, self.pa = duckdb, pa
        self.version = duckdb.__version__
        self.con = duckdb.connect()
        if threads:
            self.con.execute("SET threads = %d" % threads)
        self.threads = self.con.execute("SELECT current_setting('threads')").fetchall()[0][0]

    def ingest(self, d):
        pa = self.pa
        self.models = d.models
        ev = pa.table({"unit": d.unit, "month": d.month, "count": d.count})
        # A DuckDB table (its own columnar storage), as a DuckDB user would load the data.
        self.con.register("ev_arrow", ev)
        self.con.execute("CREATE OR REPLACE TABLE ev AS SELECT * FROM ev_arrow")
        self.con.unregister("ev_arrow")
        cols = {"unit": np.arange(d.models, dtype=np.uint32)}
        for g, arr in d.maps.items():
            cols[g] = arr
        self.con.register("units_arrow", pa.table(cols))
        self.con.execute("CREATE OR REPLACE TABLE units AS SELECT * FROM units_arrow")
        self.con.unregister("units_arrow")

    def q(self, sql):
        return self.con.sql(sql).to_arrow_table()

    def groupby(self, group):
        if group is None:
            return lambda: self.q("SELECT unit, SUM(count)::UBIGINT AS s FROM ev GROUP BY unit")
        if group == "model":
            return lambda: self.q("SELECT unit AS g, month, SUM(count)::UBIGINT AS s FROM ev GROUP BY unit, month")
        return lambda: self.q("SELECT u.%s AS g, e.month, SUM(e.count)::UBIGINT AS s FROM ev e JOIN units u "
                              "ON e.unit = u.unit GROUP BY 1, 2" % group)

    def rows(self, res, group):
        c = {k: res.column(k).to_numpy() for k in res.column_names}
        if group is None:
            return c["unit"], c["s"]
        return c["g"], c["month"], c["s"]

    def concentration(self, model_res, spec):
        self.con.register("mt_arrow", model_res)

        def run():
            self.con.execute("CREATE OR REPLACE TEMP TABLE x AS SELECT COALESCE(m.s, 0)::UBIGINT AS x "
                             "FROM units u LEFT JOIN mt_arrow m ON u.unit = m.unit")
            row = self.con.execute(
                "WITH r AS (SELECT x, ROW_NUMBER() OVER (ORDER BY x) AS i FROM x) "
                "SELECT COUNT(*), SUM(x)::HUGEINT, SUM(i::HUGEINT * x::HUGEINT), SUM(x::HUGEINT * x::HUGEINT) "
                "FROM r").fetchall()[0]
            n, S, rw, ss = int(row[0]), int(row[1]), int(row[2]), int(row[3])
            out = {"n": n, "total": S, "gini": (2 * rw - (n + 1) * S) / (n * S) if S else 0.0,
                   "hhi": ss / (S * S) if S else 0.0,
                   "top_k": {}, "top_pct": {}, "percentiles": {}, "below": {}}
            for k in spec["top_k"]:
                v = self.con.execute("SELECT SUM(x)::HUGEINT FROM (SELECT x FROM x ORDER BY x DESC LIMIT %d)" % k).fetchall()[0][0]
                out["top_k"][str(k)] = int(v) / S
            for key, p in zip(spec["top_pct_keys"], spec["top_pct"]):
                k = pl_.top_pct_count(n, p)
                v = self.con.execute("SELECT SUM(x)::HUGEINT FROM (SELECT x FROM x ORDER BY x DESC LIMIT %d)" % k).fetchall()[0][0]
                out["top_pct"][key] = int(v) / S
            qs = ", ".join("quantile_cont(x, %r)" % (q / 100) for q in spec["percentiles"])
            vals = self.con.execute("SELECT %s FROM x" % qs).fetchall()[0]
            out["percentiles"] = {k: float(v) for k, v in zip(spec["percentile_keys"], vals)}
            for t in spec["below"]:
                out["below"][str(t)] = int(self.con.execute("SELECT COUNT(*) FROM x WHERE x < %d" % t).fetchall()[0][0])
            return out
        return run

    def csv_groupby(self, path):
        return lambda: self.q("SELECT repo, SUM(downloads)::UBIGINT AS s FROM read_csv('%s', header = true, "
                              "columns = {'repo': 'VARCHAR', 'date': 'DATE', 'downloads': 'UBIGINT'}) GROUP BY repo" % path)

    def csv_rows(self, res):
        return res.column("repo").to_pylist(), res.column("s").to_numpy()


class PolarsPeer:
    name = "polars"

    def __init__(self, threads):
        if threads:
            os.environ["POLARS_MAX_THREADS"] = str(threads)
        import polars as pl
        self.pl = pl
        self.version = pl.__version__
        self.threads = pl.thread_pool_size()

    def ingest(self, d):
        pl = self.pl
        self.models = d.models
        self.df = pl.DataFrame({"unit": d.unit, "month": d.month, "count": d.count})
        self.maps = {g: pl.Series(g, arr) for g, arr in d.maps.items()}

    def groupby(self, group):
        pl = self.pl
        s = pl.col("count").cast(pl.UInt64).sum().alias("s")
        if group is None:
            return lambda: self.df.group_by("unit").agg(s)
        if group == "model":
            return lambda: self.df.group_by("unit", "month").agg(s).rename({"unit": "g"})
        m = self.maps[group]
        return lambda: (self.df.select(pl.lit(m).gather(pl.col("unit")).alias("g"), pl.col("month"), pl.col("count"))
                        .group_by("g", "month").agg(s))

    def rows(self, res, group):
        if group is None:
            return res["unit"].to_numpy(), res["s"].to_numpy()
        return res["g"].to_numpy(), res["month"].to_numpy(), res["s"].to_numpy()

    def concentration(self, model_res, spec):
        pl = self.pl
        units = pl.DataFrame({"unit": np.arange(self.models, dtype=np.uint32)})

        def run():
            x = units.join(model_res, on="unit", how="left").select(pl.col("s").fill_null(0))["s"].sort()
            n = x.len()
            S = int(x.sum())
            rw = int((x.cast(pl.UInt64) * pl.Series(np.arange(1, n + 1, dtype=np.uint64))).sum())
            xf = x.cast(pl.Float64) / S
            out = {"n": n, "total": S, "gini": (2 * rw - (n + 1) * S) / (n * S) if S else 0.0,
                   "hhi": float((xf * xf).sum()), "top_k": {}, "top_pct": {}, "percentiles": {}, "below": {}}
            for k in spec["top_k"]:
                out["top_k"][str(k)] = int(x.tail(k).sum()) / S
            for key, p in zip(spec["top_pct_keys"], spec["top_pct"]):
                out["top_pct"][key] = int(x.tail(pl_.top_pct_count(n, p)).sum()) / S
            for key, q in zip(spec["percentile_keys"], spec["percentiles"]):
                out["percentiles"][key] = float(x.quantile(q / 100, interpolation="linear"))
            for t in spec["below"]:
                out["below"][str(t)] = int((x < t).sum())
            return out
        return run

    def csv_groupby(self, path):
        pl = self.pl
        return lambda: (pl.scan_csv(path, schema={"repo": pl.String, "date": pl.String, "downloads": pl.UInt64})
                        .group_by("repo").agg(pl.col("downloads").sum().alias("s")).collect())

    def csv_rows(self, res):
        return res["repo"].to_list(), res["s"].to_numpy()


class PandasPeer:
    name = "pandas"

    def __init__(self, threads):
        import pandas as pd
        self.pd = pd
        self.version = pd.__version__
        self.threads = 1

    def ingest(self, d):
        pd = self.pd
        self.models = d.models
        # Counts as uint64 so that sums cannot wrap (pandas keeps the column's width).
        self.df = pd.DataFrame({"unit": d.unit, "month": d.month, "count": d.count.astype(np.uint64)})
        self.maps = d.maps

    def groupby(self, group):
        df = self.df
        if group is None:
            return lambda: df.groupby("unit", sort=False)["count"].sum()
        if group == "model":
            return lambda: df.groupby(["unit", "month"], sort=False)["count"].sum()
        m = self.maps[group]
        return lambda: df.groupby([m[df["unit"].to_numpy()], df["month"]], sort=False)["count"].sum()

    def rows(self, res, group):
        if group is None:
            return res.index.to_numpy(), res.to_numpy()
        return res.index.get_level_values(0).to_numpy(), res.index.get_level_values(1).to_numpy(), res.to_numpy()

    def concentration(self, model_res, spec):
        pd = self.pd
        M = self.models

        def run():
            x = model_res.reindex(pd.RangeIndex(M), fill_value=0).sort_values(ignore_index=True)
            n = len(x)
            S = int(x.sum())
            rw = int((x * pd.Series(np.arange(1, n + 1, dtype=np.uint64))).sum())
            xf = x.astype("float64") / S
            out = {"n": n, "total": S, "gini": (2 * rw - (n + 1) * S) / (n * S) if S else 0.0,
                   "hhi": float((xf * xf).sum()), "top_k": {}, "top_pct": {}, "percentiles": {}, "below": {}}
            for k in spec["top_k"]:
                out["top_k"][str(k)] = int(x.iloc[n - min(k, n):].sum()) / S
            for key, p in zip(spec["top_pct_keys"], spec["top_pct"]):
                out["top_pct"][key] = int(x.iloc[n - pl_.top_pct_count(n, p):].sum()) / S
            for key, q in zip(spec["percentile_keys"], spec["percentiles"]):
                out["percentiles"][key] = float(x.quantile(q / 100))
            for t in spec["below"]:
                out["below"][str(t)] = int((x < t).sum())
            return out
        return run

    def csv_groupby(self, path):
        pd = self.pd
        return lambda: pd.read_csv(path, usecols=["repo", "downloads"], dtype={"downloads": "uint64"}) \
            .groupby("repo", sort=False)["downloads"].sum()

    def csv_rows(self, res):
        return list(res.index), res.to_numpy()


def make_peer(name, threads):
    return {"duckdb": DuckDBPeer, "polars": PolarsPeer, "pandas": PandasPeer}[name](threads)


# ---------------------------------------------------------------------------------------------
def worker(args):
    """One peer, in its own process: ingest, time, check; writes a JSON file."""
    out = {"peer": args.worker, "stages": {}}
    try:
        peer = make_peer(args.worker, args.threads)
    except ImportError as e:
        out["error"] = "not installed: %s" % e
        json.dump(out, open(args.out, "w"), indent=1)
        return 0
    out["version"] = peer.version
    out["threads"] = peer.threads
    ref = pl_.Reference(args.dump)
    stages = args.stages.split(",") if args.stages else None
    want = lambda s: stages is None or s in stages  # noqa: E731
    t = time.perf_counter()
    d = pl_.Data(args.data)
    out["load_ms"] = (time.perf_counter() - t) * 1e3
    t = time.perf_counter()
    peer.ingest(d)
    out["ingest_ms"] = (time.perf_counter() - t) * 1e3
    events = d.events
    spec = pl_.concentration_spec(ref) if want("concentration") else None
    model_res = None
    for st, group in [("groupby_model", None)] + [("groupby_%s_month" % g, g) for g in pl_.MONTH_GROUPS]:
        if not (want(st) or (st == "groupby_model" and want("concentration"))):
            continue
        samples, res = pl_.timed(peer.groupby(group), args.repeats, args.warmup)
        rows = peer.rows(res, group)
        err = pl_.check_model_totals(ref, *rows) if group is None else pl_.check_month_table(ref, group, *rows)
        out["stages"][st] = pl_.stage_record(samples, events, status="ok" if not err else "mismatch: " + err)
        print("%s %-28s %10.1f ms  %s" % (peer.name, st, out["stages"][st]["median_ms"], err or "ok"), file=sys.stderr, flush=True)
        if group is None:
            model_res = res if not err else None
        del res, rows
    if want("concentration") and model_res is not None:
        samples, got = pl_.timed(peer.concentration(model_res, spec), args.repeats, args.warmup)
        err = pl_.check_concentration(ref, got)
        out["stages"]["concentration"] = pl_.stage_record(samples, d.models, status="ok" if not err else "mismatch: " + err)
        print("%s %-28s %10.1f ms  %s" % (peer.name, "concentration", out["stages"]["concentration"]["median_ms"], err or "ok"),
              file=sys.stderr, flush=True)
    csv = os.path.join(args.data, "downloads.csv")
    if want("csv_groupby_model") and args.csv and os.path.exists(csv):
        del d
        peer.df = None
        reps = max(1, args.csv_repeats)
        samples, res = pl_.timed(peer.csv_groupby(csv), reps, 0)
        repos, sums = peer.csv_rows(res)
        ids = open(os.path.join(args.data, "units", "ids.txt")).read().split("\n")
        index = {k: i for i, k in enumerate(ids) if k}
        units = np.array([index.get(r, -1) for r in repos], dtype=np.int64)
        err = "unknown repo id" if (units < 0).any() else pl_.check_model_totals(ref, units, sums)
        out["stages"]["csv_groupby_model"] = pl_.stage_record(samples, events, bytes=os.path.getsize(csv),
                                                              status="ok" if not err else "mismatch: " + err)
        print("%s %-28s %10.1f ms  %s" % (peer.name, "csv_groupby_model", out["stages"]["csv_groupby_model"]["median_ms"],
                                         err or "ok"), file=sys.stderr, flush=True)
    json.dump(out, open(args.out, "w"), indent=1)
    return 0


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--ecostat", default="build/cli/ecostat", help="the ecostat binary")
    ap.add_argument("--data", required=True, help="data directory (written by `ecostat gen` when missing)")
    ap.add_argument("--records", help="download records (1e8, 10M ...) when generating")
    ap.add_argument("--models", help="models (2.2M ...) when generating")
    ap.add_argument("--seed", type=int, help="generator seed (default 1)")
    ap.add_argument("--peers", default=",".join(PEERS), help="comma list among duckdb, polars, pandas")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--warmup", type=int, default=1)
    ap.add_argument("--threads", type=int, default=0, help="threads for ecostat, DuckDB and Polars (0 = all cores)")
    ap.add_argument("--csv", action="store_true", help="also compare CSV parsing (CSV file -> downloads per model)")
    ap.add_argument("--csv-repeats", type=int, default=1)
    ap.add_argument("--stages", help="comma list of stages (default: all)")
    ap.add_argument("--json", help="write every figure here (schema ecostat.peers/1)")
    ap.add_argument("--worker", help=argparse.SUPPRESS)
    ap.add_argument("--dump", help=argparse.SUPPRESS)
    ap.add_argument("--out", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.worker:
        return worker(args)

    records = pl_.scaled(args.records) if args.records else None
    models = pl_.scaled(args.models) if args.models else None
    os.makedirs(args.data, exist_ok=True)
    pl_.ensure_data(args.ecostat, args.data, records, models, args.seed, args.csv)

    # ecostat first, on the same events; its results are checked by itself and dumped.
    dump = os.path.join(args.data, "dump")
    eco_json = os.path.join(args.data, "ecostat_bench.json")
    eco_stages = ["groupby_model", "groupby_model_month", "groupby_organisation_month", "groupby_country_month",
                  "groupby_org_type_month", "groupby_family_month", "all_tables", "concentration", "lineage", "group_sum"]
    if args.csv:
        eco_stages += ["parse_repos", "parse_downloads", "csv_groupby_model", "end_to_end"]
    if args.stages:
        # all_tables and concentration write the dump the peers are checked against
        eco_stages = [s for s in eco_stages if s in args.stages.split(",") or s in ("all_tables", "concentration")]
    cmd = [args.ecostat, "bench", "--data", args.data, "--backend", "cpu", "--threads", args.threads,
           "--repeats", args.repeats, "--warmup", args.warmup, "--json", eco_json, "--dump", dump,
           "--stages", ",".join(eco_stages)]
    if args.csv:
        cmd += ["--parse-repeats", args.csv_repeats]
    rc = pl_.run(cmd).returncode
    if rc != 0:
        raise SystemExit("ecostat bench failed (%d): its own results did not check out" % rc)
    eco = json.load(open(eco_json))

    peers = {}
    for p in [x for x in args.peers.split(",") if x]:
        out = os.path.join(args.data, "peer_%s.json" % p)
        cmd = [sys.executable, os.path.abspath(__file__), "--worker", p, "--data", args.data, "--dump", dump,
               "--out", out, "--repeats", args.repeats, "--warmup", args.warmup, "--threads", args.threads,
               "--csv-repeats", args.csv_repeats]
        if args.csv:
            cmd.append("--csv")
        if args.stages:
            cmd += ["--stages", args.stages]
        r = pl_.run(cmd)
        if r.returncode != 0 or not os.path.exists(out):
            peers[p] = {"peer": p, "error": "worker failed (%d)" % r.returncode, "stages": {}}
        else:
            peers[p] = json.load(open(out))

    stages = pl_.GROUPBY_STAGES + ["all_tables", "concentration"] + (["csv_groupby_model"] if args.csv else [])
    eco_ms = {s: pl_.ecostat_stage_ms(eco, "cpu", s) for s in stages}
    peer_stages = {}
    for p, r in peers.items():
        st = dict(r.get("stages", {}))
        month = ["groupby_%s_month" % g for g in pl_.MONTH_GROUPS]
        if all(m in st for m in month):
            bad = [m for m in month if st[m]["status"] != "ok"]
            st["all_tables"] = {"median_ms": sum(st[m]["median_ms"] for m in month),
                                "status": "ok" if not bad else "mismatch in " + ",".join(bad),
                                "note": "sum of the five month-table queries"}
        peer_stages[p] = st
    skipped = {p: r["error"] for p, r in peers.items() if r.get("error")}
    h = eco["host"]
    title = ("ecostat cpu (%d threads) vs peers; %s, %d cores; %s events over %s models (seed %s); %s\n"
             % (h["threads_used"], h["cpu"], h["cpu_threads"], eco["data"]["events"], eco["data"]["models"],
                eco["data"]["seed"], eco["date"]))
    versions = ", ".join("%s %s (%s threads)" % (p, r.get("version", "?"), r.get("threads", "?"))
                         for p, r in peers.items() if not r.get("error"))
    pl_.print_ratio_table(title + "peers: " + versions, "ecostat", stages, eco_ms,
                          {p: s for p, s in peer_stages.items() if p not in skipped})
    for p, why in skipped.items():
        print("SKIPPED %s: %s" % (p, why))
    for p, r in peers.items():
        for s, v in r.get("stages", {}).items():
            if v.get("status") != "ok":
                print("REFUSED %s %s: %s" % (p, s, v.get("status")))
    if args.json:
        doc = {"schema": "ecostat.peers/1", "date": eco["date"], "host": eco["host"], "data": eco["data"],
               "ceilings": eco["ceilings"], "ecostat": eco, "ecostat_ms": eco_ms, "peers": peers,
               "peer_stages": peer_stages, "ratio": "peer median ms / ecostat median ms (above 1: ecostat faster)"}
        with open(args.json, "w") as f:
            json.dump(doc, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
