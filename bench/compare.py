#!/usr/bin/env python3
"""Sets two (or more) `ecostat bench --json` result files side by side: one table and a plot.

    python3 bench/compare.py nvidia.json amd.json [--backends cuda,hip] [--plot cmp.png|cmp.svg]

Meant for NVIDIA vs AMD (the same `ecostat bench` command run on each machine: same generator
spec, same sizes, results checked on each), but any two files compare: two CPUs, two commits.
For each file it takes one backend (--backends, default: the GPU backend in the file, else cpu)
and, per stage both files have, prints the device, median time, throughput, the fraction of that
machine's own measured ceiling (each file carries its ceilings: memory copy/read bandwidth on the
CPU, pinned host-to-device bandwidth when given with --ceilings) and the throughput ratio.
Files written by bench/peers_*.py (schema ecostat.peers/1 or /2) are read through their `ecostat` part.
Files whose data differ (seed, records, models) are refused unless --allow-different-data.
"""
import argparse
import json
import math
import sys


def load(path):
    with open(path) as f:
        doc = json.load(f)
    if doc.get("schema") in ("ecostat.peers/1", "ecostat.peers/2"):
        doc = doc["ecostat"]
    if doc.get("schema") != "ecostat.bench/1":
        raise SystemExit("%s: not an ecostat bench result (schema %r)" % (path, doc.get("schema")))
    return doc


def pick_backend(doc, wanted):
    names = []
    for s in doc["stages"]:
        if s["backend"] not in names and s["backend"] != "host":
            names.append(s["backend"])
    if wanted:
        if wanted not in names:
            raise SystemExit("backend %s not in the file (it has %s)" % (wanted, ", ".join(names)))
        return wanted
    for n in names:
        if n not in ("cpu", "host"):
            return n
    return names[0] if names else "cpu"


def stages_of(doc, backend):
    out = {}
    for s in doc["stages"]:
        if s["backend"] in (backend, "host"):
            out[s["stage"]] = s
    return out


def device_of(doc, backend):
    for s in doc["stages"]:
        if s["backend"] == backend:
            return s.get("device") or backend
    return backend


def fmt_rate(v):
    if v is None:
        return "-"
    for unit, div in (("G", 1e9), ("M", 1e6), ("k", 1e3)):
        if v >= div:
            return "%.3g%s" % (v / div, unit)
    return "%.3g" % v


def fmt_frac(v):
    return "-" if v is None else "%.1f%%" % (100 * v)


def table(docs, backends, labels):
    per = [stages_of(d, b) for d, b in zip(docs, backends)]
    order = [s["stage"] for s in docs[0]["stages"] if s["backend"] in (backends[0], "host")]
    order = [s for i, s in enumerate(order) if s not in order[:i] and all(s in p for p in per)]
    head = ["stage"]
    for lab in labels:
        head += ["%s ms" % lab, "%s items/s" % lab, "%s ceil" % lab]
    if len(docs) == 2:
        head.append("%s/%s" % (labels[1], labels[0]))
    rows = []
    for st in order:
        row = [st]
        rates = []
        for p in per:
            s = p[st]
            ok = str(s.get("verified", "")).startswith(("ok", "not checked"))
            row += [("%.2f" % s["median_ms"]) if ok else "MISMATCH", fmt_rate(s["items_per_s"]) if ok else "-",
                    fmt_frac(s.get("fraction_of_ceiling")) if ok else "-"]
            rates.append(s["items_per_s"] if ok else None)
        if len(docs) == 2:
            row.append("%.2fx" % (rates[1] / rates[0]) if rates[0] and rates[1] else "-")
        rows.append(row)
    return head, rows, order, per


def print_table(head, rows, out=sys.stdout):
    widths = [max(len(str(x)) for x in col) for col in zip(head, *rows)]
    line = lambda r: "  ".join(str(c).ljust(w) if i == 0 else str(c).rjust(w) for i, (c, w) in enumerate(zip(r, widths)))  # noqa: E731
    print(line(head), file=out)
    for r in rows:
        print(line(r), file=out)


def plot(path, order, per, labels, title):
    """Two panels: throughput (log scale) and fraction of each machine's ceiling."""
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return plot_svg(path, order, per, labels, title)
    n, k = len(order), len(per)
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(13, 0.45 * n + 2), sharey=True)
    h = 0.8 / k
    for j, (p, lab) in enumerate(zip(per, labels)):
        ys = [i + (j - (k - 1) / 2) * h for i in range(n)]
        ax1.barh(ys, [p[s]["items_per_s"] or 0 for s in order], height=h, label=lab)
        ax2.barh(ys, [100 * (p[s].get("fraction_of_ceiling") or 0) for s in order], height=h, label=lab)
    ax1.set_xscale("log")
    ax1.set_xlabel("items/s (events, values or nodes per second; log scale)")
    ax2.set_xlabel("% of the machine's measured ceiling")
    ax1.set_yticks(range(n))
    ax1.set_yticklabels(order)
    ax1.invert_yaxis()
    ax1.legend(loc="lower right", fontsize=8)
    fig.suptitle(title, fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    return path


def plot_svg(path, order, per, labels, title):
    """Hand-written SVG fallback (no matplotlib): throughput bars on a log scale."""
    colors = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd"]
    rates = [p[s]["items_per_s"] or 1 for p in per for s in order]
    lo, hi = math.floor(math.log10(min(rates))), math.ceil(math.log10(max(rates)))
    W, left, bar = 900, 230, 12
    H = 60 + len(order) * (bar * len(per) + 10)
    x = lambda v: left + (W - left - 20) * (math.log10(max(v, 1)) - lo) / max(hi - lo, 1)  # noqa: E731
    out = ['<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" font-family="sans-serif" font-size="11">' % (W, H),
           '<text x="10" y="18" font-size="12">%s</text>' % title.replace("&", "&amp;").replace("<", "&lt;")]
    for e in range(lo, hi + 1):
        out.append('<line x1="%.1f" y1="30" x2="%.1f" y2="%d" stroke="#ddd"/><text x="%.1f" y="%d">1e%d/s</text>'
                   % (x(10**e), x(10**e), H - 20, x(10**e) - 10, H - 6, e))
    y = 36
    for s in order:
        out.append('<text x="10" y="%d">%s</text>' % (y + bar, s))
        for j, p in enumerate(per):
            v = p[s]["items_per_s"] or 1
            out.append('<rect x="%d" y="%d" width="%.1f" height="%d" fill="%s"/>' % (left, y, x(v) - left, bar - 2, colors[j % 4]))
            y += bar
        y += 10
    for j, lab in enumerate(labels):
        out.append('<rect x="%d" y="24" width="10" height="8" fill="%s"/><text x="%d" y="32">%s</text>'
                   % (W - 300 + 150 * j, colors[j % 4], W - 286 + 150 * j, lab))
    out.append("</svg>")
    if not path.endswith(".svg"):
        path = path.rsplit(".", 1)[0] + ".svg"
    with open(path, "w") as f:
        f.write("\n".join(out))
    return path


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("files", nargs="+", help="ecostat bench --json files (2 for a ratio column)")
    ap.add_argument("--backends", help="comma list, one per file (default: the GPU backend of each, else cpu)")
    ap.add_argument("--labels", help="comma list of column labels (default: the device names)")
    ap.add_argument("--plot", help="write a plot here (.png or .svg)")
    ap.add_argument("--allow-different-data", action="store_true")
    args = ap.parse_args()
    docs = [load(f) for f in args.files]
    wanted = args.backends.split(",") if args.backends else [None] * len(docs)
    backends = [pick_backend(d, w) for d, w in zip(docs, wanted)]
    key = lambda d: (d["data"]["seed"], d["data"]["records"], d["data"]["models"], d["data"]["batch"])  # noqa: E731
    if len({key(d) for d in docs}) > 1 and not args.allow_different_data:
        raise SystemExit("the files were run on different data (seed, records, models, batch): %s"
                         % [key(d) for d in docs])
    labels = args.labels.split(",") if args.labels else ["%s" % device_of(d, b) for d, b in zip(docs, backends)]
    if len(set(labels)) < len(labels):
        labels = ["%s (%d)" % (lab, i + 1) for i, lab in enumerate(labels)]
    d0 = docs[0]["data"]
    print("ecostat bench comparison: %s events over %s models (seed %s)" % (d0["events"], d0["models"], d0["seed"]))
    for d, b, f, lab in zip(docs, backends, args.files, labels):
        ceil = {k: v for k, v in d["ceilings"].items() if k.endswith("bytes_per_s")}
        print("  %s: %s, backend %s on %s (%s), %s; ceilings %s" % (
            lab, f, b, device_of(d, b), d["host"]["cpu"], d["date"],
            ", ".join("%s %.1f GB/s" % (k.replace("_bytes_per_s", ""), v / 1e9) for k, v in sorted(ceil.items()))))
    head, rows, order, per = table(docs, backends, labels)
    print_table(head, rows)
    print("(ceil = fraction of that machine's own measured ceiling: memory read bandwidth for CPU event stages, "
          "pinned host-to-device bandwidth for GPU event stages when the file has it; ratio = throughput of the "
          "second over the first)")
    if args.plot:
        title = "ecostat bench: %s vs %s, %s events, %s models" % (labels[0], labels[-1], d0["events"], d0["models"])
        print("plot: %s" % plot(args.plot, order, per, labels, title))
    return 0


if __name__ == "__main__":
    sys.exit(main())
