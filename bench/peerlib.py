"""Shared pieces of the peer comparisons (bench/peers_cpu.py, bench/peers_gpu.py).

The data is what `ecostat gen --formats ...,bin` writes: events/unit.u32, events/month.u16,
events/count.u32 and units/<group>.u32 (unit -> group id, the same ids the engine uses). The
reference is what `ecostat bench --dump DIR` writes after checking its own results against a
plain loop: unit_total.u64, <group>_x_month.u64 (dense, month-major: cell (g, m) at
(m - month_first) * n_groups + g) and results.json (the concentration figures).

Every peer result is checked against that reference: integers exactly, ratios to 1e-12
relative. A peer whose result differs is not reported (REFUSED), whatever its speed.
"""
import json
import math
import os
import statistics
import subprocess
import sys
import time

import numpy as np

MONTH_GROUPS = ["model", "organisation", "country", "org_type", "family"]
GROUPBY_STAGES = ["groupby_model"] + ["groupby_%s_month" % g for g in MONTH_GROUPS]
RTOL = 1e-12


def scaled(s):
    """'1e8', '2.2M', '10k', '1000' -> int."""
    s = str(s).strip()
    mult = {"k": 1e3, "K": 1e3, "M": 1e6, "m": 1e6, "G": 1e9, "B": 1e9, "T": 1e12}.get(s[-1:], None)
    if mult:
        return int(round(float(s[:-1]) * mult))
    return int(round(float(s)))


class Data:
    """The generated events and unit maps of one `ecostat gen` directory, in memory."""

    def __init__(self, data_dir):
        self.dir = data_dir
        with open(os.path.join(data_dir, "manifest.json")) as f:
            self.manifest = json.load(f)
        self.models = int(self.manifest["spec"]["models"])
        self.groups = self.manifest["groups"]
        ev = os.path.join(data_dir, "events")
        self.unit = np.fromfile(os.path.join(ev, "unit.u32"), dtype=np.uint32)
        self.month = np.fromfile(os.path.join(ev, "month.u16"), dtype=np.uint16)
        self.count = np.fromfile(os.path.join(ev, "count.u32"), dtype=np.uint32)
        self.maps = {}
        for g in MONTH_GROUPS[1:]:
            self.maps[g] = np.fromfile(os.path.join(data_dir, "units", g + ".u32"), dtype=np.uint32)
        self.events = len(self.unit)

    def n_groups(self, group):
        return int(self.groups[group])


class Reference:
    """ecostat's checked results (`ecostat bench --dump`)."""

    def __init__(self, dump_dir):
        self.dir = dump_dir
        with open(os.path.join(dump_dir, "results.json")) as f:
            self.results = json.load(f)
        if not self.results.get("verified"):
            raise SystemExit("%s: ecostat's own results were not verified; refusing to compare" % dump_dir)
        self.unit_total = np.fromfile(os.path.join(dump_dir, "unit_total.u64"), dtype=np.uint64)
        self._tables = {}

    def table(self, group):
        name = group + "_x_month"
        if name not in self._tables:
            meta = self.results["tables"][name]
            arr = np.memmap(os.path.join(self.dir, meta["file"]), dtype=np.uint64, mode="r")
            self._tables[name] = (arr, int(meta["n_groups"]), int(meta["month_first"]), int(meta["n_months"]))
        return self._tables[name]

    def concentration(self):
        return self.results["concentration"]


def check_model_totals(ref, units, sums):
    """units/sums: the peer's rows (units without records may be absent or zero)."""
    units = np.asarray(units).astype(np.int64, copy=False)
    sums = np.asarray(sums).astype(np.uint64, copy=False)
    if len(units) and (units.min() < 0 or units.max() >= len(ref.unit_total)):
        return "unit id out of range"
    if len(np.unique(units)) != len(units):
        return "a unit appears twice"
    if not np.array_equal(ref.unit_total[units], sums):
        bad = np.nonzero(ref.unit_total[units] != sums)[0][0]
        return "unit %d: %d, ecostat %d" % (units[bad], sums[bad], ref.unit_total[units[bad]])
    nz_ref = int(np.count_nonzero(ref.unit_total))
    nz_peer = int(np.count_nonzero(sums))
    if nz_ref != nz_peer:
        return "%d units with downloads, ecostat %d" % (nz_peer, nz_ref)
    return ""


def check_month_table(ref, group, groups, months, sums):
    dense, G, mf, nm = ref.table(group)
    g = np.asarray(groups).astype(np.int64, copy=False)
    m = np.asarray(months).astype(np.int64, copy=False) - mf
    s = np.asarray(sums).astype(np.uint64, copy=False)
    if len(g) and (g.min() < 0 or g.max() >= G or m.min() < 0 or m.max() >= nm):
        return "group or month out of range"
    idx = m * G + g
    if len(np.unique(idx)) != len(idx):
        return "a (group, month) cell appears twice"
    got = dense[idx]
    if not np.array_equal(got, s):
        bad = np.nonzero(got != s)[0][0]
        return "cell (group %d, month %d): %d, ecostat %d" % (g[bad], m[bad] + mf, s[bad], got[bad])
    nz_ref = int(np.count_nonzero(dense))
    nz_peer = int(np.count_nonzero(s))
    if nz_ref != nz_peer:
        return "%d non-empty cells, ecostat %d" % (nz_peer, nz_ref)
    return ""


def close(a, b, rtol=RTOL):
    if a is None or b is None:
        return a is None and b is None
    a, b = float(a), float(b)
    if a == b:
        return True
    return abs(a - b) <= rtol * max(abs(a), abs(b))


def check_concentration(ref, got):
    """got: {n, total, gini, hhi, top_k: {k: share}, top_pct: {p: share}, percentiles: {q: v}, below: {t: count}}."""
    want = ref.concentration()
    if int(got["n"]) != int(want["n"]):
        return "n %s, ecostat %s" % (got["n"], want["n"])
    if int(got["total"]) != int(want["total"]):
        return "total %s, ecostat %s" % (got["total"], want["total"])
    for key in ("gini", "hhi"):
        if not close(got[key], want[key]):
            return "%s %.17g, ecostat %.17g" % (key, got[key], want[key])
    for section in ("top_k", "top_pct", "percentiles"):
        for k, v in want[section].items():
            if k not in got[section]:
                return "%s %s missing" % (section, k)
            if not close(got[section][k], v):
                return "%s %s: %.17g, ecostat %.17g" % (section, k, got[section][k], v)
    for t, v in want["below"].items():
        if int(got["below"][t]) != int(v["count"]):
            return "below %s: %s, ecostat %s" % (t, got["below"][t], v["count"])
    return ""


def top_pct_count(n, p):
    """ceil(p / 100 * n) exactly as ecostat computes it (p quantised to 1e-9 percent)."""
    num = int(round(p * 1e9)) * n
    den = 100 * 10**9
    k = -(-num // den)
    k = min(k, n)
    if k == 0 and p > 0 and n > 0:
        k = 1
    return k


def concentration_spec(ref):
    c = ref.concentration()
    return {
        "top_k": [int(k) for k in c["top_k"]],
        "top_pct": [float(p) for p in c["top_pct"]],
        "top_pct_keys": list(c["top_pct"].keys()),
        "percentiles": [float(q) for q in c["percentiles"]],
        "percentile_keys": list(c["percentiles"].keys()),
        "below": [int(t) for t in c["below"]],
    }


def timed(fn, repeats, warmup, sync=None):
    """Runs fn warmup + repeats times; returns (samples in ms, last result)."""
    res = None
    for _ in range(warmup):
        res = fn()
        if sync:
            sync()
        res = None
    samples = []
    for _ in range(repeats):
        t = time.perf_counter()
        res = fn()
        if sync:
            sync()
        samples.append((time.perf_counter() - t) * 1e3)
    return samples, res


def stage_record(samples, items, **extra):
    med = statistics.median(samples) if samples else None
    r = {"samples_ms": samples, "median_ms": med, "min_ms": min(samples) if samples else None,
         "items": items, "items_per_s": items / (med / 1e3) if med else None}
    r.update(extra)
    return r


def run(cmd, **kw):
    print("+ " + " ".join(str(c) for c in cmd), file=sys.stderr, flush=True)
    return subprocess.run([str(c) for c in cmd], **kw)


def ensure_data(ecostat, data_dir, records, models, seed, need_csv):
    """Generates data_dir with `ecostat gen` unless it already holds this spec."""
    man = os.path.join(data_dir, "manifest.json")
    if os.path.exists(man):
        with open(man) as f:
            m = json.load(f)
        s = m["spec"]
        files = set(m.get("files", []))
        same = (records is None or int(s["records"]) == records) and (models is None or int(s["models"]) == models) \
            and (seed is None or int(s["seed"]) == seed)
        has = "events/unit.u32" in files and (not need_csv or "downloads.csv" in files)
        if same and has:
            return
        if records is None:
            records = int(s["records"])
        if models is None:
            models = int(s["models"])
        if seed is None:
            seed = int(s["seed"])
    if records is None or models is None:
        raise SystemExit("%s has no generated data: give --records and --models" % data_dir)
    formats = "repos,orgs,bin" + (",downloads" if need_csv else "")
    rc = run([ecostat, "gen", "--out", data_dir, "--records", records, "--models", models, "--seed",
              seed if seed is not None else 1, "--formats", formats]).returncode
    if rc != 0:
        raise SystemExit("ecostat gen failed (%d)" % rc)


def ecostat_stage_ms(bench_json, backend, stage):
    for s in bench_json["stages"]:
        if s["backend"] == backend and s["stage"] == stage:
            if not str(s.get("verified", "")).startswith(("ok", "not checked")):
                return None
            return s["median_ms"]
    return None


def fmt_ms(v):
    if v is None:
        return "-"
    return "%.1f" % v if v >= 10 else "%.2f" % v if v >= 0.1 else "%.3f" % v


def print_ratio_table(title, ecostat_label, stages, ecostat_ms, peers, out=sys.stdout):
    """ecostat_ms: {stage: ms}; peers: {peer: {stage: {"median_ms", "status"}}}. Ratio = peer ms / ecostat ms
    (how many times faster ecostat is); REFUSED where the peer's results differ."""
    names = list(peers)
    head = ["stage", ecostat_label + " ms"] + ["%s ms" % p for p in names] + ["x vs %s" % p for p in names]
    rows = []
    for st in stages:
        e = ecostat_ms.get(st)
        row = [st, fmt_ms(e)]
        ratios = []
        for p in names:
            r = peers[p].get(st)
            if r is None:
                row.append("-")
                ratios.append("-")
            elif r.get("status") != "ok":
                row.append("REFUSED")
                ratios.append("REFUSED")
            else:
                row.append(fmt_ms(r["median_ms"]))
                ratios.append("%.2f" % (r["median_ms"] / e) if e else "-")
        rows.append(row + ratios)
    widths = [max(len(str(x)) for x in col) for col in zip(head, *rows)]
    print(title, file=out)
    print("  ".join(str(h).rjust(w) if i else str(h).ljust(w) for i, (h, w) in enumerate(zip(head, widths))), file=out)
    for row in rows:
        print("  ".join(str(c).rjust(w) if i else str(c).ljust(w) for i, (c, w) in enumerate(zip(row, widths))), file=out)
    print("(x vs peer = peer time / ecostat time: above 1, ecostat is faster; REFUSED: the peer's results differ "
          "from ecostat's checked results and are not reported)", file=out)


def concentration_from_sorted(xs_sorted_int, spec, S=None, rw=None, hhi=None):
    """Helper for peers that hand back sorted numpy totals: exact integers, float ratios."""
    x = xs_sorted_int
    n = len(x)
    if S is None:
        S = int(x.sum(dtype=np.uint64))
    out = {"n": n, "total": S}
    if rw is None:
        rw = int((np.arange(1, n + 1, dtype=np.uint64) * x.astype(np.uint64)).sum(dtype=np.uint64))
    out["gini"] = 0.0 if S == 0 else (2 * rw - (n + 1) * S) / (n * S)
    if hhi is None:
        xf = x.astype(np.float64) / S if S else np.zeros(n)
        hhi = float((xf * xf).sum())
    out["hhi"] = hhi
    out["top_k"] = {str(k): (int(x[n - min(k, n):].sum(dtype=np.uint64)) / S if S else 0.0) for k in spec["top_k"]}
    out["top_pct"] = {}
    for key, p in zip(spec["top_pct_keys"], spec["top_pct"]):
        k = top_pct_count(n, p)
        out["top_pct"][key] = int(x[n - k:].sum(dtype=np.uint64)) / S if S else 0.0
    out["percentiles"] = {key: float(np.percentile(x, q)) for key, q in zip(spec["percentile_keys"], spec["percentiles"])}
    out["below"] = {str(t): int(np.searchsorted(x, t, side="left")) for t in spec["below"]}
    return out


def fraction_text(x):
    return "-" if x is None or (isinstance(x, float) and math.isnan(x)) else "%.1f%%" % (100 * x)
