"""docs/scale-out.md's Python example (examples/python/multiprocessing_partials.py): a pool of
worker processes, one partial per download file, merged and finished, gives the results of
one job over all the files; and the document shows the example file verbatim."""
import json
import os
import pathlib
import random
import subprocess
import sys

import pytest

import ecostat

ROOT = pathlib.Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "python" / "multiprocessing_partials.py"
DOC = ROOT / "docs" / "scale-out.md"
N_FILES = 4


def write_generated(tmp_path, seed=13):
    """Repositories (with fine-tunes of other models, for lineage), attribution, and N_FILES
    download files of disjoint rows; some downloads name repositories that have no record
    (placeholders), and most models appear in several files."""
    rng = random.Random(seed)
    authors = [f"org-{a}" for a in range(12)]
    models = [f"{rng.choice(authors)}/model-{m}" for m in range(300)]
    with open(tmp_path / "repos.jsonl", "w") as f:
        for i, m in enumerate(models):
            rec = {"id": m, "author": m.split("/")[0], "createdAt": f"202{i % 4}-0{1 + i % 9}-01T00:00:00.000Z",
                   "pipeline_tag": rng.choice(["text-generation", "fill-mask"]), "tags": []}
            if i >= 50 and rng.random() < 0.4:
                rec["tags"] = [f"base_model:finetune:{models[rng.randrange(50)]}"]
            f.write(json.dumps(rec) + "\n")
    with open(tmp_path / "orgs.csv", "w") as f:
        f.write("handle,organisation,country,region,org_type\n")
        for i, a in enumerate(authors[:8]):
            f.write(f"{a},Org {i},{['US', 'CN', 'SE', 'FR'][i % 4]},,industry\n")
    named = models + [f"ghost-{g}/only-downloads" for g in range(20)]
    rows = [(m, f"{2021 + month // 12}-{1 + month % 12:02d}-15", rng.randrange(1, 5000))
            for m in named for month in rng.sample(range(48), 12)]
    rng.shuffle(rows)
    paths = []
    for k in range(N_FILES):
        p = tmp_path / f"downloads-{k}.csv"
        with open(p, "w") as f:
            f.write("repo,date,downloads\n")
            f.writelines(f"{r},{d},{n}\n" for r, d, n in rows[k::N_FILES])
        paths.append(p)
    with open(tmp_path / "all.csv", "w") as f:
        f.write("repo,date,downloads\n")
        f.writelines(f"{r},{d},{n}\n" for r, d, n in rows)
    return tmp_path / "repos.jsonl", tmp_path / "orgs.csv", paths, tmp_path / "all.csv"


def without_timings(doc):
    doc = dict(doc)
    doc.pop("timings_ms", None)
    return doc


def without_files(doc):
    doc = without_timings(doc)
    doc["input"] = {k: v for k, v in doc["input"].items() if k not in ("files", "first_rejects")}
    return doc


@pytest.fixture(scope="module")
def example_run(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("scale_out")
    repos, orgs, paths, whole = write_generated(tmp)
    out = tmp / "pool.json"
    cmd = [sys.executable, str(EXAMPLE), "--repos", str(repos), "--orgs", str(orgs), "--workers", "3",
           "--json", str(out), *map(str, paths)]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    return {"repos": repos, "orgs": orgs, "paths": paths, "whole": whole,
            "doc": json.loads(out.read_text()), "stdout": done.stdout}


def test_pool_equals_one_run_over_all_the_files(example_run):
    e = example_run
    one = ecostat.run(repos=str(e["repos"]), orgs=str(e["orgs"]), downloads=str(e["whole"]), backend="cpu")
    got, want = e["doc"], one.to_dict()
    # Not vacuous: every row of every file counted, placeholders and lineage there.
    assert got["input"]["download_records"] == want["input"]["download_records"] == 320 * 12
    assert got["input"]["placeholders_from_downloads"] == want["input"]["placeholders_from_downloads"] == 20
    assert got["lineage"]["edges"] > 0
    assert [f["role"] for f in got["input"]["files"]].count("downloads") == N_FILES
    # The same results; only the list of input files (4 files, not their concatenation) differs.
    assert without_files(got) == without_files(want)
    top = want["share"]["model"][0]
    assert f"{top['key']} {top['share']:.4f}" in e["stdout"]


def test_pool_equals_the_cli_over_the_same_files(example_run):
    exe = os.environ.get("ECOSTAT_CLI")
    if not exe:
        pytest.skip("ECOSTAT_CLI is not set (the ecostat binary to compare with)")
    e = example_run
    out = subprocess.run([exe, "run", "--json", "-", "--backend", "cpu", "--repos", str(e["repos"]), "--orgs",
                          str(e["orgs"]), "--downloads", ",".join(map(str, e["paths"]))],
                         capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    # `ecostat run` over several files: the same document, its file list included.
    assert without_timings(e["doc"]) == without_timings(json.loads(out.stdout))


def test_doc_shows_the_example_verbatim():
    text = DOC.read_text()
    begin = "<!-- begin examples/python/multiprocessing_partials.py -->\n```python\n"
    assert begin in text, "docs/scale-out.md does not show examples/python/multiprocessing_partials.py"
    copy = text.split(begin, 1)[1].split("```\n<!-- end -->", 1)[0]
    assert copy == EXAMPLE.read_text()
