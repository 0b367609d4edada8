#!/usr/bin/env python3
"""Builds data/sample/ (the sample `ecostat run` uses when given no inputs) from the real
extracts in shared/data/real. See data/README.md for what each file holds and which columns are
real and which are hand-written.

    python3 data/make_sample.py [--real /work/shared/data/real] [--out data/sample]

Deterministic: the same inputs give byte-identical outputs.
"""
import argparse
import csv
import json
import os
import shutil

# Hand-written attribution (organisation, ISO 3166-1 country, org type) for handles that appear
# in the sample. Regions come from tracked-models/organization_regions.csv where that file has
# the handle; otherwise the region is hand-written too (marked in the provenance column).
HAND = {
    # handle: (organisation, country, region_if_not_in_real_file, org_type)
    "mistralai": ("Mistral AI", "FR", "eu", "industry"),
    "NousResearch": ("Nous Research", "US", "us", "industry"),
    "arcee-ai": ("Arcee AI", "US", "us", "industry"),
    "unsloth": ("Unsloth AI", "US", "us", "industry"),
    "jhu-clsp": ("Johns Hopkins University", "US", "us", "academic"),
    "mlx-community": ("", "", "unknown", "unaffiliated"),
    "bartowski": ("", "", "unknown", "individual"),
    "KB": ("National Library of Sweden", "SE", "eu", "government"),
    "KBLab": ("National Library of Sweden", "SE", "eu", "government"),
}

# The lineage extract was fetched on 2025-04-05 (its original file name is
# Mistral-Small-24B-Base-2501_finetunes_20250405_001816.csv): its `downloads` field is the
# 30-day count read on that day.
LINEAGE_SNAPSHOT_DATE = "2025-04-05"


def main():
    ap = argparse.ArgumentParser()
    here = os.path.dirname(os.path.abspath(__file__))
    ap.add_argument("--real", default="/work/shared/data/real")
    ap.add_argument("--out", default=os.path.join(here, "sample"))
    a = ap.parse_args()
    os.makedirs(a.out, exist_ok=True)
    csv.field_size_limit(1 << 30)

    # 1. The lineage extract, verbatim: the repository reader takes its messy CSV form.
    lineage_src = os.path.join(a.real, "lineage", "mistral-small-24b-base-2501_finetunes.csv")
    shutil.copyfile(lineage_src, os.path.join(a.out, "repos.csv"))
    with open(lineage_src, newline="") as f:
        lineage = [json.loads(r["metadata"]) for r in csv.DictReader(f)]

    # 2. KBLab download series (models and datasets): repo = organization/name, exactly the
    #    path of model_url / dataset_url. The 30-day count read on each date is the month's count.
    series = []  # (repo, date, downloads, kind)
    with open(os.path.join(a.real, "kblab", "model_downloads_30d_monthly.csv"), newline="") as f:
        for r in csv.DictReader(f):
            repo = r["organization"] + "/" + r["model_name"]
            assert r["model_url"] == "https://huggingface.co/" + repo
            series.append((repo, r["date"], int(r["downloads"]), "model"))
    with open(os.path.join(a.real, "kblab", "dataset_downloads_30d_monthly.csv"), newline="") as f:
        for r in csv.DictReader(f):
            repo = r["organization"] + "/" + r["dataset_name"]
            assert r["dataset_url"] == "https://huggingface.co/datasets/" + repo
            series.append((repo, r["date"], int(r["downloads"]), "dataset"))

    with open(os.path.join(a.out, "downloads.csv"), "w", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(["repo", "date", "downloads"])
        for repo, date, n, _ in series:
            w.writerow([repo, date, n])
        for m in lineage:
            w.writerow([m["id"], LINEAGE_SNAPSHOT_DATE, m["downloads"]])

    # 3. Repository records for the KBLab repos (JSON Lines): id, author, kind and the latest
    #    30-day count. Nothing else is known about them from these extracts.
    latest = {}
    for repo, date, n, kind in series:
        if repo not in latest or date > latest[repo][0]:
            latest[repo] = (date, n, kind)
    with open(os.path.join(a.out, "repos_kblab.jsonl"), "w") as f:
        for repo in sorted(latest):
            date, n, kind = latest[repo]
            rec = {"id": repo, "author": repo.split("/")[0], "repoType": kind, "downloads": n}
            f.write(json.dumps(rec) + "\n")

    # 4. Attribution: every row of organization_regions.csv (real region and notes), with
    #    hand-written organisation/country/type for the handles of the sample, plus rows for
    #    sample handles the real file lacks.
    rows = []
    seen = set()
    with open(os.path.join(a.real, "tracked-models", "organization_regions.csv"), newline="") as f:
        for r in csv.DictReader(f):
            h = r["hf_org"]
            seen.add(h)
            if h in HAND:
                org, country, _, typ = HAND[h]
                rows.append([h, org, country, r["region"], typ, r["notes"], "region,notes: tracked-models; organisation,country,org_type: hand-written"])
            else:
                rows.append([h, "", "", r["region"], "", r["notes"], "region,notes: tracked-models"])
    for h in sorted(HAND, key=str.lower):
        if h in seen:
            continue
        org, country, region, typ = HAND[h]
        rows.append([h, org, country, region, typ, "", "hand-written"])
    with open(os.path.join(a.out, "orgs.csv"), "w", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(["handle", "organisation", "country", "region", "org_type", "notes", "provenance"])
        w.writerows(rows)


if __name__ == "__main__":
    main()
