#!/usr/bin/env python3
"""Builds data/sample/ (the sample `ecostat run` uses when given no inputs) from the real
extracts in shared/data/real. See data/README.md for what each file holds and which columns are
real and which are hand-written.

    python3 data/make_sample.py [--real /work/shared/data/real] [--out data/sample]

Deterministic: the same inputs give byte-identical outputs.
"""
import argparse
import csv
import datetime
import hashlib
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
    #    30-day count. Nothing else is known about them from these extracts: the study's fields
    #    (createdAt, pipeline_tag, tags) are generated, see kblab_study_fields().
    latest = {}
    first_seen = {}
    for repo, date, n, kind in series:
        if repo not in latest or date > latest[repo][0]:
            latest[repo] = (date, n, kind)
        if repo not in first_seen or date < first_seen[repo]:
            first_seen[repo] = date
    with open(os.path.join(a.out, "repos_kblab.jsonl"), "w") as f:
        for repo in sorted(latest):
            date, n, kind = latest[repo]
            rec = {"id": repo, "author": repo.split("/")[0], "repoType": kind, "downloads": n}
            rec.update(kblab_study_fields(repo, kind, first_seen[repo]))
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

    # 5. The study's extra files (generated where the real extracts have nothing).
    write_params(a.real, a.out, sorted(latest), lineage)
    write_generated(a.out)


# ---- The study's data (ecostat issue 6) ---------------------------------------------------------
# Every synthetic repo is created from 2022-03 on, after the KBLab series begin (2022-02), so
# that all download series of the sample cover the same months.
# Everything below is GENERATED, deterministically, so that every study metric has something to
# measure: creation dates and pipeline tags for the KBLab repos (the series do not say when a repo
# was created), parameter counts for them (approximate sizes of their public architectures),
# and a small synthetic ecosystem ("synth-*" handles: size classes 1-9B and >=100B, derivatives,
# robotics datasets, monthly download series) that the real extracts lack.

SCRAPER_START = "2022-02"  # the first month of the KBLab series


def h(*parts):
    """A deterministic integer from strings (stable across Python versions)."""
    return int(hashlib.sha256("|".join(str(p) for p in parts).encode()).hexdigest()[:12], 16)


def day(s):
    return datetime.date.fromisoformat(s)


def kblab_study_fields(repo, kind, first_date):
    """Generated createdAt (and tags) for a KBLab repo. A repo first seen after the series began
    is taken to be created 5-24 days before its first reading; one present from the start gets a
    date in 2020-03..2021-12 (before the series: the lifetime metric counts it as released before
    the data)."""
    if first_date[:7] > SCRAPER_START:
        created = day(first_date) - datetime.timedelta(days=5 + h(repo, "c") % 20)
    else:
        created = datetime.date(2020, 3, 1) + datetime.timedelta(days=h(repo, "c") % 640)
    out = {"createdAt": created.isoformat() + "T09:00:00.000Z"}
    name = repo.split("/")[1].lower()
    tag = None
    if kind == "dataset":
        tag = {"rixvox": "task_categories:automatic-speech-recognition",
               "rixvox-v2": "task_categories:automatic-speech-recognition",
               "overlim": "task_categories:text-classification",
               "sucx3_ner": "task_categories:token-classification",
               "svwikiqa": "task_categories:question-answering"}.get(name)
        if tag:
            out["tags"] = [tag]
    else:
        if "whisper" in name or "wav2vec2" in name or name.startswith("asr-"):
            tag = "automatic-speech-recognition"
        elif "tts" in name:
            tag = "text-to-speech"
        elif "ner" in name or name.endswith("-pos"):
            tag = "token-classification"
        elif "sentiment" in name or "classification" in name:
            tag = "text-classification"
        if tag:
            out["pipeline_tag"] = tag
    out["provenance"] = "createdAt, pipeline_tag, tags: generated by data/make_sample.py"
    return out


# Approximate parameter counts of the KBLab models' architectures (by name), in billions.
def kblab_params_b(name):
    n = name.lower()
    rules = [("whisper-large", "1.55"), ("whisper-medium", "0.769"), ("whisper-small", "0.244"),
             ("whisper-base", "0.074"), ("whisper-tiny", "0.039"), ("wav2vec2-large", "0.317"),
             ("wav2vec2-base", "0.095"), ("bert-large", "0.335"), ("albert-base", "0.014"),
             ("electra-small", "0.014"), ("electra-base-swedish-cased-generator", "0.035"),
             ("electra-base", "0.11"), ("bart-base", "0.14"), ("roberta-base", "0.125"),
             ("sentence-bert", "0.125"), ("robust-swedish-sentiment", "0.335"),
             ("swedish-ocr-correction", "0.3"), ("piper-tts", "0.03"), ("bert-base", "0.125"),
             ("emotional-classification", "0.125")]
    for key, b in rules:
        if key in n:
            return b
    return None  # spacy pipelines, tokenizers, the "moved" placeholder: no parameter count


def write_params(real, out, kblab_repos, lineage):
    """params.csv: the real tracked-models/model_parameters.csv rows verbatim (most name models the
    sample does not have: they count as unmatched), then generated rows (notes say so)."""
    src = os.path.join(real, "tracked-models", "model_parameters.csv")
    with open(src, newline="") as f:
        text = f.read()
    if not text.endswith("\n"):
        text += "\n"
    rows = []
    for repo in kblab_repos:
        if repo.startswith("KBLab/") and repo.split("/")[1] in ("overlim", "rixvox", "rixvox-v2", "sucx3_ner", "svwikiqa"):
            continue  # datasets
        b = kblab_params_b(repo.split("/")[1])
        if b:
            rows.append([repo, b, "", "false", "generated for the ecostat sample: approximate size of the architecture its name gives"])
    # Lineage models whose record has no safetensors count: quantized/derived copies of the 23.6B base.
    missing = [m["id"] for m in lineage if not (m.get("safetensors") or {}).get("total")]
    for mid in sorted(missing)[:4]:
        rows.append([mid, "23.572403200", "", "false", "generated for the ecostat sample: the base model's count (its record has none)"])
    # Synthetic models: one given only here, one whose table count overrides its safetensors.total.
    rows.append(["synth-frontier/Frontier-1T-MoE", "1000", "32", "true",
                 "generated for the ecostat sample: differs from safetensors.total (an extra module in the weights)"])
    rows.append(["synth-uni/Uni-T5-3B", "2.85", "", "false", "generated for the ecostat sample: the record has no safetensors"])
    buf = []
    for r in rows:
        buf.append(",".join(('"%s"' % c) if ("," in c or " " in c) else c for c in r))
    with open(os.path.join(out, "params.csv"), "w", newline="") as f:
        f.write(text + "\n".join(buf) + "\n")


# The synthetic ecosystem: (handle, organisation, country, region, org_type); synth-tinkerer has
# no attribution row (unattributed: its models inherit with --inherit-attribution), synth-quant
# only an organisation type.
SYNTH_ORGS = [
    ("synth-frontier", "Synthetic Frontier Lab", "US", "us", "industry"),
    ("synth-dragon", "Synthetic Dragon AI", "CN", "china", "industry"),
    ("synth-uni", "Synthetic University", "DE", "eu", "academic"),
    ("synth-robotics", "Synthetic Robotics", "JP", "other", "industry"),
    ("synth-commons", "Synthetic Commons", "GB", "other", "non-profit"),
    ("synth-quant", "", "", "", "individual"),
]

# Models: (id, created, params (billions) in safetensors.total or None, peak 30-day downloads,
#          months to peak, monthly decay, pipeline tag, extra tags, base (relation, id) or None)
SYNTH_MODELS = [
    ("synth-uni/Uni-BERT-Large", "2022-03-01", 0.335, 60000, 6, 0.97, "fill-mask", [], None),
    ("synth-uni/Uni-T5-3B", "2022-04-01", None, 40000, 3, 0.95, "text2text-generation", [], None),
    ("synth-commons/Commons-LM-1.3B", "2022-05-02", 1.3, 90000, 2, 0.93, "text-generation", [], None),
    ("synth-frontier/Frontier-8B", "2023-03-10", 8.0, 300000, 2, 0.90, "text-generation", [], None),
    ("synth-frontier/Frontier-70B", "2023-03-10", 70.0, 120000, 2, 0.88, "text-generation", [], None),
    ("synth-dragon/Dragon-7B", "2023-08-03", 7.0, 220000, 3, 0.91, "text-generation", [], None),
    ("synth-frontier/Frontier-180B", "2023-09-05", 180.0, 9000, 1, 0.80, "text-generation", [], None),
    ("synth-frontier/Frontier-3B", "2024-02-01", 3.2, 260000, 2, 0.92, "text-generation", [], None),
    ("synth-commons/Commons-Speech-1B", "2024-04-01", 1.0, 70000, 4, 0.95, "automatic-speech-recognition", [], None),
    ("synth-dragon/Dragon-236B-MoE", "2024-05-06", 236.0, 15000, 1, 0.84, "text-generation", [], None),
    ("synth-dragon/Dragon-72B", "2024-06-06", 72.0, 150000, 2, 0.90, "text-generation", [], None),
    ("synth-frontier/Frontier-405B", "2024-07-23", 405.0, 30000, 1, 0.86, "text-generation", [], None),
    ("synth-frontier/Frontier-8B-v2", "2024-07-23", 8.0, 900000, 2, 0.92, "text-generation", [], None),
    ("synth-dragon/Dragon-1.5B", "2024-09-19", 1.5, 400000, 3, 0.93, "text-generation", [], None),
    ("synth-uni/Uni-Robot-Policy-0.5B", "2024-11-01", 0.5, 8000, 5, 0.96, "robotics", ["lerobot"], None),
    ("synth-dragon/Dragon-671B-MoE", "2024-12-26", 671.0, 60000, 1, 0.88, "text-generation", [], None),
    ("synth-dragon/Dragon-3B", "2025-01-27", 3.0, 500000, 2, 0.91, "text-generation", [], None),
    ("synth-robotics/Robo-Policy-1B", "2025-02-01", 1.1, 20000, 3, 0.94, "robotics", ["lerobot"], None),
    ("synth-uni/Uni-Vision-2B", "2025-03-01", 2.2, 50000, 2, 0.90, "image-text-to-text", [], None),
    ("synth-frontier/Frontier-1T-MoE", "2025-04-05", 1014.0, 40000, 1, 0.87, "text-generation", [], None),
    ("synth-dragon/Dragon-Coder-7B", "2025-06-01", 7.0, 180000, 2, 0.90, "text-generation", [], None),
    ("synth-robotics/Robo-VLA-7B", "2025-08-01", 7.2, 30000, 3, 0.95, "robotics", ["lerobot"], None),
    ("synth-frontier/Frontier-Nano-1B", "2025-09-01", 1.2, 350000, 2, 0.93, "text-generation", [], None),
    ("synth-dragon/Dragon-4B", "2026-02-01", 4.0, 280000, 2, 0.92, "text-generation", [], None),
    # Derivatives by an unattributed individual (synth-tinkerer) and by synth-quant.
    ("synth-tinkerer/Frontier-8B-chat-ft", "2023-04-01", 8.0, 25000, 1, 0.85, "text-generation", [],
     ("finetune", "synth-frontier/Frontier-8B")),
    ("synth-tinkerer/Dragon-7B-GGUF", "2023-09-01", None, 40000, 1, 0.88, "text-generation", [],
     ("quantized", "synth-dragon/Dragon-7B")),
    ("synth-tinkerer/Dragon-72B-lora", "2024-07-01", None, 3000, 1, 0.80, "text-generation", [],
     ("adapter", "synth-dragon/Dragon-72B")),
    ("synth-tinkerer/Frontier-405B-AWQ", "2024-08-10", None, 6000, 1, 0.85, "text-generation", [],
     ("quantized", "synth-frontier/Frontier-405B")),
    ("synth-tinkerer/Frontier-8B-merge", "2024-09-01", 8.0, 4000, 1, 0.80, "text-generation", [],
     ("merge", "synth-frontier/Frontier-8B-v2", "synth-frontier/Frontier-8B")),
    ("synth-tinkerer/Frontier-8B-chat-ft-GGUF", "2024-10-01", None, 2000, 1, 0.80, "text-generation", [],
     ("quantized", "synth-tinkerer/Frontier-8B-chat-ft")),
    ("synth-quant/Dragon-3B-4bit", "2025-02-10", 3.0, 30000, 1, 0.88, "text-generation", [],
     ("quantized", "synth-dragon/Dragon-3B")),
    ("synth-quant/Frontier-3B-GGUF", "2024-03-01", 3.2, 15000, 1, 0.88, "text-generation", [],
     ("quantized", "synth-frontier/Frontier-3B")),
]

DATA_END = "2026-08"  # the last month of the real KBLab series


def months_from(created, end=DATA_END):
    y, m = int(created[:4]), int(created[5:7])
    out = []
    while "%04d-%02d" % (y, m) <= end:
        out.append("%04d-%02d" % (y, m))
        m += 1
        if m == 13:
            y, m = y + 1, 1
    return out


def series_for(key, created, peak, to_peak, decay):
    """A monthly 30-day-count series: a rise to the peak, then a decay to a floor, with a
    deterministic +-15% wobble."""
    out = []
    peak = peak // 3  # keeps the generated downloads below the real ones in total
    floor = max(1, peak // 40)
    for i, month in enumerate(months_from(created)):
        if i < to_peak:
            base = peak * (0.35 + 0.65 * i / to_peak)
        else:
            base = max(floor, peak * decay ** (i - to_peak))
        wobble = 0.85 + (h(key, month) % 3001) / 10000.0
        out.append((month, int(base * wobble)))
    return out


def write_generated(out):
    repos, downloads = [], []
    for (mid, created, params, peak, to_peak, decay, pipeline, tags, base) in SYNTH_MODELS:
        rec = {"id": mid, "author": mid.split("/")[0], "repoType": "model",
               "createdAt": created + "T12:00:00.000Z", "pipeline_tag": pipeline}
        all_tags = [pipeline] + tags
        if base:
            relation, parents = base[0], base[1:]
            for p in parents:
                all_tags.append("base_model:" + p)
                all_tags.append("base_model:%s:%s" % (relation, p))
        rec["tags"] = all_tags
        if params is not None:
            rec["safetensors"] = {"total": int(round(params * 1e9))}
        s = series_for(mid, created, peak, to_peak, decay)
        rec["downloads"] = s[-1][1] if s else 0
        rec["provenance"] = "generated by data/make_sample.py"
        repos.append(rec)
        downloads += [(mid, m + "-15", n) for m, n in s]
    # Datasets: robotics datasets at a rising rate (2023: 2, 2024: 5, 2025: 10, 2026 to August: 8),
    # and a few speech and text datasets.
    ds = []
    for year, count in ((2023, 2), (2024, 5), (2025, 10), (2026, 8)):
        last_month = 8 if year == 2026 else 12
        for i in range(count):
            month = 1 + (i * last_month) // count
            d = 1 + h("robot", year, i) % 27
            owner = "synth-robotics" if i % 3 else "synth-uni"
            ds.append(("%s/robot-episodes-%d-%02d" % (owner, year, i + 1), "%04d-%02d-%02d" % (year, month, d),
                       ["task_categories:robotics", "LeRobot"], 3000 + h("rp", year, i) % 20000))
    for i, (name, created) in enumerate((("swedish-speech-corpus", "2022-04-04"), ("german-asr-bench", "2023-02-10"),
                                         ("speech-commands-xl", "2024-10-01"))):
        ds.append(("synth-uni/" + name, created, ["task_categories:automatic-speech-recognition"], 5000 + 3000 * i))
    for i, created in enumerate(("2022-09-12", "2023-06-20", "2024-01-15", "2024-11-30", "2025-07-07")):
        ds.append(("synth-commons/open-text-%d" % (i + 1), created, ["task_categories:text-generation"], 20000 + 7000 * i))
    for did, created, tags, peak in ds:
        s = series_for(did, created, peak, 2, 0.93)
        repos.append({"id": did, "author": did.split("/")[0], "repoType": "dataset",
                      "createdAt": created + "T08:00:00.000Z", "tags": tags, "downloads": s[-1][1] if s else 0,
                      "provenance": "generated by data/make_sample.py"})
        downloads += [(did, m + "-15", n) for m, n in s]
    # Spaces: demos (no downloads), for growth by kind.
    for i, (owner, created) in enumerate((("synth-uni", "2022-11-03"), ("synth-frontier", "2023-03-12"),
                                          ("synth-dragon", "2024-06-10"), ("synth-frontier", "2025-04-06"))):
        repos.append({"id": "%s/demo-%d" % (owner, i + 1), "author": owner, "repoType": "space",
                      "createdAt": created + "T10:00:00.000Z", "provenance": "generated by data/make_sample.py"})
    with open(os.path.join(out, "repos_generated.jsonl"), "w") as f:
        for rec in repos:
            f.write(json.dumps(rec) + "\n")
    with open(os.path.join(out, "downloads_generated.csv"), "w", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(["repo", "date", "downloads"])
        w.writerows(downloads)
    with open(os.path.join(out, "orgs_generated.csv"), "w", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(["handle", "organisation", "country", "region", "org_type", "notes", "provenance"])
        for row in SYNTH_ORGS:
            w.writerow(list(row) + ["", "generated by data/make_sample.py"])


if __name__ == "__main__":
    main()
