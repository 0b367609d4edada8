#!/usr/bin/env python3
"""Reader scaling: the same `ecostat run` on the same files with 1, 2, 4, ... threads.

    python3 bench/scaling.py --ecostat build/cli/ecostat --data /tmp/eco-2e7 --records 2e7 \\
        --models 500k --threads 1,2 [--repeats 3] [--json scaling.json]

Each round runs every thread count once, in a rotated order (round r starts at the r-th count),
so that a slow moment of the machine does not land on one count. The job reads repos.jsonl,
downloads.csv and orgs.csv into per-model totals only (`--share-groups model --month-groups none
--study none`), so the two reader stages are most of it; their times come from the results
JSON's `timings_ms` (read_repositories, read_and_accumulate_downloads), the stage as the product
runs it (read, parse, dictionary, accumulate), not a kernel alone. Every run's results must equal
the first run's (all but timings_ms and the backend's device line, which names the thread count):
the thread count may change the time, never a figure.

Per stage and thread count: median [min-max] seconds, MB/s, MB/s per thread (the file's bytes /
seconds / threads) and the speedup over the first count. The data is made by `ecostat gen` when
--data does not hold it.
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import time

STAGES = [("read_repositories", "repos.jsonl"), ("read_and_accumulate_downloads", "downloads.csv")]


def run(cmd, **kw):
    print("+ " + " ".join(str(c) for c in cmd), file=sys.stderr, flush=True)
    return subprocess.run([str(c) for c in cmd], **kw)


def ensure_files(args):
    man = os.path.join(args.data, "manifest.json")
    need = {"repos.jsonl", "downloads.csv", "orgs.csv"}
    if os.path.exists(man):
        with open(man) as f:
            m = json.load(f)
        if need <= set(m.get("files", [])) and all(os.path.exists(os.path.join(args.data, n)) for n in need):
            return
    if not args.records or not args.models:
        raise SystemExit("%s has no generated files: give --records and --models" % args.data)
    rc = run([args.ecostat, "gen", "--out", args.data, "--records", args.records, "--models", args.models,
              "--formats", "repos,orgs,downloads"]).returncode
    if rc != 0:
        raise SystemExit("ecostat gen failed (%d)" % rc)


def run_once(args, threads, out_json):
    d = args.data
    cmd = [args.ecostat, "run", "--repos", os.path.join(d, "repos.jsonl"), "--downloads",
           os.path.join(d, "downloads.csv"), "--orgs", os.path.join(d, "orgs.csv"), "--json", out_json,
           "--share-groups", "model", "--month-groups", "none", "--study", "none", "--share-limit", "0",
           "--threads", str(threads)]
    t = time.perf_counter()
    r = run(cmd, stdout=subprocess.DEVNULL)
    wall = time.perf_counter() - t
    if r.returncode != 0:
        raise SystemExit("ecostat run --threads %d failed (%d)" % (threads, r.returncode))
    with open(out_json) as f:
        doc = json.load(f)
    timings = doc.pop("timings_ms")
    commit = doc.pop("commit", None)
    doc.get("backend", {}).pop("device", None)  # "2 CPU threads": says the count, not a figure
    doc.get("backend", {}).pop("memory", None)  # a GPU run's accumulator report: how it ran
    return wall, timings, doc, commit


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--ecostat", default="build/cli/ecostat", help="the ecostat binary")
    ap.add_argument("--data", required=True, help="directory with repos.jsonl, downloads.csv, orgs.csv")
    ap.add_argument("--records", help="download records when generating (2e7, ...)")
    ap.add_argument("--models", help="models when generating (500k, ...)")
    ap.add_argument("--threads", default="1,2", help="comma list of thread counts (default 1,2)")
    ap.add_argument("--repeats", type=int, default=3, help="rounds (each runs every thread count once)")
    ap.add_argument("--json", help="write the figures here (schema ecostat.scaling/1)")
    args = ap.parse_args()
    counts = [int(x) for x in args.threads.split(",") if x]
    if not counts or min(counts) < 1:
        raise SystemExit("--threads: a comma list of counts of at least 1")
    os.makedirs(args.data, exist_ok=True)
    ensure_files(args)
    sizes = {stage: os.path.getsize(os.path.join(args.data, f)) for stage, f in STAGES}
    out_json = os.path.join(args.data, "scaling_run.json")
    samples = {t: {"wall": [], **{s: [] for s, _ in STAGES}} for t in counts}
    reference = None
    for r in range(args.repeats):
        order = counts[r % len(counts):] + counts[:r % len(counts)]
        for t in order:
            wall, timings, doc, commit = run_once(args, t, out_json)
            if reference is None:
                reference = (t, doc, commit)
            elif doc != reference[1]:
                raise SystemExit("results with --threads %d differ from those with --threads %d" % (t, reference[0]))
            samples[t]["wall"].append(wall)
            for s, _ in STAGES:
                samples[t][s].append(timings[s] / 1e3)
    base = counts[0]
    rows = {}
    print("\nReader scaling: `ecostat run` per-model totals, %s; %d rounds, median [min-max]; results equal for "
          "every thread count" % (args.data, args.repeats))
    head = "%-46s %7s %22s %9s %13s %8s" % ("stage", "threads", "seconds", "MB/s", "MB/s/thread", "speedup")
    print(head)
    for s, f in STAGES:
        for t in counts:
            v = samples[t][s]
            med = statistics.median(v)
            mbs = sizes[s] / med / 1e6
            speedup = statistics.median(samples[base][s]) / med
            rows.setdefault(s, {})[str(t)] = {"samples_s": v, "median_s": med, "min_s": min(v), "max_s": max(v),
                                               "mb_per_s": mbs, "mb_per_s_per_thread": mbs / t,
                                               "speedup_vs_%d" % base: speedup}
            print("%-46s %7d %22s %9.0f %13.0f %8.2f" % (s + " (" + f + ")", t, "%.3f [%.3f-%.3f]" % (med, min(v), max(v)),
                                                       mbs, mbs / t, speedup))
    doc = {"schema": "ecostat.scaling/1", "date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
           "commit": reference[2], "ecostat_version": reference[1].get("ecostat_version"),
           "cpu_count": os.cpu_count(), "data": args.data, "bytes": sizes, "threads": counts,
           "repeats": args.repeats, "stages": rows,
           "wall_s": {str(t): samples[t]["wall"] for t in counts}}
    print(json.dumps({"bench": "scaling", **{"%s_t%d_s" % (s, t): rows[s][str(t)]["median_s"] for s, _ in STAGES
                                               for t in counts}}))
    if args.json:
        with open(args.json, "w") as fjson:
            json.dump(doc, fjson, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
