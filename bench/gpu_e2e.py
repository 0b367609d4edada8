#!/usr/bin/env python3
"""`ecostat run` end to end on files, GPU backend against CPU backend, with a PyTorch/CuPy peer on
the same files in the same call (issue 12; docs/benchmarks.md, "Commands for the GPU machine").

    python3 bench/gpu_e2e.py --ecostat build-gpu/cli/ecostat --records 1e8 --models 2.2M \\
        [--data DIR] [--backends cuda,cpu] [--repeats 3] [--peers torch,cupy] [--json FILE]

1. Data: `ecostat gen` writes repos.jsonl, downloads.csv and orgs.csv (reused when --data already
   holds the same records/models/seed), and pyarrow writes a Parquet copy of downloads.csv (repo
   dictionary-encoded, date as date32, 1Mi-row groups, snappy: as bench/columnar_ingest.py). No
   pyarrow, or an ecostat built without Parquet: the Parquet modes are SKIPPED with the reason.
2. Modes, interleaved round by round (order reversed every other round), --repeats rounds:
   <backend>_csv and <backend>_parquet for each backend of --backends, each the same job
   (`ecostat run --backend B --threads <all cores> --repos --downloads --orgs`, every default
   table and the study, --share-limit 100 so the results JSON stays a few MB at any record
   count: at most 100 rows per list and per month). Per run: the wall time of the process, its
   peak RSS (os.wait4) and the results JSON's timings_ms (where the time goes per stage).
3. Checks: every run's results JSON equals the reference (the first CPU run; without a CPU mode
   the first run) with timings_ms, backend and the input paths/bytes left out; integers and
   strings exactly, floats to 1e-12 relative. A differing mode is REFUSED (exit 1).
4. Peers (each in its own process, after round 1): read downloads (pyarrow from the Parquet copy
   when there, else pandas read_csv with the C engine, in chunks), map repo ids to dense model
   ids and dates to months on the host (timed: read), then on the device sum by model and by
   model x month, take the top rows and month totals (timed: device; index_add_ / bincount).
   Checked against ecostat's share tables: the grand total, each month's total, every listed
   (model) and (model, month) row's downloads, and the top-N values (integers exactly); a
   differing peer is REFUSED (exit 1). No torch/cupy or no GPU: SKIPPED with the reason.
   `--peers numpy` runs the same harness on the host (for testing it without a GPU).
5. Output: a table on stdout, one JSON line per figure (for scripts/gpu-check.sh's bench.jsonl),
   and --json FILE (schema ecostat.gpu_e2e/1) with every sample, the commit (GPU_CHECK_COMMIT,
   else `git rev-parse HEAD`), the date, the host's cores and the GPU's name.
--budget-s stops starting new rounds when the next one would not fit (the figures so far are
written, the cut noted), so a caller's timeout never loses the whole run.
"""
import argparse
import importlib
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

SHARE_LIMIT = 100
JOB_FLAGS = ["--share-limit", str(SHARE_LIMIT), "-q"]
JOB_NOTE = ("every default share/month/year table and the study; --share-limit %d keeps the results JSON a few MB "
            "at any record count (<= %d rows per list and per month)" % (SHARE_LIMIT, SHARE_LIMIT))
RTOL = 1e-12
INPUTS = ["csv", "parquet"]


def scaled(s):
    """'1e8', '2.2M', '20k' -> int."""
    s = str(s).strip()
    mult = {"k": 1e3, "K": 1e3, "M": 1e6, "G": 1e9, "B": 1e9}.get(s[-1:])
    return int(round(float(s[:-1]) * mult)) if mult else int(round(float(s)))


def log(msg):
    print("gpu_e2e: " + msg, file=sys.stderr, flush=True)


# ---- data ----------------------------------------------------------------------------------------

def ensure_data(ecostat, data, records, models, seed):
    """`ecostat gen` into data unless its manifest already has this spec and the three files."""
    man = os.path.join(data, "manifest.json")
    if os.path.exists(man):
        m = json.load(open(man))
        s = m["spec"]
        have = set(m.get("files", []))
        if (int(s["records"]), int(s["models"]), int(s["seed"])) == (records, models, seed) and \
                {"repos.jsonl", "downloads.csv", "orgs.csv"} <= have:
            log("reusing %s (same records, models, seed)" % data)
            return m, 0.0
    shutil.rmtree(data, ignore_errors=True)
    t0 = time.perf_counter()
    subprocess.run([ecostat, "gen", "--out", data, "--records", str(records), "--models", str(models),
                    "--seed", str(seed), "--formats", "repos,downloads,orgs", "-q"], check=True)
    return json.load(open(man)), time.perf_counter() - t0


def ensure_parquet(data):
    """downloads.parquet next to downloads.csv (streamed: memory bounded at any size). Returns
    (path or None, seconds, reason when None)."""
    csv = os.path.join(data, "downloads.csv")
    pq = os.path.join(data, "downloads.parquet")
    stamp = os.path.join(data, "downloads.parquet.from")
    src = {"bytes": os.path.getsize(csv), "mtime_ns": os.stat(csv).st_mtime_ns}
    if os.path.exists(pq) and os.path.exists(stamp) and json.load(open(stamp)) == src:
        return pq, 0.0, None
    try:
        import pyarrow as pa
        import pyarrow.csv as pcsv
        import pyarrow.parquet as pqm
    except ImportError as e:
        return None, 0.0, "pyarrow not importable (%s): no Parquet copy, Parquet modes skipped" % e
    t0 = time.perf_counter()
    types = {"repo": pa.string(), "date": pa.date32(), "downloads": pa.int64()}
    schema = pa.schema([("repo", pa.dictionary(pa.int32(), pa.string())), ("date", pa.date32()),
                        ("downloads", pa.int64())])
    reader = pcsv.open_csv(csv, read_options=pcsv.ReadOptions(block_size=64 << 20),
                           convert_options=pcsv.ConvertOptions(column_types=types))
    tmp = pq + ".tmp"
    pending, rows = [], 0

    def flush(writer):
        t = pa.Table.from_batches(pending).combine_chunks()
        t = t.set_column(0, "repo", t.column("repo").dictionary_encode())
        writer.write_table(t.cast(schema), row_group_size=1 << 20)

    with pqm.ParquetWriter(tmp, schema, use_dictionary=True, compression="snappy") as writer:
        for batch in reader:
            pending.append(batch)
            rows += batch.num_rows
            if rows >= 1 << 20:
                flush(writer)
                pending, rows = [], 0
        if pending:
            flush(writer)
    os.replace(tmp, pq)
    json.dump(src, open(stamp, "w"))
    return pq, time.perf_counter() - t0, None


# ---- one ecostat run -----------------------------------------------------------------------------

# Runs argv[2:] as a child of a small process and writes its wall time and rusage to argv[1]: a
# child forked from this (large) harness would inherit the harness's RSS as its high-water mark.
LAUNCHER = """
import json, os, sys, time
t0 = time.perf_counter()
pid = os.fork()
if pid == 0:
    try:
        os.execvp(sys.argv[2], sys.argv[2:])
    finally:
        os._exit(127)
_, status, ru = os.wait4(pid, 0)
json.dump({"wall_s": time.perf_counter() - t0, "maxrss_kb": ru.ru_maxrss,
           "rc": os.waitstatus_to_exitcode(status)}, open(sys.argv[1], "w"))
"""


def run_measured(cmd, timeout_s=None, stdout=subprocess.DEVNULL):
    """Runs cmd; returns (rc, wall s, peak RSS MiB of that process, stderr text). The time and
    RSS are the launcher's view of its child (process start to exit); on timeout the process
    group is killed (rc -9)."""
    with tempfile.TemporaryFile(mode="w+") as err, tempfile.NamedTemporaryFile(suffix=".json") as res:
        p = subprocess.Popen([sys.executable, "-S", "-c", LAUNCHER, res.name] + [str(c) for c in cmd],
                             stdout=stdout, stderr=err, start_new_session=True)
        try:
            p.wait(timeout_s)
        except subprocess.TimeoutExpired:
            os.killpg(p.pid, 9)
            p.wait()
        err.seek(0)
        try:
            r = json.load(open(res.name))
        except ValueError:
            return (p.returncode or -9), 0.0, 0.0, err.read()
        return r["rc"], r["wall_s"], r["maxrss_kb"] / 1024.0, err.read()


def comparable(doc):
    """The results document less what differs between equal runs: timings, backend, input paths."""
    d = json.loads(json.dumps(doc))
    d.pop("timings_ms", None)
    d.pop("backend", None)
    for f in d.get("input", {}).get("files", []):
        f.pop("file", None)
        f.pop("bytes", None)
    return d


def first_difference(a, b, path=""):
    """'' when equal (ints/strings exactly, floats to RTOL), else where and how they differ."""
    if isinstance(a, bool) or isinstance(b, bool) or isinstance(a, str) or a is None:
        return "" if a == b else "%s: %r vs %r" % (path or "/", a, b)
    if isinstance(a, float) or isinstance(b, float):
        if isinstance(a, (int, float)) and isinstance(b, (int, float)):
            if a == b or abs(a - b) <= RTOL * max(abs(a), abs(b)):
                return ""
        return "%s: %r vs %r" % (path or "/", a, b)
    if type(a) is not type(b):
        return "%s: %s vs %s" % (path or "/", type(a).__name__, type(b).__name__)
    if isinstance(a, dict):
        if set(a) != set(b):
            return "%s: keys %s" % (path or "/", sorted(set(a) ^ set(b))[:5])
        for k in a:
            d = first_difference(a[k], b[k], path + "/" + k)
            if d:
                return d
        return ""
    if isinstance(a, list):
        if len(a) != len(b):
            return "%s: %d vs %d items" % (path or "/", len(a), len(b))
        for i, (x, y) in enumerate(zip(a, b)):
            d = first_difference(x, y, "%s/%d" % (path, i))
            if d:
                return d
        return ""
    return "" if a == b else "%s: %r vs %r" % (path or "/", a, b)


class Mode:
    def __init__(self, backend, inp, path):
        self.name = "%s_%s" % (backend, inp)
        self.backend, self.input, self.path = backend, inp, path
        self.status, self.reason = "ok", None
        self.samples = []
        self.device = None

    def command(self, ecostat, data, threads, out_json):
        return [ecostat, "run", "--backend", self.backend, "--threads", threads,
                "--repos", os.path.join(data, "repos.jsonl"), "--downloads", self.path,
                "--orgs", os.path.join(data, "orgs.csv"), "--json", out_json] + JOB_FLAGS

    def active(self):
        return self.status == "ok"

    def summary(self):
        walls = [s["wall_s"] for s in self.samples]
        out = {"mode": self.name, "backend": self.backend, "input": self.input, "file": self.path,
               "status": self.status, "reason": self.reason, "device": self.device, "samples": self.samples}
        if walls:
            stages = sorted({k for s in self.samples for k in s["timings_ms"]})
            out.update({"median_s": statistics.median(walls), "min_s": min(walls), "max_s": max(walls),
                        "peak_rss_mib": max(s["peak_rss_mib"] for s in self.samples),
                        "timings_ms_median": {k: statistics.median(s["timings_ms"].get(k, 0.0) for s in self.samples)
                                              for k in stages}})
        return out


def run_mode(args, mode, threads, ref, budget_left):
    """One run of mode; updates mode (samples, status) and returns the document (None on failure)."""
    out_json = os.path.join(args.runs_dir, mode.name + ".json")
    if os.path.exists(out_json):
        os.remove(out_json)
    rc, wall, rss, err = run_measured(mode.command(args.ecostat, args.data, threads, out_json), budget_left)
    if rc != 0:
        msg = " ".join(err.strip().splitlines()[-3:])[:400]
        if mode.input == "parquet" and "without Parquet support" in err:
            mode.status, mode.reason = "SKIPPED", "this ecostat reads no Parquet: " + msg
        else:
            mode.status, mode.reason = "FAILED", "exit %d: %s" % (rc, msg)
        log("%s: %s" % (mode.name, mode.reason))
        return None
    doc = json.load(open(out_json))
    mode.device = doc.get("backend", {}).get("device")
    mode.samples.append({"wall_s": round(wall, 4), "peak_rss_mib": round(rss, 1),
                         "timings_ms": doc.get("timings_ms", {})})
    if ref["doc"] is not None:
        diff = first_difference(ref["doc"], comparable(doc))
        if diff:
            mode.status, mode.reason = "REFUSED", "results differ from %s's: %s" % (ref["mode"], diff[:300])
            log("%s: %s" % (mode.name, mode.reason))
    return doc


# ---- peers ---------------------------------------------------------------------------------------

class RepoIds:
    """Repo id strings -> dense model ids, in order of first appearance (pandas' hash index)."""

    def __init__(self):
        import pandas as pd
        self.pd = pd
        self.index = pd.Index([], dtype=object)

    def codes(self, values):
        import numpy as np
        values = np.asarray(values, dtype=object)
        uniq = self.pd.unique(values)
        new = uniq[self.index.get_indexer(uniq) < 0]
        if len(new):
            self.index = self.index.append(self.pd.Index(new, dtype=object))
        return self.index.get_indexer(values).astype(np.int64)


def months_from_iso(values):
    """'YYYY-MM-DD' strings -> months since 1970-01 (vectorised on the bytes)."""
    import numpy as np
    b = np.asarray(values, dtype="S10").view(np.uint8).reshape(-1, 10).astype(np.int32) - 48
    year = b[:, 0] * 1000 + b[:, 1] * 100 + b[:, 2] * 10 + b[:, 3]
    return (year - 1970) * 12 + b[:, 5] * 10 + b[:, 6] - 1


def chunks_csv(path, ids, rows):
    import numpy as np
    import pandas as pd
    for c in pd.read_csv(path, engine="c", chunksize=rows, dtype={"repo": object, "date": object, "downloads": np.int64}):
        yield ids.codes(c["repo"].to_numpy()), months_from_iso(c["date"].to_numpy()), c["downloads"].to_numpy(np.int64)


def chunks_parquet(path, ids, rows):
    import numpy as np
    import pyarrow as pa
    import pyarrow.parquet as pqm
    for b in pqm.ParquetFile(path).iter_batches(batch_size=rows, columns=["repo", "date", "downloads"]):
        repo, date = b.column(0), b.column(1)
        if isinstance(repo, pa.DictionaryArray):  # one lookup per dictionary entry, not per row
            codes = ids.codes(repo.dictionary.to_numpy(zero_copy_only=False))[repo.indices.to_numpy()]
        else:
            codes = ids.codes(repo.to_numpy(zero_copy_only=False))
        if pa.types.is_date32(date.type):
            months = date.to_numpy(zero_copy_only=False).astype("datetime64[M]").astype(np.int64)
        else:
            months = months_from_iso(date.to_numpy(zero_copy_only=False))
        yield codes, months, b.column(2).to_numpy().astype(np.int64)


class DenseSums:
    """By-model and model x month int64 tables of one array library, grown (doubling) when the
    downloads name models past them. Subclasses set nm, version, device and _zeros(shape)."""

    def _start(self, models_hint):
        self.cap = 0
        self.by_model = self.by_cell = None
        self._grow(models_hint)  # the repositories of the data: no growth unless downloads name others

    def _grow(self, need):
        cap = max(need, 2 * self.cap if self.cap else need, 1 << 10)
        bm, bc = self._zeros((cap,)), self._zeros((self.nm, cap))
        if self.cap:
            bm[:self.cap] = self.by_model
            bc[:, :self.cap] = self.by_cell
        self.by_model, self.by_cell, self.cap = bm, bc, cap

    def reserve(self, n_models):
        if n_models > self.cap:
            self._grow(n_models)


class TorchSums(DenseSums):
    """index_add_ on int64 device tensors; the tables grow when new models appear."""

    def __init__(self, n_months, models_hint):
        import torch
        if not torch.cuda.is_available():
            raise RuntimeError("torch %s sees no CUDA device" % torch.__version__)
        self.t, self.nm = torch, n_months
        self.version, self.device = "torch " + torch.__version__, torch.cuda.get_device_name()
        self._start(models_hint)

    def _zeros(self, shape):
        return self.t.zeros(shape, dtype=self.t.int64, device="cuda")

    def add(self, codes, months, counts, n_models):
        t = self.t
        self.reserve(n_models)
        c = t.from_numpy(codes).to("cuda")
        m = t.from_numpy(months.astype("int64")).to("cuda")
        w = t.from_numpy(counts).to("cuda")
        self.by_model.index_add_(0, c, w)
        self.by_cell.view(-1).index_add_(0, m * self.cap + c, w)
        t.cuda.synchronize()

    def results(self, n_models, k):
        """The result rows only: top-k values by model and per month, month totals, the total."""
        bm, bc = self.by_model[:n_models], self.by_cell[:, :n_models]
        top = self.t.topk(bm, min(k, n_models)).values.cpu().numpy()
        top_month = self.t.topk(bc, min(k, n_models), dim=1).values.cpu().numpy()
        month_tot = bc.sum(dim=1).cpu().numpy()
        total = int(bm.sum())
        self.t.cuda.synchronize()
        return top, top_month, month_tot, total

    def gather(self, model_idx, cell_month, cell_model):
        t = self.t
        a = self.by_model[t.from_numpy(model_idx).to("cuda")].cpu().numpy()
        b = self.by_cell[t.from_numpy(cell_month).to("cuda"), t.from_numpy(cell_model).to("cuda")].cpu().numpy()
        return a, b


class CupySums(DenseSums):
    """bincount with float64 weights per chunk, added into int64 tables (exact: each chunk's sums
    stay far below 2^53 for counts of downloads, and the check would refuse them otherwise)."""

    def __init__(self, n_months, models_hint):
        import cupy as cp
        self.cp, self.nm = cp, n_months
        self.version = "cupy " + cp.__version__
        self.device = cp.cuda.runtime.getDeviceProperties(0)["name"].decode()
        self._start(models_hint)

    def _zeros(self, shape):
        return self.cp.zeros(shape, dtype=self.cp.int64)

    def add(self, codes, months, counts, n_models):
        cp = self.cp
        self.reserve(n_models)
        c, m, w = cp.asarray(codes), cp.asarray(months.astype("int64")), cp.asarray(counts).astype(cp.float64)
        self.by_model += cp.rint(cp.bincount(c, weights=w, minlength=self.cap)).astype(cp.int64)
        cells = cp.bincount(m * self.cap + c, weights=w, minlength=self.nm * self.cap)
        self.by_cell += cp.rint(cells).astype(cp.int64).reshape(self.nm, self.cap)
        cp.cuda.Device().synchronize()

    def results(self, n_models, k):
        cp = self.cp
        bm, bc = self.by_model[:n_models], self.by_cell[:, :n_models]
        kk = min(k, n_models)
        top = cp.asnumpy(cp.sort(bm)[::-1][:kk])
        top_month = cp.asnumpy(cp.sort(bc, axis=1)[:, ::-1][:, :kk])
        month_tot = cp.asnumpy(bc.sum(axis=1))
        total = int(bm.sum())
        cp.cuda.Device().synchronize()
        return top, top_month, month_tot, total

    def gather(self, model_idx, cell_month, cell_model):
        cp = self.cp
        return (cp.asnumpy(self.by_model[cp.asarray(model_idx)]),
                cp.asnumpy(self.by_cell[cp.asarray(cell_month), cp.asarray(cell_model)]))


class NumpySums(DenseSums):
    """The same harness on the host (np.add.at): tests the read, the mapping and the checks
    where there is no GPU. Not a GPU figure."""

    def __init__(self, n_months, models_hint):
        import numpy as np
        self.np, self.nm = np, n_months
        self.version, self.device = "numpy " + np.__version__, "host"
        self._start(models_hint)

    def _zeros(self, shape):
        return self.np.zeros(shape, self.np.int64)

    def add(self, codes, months, counts, n_models):
        self.reserve(n_models)
        self.np.add.at(self.by_model, codes, counts)
        self.np.add.at(self.by_cell.reshape(-1), months.astype("int64") * self.cap + codes, counts)

    def results(self, n_models, k):
        np = self.np
        bm, bc = self.by_model[:n_models], self.by_cell[:, :n_models]
        kk = min(k, n_models)
        return (np.sort(bm)[::-1][:kk], np.sort(bc, axis=1)[:, ::-1][:, :kk], bc.sum(axis=1), int(bm.sum()))

    def gather(self, model_idx, cell_month, cell_model):
        return self.by_model[model_idx], self.by_cell[cell_month, cell_model]


PEER_SUMS = {"torch": TorchSums, "cupy": CupySums, "numpy": NumpySums}


def month_index(text, month_first):
    y, m = text.split("-")
    return (int(y) - 1970) * 12 + int(m) - 1 - month_first


def peer_check(sums, ids, ref, month_first, n_months, top, top_month, month_tot, total):
    """'' when the peer's tables agree with ecostat's share tables, else the first difference."""
    import numpy as np
    info, share = ref["share_info"], ref["share"]
    if total != int(info["model"]["total"]):
        return "total %d, ecostat %d" % (total, info["model"]["total"])
    rows = share["model"]
    want_top = [int(r["downloads"]) for r in rows]
    if [int(x) for x in top[:len(rows)]] != want_top:
        return "top %d values by model differ from ecostat's list" % len(rows)
    cells = share["model_x_month"]
    keys = [r["key"] for r in rows] + [r["key"] for r in cells]
    idx = ids.index.get_indexer(keys)
    if (idx < 0).any():
        return "ecostat lists %s, never seen in the downloads" % keys[int(np.nonzero(idx < 0)[0][0])]
    cm = np.array([month_index(r["month"], month_first) for r in cells], dtype=np.int64)
    if len(cm) and (cm.min() < 0 or cm.max() >= n_months):
        return "a listed month is outside the data's months"
    got_m, got_c = sums.gather(idx[:len(rows)].astype(np.int64), cm, idx[len(rows):].astype(np.int64))
    for r, g in zip(rows, got_m):
        if int(g) != int(r["downloads"]):
            return "model %s: %d, ecostat %d" % (r["key"], g, r["downloads"])
    for r, g in zip(cells, got_c):
        if int(g) != int(r["downloads"]):
            return "model %s in %s: %d, ecostat %d" % (r["key"], r["month"], g, r["downloads"])
    per_month = {}
    for r in cells:
        per_month.setdefault(month_index(r["month"], month_first), []).append(int(r["downloads"]))
    for mi, vals in per_month.items():
        if [int(x) for x in top_month[mi][:len(vals)]] != vals:
            return "month %d: top %d values differ from ecostat's list" % (mi + month_first, len(vals))
    for mt in info["model_x_month"]["months"]:
        mi = month_index(mt["month"], month_first)
        if int(month_tot[mi]) != int(mt["total"]):
            return "month %s total %d, ecostat %d" % (mt["month"], month_tot[mi], mt["total"])
    listed = {month_index(mt["month"], month_first) for mt in info["model_x_month"]["months"]}
    extra = [i for i in range(n_months) if i not in listed and int(month_tot[i]) != 0]
    if extra:
        return "downloads in month %d, which ecostat does not list" % (extra[0] + month_first)
    return ""


def worker(args):
    """One peer in this process: read, map, sum on the device, check; writes args.out."""
    out = {"peer": args.worker, "input": args.peer_file}
    try:
        man = json.load(open(os.path.join(args.data, "manifest.json")))
        mf, nm = int(man["month_first"]), int(man["month_last"]) - int(man["month_first"]) + 1
        sums = PEER_SUMS[args.worker](nm, int(man["spec"]["models"]))
        ids = RepoIds()
        if args.peer_file.endswith(".parquet"):
            importlib.import_module("pyarrow")  # the Parquet reader: SKIPPED here when missing
    except Exception as e:  # not installed, no device
        out.update(status="SKIPPED", reason="unavailable: %s" % str(e)[:300])
        json.dump(out, open(args.out, "w"), indent=1)
        return 0
    out.update(version=sums.version, device=sums.device,
               reader="pyarrow" if args.peer_file.endswith(".parquet") else "pandas read_csv (C engine)")
    ref = json.load(open(args.reference))
    k = max([len(ref["share"]["model"])] + [1])
    read_s = dev_s = 0.0
    records = 0
    t0 = time.perf_counter()
    chunks = (chunks_parquet if args.peer_file.endswith(".parquet") else chunks_csv)(args.peer_file, ids, args.chunk_rows)
    while True:
        t = time.perf_counter()
        try:
            codes, months, counts = next(chunks)
        except StopIteration:
            read_s += time.perf_counter() - t
            break
        months = months - mf
        read_s += time.perf_counter() - t
        if len(months) and (months.min() < 0 or months.max() >= nm):
            out.update(status="REFUSED", reason="a date outside the data's months")
            json.dump(out, open(args.out, "w"), indent=1)
            return 0
        t = time.perf_counter()
        sums.add(codes, months, counts, len(ids.index))
        dev_s += time.perf_counter() - t
        records += len(codes)
    t = time.perf_counter()
    top, top_month, month_tot, total = sums.results(len(ids.index), k)
    dev_s += time.perf_counter() - t
    wall = time.perf_counter() - t0
    err = peer_check(sums, ids, ref, mf, nm, top, top_month, month_tot, total)
    if not err and records != int(ref["input"]["download_records"]):
        err = "%d records read, ecostat %d" % (records, ref["input"]["download_records"])
    out.update(status="ok" if not err else "REFUSED", reason=err or None, records=records, models_seen=len(ids.index),
               read_s=round(read_s, 4), device_s=round(dev_s, 4), read_and_device_s=round(wall, 4),
               note="read: the file to (model id, month, count) arrays on the host; device: copy to the device, "
                    "sums by model and model x month, top rows and month totals back")
    json.dump(out, open(args.out, "w"), indent=1)
    return 0


def run_peer(args, name, peer_file, ref_path, timeout_s):
    out = os.path.join(args.runs_dir, "peer_%s.json" % name)
    if os.path.exists(out):
        os.remove(out)
    cmd = [sys.executable, os.path.abspath(__file__), "--worker", name, "--peer-file", peer_file, "--data", args.data,
           "--reference", ref_path, "--out", out, "--chunk-rows", str(args.chunk_rows)]
    rc, wall, rss, err = run_measured(cmd, timeout_s)
    if rc == 0 and os.path.exists(out):
        res = json.load(open(out))
    else:
        res = {"peer": name, "status": "FAILED", "reason": "worker exit %d: %s" % (rc, " ".join(err.strip().splitlines()[-3:])[:400])}
    res.update(process_wall_s=round(wall, 4), peak_rss_mib=round(rss, 1))
    return res


# ---- reporting -----------------------------------------------------------------------------------

def commit_id():
    if os.environ.get("GPU_CHECK_COMMIT"):
        return os.environ["GPU_CHECK_COMMIT"]
    r = subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True,
                       cwd=os.path.dirname(os.path.abspath(__file__)))
    return r.stdout.strip() if r.returncode == 0 else "unknown"


def gpu_name(peers):
    for p in peers.values():
        if p.get("status") == "ok" and p.get("device") not in (None, "host"):
            return p["device"]
    if shutil.which("nvidia-smi"):
        r = subprocess.run(["nvidia-smi", "--query-gpu=name", "--format=csv,noheader"], capture_output=True, text=True)
        if r.returncode == 0 and r.stdout.strip():
            return r.stdout.strip().splitlines()[0]
    return None


def ratios(summaries):
    """cpu median / GPU-backend median per input: how many times faster the GPU backend is."""
    out = {}
    for inp in INPUTS:
        cpu = summaries.get("cpu_" + inp)
        for name, s in summaries.items():
            if s["backend"] == "cpu" or s["input"] != inp or not cpu:
                continue
            if s["status"] == "ok" and cpu["status"] == "ok" and s.get("median_s") and cpu.get("median_s"):
                out["%s_vs_cpu_%s" % (s["backend"], inp)] = round(cpu["median_s"] / s["median_s"], 3)
    return out


def print_tables(report):
    modes = report["modes"]
    print("gpu_e2e: %d download records, %d models, %d cores, GPU %s, commit %s, %s" % (
        report["data"]["records"], report["data"]["models"], report["host"]["cpus"], report["host"]["gpu"],
        report["commit"][:12], report["date"]))
    print("job: ecostat run --repos --downloads --orgs %s (%s)" % (" ".join(JOB_FLAGS), JOB_NOTE))
    print("%-14s %-8s %9s %19s %12s  %s" % ("mode", "status", "median s", "[min-max] s", "peak RSS MiB", "results"))
    for s in modes.values():
        if s.get("median_s") is not None:
            rng = "[%.3f-%.3f]" % (s["min_s"], s["max_s"])
            print("%-14s %-8s %9.3f %19s %12.0f  %s" % (s["mode"], s["status"], s["median_s"], rng, s["peak_rss_mib"],
                                                       s["reason"] or ("reference" if s["mode"] == report["reference"]
                                                                       else "equal to " + report["reference"])))
        else:
            print("%-14s %-8s %9s %19s %12s  %s" % (s["mode"], s["status"], "-", "-", "-", s["reason"]))
    timed = [s for s in modes.values() if s.get("timings_ms_median")]
    if timed:
        stages = []
        for s in timed:
            stages += [k for k in s["timings_ms_median"] if k not in stages]
        print("\nwhere the time goes (timings_ms of the results JSON, median ms per stage):")
        print("%-32s" % "stage" + "".join("%14s" % s["mode"] for s in timed))
        for st in stages:
            print("%-32s" % st + "".join("%14.1f" % s["timings_ms_median"].get(st, 0.0) for s in timed))
        print("%-32s" % "process wall (median)" + "".join("%14.1f" % (1e3 * s["median_s"]) for s in timed))
    for k, v in report["ratios"].items():
        print("%s: %.2fx (cpu median / GPU median; target >= 5 at 1e9 records from columnar input)" % (k, v))
    for name, p in report["peers"].items():
        if p.get("status") == "ok":
            print("peer %s (%s, %s on %s): read %.3f s, device %.3f s, process %.3f s, peak RSS %.0f MiB; checks ok" % (
                name, p.get("version"), p.get("reader"), p.get("device"), p["read_s"], p["device_s"],
                p["process_wall_s"], p["peak_rss_mib"]))
        else:
            print("%s peer %s: %s" % (p.get("status"), name, p.get("reason")))
    for n in report["notes"]:
        print("note: " + n)
    print("checks: %s" % ("passed" if report["checks_passed"] else "FAILED"))


def json_lines(report):
    for s in report["modes"].values():
        row = {"what": "e2e_" + s["mode"], "status": s["status"], "records": report["data"]["records"]}
        for k in ("median_s", "min_s", "max_s", "peak_rss_mib", "device", "reason", "timings_ms_median"):
            if s.get(k) is not None:
                row[k] = s[k]
        print(json.dumps(row))
    for k, v in report["ratios"].items():
        print(json.dumps({"what": "e2e_ratio_" + k, "x": v, "records": report["data"]["records"]}))
    for name, p in report["peers"].items():
        row = {"what": "e2e_peer_" + name, "records": report["data"]["records"]}
        row.update({k: p[k] for k in ("status", "reason", "version", "device", "reader", "input", "read_s", "device_s",
                                      "process_wall_s", "peak_rss_mib") if p.get(k) is not None})
        print(json.dumps(row))


# ---- main ----------------------------------------------------------------------------------------

def build_modes(args, csv, pq, pq_reason):
    modes = []
    for b in [x for x in args.backends.split(",") if x]:
        for inp in [x for x in args.inputs.split(",") if x]:
            if inp not in INPUTS:
                raise SystemExit("--inputs: %s is not one of %s" % (inp, ",".join(INPUTS)))
            m = Mode(b, inp, csv if inp == "csv" else pq)
            if inp == "parquet" and pq is None:
                m.status, m.reason = "SKIPPED", pq_reason
            modes.append(m)
    return modes


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--ecostat", default="build/cli/ecostat")
    ap.add_argument("--records", default="1e8")
    ap.add_argument("--models", default="2.2M")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--data", help="gen directory (default /tmp/ecostat-gpu-e2e-<records>-<models>)")
    ap.add_argument("--backends", default="cuda,cpu", help="ecostat backends, each on every input of --inputs")
    ap.add_argument("--inputs", default="csv,parquet", help="downloads inputs: csv, parquet (the Parquet copy)")
    ap.add_argument("--threads", type=int, default=0, help="--threads of every run (0: all cores of this host)")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--peers", default="torch,cupy", help="torch, cupy, numpy (host: tests the harness), or none")
    ap.add_argument("--peer-input", default="auto", choices=["auto", "csv", "parquet"],
                    help="auto: the Parquet copy when there (pyarrow), else the CSV (pandas)")
    ap.add_argument("--chunk-rows", type=int, default=1 << 23, help="rows per chunk the peers read")
    ap.add_argument("--budget-s", type=float, default=0, help="start no round that would end past this (0: none)")
    ap.add_argument("--json")
    ap.add_argument("--worker", help=argparse.SUPPRESS)
    ap.add_argument("--peer-file", help=argparse.SUPPRESS)
    ap.add_argument("--reference", help=argparse.SUPPRESS)
    ap.add_argument("--out", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.worker:
        return worker(args)

    start = time.perf_counter()
    records, models = scaled(args.records), scaled(args.models)
    args.ecostat = os.path.abspath(args.ecostat)
    args.data = os.path.abspath(args.data or "/tmp/ecostat-gpu-e2e-%s-%s" % (args.records, args.models))
    args.runs_dir = os.path.join(args.data, "e2e-runs")
    notes = []
    manifest, gen_s = ensure_data(args.ecostat, args.data, records, models, args.seed)
    os.makedirs(args.runs_dir, exist_ok=True)
    csv = os.path.join(args.data, "downloads.csv")
    wants_pq = "parquet" in args.inputs.split(",") or args.peer_input == "parquet"
    pq, pq_s, pq_reason = ensure_parquet(args.data) if wants_pq else (None, 0.0, "not asked for (--inputs)")
    if pq_reason and wants_pq:
        log(pq_reason)
        notes.append(pq_reason)
    cpus = os.cpu_count() or 1
    threads = args.threads or min(cpus, 256)
    modes = build_modes(args, csv, pq, pq_reason)
    ref = {"doc": None, "mode": None, "path": os.path.join(args.runs_dir, "reference.json")}
    has_cpu = any(m.backend == "cpu" for m in modes)
    if not has_cpu:
        notes.append("no CPU mode: the reference is the first run")
    peers, rounds_done = {}, 0
    budget = args.budget_s
    left = (lambda: budget - (time.perf_counter() - start)) if budget else (lambda: None)
    round_s = None
    for rnd in range(args.repeats):
        if budget and round_s and left() < round_s * 1.2:
            notes.append("stopped after %d of %d rounds: --budget-s %.0f (a round takes %.1f s)" % (
                rounds_done, args.repeats, budget, round_s))
            break
        order = modes if rnd % 2 == 0 else modes[::-1]
        if ref["doc"] is None and has_cpu:  # the reference is a CPU run: make it the first of round 1
            order = sorted(order, key=lambda m: m.backend != "cpu")
        t_round = time.perf_counter()
        for m in order:
            if not m.active():
                continue
            doc = run_mode(args, m, threads, ref, left())
            if doc is not None and ref["doc"] is None and (m.backend == "cpu" or not has_cpu):
                ref.update(doc=comparable(doc), mode=m.name)
                json.dump(doc, open(ref["path"], "w"))
        round_s = time.perf_counter() - t_round
        rounds_done += 1
        log("round %d: %s (%.1f s)" % (rnd + 1, ", ".join("%s %.2f s" % (m.name, m.samples[-1]["wall_s"])
                                                          for m in order if m.samples), round_s))
        if rnd == 0:
            peers = run_peers(args, csv, pq, ref, left)
    summaries = {m.name: m.summary() for m in modes}
    bad = [m.name for m in modes if m.status in ("REFUSED", "FAILED")] + \
          [n for n, p in peers.items() if p.get("status") in ("REFUSED", "FAILED")]
    if ref["doc"] is None:
        bad.append("no reference run")
    report = {
        "schema": "ecostat.gpu_e2e/1",
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "commit": commit_id(),
        "host": {"name": platform.node(), "cpus": cpus, "gpu": gpu_name(peers), "python": platform.python_version()},
        "ecostat": args.ecostat,
        "data": {"dir": args.data, "records": records, "models": models, "seed": args.seed,
                 "downloads_csv_bytes": os.path.getsize(csv), "downloads_parquet_bytes": os.path.getsize(pq) if pq else None,
                 "gen_s": round(gen_s, 2), "parquet_s": round(pq_s, 2)},
        "job": {"flags": ["--threads", str(threads)] + JOB_FLAGS, "note": JOB_NOTE, "threads": threads},
        "repeats": args.repeats, "rounds_done": rounds_done,
        "reference": ref["mode"],
        "equality": "results JSON equal to the reference's less timings_ms, backend and input file paths/bytes; "
                    "integers and strings exactly, floats to %g relative" % RTOL,
        "modes": summaries,
        "ratios": ratios(summaries),
        "peers": peers,
        "checks_passed": not bad,
        "failed": bad,
        "notes": notes,
        "elapsed_s": round(time.perf_counter() - start, 1),
    }
    print_tables(report)
    json_lines(report)
    if args.json:
        with open(args.json, "w") as f:
            json.dump(report, f, indent=1)
    return 0 if not bad else 1


def run_peers(args, csv, pq, ref, left):
    peers = {}
    names = [p for p in args.peers.split(",") if p and p != "none"]
    if not names:
        return peers
    if ref["doc"] is None:
        return {n: {"peer": n, "status": "SKIPPED", "reason": "no ecostat results to check against"} for n in names}
    use_pq = pq is not None and args.peer_input in ("auto", "parquet")
    if args.peer_input == "parquet" and pq is None:
        return {n: {"peer": n, "status": "SKIPPED", "reason": "no Parquet copy (pyarrow missing)"} for n in names}
    peer_file = pq if use_pq else csv
    for n in names:
        remaining = left()
        if remaining is not None and remaining < 5:
            peers[n] = {"peer": n, "status": "SKIPPED", "reason": "--budget-s spent"}
            continue
        peers[n] = run_peer(args, n, peer_file, ref["path"], remaining)
        p = peers[n]
        log("peer %s: %s %s" % (n, p.get("status"), p.get("reason") or "read %.2f s, device %.2f s" % (
            p.get("read_s", 0), p.get("device_s", 0))))
    return peers


if __name__ == "__main__":
    sys.exit(main())
