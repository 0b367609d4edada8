#!/usr/bin/env python3
"""ecostat's GPU backend against PyTorch and CuPy on the same GPU, same data, same run.

    python3 bench/peers_gpu.py --ecostat build/cli/ecostat --data /tmp/eco-gpu \
        --records 1e9 --models 2.2M --backend cuda [--repeats 5] [--json gpu_peers.json]

1. `ecostat gen --formats repos,orgs,bin` writes the data (unless --data already holds it).
2. `ecostat bench --data DIR --backend cuda --dump DIR/dump` times ecostat's stages: the events
   are in host memory and stream through the backend (host-to-device copies included), and its
   results are checked against a plain loop before they are dumped.
3. PyTorch and CuPy, each in its own process, load the same binary columns, copy them to the
   device (timed: h2d_ms, from pinned memory) and run the same group-bys (index_add_ / bincount
   on a key = group * months + month) and concentration figures (sort-based). Each result is
   checked against ecostat's: integers exactly, ratios to 1e-12. A peer whose result differs is
   REFUSED. Two views are timed:
     - from host memory: the pinned copy of the three columns plus the group-by, which is what
       ecostat's stages measure (compare with ecostat's streaming figures);
     - device resident: the group-by alone on columns already on the device (compare with the
       CUDA engineer's device-resident bench, bench/gpu_bench.cu, run in the same call).
4. Tables of ratios (peer time / ecostat time; above 1, ecostat is faster).

Torch counts are int64 on the device (index_add_ needs the accumulator's type; the cast is data
preparation, not timed); CuPy's bincount sums float64 weights, which is exact below 2^53 (the
check would refuse it otherwise).
"""
import argparse
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import peerlib as pl_  # noqa: E402
import numpy as np  # noqa: E402

PEERS = ["torch", "cupy"]


class TorchPeer:
    name = "torch"

    def __init__(self):
        import torch
        self.torch = torch
        self.version = torch.__version__
        self.device = torch.cuda.get_device_name()
        self.sync = torch.cuda.synchronize

    def to_device(self, d):
        t = self.torch
        self.host = [t.from_numpy(d.unit.view(np.int32)).pin_memory(), t.from_numpy(d.month.view(np.int16)).pin_memory(),
                     t.from_numpy(d.count.view(np.int32)).pin_memory()]

        def h2d():
            self.dev = [x.to("cuda", non_blocking=True) for x in self.host]
        return h2d

    def prepare(self, d, ref):
        t = self.torch
        unit32, month16, count32 = self.dev
        self.unit = unit32.to(t.int64)
        self.month = month16.to(t.int64)
        self.count = count32.to(t.int64) & 0xFFFFFFFF  # the column is u32
        self.maps = {g: t.from_numpy(a.view(np.int32)).to("cuda").to(t.int64) for g, a in d.maps.items()}
        self.M = d.models
        self.tables = {g: ref.table(g)[1:] for g in pl_.MONTH_GROUPS}

    def groupby(self, group):
        t = self.torch
        if group is None:
            return lambda: t.zeros(self.M, dtype=t.int64, device="cuda").index_add_(0, self.unit, self.count)
        G, mf, nm = self.tables[group]
        g = self.unit if group == "model" else None

        def run():
            gg = g if g is not None else self.maps[group][self.unit]
            key = (self.month - mf) * G + gg
            return t.zeros(G * nm, dtype=t.int64, device="cuda").index_add_(0, key, self.count)
        return run

    def to_numpy(self, res):
        return res.cpu().numpy().view(np.uint64)

    def concentration(self, totals, spec):
        t = self.torch

        def run():
            xs, _ = t.sort(totals)
            n = xs.numel()
            S = int(xs.sum())
            rw = int((t.arange(1, n + 1, device="cuda", dtype=t.int64) * xs).sum())
            xf = xs.to(t.float64) / S
            out = {"n": n, "total": S, "gini": (2 * rw - (n + 1) * S) / (n * S) if S else 0.0,
                   "hhi": float((xf * xf).sum()), "top_k": {}, "top_pct": {}, "percentiles": {}, "below": {}}
            for k in spec["top_k"]:
                out["top_k"][str(k)] = int(xs[n - min(k, n):].sum()) / S
            for key, p in zip(spec["top_pct_keys"], spec["top_pct"]):
                out["top_pct"][key] = int(xs[n - pl_.top_pct_count(n, p):].sum()) / S
            xd = xs.to(t.float64)
            for key, q in zip(spec["percentile_keys"], spec["percentiles"]):
                h = (n - 1) * q / 100
                lo = int(h)
                hi = min(lo + 1, n - 1)
                out["percentiles"][key] = float(xd[lo] + (h - lo) * (xd[hi] - xd[lo]))
            for th in spec["below"]:
                out["below"][str(th)] = int((xs < th).sum())
            return out
        return run


class CupyPeer:
    name = "cupy"

    def __init__(self):
        import cupy as cp
        self.cp = cp
        self.version = cp.__version__
        self.device = cp.cuda.runtime.getDeviceProperties(0)["name"].decode()
        self.sync = cp.cuda.Device().synchronize

    def to_device(self, d):
        cp = self.cp
        self.host = []
        for a in (d.unit, d.month, d.count):
            pinned = cp.cuda.alloc_pinned_memory(a.nbytes)
            h = np.frombuffer(pinned, a.dtype, a.size)
            h[...] = a
            self.host.append(h)

        def h2d():
            self.dev = [cp.asarray(h) for h in self.host]
        return h2d

    def prepare(self, d, ref):
        cp = self.cp
        unit, month, count = self.dev
        self.unit = unit.astype(cp.int64)
        self.month = month.astype(cp.int64)
        self.w = count.astype(cp.float64)
        self.maps = {g: cp.asarray(a).astype(cp.int64) for g, a in d.maps.items()}
        self.M = d.models
        self.tables = {g: ref.table(g)[1:] for g in pl_.MONTH_GROUPS}

    def groupby(self, group):
        cp = self.cp
        if group is None:
            return lambda: cp.bincount(self.unit, weights=self.w, minlength=self.M)
        G, mf, nm = self.tables[group]

        def run():
            gg = self.unit if group == "model" else self.maps[group][self.unit]
            return cp.bincount((self.month - mf) * G + gg, weights=self.w, minlength=G * nm)
        return run

    def to_numpy(self, res):
        h = self.cp.asnumpy(res)
        out = h.astype(np.uint64)
        if not np.array_equal(out.astype(np.float64), h) or (h >= 2.0**53).any():
            out[0] ^= 1  # not exactly representable: make the check fail rather than round silently
        return out

    def concentration(self, totals, spec):
        cp = self.cp

        def run():
            xs = cp.sort(totals.astype(cp.int64))
            n = xs.size
            S = int(xs.sum())
            rw = int((cp.arange(1, n + 1, dtype=cp.int64) * xs).sum())
            xf = xs.astype(cp.float64) / S
            out = {"n": n, "total": S, "gini": (2 * rw - (n + 1) * S) / (n * S) if S else 0.0,
                   "hhi": float((xf * xf).sum()), "top_k": {}, "top_pct": {}, "percentiles": {}, "below": {}}
            for k in spec["top_k"]:
                out["top_k"][str(k)] = int(xs[n - min(k, n):].sum()) / S
            for key, p in zip(spec["top_pct_keys"], spec["top_pct"]):
                out["top_pct"][key] = int(xs[n - pl_.top_pct_count(n, p):].sum()) / S
            for key, q in zip(spec["percentile_keys"], spec["percentiles"]):
                out["percentiles"][key] = float(cp.percentile(xs.astype(cp.float64), q))
            for th in spec["below"]:
                out["below"][str(th)] = int((xs < th).sum())
            return out
        return run


def worker(args):
    out = {"peer": args.worker, "stages": {}}
    try:
        peer = {"torch": TorchPeer, "cupy": CupyPeer}[args.worker]()
    except Exception as e:  # not installed, or no device
        out["error"] = "unavailable: %s" % str(e)[:300]
        json.dump(out, open(args.out, "w"), indent=1)
        return 0
    out["version"], out["device"] = peer.version, peer.device
    ref = pl_.Reference(args.dump)
    d = pl_.Data(args.data)
    h2d = peer.to_device(d)
    samples, _ = pl_.timed(h2d, args.repeats, args.warmup, sync=peer.sync)
    nbytes = d.unit.nbytes + d.month.nbytes + d.count.nbytes
    out["stages"]["h2d_pinned"] = pl_.stage_record(samples, d.events, bytes=nbytes, status="ok",
                                                   bytes_per_s=nbytes / (np.median(samples) / 1e3))
    h2d_ms = out["stages"]["h2d_pinned"]["median_ms"]
    peer.prepare(d, ref)
    spec = pl_.concentration_spec(ref)
    totals = None
    for st, group in [("groupby_model", None)] + [("groupby_%s_month" % g, g) for g in pl_.MONTH_GROUPS]:
        samples, res = pl_.timed(peer.groupby(group), args.repeats, args.warmup, sync=peer.sync)
        arr = peer.to_numpy(res)
        if group is None:
            err = pl_.check_model_totals(ref, np.arange(len(arr)), arr)
            totals = res if not err else None
        else:
            dense = ref.table(group)[0]
            err = "" if np.array_equal(np.asarray(dense), arr) else "table differs from ecostat's"
        status = "ok" if not err else "mismatch: " + err
        out["stages"][st + "_device"] = pl_.stage_record(samples, d.events, status=status)
        out["stages"][st] = pl_.stage_record([s + h2d_ms for s in samples], d.events, status=status,
                                             note="pinned host-to-device copy of the columns + group-by")
        print("%s %-28s %10.2f ms device resident, %10.2f ms from host  %s" % (
            peer.name, st, out["stages"][st + "_device"]["median_ms"], out["stages"][st]["median_ms"], err or "ok"),
            file=sys.stderr, flush=True)
        del res
    if totals is not None:
        samples, got = pl_.timed(peer.concentration(totals, spec), args.repeats, args.warmup, sync=peer.sync)
        err = pl_.check_concentration(ref, got)
        out["stages"]["concentration"] = pl_.stage_record(samples, d.models, status="ok" if not err else "mismatch: " + err)
        print("%s %-28s %10.3f ms  %s" % (peer.name, "concentration", out["stages"]["concentration"]["median_ms"],
                                          err or "ok"), file=sys.stderr, flush=True)
    json.dump(out, open(args.out, "w"), indent=1)
    return 0


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--ecostat", default="build/cli/ecostat")
    ap.add_argument("--data", required=True)
    ap.add_argument("--records")
    ap.add_argument("--models")
    ap.add_argument("--seed", type=int)
    ap.add_argument("--backend", default="cuda", help="ecostat backend to compare (cuda, hip)")
    ap.add_argument("--peers", default=",".join(PEERS))
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--warmup", type=int, default=1)
    ap.add_argument("--ceilings", help="JSON of ceilings (e.g. gpu_h2d_pinned_bytes_per_s) for ecostat bench")
    ap.add_argument("--no-verify", action="store_true", help="pass --no-verify to ecostat bench (its dump is then "
                    "not trusted and the peers are not compared)")
    ap.add_argument("--json")
    ap.add_argument("--worker", help=argparse.SUPPRESS)
    ap.add_argument("--dump", help=argparse.SUPPRESS)
    ap.add_argument("--out", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.worker:
        return worker(args)
    records = pl_.scaled(args.records) if args.records else None
    models = pl_.scaled(args.models) if args.models else None
    os.makedirs(args.data, exist_ok=True)
    pl_.ensure_data(args.ecostat, args.data, records, models, args.seed, False)
    dump = os.path.join(args.data, "dump")
    eco_json = os.path.join(args.data, "ecostat_bench_%s.json" % args.backend)
    cmd = [args.ecostat, "bench", "--data", args.data, "--backend", args.backend, "--repeats", args.repeats,
           "--warmup", args.warmup, "--json", eco_json, "--dump", dump,
           "--stages", "groupby_model,groupby_model_month,groupby_organisation_month,groupby_country_month,"
                       "groupby_org_type_month,groupby_family_month,all_tables,concentration,lineage,group_sum"]
    if args.ceilings:
        cmd += ["--ceilings", args.ceilings]
    if args.no_verify:
        cmd.append("--no-verify")
    rc = pl_.run(cmd).returncode
    if rc != 0:
        raise SystemExit("ecostat bench failed (%d)" % rc)
    eco = json.load(open(eco_json))
    peers = {}
    for p in [x for x in args.peers.split(",") if x]:
        out = os.path.join(args.data, "peer_%s.json" % p)
        r = pl_.run([sys.executable, os.path.abspath(__file__), "--worker", p, "--data", args.data, "--dump", dump,
                     "--out", out, "--repeats", args.repeats, "--warmup", args.warmup])
        peers[p] = json.load(open(out)) if r.returncode == 0 and os.path.exists(out) else \
            {"peer": p, "error": "worker failed (%d)" % r.returncode, "stages": {}}
    stages = pl_.GROUPBY_STAGES + ["all_tables", "concentration"]
    eco_ms = {s: pl_.ecostat_stage_ms(eco, args.backend, s) for s in stages}
    month = ["groupby_%s_month" % g for g in pl_.MONTH_GROUPS]
    views = {}
    for p, r in peers.items():
        if r.get("error"):
            continue
        st = r["stages"]
        for suffix, label in (("", "from host"), ("_device", "device resident")):
            v = {s: st.get(s + suffix) for s in pl_.GROUPBY_STAGES}
            v["concentration"] = st.get("concentration")
            if all(st.get(m + suffix) for m in month):
                ok = all(st[m + suffix]["status"] == "ok" for m in month)
                # one copy of the columns serves every table
                extra = -4 * st["h2d_pinned"]["median_ms"] if suffix == "" else 0
                v["all_tables"] = {"median_ms": sum(st[m + suffix]["median_ms"] for m in month) + extra,
                                   "status": "ok" if ok else "mismatch"}
            views.setdefault(label, {})[p] = {k: x for k, x in v.items() if x}
    dev = next((s["device"] for s in eco["stages"] if s["backend"] == args.backend), args.backend)
    title = "ecostat %s (%s) vs peers on the same GPU; %s events over %s models (seed %s); %s" % (
        args.backend, dev, eco["data"]["events"], eco["data"]["models"], eco["data"]["seed"], eco["date"])
    for label, pv in views.items():
        pl_.print_ratio_table("%s\npeers %s (ecostat streams the events from host memory in every stage)" % (title, label),
                              "ecostat", stages, eco_ms, pv)
        print()
    for p, r in peers.items():
        if r.get("error"):
            print("SKIPPED %s: %s" % (p, r["error"]))
        else:
            h = r["stages"]["h2d_pinned"]
            print("%s: pinned host-to-device copy of the columns %.2f ms, %.1f GB/s" % (p, h["median_ms"], h["bytes_per_s"] / 1e9))
        for s, v in r.get("stages", {}).items():
            if v.get("status") != "ok":
                print("REFUSED %s %s: %s" % (p, s, v.get("status")))
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"schema": "ecostat.peers/1", "date": eco["date"], "host": eco["host"], "data": eco["data"],
                       "ecostat": eco, "ecostat_ms": eco_ms, "peers": peers, "views": views,
                       "ratio": "peer median ms / ecostat median ms"}, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
