"""The Python module (docs/python.md): the same data through every producer gives the CLI's
results; errors, partials, tables and the quick start. Run: scripts/test-python.sh
(ECOSTAT_CLI names the `ecostat` binary for the comparisons with the CLI)."""
import io
import json
import os
import pathlib
import pickle
import re
import subprocess
import contextlib

import pytest

import ecostat

pa = pytest.importorskip("pyarrow")
import pyarrow.csv  # noqa: E402
import pyarrow.json  # noqa: E402

ROOT = pathlib.Path(__file__).resolve().parents[2]
SAMPLE = ROOT / "data" / "sample"
# One file per role of the sample (a job takes one path per role).
FILES = {
    "repos": SAMPLE / "repos_generated.jsonl",
    "downloads": SAMPLE / "downloads_generated.csv",
    "orgs": SAMPLE / "orgs_generated.csv",
    "params": SAMPLE / "params.csv",
}


# ---- helpers ---------------------------------------------------------------------------------
def comparable(doc, names=True):
    """The results document without timings; names=False also drops what names an input
    (file names, byte counts), which differ between a file and the same data in memory."""
    doc = json.loads(json.dumps(doc))
    doc.pop("timings_ms", None)
    if not names:
        for f in doc["input"]["files"]:
            f.pop("file")
            f.pop("bytes")
        for r in doc["input"]["first_rejects"]:
            r.pop("file")
    return doc


def cli(*args):
    exe = os.environ.get("ECOSTAT_CLI")
    if not exe:
        pytest.skip("ECOSTAT_CLI is not set (the ecostat binary to compare with)")
    out = subprocess.run([exe, "run", "--json", "-", "--backend", "cpu", *map(str, args)],
                         capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)


def repos_table():
    """repos_generated.jsonl as pyarrow reads JSON; the nested safetensors object becomes JSON
    text, as the Arrow repository reader takes nested fields (docs/arrow.md)."""
    t = pyarrow.json.read_json(FILES["repos"])
    i = t.schema.get_field_index("safetensors")
    text = [None if v is None else json.dumps(v) for v in t.column(i).to_pylist()]
    return t.set_column(i, "safetensors", pa.array(text, pa.string()))


def csv_table(role):
    return pyarrow.csv.read_csv(FILES[role])


def params_table():
    """params.csv with the counts in billions as text, exactly as written (the float64 column
    pyarrow infers has its own test: test_params_billions_as_float64)."""
    billions = {"total_params_b": pa.string(), "active_params_b": pa.string()}
    return pyarrow.csv.read_csv(FILES["params"], convert_options=pyarrow.csv.ConvertOptions(column_types=billions))


def files_run(**options):
    return ecostat.run(**{k: str(v) for k, v in FILES.items()}, backend="cpu", **options)


# ---- the embedded sample and the CLI ---------------------------------------------------------
def test_backends_lists_cpu_available():
    by_name = {b["name"]: b for b in ecostat.backends()}
    assert set(by_name) == {"cpu", "cuda", "hip"}
    assert by_name["cpu"]["compiled"] and by_name["cpu"]["available"]
    assert by_name["cpu"]["status"] == "ok"
    assert set(by_name["cuda"]) == {"name", "compiled", "available", "device", "status"}


def test_embedded_sample_equals_cli():
    py = ecostat.run(backend="cpu").to_dict()
    assert py["input"]["files"] and all(f["file"].startswith("sample:") for f in py["input"]["files"])
    assert comparable(py) == comparable(cli())


def test_files_equal_cli():
    args = [a for role, path in FILES.items() for a in (f"--{role}", path)]
    assert comparable(files_run().to_dict()) == comparable(cli(*args))


def test_to_json_is_the_document():
    r = ecostat.run(backend="cpu")
    text = r.to_json()
    assert text.startswith('{\n  "schema": "ecostat.results/1"')
    assert json.loads(text) == json.loads(r.to_json(indent=-1))
    assert r.to_dict()["schema"] == "ecostat.results/1"
    # Formatting threads change nothing in the text.
    assert r.to_json(threads=3) == text
    assert r.to_json(indent=-1, threads=0) == r.to_json(indent=-1)
    with pytest.raises(ValueError):
        r.to_json(threads=-1)


# ---- every producer, the same results ------------------------------------------------------------
@pytest.fixture(scope="module")
def from_files():
    doc = comparable(files_run().to_dict(), names=False)
    assert doc["input"]["download_records"] > 1000  # the data is there
    assert doc["input"]["repositories"] > 50
    return doc


def test_pyarrow_tables_equal_files(from_files):
    r = ecostat.run(repos=repos_table(), downloads=csv_table("downloads"), orgs=csv_table("orgs"),
                    params=params_table(), backend="cpu")
    doc = r.to_dict()
    assert sorted(f["file"] for f in doc["input"]["files"]) == [
        "arrow:downloads", "arrow:orgs", "arrow:params", "arrow:repos"]
    assert comparable(doc, names=False) == from_files


def test_params_billions_as_float64(from_files):
    """Parameter counts in billions as pyarrow, pandas, Polars and DuckDB read params.csv: float64."""
    params = csv_table("params")
    assert params.schema.field("total_params_b").type == pa.float64()
    r = ecostat.run(repos=repos_table(), downloads=csv_table("downloads"), orgs=csv_table("orgs"), params=params,
                    backend="cpu")
    assert comparable(r.to_dict(), names=False) == from_files


def test_record_batch_reader_equals_files(from_files):
    downloads = csv_table("downloads")
    reader = pa.RecordBatchReader.from_batches(downloads.schema, downloads.to_batches(max_chunksize=500))
    r = ecostat.run(repos=repos_table(), downloads=reader, orgs=csv_table("orgs"), params=params_table(),
                    backend="cpu")
    assert comparable(r.to_dict(), names=False) == from_files


def test_polars_equals_files(from_files):
    pl = pytest.importorskip("polars")
    frames = {role: pl.read_csv(FILES[role]) for role in ("downloads", "orgs")}
    repos = pl.from_arrow(repos_table())
    r = ecostat.run(repos=repos, downloads=frames["downloads"], orgs=frames["orgs"].lazy(),  # a LazyFrame too
                    params=pl.from_arrow(params_table()), backend="cpu")
    assert comparable(r.to_dict(), names=False) == from_files


def test_duckdb_equals_files(from_files):
    duckdb = pytest.importorskip("duckdb")
    con = duckdb.connect()
    rel = {role: con.read_csv(str(FILES[role])) for role in ("downloads", "orgs")}
    rel["params"] = con.read_csv(str(FILES["params"]), dtype={"total_params_b": "VARCHAR", "active_params_b": "VARCHAR"})
    repos_arrow = repos_table()  # noqa: F841 (DuckDB finds it by name)
    repos = con.sql("select * from repos_arrow")
    r = ecostat.run(repos=repos, downloads=rel["downloads"], orgs=rel["orgs"], params=rel["params"], backend="cpu")
    assert comparable(r.to_dict(), names=False) == from_files


def test_pandas_equals_files(from_files):
    pd = pytest.importorskip("pandas")
    downloads = pd.read_csv(FILES["downloads"])
    r = ecostat.run(repos=repos_table(), downloads=downloads, orgs=csv_table("orgs"), params=params_table(),
                    backend="cpu")
    assert comparable(r.to_dict(), names=False) == from_files


def test_pyarrow_dataset_equals_table(tmp_path):
    ds = pytest.importorskip("pyarrow.dataset")
    import pyarrow.parquet as pq

    downloads = csv_table("downloads")
    pq.write_table(downloads, tmp_path / "downloads.parquet", row_group_size=700)  # several batches
    table = ecostat.run(downloads=downloads, backend="cpu").to_dict()
    dataset = ecostat.run(downloads=ds.dataset(tmp_path / "downloads.parquet"), backend="cpu").to_dict()
    assert comparable(dataset, names=False) == comparable(table, names=False)


def test_dictionary_encoded_repo_column_equals_plain():
    downloads = csv_table("downloads")
    i = downloads.schema.get_field_index("repo")
    encoded = downloads.set_column(i, "repo", downloads.column("repo").dictionary_encode())
    assert pa.types.is_dictionary(encoded.schema.field("repo").type)
    plain = ecostat.run(repos=repos_table(), downloads=downloads, backend="cpu")
    coded = ecostat.run(repos=repos_table(), downloads=encoded, backend="cpu")
    assert comparable(coded.to_dict(), names=False) == comparable(plain.to_dict(), names=False)
    assert plain.to_dict()["input"]["download_records"] == downloads.num_rows


def test_several_streams_per_role_equal_one():
    downloads = csv_table("downloads")
    half = downloads.num_rows // 2
    one = ecostat.run(downloads=downloads, backend="cpu").to_dict()
    two = ecostat.run(downloads=[downloads.slice(0, half), downloads.slice(half)], backend="cpu").to_dict()
    assert [f["file"] for f in two["input"]["files"]] == ["arrow:downloads[0]", "arrow:downloads[1]"]
    one, two = comparable(one, names=False), comparable(two, names=False)
    one["input"].pop("files"), two["input"].pop("files")
    assert one == two


# ---- errors -----------------------------------------------------------------------------------
def test_wrong_column_type_raises_input_error_naming_the_column():
    bad = pa.table({"repo": ["a/b"], "date": ["2024-05-01"], "downloads": pa.array([1.5])})
    with pytest.raises(ecostat.InputError) as e:
        ecostat.run(downloads=bad)
    assert e.value.field == "downloads"
    assert e.value.file == "arrow:downloads"
    assert "'downloads'" in str(e.value) and "float64" in str(e.value)
    assert isinstance(e.value, ValueError) and isinstance(e.value, ecostat.Error)


def test_missing_column_raises_input_error():
    with pytest.raises(ecostat.InputError, match="repo"):
        ecostat.run(downloads=pa.table({"date": ["2024-05-01"], "downloads": [1]}))


def test_unreadable_file_has_the_cli_message(tmp_path):
    missing = tmp_path / "none.csv"
    with pytest.raises(ecostat.InputError) as e:
        ecostat.run(downloads=missing)
    assert e.value.file == str(missing)
    assert str(e.value).startswith(f"{missing}: cannot open")


def test_strict_reject_names_file_line_field(tmp_path):
    f = tmp_path / "d.csv"
    f.write_text("repo,date,downloads\na/b,2024-05-01,1\na/b,2024-05-02,-4\n")
    with pytest.raises(ecostat.InputError) as e:
        ecostat.run(downloads=f, strict=True)
    assert (e.value.file, e.value.line, e.value.field) == (str(f), 3, "downloads")


def test_options_are_checked():
    with pytest.raises(TypeError, match="'no_such_option'"):
        ecostat.run(no_such_option=1)
    with pytest.raises(TypeError, match="'share_limit'"):
        ecostat.run(share_limit="3")
    with pytest.raises(TypeError, match="'strict'"):
        ecostat.run(strict=1)
    with pytest.raises(ecostat.UsageError, match="nope"):
        ecostat.run(share_groups=["nope"])
    assert "share_limit" in ecostat.option_names()


def test_backend_not_compiled_is_a_backend_error():
    missing = [b["name"] for b in ecostat.backends() if not b["compiled"]]
    if not missing:
        pytest.skip("every backend is compiled in")
    with pytest.raises(ecostat.BackendError, match="not compiled"):
        ecostat.run(backend=missing[0])


def test_not_an_input_is_a_type_error():
    with pytest.raises(TypeError, match="__arrow_c_stream__"):
        ecostat.run(downloads=42)


# ---- options and tables -----------------------------------------------------------------------
def test_options_reach_the_engine():
    r = ecostat.run(backend="cpu", share_groups="model,author", share_limit=3, study="none", top_k=[1, 5])
    d = r.to_dict()
    assert set(d["share"]) == {"model", "author"} | {k for k in d["share"] if k.endswith("_x_month")}
    assert len(d["share"]["model"]) == 3
    assert list(d["concentration"]["model"]["top_k"]) == ["1", "5"]
    assert r.share("model").num_rows == 3


def test_device_option_reaches_the_engine():
    # The CPU backend ignores it: the same results. -2 is refused by the engine; with the option
    # given, a bad ECOSTAT_DEVICE is not read (docs/scale-out.md, "Devices").
    assert "device" in ecostat.option_names()
    plain = comparable(ecostat.run(backend="cpu").to_dict())
    assert comparable(ecostat.run(backend="cpu", device=3).to_dict()) == plain
    with pytest.raises(ecostat.UsageError, match="device -2"):
        ecostat.run(backend="cpu", device=-2)
    with pytest.raises(TypeError, match="'device'"):
        ecostat.run(device="1")
    old = os.environ.get("ECOSTAT_DEVICE")
    os.environ["ECOSTAT_DEVICE"] = "abc"
    try:
        with pytest.raises(ecostat.UsageError, match="ECOSTAT_DEVICE"):
            ecostat.run(backend="auto")
        assert comparable(ecostat.run(backend="auto", device=0).to_dict())["backend"]["name"] != ""
    finally:
        if old is None:
            del os.environ["ECOSTAT_DEVICE"]
        else:
            os.environ["ECOSTAT_DEVICE"] = old


def test_tables_match_the_document():
    r = ecostat.run(backend="cpu")
    d = r.to_dict()
    share = r.share("model")
    assert share.schema.names == ["key", "downloads", "share"]
    assert share.schema.field("downloads").type == pa.uint64()
    assert share.to_pylist() == d["share"]["model"]
    month = r.share_month("country")
    assert month.schema.field("month").type == pa.string()
    assert month.to_pylist() == d["share"]["country_x_month"]
    conc = r.concentration().to_pylist()[0]
    assert conc["unit"] == "model" and conc["n"] == d["concentration"]["model"]["n"]
    assert conc["gini"] == pytest.approx(d["concentration"]["model"]["gini"])
    fam = r.families().to_pylist()
    assert [f["root"] for f in fam] == [f["root"] for f in d["lineage"]["families"]]
    assert fam[0]["finetune"] == d["lineage"]["families"][0]["by_relation"]["finetune"]
    assert r.lorenz().num_rows == len(d["concentration"]["model"]["lorenz"])
    assert set(r.tables()) >= {"share.model", "share.model_x_month", "concentration", "lineage.families"}
    df = r.to_pandas("share.model")
    assert list(df["key"]) == [row["key"] for row in d["share"]["model"]]
    with pytest.raises(KeyError, match="share.model"):
        r.table("share.nope")


def test_arrow_stream_feeds_polars():
    pl = pytest.importorskip("polars")
    r = ecostat.run(backend="cpu")
    frame = pl.DataFrame(r.arrow_stream("share.author"))
    assert frame["key"].to_list() == [row["key"] for row in r.to_dict()["share"]["author"]]


# ---- partials ---------------------------------------------------------------------------------
def without_files(doc):
    doc = comparable(doc, names=False)
    doc["input"].pop("files")
    return doc


@pytest.mark.parametrize("k", [1, 2, 3])
def test_partials_merge_into_run(k):
    downloads = csv_table("downloads")
    whole = ecostat.run(repos=repos_table(), downloads=downloads, orgs=csv_table("orgs"), backend="cpu")
    step = -(-downloads.num_rows // k)
    # The first part has the repositories; the others only downloads (placeholders, which the
    # records replace in the merge).
    parts = [ecostat.partial(repos=repos_table(), downloads=downloads.slice(0, step), orgs=csv_table("orgs"))]
    parts += [ecostat.partial(downloads=downloads.slice(i * step, step)) for i in range(1, k)]
    for order in (parts, parts[::-1]):
        merged = ecostat.merge(order).finish(backend="cpu")
        assert without_files(merged.to_dict()) == without_files(whole.to_dict())


def test_partial_round_trips_bytes_and_pickle():
    p = ecostat.partial(downloads=csv_table("downloads"))
    blob = p.to_bytes()
    assert blob.startswith(b"ECOSTATP")
    again = ecostat.Partial.from_bytes(blob)
    assert again.to_bytes() == blob
    assert pickle.loads(pickle.dumps(p)).to_bytes() == blob
    assert p.events == again.events > 0
    assert comparable(again.finish(backend="cpu").to_dict()) == comparable(p.finish(backend="cpu").to_dict())


def test_foreign_bytes_are_an_input_error():
    with pytest.raises(ecostat.InputError):
        ecostat.Partial.from_bytes(b"not a partial")


# ---- docs/python.md ---------------------------------------------------------------------------
def doc_examples():
    """(code, expected output) for each ```python block of docs/python.md followed by a ```text block."""
    text = (ROOT / "docs" / "python.md").read_text()
    blocks = re.findall(r"```(python|text)\n(.*?)```", text, re.S)
    pairs = []
    for i, (kind, body) in enumerate(blocks):
        if kind == "python":
            out = blocks[i + 1][1] if i + 1 < len(blocks) and blocks[i + 1][0] == "text" else None
            pairs.append((body, out))
    return pairs


def test_quick_start_works_verbatim(monkeypatch):
    examples = doc_examples()
    assert examples, "docs/python.md has no python example"
    monkeypatch.chdir(ROOT)  # the examples name data/sample/... from the repository root
    namespace = {}
    for code, expected in examples:
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            exec(compile(code, "docs/python.md", "exec"), namespace)
        if expected is not None:
            assert out.getvalue() == expected
