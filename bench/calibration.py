#!/usr/bin/env python3
"""The generator's calibration, checked with the engine's own output.

    python3 bench/calibration.py --ecostat build/cli/ecostat --data DIR [--markdown]

Runs `ecostat run` on the files of an `ecostat gen` directory (repos.jsonl, downloads.csv,
orgs.csv) and sets what the engine computes next to the published shape of the Hub that the
generator is calibrated to (docs/generator.md). Exits 1 when a figure is outside its tolerance.
"""
import argparse
import json
import os
import subprocess
import sys


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--ecostat", default="build/cli/ecostat")
    ap.add_argument("--data", required=True)
    ap.add_argument("--results", help="reuse this `ecostat run --json` output instead of running")
    ap.add_argument("--markdown", action="store_true")
    args = ap.parse_args()
    man = json.load(open(os.path.join(args.data, "manifest.json")))
    path = args.results or os.path.join(args.data, "calibration_run.json")
    if not args.results:
        cmd = [args.ecostat, "run", "--backend", "cpu", "--repos", os.path.join(args.data, "repos.jsonl"),
               "--downloads", os.path.join(args.data, "downloads.csv"), "--orgs", os.path.join(args.data, "orgs.csv"),
               "--json", path, "--quiet", "--family-limit", "3", "--month-groups", "country",
               "--top-k", "1,10,100,200,1000"]
        print("+ " + " ".join(cmd), file=sys.stderr)
        if subprocess.run(cmd).returncode != 0:
            raise SystemExit("ecostat run failed")
    r = json.load(open(path))
    L = r["lineage"]
    e = L["edges_by_relation"]
    merges = e["merge"] // 2
    derivs = e["finetune"] + e["adapter"] + e["quantized"] + merges
    n = r["input"]["units"]
    c = r["concentration"]["model"]
    fam = L["families"][0]
    share = {row["key"]: row["share"] for row in r["share"]["country"]} if "country" in r["share"] else {}
    rows = [
        # (figure, published, tolerance check, measured text)
        ("models", "about 2.2M", True, "{:,}".format(n)),
        ("models with a base model", "28%", abs(derivs / n - 0.28) < 0.005, "%.2f%%" % (100 * derivs / n)),
        ("adapter / finetune / quantized / merge (of those)", "43% / 36% / 19% / 2%",
         all(abs(a - b) < 0.01 for a, b in ((e["adapter"] / derivs, .43), (e["finetune"] / derivs, .36),
                                              (e["quantized"] / derivs, .19), (merges / derivs, .02))),
         "%.1f%% / %.1f%% / %.1f%% / %.1f%%" % tuple(100 * x / derivs for x in (e["adapter"], e["finetune"], e["quantized"], merges))),
        ("largest family (derivatives of one base)", "over 113,000 (family sizes heavy-tailed to ~10^5)",
         50000 <= fam["descendants"] <= 200000, "{:,} (next: {})".format(
             fam["descendants"], ", ".join("{:,}".format(f["descendants"]) for f in L["families"][1:3]))),
        ("lineage depth", "fine-tunes of fine-tunes, quantizations of those", L["max_depth"] >= 2,
         "max depth %d, %d roots" % (L["max_depth"], L["roots"])),
        ("share of the top 0.01% of models", "about half", 0.4 <= c["top_pct"]["0.01"] <= 0.6,
         "%.1f%% (top 200: %.1f%%)" % (100 * c["top_pct"]["0.01"], 100 * c["top_k"]["200"])),
        ("models with under 200 downloads", "half", 0.45 <= c["below"]["200"]["fraction"] <= 0.7,
         "%.1f%% (median %.0f)" % (100 * c["below"]["200"]["fraction"], c["percentiles"]["50"])),
        ("Gini of model downloads", "(not published; follows from the two above)", True, "%.4f" % c["gini"]),
        ("organisations with country and type", "attribution table", r["input"]["files"][0]["accepted"] > 0,
         "%s handles; downloads by country: %s" % (
             "{:,}".format(next(f["accepted"] for f in r["input"]["files"] if f["role"] == "orgs")),
             ", ".join("%s %.0f%%" % (k, 100 * v) for k, v in list(share.items())[:4]))),
    ]
    s = man["spec"]
    head = ("generated: %s models, %s download records, seed %s (mean %.1f records per model); engine: %s, %s" % (
        "{:,}".format(int(s["models"])), "{:,}".format(int(s["records"])), s["seed"], int(s["records"]) / int(s["models"]),
        r["backend"]["name"], r["backend"]["device"]))
    ok = all(x[2] for x in rows)
    if args.markdown:
        print(head + "\n")
        print("| figure | published shape of the Hub | ecostat's output on the generated set | within tolerance |")
        print("|---|---|---|---|")
        for f, pub, good, got in rows:
            print("| %s | %s | %s | %s |" % (f, pub, got, "yes" if good else "**no**"))
    else:
        print(head)
        for f, pub, good, got in rows:
            print("  %-50s %-45s %-40s %s" % (f, pub, got, "ok" if good else "OUT OF TOLERANCE"))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
