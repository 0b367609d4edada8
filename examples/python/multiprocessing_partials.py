"""One ecostat job over several download files, split across a pool of worker processes.

Each worker turns one download file into an ecostat.Partial; the partials come back pickled
(through their binary form), the driver merges them and finishes: the results are those of
`ecostat run` over all the files in one process. A local multiprocessing pool stands in for a
Dask or Spark cluster (docs/scale-out.md). Run from the repository root:

    python examples/python/multiprocessing_partials.py --repos repos.jsonl --orgs orgs.csv \
        --json results.json d-2023.csv d-2024.csv d-2025.csv
"""
import argparse
import multiprocessing

import ecostat


def partial_of(task):
    """A worker: the partial of one download file. The first task also reads the small inputs
    (repositories, attribution, parameters), as `mpirun ecostat run` gives them to rank 0, so
    that they are read and counted once; a repository named only by another file's downloads
    is a placeholder in that partial, and the merge keeps the record."""
    small, downloads, threads = task
    return ecostat.partial(**small, downloads=downloads, backend="cpu", threads=threads)


def run_in_pool(downloads, repos=None, orgs=None, params=None, workers=2):
    small = {"repos": repos, "orgs": orgs, "params": params}
    threads = max(1, multiprocessing.cpu_count() // workers)
    tasks = [(small if i == 0 else {}, path, threads) for i, path in enumerate(downloads)]
    # spawn: fresh worker processes, as a cluster's are (and no fork of a threaded parent).
    with multiprocessing.get_context("spawn").Pool(workers) as pool:
        parts = pool.map(partial_of, tasks)
    return ecostat.merge(parts).finish(backend="cpu")


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("downloads", nargs="+", help="download files, one partial each")
    ap.add_argument("--repos")
    ap.add_argument("--orgs")
    ap.add_argument("--params")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--json", help="write the results document here")
    args = ap.parse_args()
    results = run_in_pool(args.downloads, args.repos, args.orgs, args.params, args.workers)
    if args.json:
        with open(args.json, "w") as f:
            f.write(results.to_json())
    top = results.share("model").to_pylist()[:3]
    print(results.to_dict()["input"]["download_records"], "download records;",
          "top models:", ", ".join(f"{row['key']} {row['share']:.4f}" for row in top))


if __name__ == "__main__":
    main()
