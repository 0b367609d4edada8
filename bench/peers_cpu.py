#!/usr/bin/env python3
"""ecostat's CPU backend against DuckDB, Polars, pandas and a dense-key numpy floor: same data,
same machine, same run, every peer result checked equal to ecostat's.

    python3 bench/peers_cpu.py --ecostat build/cli/ecostat --data /tmp/eco-1e8 \
        --records 1e8 --models 2.2M [--csv] [--end-to-end] [--repeats 3] [--json results.json]

Method (harness of 2026-11-30; docs/benchmarks.md "Method"):
1. `ecostat gen` writes the data set (unless --data already holds it).
2. Rounds, one per repeat, interleaved: `ecostat bench --repeats 1` (its stages, its own results
   checked and dumped) and each peer in its own process (`--worker`, one timed sample per stage
   after --warmup untimed runs). The order alternates per round (ecostat first, then the peers;
   next round the peers in reverse order, then ecostat). Every figure is the median of the
   rounds, with min and max.
3. Each peer's result of every round is checked against ecostat's dump: integers exactly, ratios
   to 1e-12 relative. A peer whose result differs is REFUSED: its time is not reported.
4. Like with like: every peer starts from the same in-memory columns (not timed); all_tables is
   one group-by on the finest grain (unit x month) then roll-ups of that result, as ecostat
   does; concentration gets the same dense per-model totals ecostat's stage gets and times only
   the math (one query); the CSV stage hands every tool the same prebuilt repository-id
   dictionary (ecostat: its repository table; peers: an id -> unit table) and times CSV file ->
   per-unit totals; a second CSV row adds the dictionary for both (ecostat: parse_repos;
   peers: their own string group-by). Threads of each tool are printed, with a per-thread
   ratio (peer ms x peer threads / ecostat ms x ecostat threads).
5. --end-to-end: `ecostat run` on repos.jsonl + downloads.csv + orgs.csv, wall time and peak
   RSS of the subprocess, against each peer reading the same files with its own readers (in its
   own subprocess, peak RSS from getrusage) and computing the same tables, checked equal to the
   results JSON of `ecostat run`. The inputs are read once first (a warm page cache for every
   tool) and each tool's earlier outputs are removed before its timed run.
"""
import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import peerlib as pl_  # noqa: E402
import numpy as np  # noqa: E402

PEERS = ["duckdb", "polars", "pandas", "numpy"]
E2E_PEERS = ["duckdb", "polars", "pandas"]
E2E_SHARE = ["model", "organisation", "country", "org_type"]
E2E_MONTH = ["model", "organisation", "country", "org_type"]
# orgs.csv columns; an author without a row (or an empty cell) is "unknown", as in ecostat
ATTRIBUTES = ["organisation", "country", "org_type"]


# ---------------------------------------------------------------------------------------------
# Peers. Each: ingest(data) once (not timed); stage functions returning a thunk that is timed;
# rows(...) turning a result into numpy arrays for the check (not timed). The concentration gets
# the same dense per-model totals ecostat's concentration stage gets.
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

    def load(self, name, cols):
        # A DuckDB table (its own columnar storage), as a DuckDB user would load the data.
        self.con.register(name + "_arrow", self.pa.table(cols))
        self.con.execute("CREATE OR REPLACE TABLE %s AS SELECT * FROM %s_arrow" % (name, name))
        self.con.unregister(name + "_arrow")

    def ingest(self, d):
        self.models = d.models
        self.load("ev", {"unit": d.unit, "month": d.month, "count": d.count})
        cols = {"unit": np.arange(d.models, dtype=np.uint32)}
        cols.update(d.maps)
        self.load("units", cols)

    def release(self):
        self.con.execute("DROP TABLE IF EXISTS ev")

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

    def all_tables(self):
        def run():
            self.con.execute("CREATE OR REPLACE TEMP TABLE fine AS SELECT unit, month, SUM(count)::UBIGINT AS s "
                             "FROM ev GROUP BY unit, month")
            out = {"model": self.q("SELECT unit AS g, month, s FROM fine")}
            for g in pl_.MONTH_GROUPS[1:]:
                out[g] = self.q("SELECT u.%s AS g, f.month, SUM(f.s)::UBIGINT AS s FROM fine f JOIN units u "
                                "ON f.unit = u.unit GROUP BY 1, 2" % g)
            return out
        return run

    def all_rows(self, res):
        return {g: self.rows(t, g) for g, t in res.items()}

    def concentration(self, dense, spec):
        self.load("x", {"x": dense})
        n = len(dense)
        cols = ["COUNT(*)", "SUM(x)::HUGEINT", "SUM(i::HUGEINT * x)", "SUM(x::HUGEINT * x)"]
        cols += ["COALESCE(SUM(x) FILTER (WHERE i > %d), 0)::HUGEINT" % (n - min(k, n)) for k in spec["top_k"]]
        cols += ["COALESCE(SUM(x) FILTER (WHERE i > %d), 0)::HUGEINT" % (n - pl_.top_pct_count(n, p))
                 for p in spec["top_pct"]]
        cols += ["quantile_cont(x, %r)" % (q / 100) for q in spec["percentiles"]]
        cols += ["COUNT(*) FILTER (WHERE x < %d)" % t for t in spec["below"]]
        sql = "WITH r AS (SELECT x, ROW_NUMBER() OVER (ORDER BY x) AS i FROM x) SELECT %s FROM r" % ", ".join(cols)

        def run():
            v = list(self.con.execute(sql).fetchall()[0])
            n_, S, rw, ss = int(v[0]), int(v[1]), int(v[2]), int(v[3])
            v = v[4:]
            out = {"n": n_, "total": S, "gini": (2 * rw - (n_ + 1) * S) / (n_ * S) if S else 0.0,
                   "hhi": ss / (S * S) if S else 0.0}
            nk, npct, nq = len(spec["top_k"]), len(spec["top_pct"]), len(spec["percentiles"])
            out["top_k"] = {str(k): int(x) / S for k, x in zip(spec["top_k"], v[:nk])}
            out["top_pct"] = {k: int(x) / S for k, x in zip(spec["top_pct_keys"], v[nk:nk + npct])}
            out["percentiles"] = {k: float(x) for k, x in zip(spec["percentile_keys"], v[nk + npct:nk + npct + nq])}
            out["below"] = {str(t): int(x) for t, x in zip(spec["below"], v[nk + npct + nq:])}
            return out
        return run

    def csv_src(self, path):
        return ("read_csv('%s', header = true, columns = {'repo': 'VARCHAR', 'date': 'VARCHAR', "
                "'downloads': 'UBIGINT'})" % path)

    def load_dictionary(self, ids):
        self.load("ids", {"id": ids, "unit": np.arange(len(ids), dtype=np.uint32)})

    def csv_groupby(self, path):
        return lambda: self.q("SELECT i.unit, SUM(d.downloads)::UBIGINT AS s FROM %s d JOIN ids i ON d.repo = i.id "
                              "GROUP BY i.unit" % self.csv_src(path))

    def csv_rows(self, res):
        return res.column("unit").to_numpy(), res.column("s").to_numpy()

    def csv_groupby_repo(self, path):
        return lambda: self.q("SELECT repo, SUM(downloads)::UBIGINT AS s FROM %s GROUP BY repo" % self.csv_src(path))

    def csv_repo_rows(self, res):
        return res.column("repo").to_pylist(), res.column("s").to_numpy()

    def end_to_end(self, d, out):
        """One query: read the three files, group on the finest grain (repo x month), join, roll up."""
        j = os.path.join
        sets = ", ".join(["(%s)" % k for k in E2E_SHARE] + ["(%s, m)" % k for k in E2E_MONTH])
        sql = ("WITH f AS (SELECT repo, substr(date, 1, 7) AS m, SUM(downloads)::UBIGINT AS s FROM %s GROUP BY ALL), "
               "r AS (SELECT id, author FROM read_json('%s', format = 'newline_delimited', "
               "columns = {'id': 'VARCHAR', 'author': 'VARCHAR'})), "
               "o AS (SELECT * FROM read_csv('%s', header = true, all_varchar = true)), "
               "t AS (SELECT f.repo AS model, COALESCE(o.organisation, 'unknown') AS organisation, "
               "COALESCE(o.country, 'unknown') AS country, COALESCE(o.org_type, 'unknown') AS org_type, f.m, f.s "
               "FROM f JOIN r ON f.repo = r.id LEFT JOIN o ON r.author = o.handle) "
               "SELECT model, organisation, country, org_type, m, GROUPING(model, organisation, country, org_type, m) AS gid, "
               "SUM(s)::UBIGINT AS s FROM t GROUP BY GROUPING SETS (%s)"
               % (self.csv_src(j(d, "downloads.csv")), j(d, "repos.jsonl"), j(d, "orgs.csv"), sets))
        self.con.execute("CREATE OR REPLACE TEMP TABLE res AS " + sql)
        for i, k in enumerate(["model", "organisation", "country", "org_type"]):
            gid = 31 ^ (1 << (4 - i))
            if k in E2E_SHARE:
                self.con.execute("COPY (SELECT %s AS key, s FROM res WHERE gid = %d) TO '%s' (FORMAT parquet)"
                                 % (k, gid, e2e_file(out, k)))
            if k in E2E_MONTH:
                self.con.execute("COPY (SELECT %s AS key, m, s FROM res WHERE gid = %d) TO '%s' (FORMAT parquet)"
                                 % (k, gid ^ 1, e2e_file(out, k + "_x_month")))


def polars_engine(pl):
    """The streaming engine where the installed Polars has it (1.x and later), else its default."""
    import inspect
    return "streaming" if "engine" in inspect.signature(pl.LazyFrame.collect).parameters else None


class PolarsPeer:
    name = "polars"

    def __init__(self, threads):
        if threads:
            os.environ["POLARS_MAX_THREADS"] = str(threads)
        import polars as pl
        self.pl = pl
        self.version = pl.__version__
        self.threads = pl.thread_pool_size()
        self.engine = polars_engine(pl)
        self.version += " (lazy, engine=%s)" % self.engine

    def collect(self, lf):
        return lf.collect(engine=self.engine) if self.engine else lf.collect()

    def collect_all(self, lfs):
        return self.pl.collect_all(lfs, engine=self.engine) if self.engine else self.pl.collect_all(lfs)

    def ingest(self, d):
        pl = self.pl
        self.models = d.models
        self.lf = pl.DataFrame({"unit": d.unit, "month": d.month, "count": d.count}).lazy()
        self.maps = {g: pl.Series(g, arr) for g, arr in d.maps.items()}

    def release(self):
        self.lf = None

    def s(self, col="count"):
        return self.pl.col(col).cast(self.pl.UInt64).sum().alias("s")

    def by_group(self, lf, group):
        pl = self.pl
        return (lf.select(pl.lit(self.maps[group]).gather(pl.col("unit")).alias("g"), pl.col("month"), pl.col("s"))
                .group_by("g", "month").agg(self.s("s")))

    def groupby(self, group):
        if group is None:
            return lambda: self.collect(self.lf.group_by("unit").agg(self.s()))
        if group == "model":
            return lambda: self.collect(self.lf.group_by("unit", "month").agg(self.s()).rename({"unit": "g"}))
        return lambda: self.collect(self.by_group(self.lf.rename({"count": "s"}), group))

    def rows(self, res, group):
        if group is None:
            return res["unit"].to_numpy(), res["s"].to_numpy()
        return res["g"].to_numpy(), res["month"].to_numpy(), res["s"].to_numpy()

    def all_tables(self):
        def run():
            fine = self.collect(self.lf.group_by("unit", "month").agg(self.s()))
            groups = pl_.MONTH_GROUPS[1:]
            rolled = self.collect_all([self.by_group(fine.lazy(), g) for g in groups])
            out = dict(zip(groups, rolled))
            out["model"] = fine.rename({"unit": "g"})
            return out
        return run

    def all_rows(self, res):
        return {g: self.rows(t, g) for g, t in res.items()}

    def concentration(self, dense, spec):
        pl = self.pl
        lf = pl.DataFrame({"x": dense}).lazy()
        n = len(dense)
        x, i = pl.col("x"), pl.col("i")
        ex = [pl.len().alias("n"), x.sum().alias("S"), (i.cast(pl.UInt64) * x).sum().alias("rw"),
              (x.cast(pl.Float64) * x.cast(pl.Float64)).sum().alias("ss")]
        ex += [x.filter(i > n - min(k, n)).sum().alias("k%d" % j) for j, k in enumerate(spec["top_k"])]
        ex += [x.filter(i > n - pl_.top_pct_count(n, p)).sum().alias("p%d" % j) for j, p in enumerate(spec["top_pct"])]
        ex += [x.quantile(q / 100, interpolation="linear").alias("q%d" % j) for j, q in enumerate(spec["percentiles"])]
        ex += [(x < t).sum().alias("b%d" % j) for j, t in enumerate(spec["below"])]
        query = lf.sort("x").with_row_index("i", offset=1).select(ex)

        def run():
            r = self.collect(query).row(0, named=True)
            n_, S, rw = int(r["n"]), int(r["S"]), int(r["rw"])
            out = {"n": n_, "total": S, "gini": (2 * rw - (n_ + 1) * S) / (n_ * S) if S else 0.0,
                   "hhi": r["ss"] / (float(S) * S) if S else 0.0}
            out["top_k"] = {str(k): int(r["k%d" % j]) / S for j, k in enumerate(spec["top_k"])}
            out["top_pct"] = {key: int(r["p%d" % j]) / S for j, key in enumerate(spec["top_pct_keys"])}
            out["percentiles"] = {key: float(r["q%d" % j]) for j, key in enumerate(spec["percentile_keys"])}
            out["below"] = {str(t): int(r["b%d" % j]) for j, t in enumerate(spec["below"])}
            return out
        return run

    def scan_downloads(self, path):
        pl = self.pl
        return pl.scan_csv(path, schema={"repo": pl.String, "date": pl.String, "downloads": pl.UInt64})

    def load_dictionary(self, ids):
        self.ids = self.pl.DataFrame({"id": ids, "unit": np.arange(len(ids), dtype=np.uint32)})

    def csv_groupby(self, path):
        return lambda: self.collect(self.scan_downloads(path).join(self.ids.lazy(), left_on="repo", right_on="id")
                                    .group_by("unit").agg(self.s("downloads")))

    def csv_rows(self, res):
        return res["unit"].to_numpy(), res["s"].to_numpy()

    def csv_groupby_repo(self, path):
        return lambda: self.collect(self.scan_downloads(path).group_by("repo").agg(self.s("downloads")))

    def csv_repo_rows(self, res):
        return res["repo"].to_list(), res["s"].to_numpy()

    def end_to_end(self, d, out):
        """Lazy scans of the three files; the finest grain (repo x month) once, then roll-ups."""
        pl = self.pl
        j = os.path.join
        repos = pl.scan_ndjson(j(d, "repos.jsonl"), schema={"id": pl.String, "author": pl.String})
        orgs = pl.scan_csv(j(d, "orgs.csv"), infer_schema=False)
        fine = (self.scan_downloads(j(d, "downloads.csv")).with_columns(pl.col("date").str.slice(0, 7).alias("m"))
                .group_by("repo", "m").agg(self.s("downloads"))
                .join(repos, left_on="repo", right_on="id").join(orgs, left_on="author", right_on="handle", how="left")
                .with_columns(pl.col(k).fill_null("unknown") for k in ATTRIBUTES)
                .rename({"repo": "model"}))
        fine = self.collect(fine).lazy()
        q = [fine.group_by(k).agg(self.s("s")) for k in E2E_SHARE] + \
            [fine.group_by(k, "m").agg(self.s("s")) for k in E2E_MONTH]
        names = E2E_SHARE + [k + "_x_month" for k in E2E_MONTH]
        for name, t in zip(names, self.collect_all(q)):
            t.rename({name.replace("_x_month", ""): "key"}).write_parquet(e2e_file(out, name))


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

    def release(self):
        self.df = None

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

    def all_tables(self):
        def run():
            fine = self.df.groupby(["unit", "month"], sort=False)["count"].sum()
            u = fine.index.get_level_values(0).to_numpy()
            mo = fine.index.get_level_values(1).to_numpy()
            out = {"model": fine}
            for g in pl_.MONTH_GROUPS[1:]:
                out[g] = fine.groupby([self.maps[g][u], mo], sort=False).sum()
            return out
        return run

    def all_rows(self, res):
        return {g: self.rows(t, g) for g, t in res.items()}

    def concentration(self, dense, spec):
        pd = self.pd
        s = pd.Series(dense)

        def run():
            x = s.sort_values(ignore_index=True)
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
                out["below"][str(t)] = int(np.searchsorted(x.to_numpy(), t, side="left"))
            return out
        return run

    def read_downloads(self, path, cols):
        return self.pd.read_csv(path, usecols=cols, dtype={"repo": str, "date": str, "downloads": "uint64"})

    def load_dictionary(self, ids):
        self.ids = self.pd.Index(ids)

    def csv_groupby(self, path):
        def run():
            df = self.read_downloads(path, ["repo", "downloads"])
            return df["downloads"].groupby(self.ids.get_indexer(df["repo"]), sort=False).sum()
        return run

    def csv_rows(self, res):
        return res.index.to_numpy(), res.to_numpy()

    def csv_groupby_repo(self, path):
        return lambda: self.read_downloads(path, ["repo", "downloads"]).groupby("repo", sort=False)["downloads"].sum()

    def csv_repo_rows(self, res):
        return list(res.index), res.to_numpy()

    def end_to_end(self, d, out):
        pd = self.pd
        j = os.path.join
        dl = self.read_downloads(j(d, "downloads.csv"), ["repo", "date", "downloads"])
        dl["m"] = dl["date"].str.slice(0, 7)
        fine = dl.groupby(["repo", "m"], sort=False)["downloads"].sum().reset_index()
        repos = pd.read_json(j(d, "repos.jsonl"), lines=True, dtype={"id": str, "author": str})[["id", "author"]]
        orgs = pd.read_csv(j(d, "orgs.csv"), dtype=str)
        t = fine.merge(repos, left_on="repo", right_on="id").merge(orgs, left_on="author", right_on="handle", how="left")
        t[ATTRIBUTES] = t[ATTRIBUTES].fillna("unknown")
        t = t.rename(columns={"repo": "model"})
        for k in E2E_SHARE:
            s = t.groupby(k, sort=False)["downloads"].sum().rename("s").reset_index().rename(columns={k: "key"})
            s.to_parquet(e2e_file(out, k), index=False)
        for k in E2E_MONTH:
            s = t.groupby([k, "m"], sort=False)["downloads"].sum().rename("s").reset_index().rename(columns={k: "key"})
            s.to_parquet(e2e_file(out, k + "_x_month"), index=False)


class NumpyDensePeer:
    """The floor any group-by must beat: np.bincount on the dense ids (unit; unit x month, group x
    month as g * n_months + month), one thread. Float64 weights are exact below 2^53 in total;
    above that np.add.at on uint64 takes over."""
    name = "numpy"

    def __init__(self, threads):
        self.version = np.__version__ + " (bincount)"
        self.threads = 1

    def ingest(self, d):
        self.models = d.models
        self.unit = d.unit
        self.mf = int(d.month.min()) if d.events else 0
        self.nm = (int(d.month.max()) - self.mf + 1) if d.events else 1
        self.month = (d.month - self.mf).astype(np.uint32)
        self.exact_float = int(d.count.sum(dtype=np.uint64)) < 2**53
        self.w = d.count.astype(np.float64) if self.exact_float else d.count.astype(np.uint64)
        self.maps = d.maps
        self.G = {g: d.n_groups(g) for g in d.maps}
        self.G["model"] = d.models

    def release(self):
        self.unit = self.month = self.w = None

    def sum_by(self, key, size, w=None):
        w = self.w if w is None else w
        if self.exact_float:
            return np.bincount(key, weights=w, minlength=size)
        out = np.zeros(size, dtype=np.uint64)
        np.add.at(out, key, w.astype(np.uint64))
        return out

    def groupby(self, group):
        nm = np.uint32(self.nm)
        if group is None:
            return lambda: self.sum_by(self.unit, self.models)
        if group == "model":
            return lambda: self.sum_by(self.unit.astype(np.int64) * self.nm + self.month, self.models * self.nm)
        m = self.maps[group]
        return lambda: self.sum_by(m[self.unit] * nm + self.month, self.G[group] * self.nm)

    def dense_rows(self, dense):
        nz = np.nonzero(dense)[0]
        return nz // self.nm, nz % self.nm + self.mf, dense[nz].astype(np.uint64)

    def rows(self, res, group):
        if group is None:
            nz = np.nonzero(res)[0]
            return nz, res[nz].astype(np.uint64)
        return self.dense_rows(res)

    def all_tables(self):
        def run():
            fine = self.sum_by(self.unit.astype(np.int64) * self.nm + self.month, self.models * self.nm)
            months = np.arange(self.nm, dtype=np.int64)
            out = {"model": fine}
            for g in pl_.MONTH_GROUPS[1:]:
                key = ((self.maps[g].astype(np.int64) * self.nm)[:, None] + months).ravel()
                out[g] = self.sum_by(key, self.G[g] * self.nm, fine)
            return out
        return run

    def all_rows(self, res):
        return {g: self.dense_rows(t) for g, t in res.items()}

    def concentration(self, dense, spec):
        return lambda: pl_.concentration_from_sorted(np.sort(dense), spec)


def make_peer(name, threads):
    return {"duckdb": DuckDBPeer, "polars": PolarsPeer, "pandas": PandasPeer, "numpy": NumpyDensePeer}[name](threads)


TABLE_STAGES = pl_.GROUPBY_STAGES + ["all_tables", "concentration"]
CSV_STAGES = ["csv_groupby_model", "csv_groupby_model_incl_dictionary"]


def check_stage(ref, st, group, rows):
    if st == "all_tables":
        for g, r in rows.items():
            err = pl_.check_month_table(ref, g, *r)
            if err:
                return "%s_x_month: %s" % (g, err)
        return ""
    return pl_.check_model_totals(ref, *rows) if group is None else pl_.check_month_table(ref, group, *rows)


def record(out, st, samples, items, err, **extra):
    out["stages"][st] = pl_.stage_record(samples, items, status="ok" if not err else "mismatch: " + err, **extra)
    print("%s %-34s %10.1f ms  %s" % (out["peer"], st, out["stages"][st]["median_ms"], err or "ok"),
          file=sys.stderr, flush=True)


def worker(args):
    """One peer, one round, in its own process: ingest, time, check; writes a JSON file."""
    out = {"peer": args.worker, "stages": {}}
    try:
        peer = make_peer(args.worker, args.threads)
    except ImportError as e:
        out["error"] = "not installed: %s" % e
        json.dump(out, open(args.out, "w"), indent=1)
        return 0
    out["version"], out["threads"] = peer.version, peer.threads
    ref = pl_.Reference(args.dump)
    stages = args.stages.split(",") if args.stages else None
    want = lambda s: stages is None or s in stages  # noqa: E731
    d = pl_.Data(args.data)
    t = time.perf_counter()
    peer.ingest(d)
    out["ingest_ms"] = (time.perf_counter() - t) * 1e3
    for st, group in [("groupby_model", None)] + [("groupby_%s_month" % g, g) for g in pl_.MONTH_GROUPS]:
        if want(st):
            samples, res = pl_.timed(peer.groupby(group), 1, args.warmup)
            record(out, st, samples, d.events, check_stage(ref, st, group, peer.rows(res, group)))
            del res
    if want("all_tables"):
        samples, res = pl_.timed(peer.all_tables(), 1, args.warmup)
        record(out, "all_tables", samples, d.events, check_stage(ref, "all_tables", None, peer.all_rows(res)),
               note="one group-by on unit x month, then roll-ups of that result")
        del res
    if want("concentration"):
        spec = pl_.concentration_spec(ref)
        samples, got = pl_.timed(peer.concentration(ref.unit_total, spec), 1, args.warmup)
        record(out, "concentration", samples, d.models, pl_.check_concentration(ref, got),
               note="from the dense per-model totals, concentration math only")
    csv = os.path.join(args.data, "downloads.csv")
    if args.csv and os.path.exists(csv) and hasattr(peer, "csv_groupby") and any(want(s) for s in CSV_STAGES):
        peer.release()
        ids = [k for k in open(os.path.join(args.data, "units", "ids.txt")).read().split("\n") if k]
        peer.load_dictionary(ids)
        if want("csv_groupby_model"):
            samples, res = pl_.timed(peer.csv_groupby(csv), 1, 0)
            units, sums = peer.csv_rows(res)
            record(out, "csv_groupby_model", samples, d.events, pl_.check_model_totals(ref, units, sums),
                   bytes=os.path.getsize(csv), note="CSV -> per-unit totals, prebuilt id -> unit dictionary")
        if want("csv_groupby_model_incl_dictionary"):
            samples, res = pl_.timed(peer.csv_groupby_repo(csv), 1, 0)
            repos, sums = peer.csv_repo_rows(res)
            index = {k: i for i, k in enumerate(ids)}
            units = np.array([index.get(r, -1) for r in repos], dtype=np.int64)
            err = "unknown repo id" if (units < 0).any() else pl_.check_model_totals(ref, units, sums)
            record(out, "csv_groupby_model_incl_dictionary", samples, d.events, err, bytes=os.path.getsize(csv),
                   note="CSV -> per-repo totals, the tool's own hash of the ids")
    json.dump(out, open(args.out, "w"), indent=1)
    return 0


# ---------------------------------------------------------------------------------------------
def e2e_worker(args):
    """One peer end to end from the files, in its own process; peak RSS of this process."""
    out = {"peer": args.e2e_worker}
    try:
        peer = make_peer(args.e2e_worker, args.threads)
    except ImportError as e:
        out["error"] = "not installed: %s" % e
        json.dump(out, open(args.out, "w"), indent=1)
        return 0
    out["version"], out["threads"] = peer.version, peer.threads
    t = time.perf_counter()
    # Writing the tables (each tool's own Parquet writer) is part of the work, as `ecostat run`
    # writes its results JSON.
    peer.end_to_end(args.data, args.out)
    out["compute_ms"] = (time.perf_counter() - t) * 1e3
    out["peak_rss_mib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    json.dump(out, open(args.out, "w"), indent=1)
    return 0


def check_e2e_in_child(ref_json, out):
    """The check loads big tables: in a child, so that this process stays small (a child's peak
    RSS on Linux starts from its parent's at fork) and the next measurement is clean."""
    r = subprocess.run([sys.executable, os.path.abspath(__file__), "--e2e-check", out, "--reference", ref_json,
                        "--data", os.path.dirname(out)],
                       capture_output=True, text=True)
    if r.returncode != 0:
        return "check failed: %s" % r.stderr.strip()[-300:]
    return r.stdout.strip()


def e2e_check(args):
    try:
        print(check_e2e(json.load(open(args.reference)), load_e2e_tables(args.e2e_check)))
    except OSError as e:
        print("tables missing: %s" % e)
    return 0


def e2e_file(out, table):
    return "%s.%s.parquet" % (out, table)


def load_e2e_tables(out):
    import pyarrow.parquet as pq
    tables = {}
    for name in E2E_SHARE + [k + "_x_month" for k in E2E_MONTH]:
        t = pq.read_table(e2e_file(out, name)).to_pydict()
        keys = zip(t["key"], t["m"]) if "m" in t else ((k,) for k in t["key"])
        tables[name] = dict(zip(keys, t["s"]))
    return tables


def check_e2e(results, tables):
    """tables: {name: {(key,) or (key, 'YYYY-MM'): downloads}} against ecostat.results/1 share lists."""
    for name, got in tables.items():
        rows = results["share"].get(name)
        if rows is None:
            return "%s: not in ecostat's results" % name
        want = {((r["key"], r["month"]) if "month" in r else (r["key"],)): int(r["downloads"]) for r in rows
                if int(r["downloads"]) != 0}
        got = {k: int(v) for k, v in got.items() if int(v) != 0}
        if want != got:
            diff = sorted(set(want.items()) ^ set(got.items()))[:1]
            return "%s: %d rows, ecostat %d; first difference %s" % (name, len(got), len(want), diff)
    return ""


def run_ecostat_e2e(args, out_json):
    d = args.data
    # Each tool writes into a fresh path: the peers' earlier outputs are removed before their
    # timed runs, so ecostat's is too (replacing a 500 MB file costs its unlink in the rename).
    if os.path.exists(out_json):
        os.remove(out_json)
    cmd = [args.ecostat, "run", "--repos", os.path.join(d, "repos.jsonl"), "--downloads",
           os.path.join(d, "downloads.csv"), "--orgs", os.path.join(d, "orgs.csv"), "--json", out_json,
           "--share-groups", ",".join(E2E_SHARE), "--month-groups", ",".join(E2E_MONTH), "--share-limit", "0"]
    if args.threads:
        cmd += ["--threads", str(args.threads)]
    return timed_subprocess(cmd)


def timed_subprocess(cmd):
    """Wall ms and peak RSS (MiB) of one child, from wait4's rusage."""
    print("+ " + " ".join(map(str, cmd)), file=sys.stderr, flush=True)
    t = time.perf_counter()
    p = subprocess.Popen([str(c) for c in cmd], stdout=subprocess.DEVNULL)
    _, status, ru = os.wait4(p.pid, 0)
    ms = (time.perf_counter() - t) * 1e3
    return os.waitstatus_to_exitcode(status), ms, ru.ru_maxrss / 1024


def warm_page_cache(paths):
    """Reads the inputs once, so that no tool's first round pays for reading them from disk (at
    10^8 records a 4 GB file; the first round's tool was up to 9 s slower with a cold cache)."""
    for path in paths:
        with open(path, "rb") as f:
            while f.read(1 << 24):
                pass


def end_to_end(args, peers):
    ref_json = os.path.join(args.data, "ecostat_run.json")
    warm_page_cache([os.path.join(args.data, n) for n in ("repos.jsonl", "downloads.csv", "orgs.csv")])
    samples = {"ecostat": []}
    info = {"ecostat": {"threads": args.threads or os.cpu_count(), "status": "ok", "rss": []}}
    for p in peers:
        samples[p], info[p] = [], {"rss": []}
    for r in range(args.repeats):
        order = ["ecostat"] + peers if r % 2 == 0 else list(reversed(peers)) + ["ecostat"]
        for who in order:
            if who == "ecostat":
                rc, ms, rss = run_ecostat_e2e(args, ref_json)
                if rc != 0:
                    raise SystemExit("ecostat run failed (%d)" % rc)
                samples[who].append(ms)
                info[who]["rss"].append(rss)
                continue
            if not os.path.exists(ref_json):
                continue
            out = os.path.join(args.data, "e2e_%s.json" % who)
            cmd = [sys.executable, os.path.abspath(__file__), "--e2e-worker", who, "--data", args.data,
                   "--out", out, "--threads", args.threads]
            for name in [out] + [e2e_file(out, t) for t in E2E_SHARE + [k + "_x_month" for k in E2E_MONTH]]:
                if os.path.exists(name):
                    os.remove(name)
            rc, ms, rss = timed_subprocess(cmd)
            res = json.load(open(out)) if rc == 0 and os.path.exists(out) else {"error": "worker failed (%d)" % rc}
            if res.get("error"):
                info[who]["error"] = res["error"]
                continue
            info[who].update(version=res["version"], threads=res["threads"])
            err = check_e2e_in_child(ref_json, out)  # after the timing
            if err:
                info[who]["status"] = "mismatch: " + err
            info[who].setdefault("status", "ok")
            info[who].setdefault("compute", []).append(res["compute_ms"])
            samples[who].append(ms)
            info[who]["rss"].append(res["peak_rss_mib"])
    print("\nEnd to end: files -> the tables %s (share, all rows) and %s x month, checked equal to `ecostat run`'s "
          "results JSON; wall ms of each process (ecostat: `ecostat run`; peers: a Python process that imports the "
          "tool and reads the files), median [min-max] of %d interleaved rounds, peak RSS" % (
              ",".join(E2E_SHARE), ",".join(E2E_MONTH), args.repeats))
    eco_med = statistics.median(samples["ecostat"])
    head = "%-8s %8s %24s %10s %12s %9s %8s" % ("tool", "threads", "wall ms", "x ecostat", "in-process", "peak MiB",
                                               "status")
    print(head)
    rows = {}
    for who, s in samples.items():
        i = info[who]
        if i.get("error"):
            print("SKIPPED %s: %s" % (who, i["error"]))
            continue
        ok = i.get("status") == "ok"
        med = statistics.median(s)
        rows[who] = {"samples_ms": s, "median_ms": med, "min_ms": min(s), "max_ms": max(s), "threads": i.get("threads"),
                     "peak_rss_mib": max(i["rss"]), "peak_rss_mib_rounds": i["rss"], "status": i.get("status"), "version": i.get("version")}
        compute = statistics.median(i["compute"]) if i.get("compute") else None
        rows[who]["in_process_ms"] = compute
        print("%-8s %8s %24s %10s %12s %9.0f %8s" % (who, i.get("threads"), "%s [%s-%s]" % (pl_.fmt_ms(med), pl_.fmt_ms(min(s)),
              pl_.fmt_ms(max(s))) if ok else "REFUSED", "%.2f" % (med / eco_med) if ok and who != "ecostat" else "",
              pl_.fmt_ms(compute) if compute else "", max(i["rss"]), "ok" if ok else "REFUSED"))
        if not ok:
            print("REFUSED %s end_to_end: %s" % (who, i["status"]))
    print("(x ecostat = peer wall / ecostat wall: above 1, ecostat is faster; in-process: the peer's read + compute + "
          "Parquet write of the tables, without Python's start-up and imports; ecostat's run also computes concentration, "
          "lineage and the year tables it always adds, and validates every record)")
    return rows


# ---------------------------------------------------------------------------------------------
def spread(samples):
    return {"samples_ms": samples, "median_ms": statistics.median(samples), "min_ms": min(samples), "max_ms": max(samples)}


def print_table(title, stages, eco, eco_threads, peers, peer_threads, out=sys.stdout):
    names = list(peers)
    head = ["stage", "ecostat ms"] + ["%s ms" % p for p in names] + ["x vs %s" % p for p in names] + \
        ["x/thread vs %s" % p for p in names]
    rows = []
    for st in stages:
        e = eco.get(st)
        row = [st, "%s [%s-%s]" % (pl_.fmt_ms(e["median_ms"]), pl_.fmt_ms(e["min_ms"]), pl_.fmt_ms(e["max_ms"])) if e else "-"]
        ratios, per_thread = [], []
        for p in names:
            r = peers[p].get(st)
            if r is None:
                row.append("-"), ratios.append("-"), per_thread.append("-")
            elif r.get("status") != "ok":
                row.append("REFUSED"), ratios.append("REFUSED"), per_thread.append("REFUSED")
            else:
                row.append("%s [%s-%s]" % (pl_.fmt_ms(r["median_ms"]), pl_.fmt_ms(r["min_ms"]), pl_.fmt_ms(r["max_ms"])))
                x = r["median_ms"] / e["median_ms"] if e else None
                ratios.append("%.2f" % x if x else "-")
                per_thread.append("%.2f" % (x * peer_threads[p] / eco_threads) if x else "-")
        rows.append(row + ratios + per_thread)
    widths = [max(len(str(x)) for x in col) for col in zip(head, *rows)]
    print(title, file=out)
    for row in [head] + rows:
        print("  ".join(str(c).rjust(w) if i else str(c).ljust(w) for i, (c, w) in enumerate(zip(row, widths))), file=out)
    print("(median [min-max] of the interleaved rounds; x vs peer = peer time / ecostat time: above 1, ecostat is "
          "faster; x/thread = (peer ms x peer threads) / (ecostat ms x ecostat threads); REFUSED: the peer's results "
          "differ from ecostat's checked results and are not reported)", file=out)


def merge_peer_round(acc, res):
    for k in ("version", "threads", "error"):
        if k in res:
            acc[k] = res[k]
    for st, v in res.get("stages", {}).items():
        a = acc["stages"].setdefault(st, {"samples_ms": [], "status": "ok"})
        a["samples_ms"] += v["samples_ms"]
        if v["status"] != "ok":
            a["status"] = v["status"]
        for k in ("note", "bytes", "items"):
            if k in v:
                a[k] = v[k]


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--ecostat", default="build/cli/ecostat", help="the ecostat binary")
    ap.add_argument("--data", required=True, help="data directory (written by `ecostat gen` when missing)")
    ap.add_argument("--records", help="download records (1e8, 10M ...) when generating")
    ap.add_argument("--models", help="models (2.2M ...) when generating")
    ap.add_argument("--seed", type=int, help="generator seed (default 1)")
    ap.add_argument("--peers", default=",".join(PEERS), help="comma list among " + ", ".join(PEERS))
    ap.add_argument("--repeats", type=int, default=3, help="interleaved rounds (one timed sample per tool and round)")
    ap.add_argument("--warmup", type=int, default=1, help="untimed runs of each stage before its sample")
    ap.add_argument("--threads", type=int, default=0, help="threads for ecostat, DuckDB and Polars (0 = all cores)")
    ap.add_argument("--csv", action="store_true", help="also compare CSV parsing (CSV file -> downloads per model)")
    ap.add_argument("--end-to-end", action="store_true", help="also compare files -> tables, each tool's own readers")
    ap.add_argument("--end-to-end-only", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--csv-repeats", type=int, default=1, help="(kept for old command lines; rounds = --repeats)")
    ap.add_argument("--stages", help="comma list of stages (default: all)")
    ap.add_argument("--json", help="write every figure here (schema ecostat.peers/2)")
    ap.add_argument("--worker", help=argparse.SUPPRESS)
    ap.add_argument("--e2e-worker", help=argparse.SUPPRESS)
    ap.add_argument("--e2e-check", help=argparse.SUPPRESS)
    ap.add_argument("--reference", help=argparse.SUPPRESS)
    ap.add_argument("--dump", help=argparse.SUPPRESS)
    ap.add_argument("--out", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.worker:
        return worker(args)
    if args.e2e_worker:
        return e2e_worker(args)
    if args.e2e_check:
        return e2e_check(args)

    records = pl_.scaled(args.records) if args.records else None
    models = pl_.scaled(args.models) if args.models else None
    os.makedirs(args.data, exist_ok=True)
    pl_.ensure_data(args.ecostat, args.data, records, models, args.seed, args.csv or args.end_to_end or args.end_to_end_only)
    peer_names = [x for x in args.peers.split(",") if x]
    doc = {"schema": "ecostat.peers/2", "harness": "2026-11-30 (interleaved rounds, one-pass all_tables, dense "
           "concentration, numpy floor, lazy Polars, end-to-end mode)"}

    if not args.end_to_end_only:
        dump = os.path.join(args.data, "dump")
        eco_json = os.path.join(args.data, "ecostat_bench.json")
        eco_stages = ["groupby_model", "groupby_model_month", "groupby_organisation_month", "groupby_country_month",
                      "groupby_org_type_month", "groupby_family_month", "all_tables", "concentration"]
        if args.csv:
            eco_stages += ["parse_repos", "csv_groupby_model"]
        if args.stages:
            eco_stages = [s for s in eco_stages if s in args.stages.split(",") or s in ("all_tables", "concentration")]
        eco_samples, eco_doc = {}, None
        peers = {p: {"peer": p, "stages": {}} for p in peer_names}
        for r in range(args.repeats):
            order = ["ecostat"] + peer_names if r % 2 == 0 else list(reversed(peer_names)) + ["ecostat"]
            for who in order:
                if who == "ecostat":
                    cmd = [args.ecostat, "bench", "--data", args.data, "--backend", "cpu", "--threads", args.threads,
                           "--repeats", 1, "--warmup", args.warmup, "--json", eco_json, "--stages", ",".join(eco_stages)]
                    if r == 0:
                        cmd += ["--dump", dump]
                    if args.csv:
                        cmd += ["--parse-repeats", 1]
                    if pl_.run(cmd).returncode != 0:
                        raise SystemExit("ecostat bench failed: its own results did not check out")
                    eco_doc = json.load(open(eco_json))
                    for s in eco_stages:
                        ms = pl_.ecostat_stage_ms(eco_doc, "host" if s == "parse_repos" else "cpu", s)
                        if ms is not None:
                            eco_samples.setdefault(s, []).append(ms)
                    continue
                if peers[who].get("error"):
                    continue
                out = os.path.join(args.data, "peer_%s.json" % who)
                cmd = [sys.executable, os.path.abspath(__file__), "--worker", who, "--data", args.data, "--dump", dump,
                       "--out", out, "--warmup", args.warmup, "--threads", args.threads]
                if args.csv:
                    cmd.append("--csv")
                if args.stages:
                    cmd += ["--stages", args.stages]
                if os.path.exists(out):
                    os.remove(out)
                rc = pl_.run(cmd).returncode
                if rc != 0 or not os.path.exists(out):
                    peers[who]["error"] = "worker failed (%d)" % rc
                else:
                    merge_peer_round(peers[who], json.load(open(out)))
        stages = TABLE_STAGES + (CSV_STAGES if args.csv else [])
        eco = {s: spread(v) for s, v in eco_samples.items()}
        if "parse_repos" in eco_samples and "csv_groupby_model" in eco_samples:
            eco["csv_groupby_model_incl_dictionary"] = spread([a + b for a, b in zip(eco_samples["parse_repos"],
                                                                                       eco_samples["csv_groupby_model"])])
        for p in peers.values():
            for st, v in p["stages"].items():
                v.update(spread(v["samples_ms"]))
        skipped = {p: r["error"] for p, r in peers.items() if r.get("error")}
        h = eco_doc["host"]
        eco_threads = h["threads_used"]
        title = ("ecostat cpu (%d threads) vs peers; %s, %d cores; %s events over %s models (seed %s); %s; %d rounds\n"
                 % (eco_threads, h["cpu"], h["cpu_threads"], eco_doc["data"]["events"], eco_doc["data"]["models"],
                    eco_doc["data"]["seed"], eco_doc["date"], args.repeats))
        versions = ", ".join("%s %s (%s threads)" % (p, r.get("version", "?"), r.get("threads", "?"))
                             for p, r in peers.items() if not r.get("error"))
        shown = {p: r["stages"] for p, r in peers.items() if p not in skipped}
        print_table(title + "peers: " + versions, stages, eco, eco_threads, shown,
                    {p: int(peers[p]["threads"]) for p in shown})
        if args.csv:
            print("(csv_groupby_model: every tool gets a prebuilt id -> unit dictionary, not timed, and turns the CSV "
                  "into per-unit totals; csv_groupby_model_incl_dictionary: ecostat parse_repos + csv_groupby_model, "
                  "the peers their own string group-by of the CSV)")
        for p, why in skipped.items():
            print("SKIPPED %s: %s" % (p, why))
        for p, r in peers.items():
            for s, v in r.get("stages", {}).items():
                if v.get("status") != "ok":
                    print("REFUSED %s %s: %s" % (p, s, v.get("status")))
        doc.update({"date": eco_doc["date"], "host": eco_doc["host"], "data": eco_doc["data"],
                    "ceilings": eco_doc["ceilings"], "ecostat": eco_doc, "ecostat_stages": eco,
                    "ecostat_ms": {s: v["median_ms"] for s, v in eco.items()}, "peers": peers,
                    "ratio": "peer median ms / ecostat median ms (above 1: ecostat faster)"})
    if args.end_to_end or args.end_to_end_only:
        doc["end_to_end"] = end_to_end(args, [p for p in peer_names if p in E2E_PEERS])
    if args.json:
        with open(args.json, "w") as f:
            json.dump(doc, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
