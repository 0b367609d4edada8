#!/usr/bin/env python3
"""Strong scaling of `ecostat run` over MPI ranks (docs/scale-out.md, docs/benchmarks.md).

Generates Hub-shaped data once (`ecostat gen`), splits downloads.csv into --files files at line
boundaries (each with the header), then runs `mpirun -np N ecostat run --backend cpu` over the
same files for each N of --ranks, --repeats times. For each run: the wall time, rank 0's stage
times (the results JSON's timings_ms) and what the reduction line on stderr says (the slowest
rank's reading and accumulating, rank 0's time in the reduction, the bytes each rank sent). The
results are checked identical (timings and the thread count aside) across every N. Writes JSON (ecostat.scale_out/1).

    python3 bench/scale_out.py --ecostat build/cli/ecostat --records 1e7 --models 500k \\
        --files 4 --ranks 1,2 --json scale_out.json
"""
import argparse
import json
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

REDUCTION = re.compile(r"^ecostat: (\d+) ranks: read and accumulated in ([\d.]+) s \(slowest: rank (\d+); "
                       r"rank 0: ([\d.]+) s\), "
                       r"reduced to rank 0 in ([\d.]+) s; bytes sent:(.*) \((\d+) in all, largest message (\d+)\)$", re.M)


def generate(ecostat, data, records, models, seed):
    manifest = data / "manifest.json"
    want = {"records": records, "models": models, "seed": seed}
    stamp = data / "scale_out.args.json"
    if manifest.exists() and stamp.exists() and json.loads(stamp.read_text()) == want:
        return
    shutil.rmtree(data, ignore_errors=True)
    subprocess.run([ecostat, "gen", "--out", str(data), "--records", records, "--models", models, "--seed", str(seed),
                    "-q"], check=True)
    stamp.write_text(json.dumps(want))


def split_downloads(data, files):
    """downloads.csv cut into `files` parts of about equal bytes at line boundaries."""
    parts = [data / f"downloads-{files}-{k}.csv" for k in range(files)]
    if all(p.exists() for p in parts):
        return parts
    src = data / "downloads.csv"
    size = src.stat().st_size
    with open(src, "rb") as f:
        header = f.readline()
        for k, p in enumerate(parts):
            end = size * (k + 1) // files
            with open(p, "wb") as out:
                out.write(header)
                while f.tell() < end or k == files - 1:
                    chunk = f.readlines(1 << 20)
                    if not chunk:
                        break
                    out.writelines(chunk)
    return parts


def run_once(cmd, out_json):
    start = time.perf_counter()
    done = subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    wall = time.perf_counter() - start
    if done.returncode != 0:
        sys.exit(f"scale_out: {' '.join(cmd)}: exit {done.returncode}\n{done.stderr}")
    doc = json.loads(out_json.read_text())
    row = {"wall_s": round(wall, 3), "rank0_timings_ms": doc.get("timings_ms", {})}
    m = REDUCTION.search(done.stderr)
    if m:
        row.update({"slowest_accumulate_s": float(m.group(2)), "slowest_rank": int(m.group(3)),
                    "rank0_accumulate_s": float(m.group(4)), "rank0_reduction_s": float(m.group(5)),
                    "bytes_sent": {r: int(b) for r, b in re.findall(r"rank (\d+) (\d+)", m.group(6))},
                    "bytes_sent_total": int(m.group(7)), "largest_message": int(m.group(8))})
    else:  # one rank: nothing is sent
        row.update({"bytes_sent": {}, "bytes_sent_total": 0})
    doc.pop("timings_ms", None)
    doc["backend"].pop("device", None)  # "2 CPU threads": differs with --threads, the results do not
    return row, doc


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--ecostat", default="build/cli/ecostat")
    ap.add_argument("--mpirun", default="mpirun")
    ap.add_argument("--data", help="gen directory (default /tmp/ecostat-scale-out-<records>-<models>)")
    ap.add_argument("--records", default="1e7")
    ap.add_argument("--models", default="500k")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--files", type=int, default=4, help="download files the data is split into")
    ap.add_argument("--ranks", default="1,2")
    ap.add_argument("--threads", type=int, default=0,
                    help="--threads of each rank (0: the cores divided by the ranks, at least 1)")
    ap.add_argument("--repeats", type=int, default=1)
    ap.add_argument("--json", help="write the figures here (default: stdout)")
    args = ap.parse_args()

    ecostat = os.path.abspath(args.ecostat)
    data = Path(args.data or f"/tmp/ecostat-scale-out-{args.records}-{args.models}")
    t0 = time.perf_counter()
    generate(ecostat, data, args.records, args.models, args.seed)
    files = split_downloads(data, args.files)
    prep_s = time.perf_counter() - t0

    mpi = [args.mpirun, "--oversubscribe", "--bind-to", "none"]
    if os.geteuid() == 0:
        mpi.append("--allow-run-as-root")
    env_note = "OMPI_MCA_btl_vader_single_copy_mechanism=none"
    os.environ.setdefault("OMPI_MCA_btl_vader_single_copy_mechanism", "none")
    cores = os.cpu_count() or 1
    runs, reference = [], None
    for n in [int(x) for x in args.ranks.split(",")]:
        threads = args.threads or max(1, cores // n)
        out_json = data / f"scale_out-np{n}.json"
        cmd = mpi + ["-np", str(n), ecostat, "run", "--backend", "cpu", "--threads", str(threads),
                     "--repos", str(data / "repos.jsonl"), "--orgs", str(data / "orgs.csv"),
                     "--downloads", ",".join(map(str, files)), "--json", str(out_json)]
        samples = []
        for _ in range(args.repeats):
            row, doc = run_once(cmd, out_json)
            if reference is None:
                reference = doc
            elif doc != reference:
                sys.exit(f"scale_out: the results of np {n} differ from those of np {runs[0]['ranks']}")
            samples.append(row)
        walls = [s["wall_s"] for s in samples]
        runs.append({"ranks": n, "threads_per_rank": threads, "command": " ".join(cmd),
                     "wall_s_median": statistics.median(walls), "samples": samples})
        print(f"np {n}: {statistics.median(walls):.2f} s", file=sys.stderr)
    base = runs[0]["wall_s_median"]
    for r in runs:
        r["speedup_vs_first"] = round(base / r["wall_s_median"], 3)

    commit = subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True,
                            cwd=Path(__file__).resolve().parent).stdout.strip()
    report = {
        "schema": "ecostat.scale_out/1",
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "machine": {"host": platform.node(), "cores": cores, "cpu": platform.processor() or platform.machine()},
        "commit": commit,
        "data": {"dir": str(data), "records": args.records, "models": args.models, "seed": args.seed,
                 "download_files": len(files), "download_bytes": sum(p.stat().st_size for p in files),
                 "prepare_s": round(prep_s, 1)},
        "environment": env_note,
        "results_identical": True,
        "runs": runs,
    }
    text = json.dumps(report, indent=2)
    if args.json:
        Path(args.json).write_text(text + "\n")
    else:
        print(text)


if __name__ == "__main__":
    main()
