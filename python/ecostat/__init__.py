"""ecostat: download share, concentration and lineage of the open-model ecosystem.

The Python face of the ecostat C++ library (docs/python.md). Inputs are paths or any Arrow
stream producer (an object with ``__arrow_c_stream__``: pyarrow, Polars, DuckDB, pandas, ...);
the work runs in C++ with the GIL released; results come back as JSON, dicts and pyarrow
Tables exported through the Arrow C stream interface.
"""
from __future__ import annotations

import json
import os
from typing import Any, Iterable, List, Optional

from . import _ecostat as _native

__all__ = [
    "run", "partial", "merge", "backends", "option_names", "Results", "Partial",
    "Error", "InputError", "UsageError", "BackendError", "__version__",
]

__version__: str = _native.version()
commit: str = _native.commit()

ROLES = ("repos", "downloads", "orgs", "params")


# ---- errors ----------------------------------------------------------------------------------
class Error(RuntimeError):
    """Any error of the ecostat engine (the CLI's `ecostat: error: ...`)."""


class InputError(Error, ValueError):
    """Input that cannot be read (or a reject under ``strict=True``).

    ``file`` names the input (a path, ``sample:<name>`` or ``arrow:<name>``), ``line`` the
    line or row (from 1; None when the problem is the input as a whole), ``field`` the field
    or column (None when none), ``reason`` the reason alone. ``str(e)`` is the CLI's message.
    """

    def __init__(self, message: str, file: Optional[str] = None, line: Optional[int] = None,
                 field: Optional[str] = None, reason: Optional[str] = None):
        super().__init__(message)
        self.file = file
        self.line = line
        self.field = field
        self.reason = reason


class UsageError(Error, ValueError):
    """An option the engine refuses (an unknown group, a bad date window, ...)."""


class BackendError(Error):
    """A backend that is not compiled in, has no device here, or failed on the device."""


_native._set_exception_types(Error, InputError, UsageError, BackendError)


# ---- inputs ----------------------------------------------------------------------------------
def _stream_capsule(obj: Any) -> Any:
    """The 'arrow_array_stream' PyCapsule of an Arrow producer (the Arrow PyCapsule interface)."""
    module = type(obj).__module__ or ""
    if module.startswith("pandas") and hasattr(obj, "columns"):
        import pyarrow as pa  # pandas' own export keeps the index as a column

        obj = pa.Table.from_pandas(obj, preserve_index=False)
    elif module.startswith("polars") and type(obj).__name__ == "LazyFrame":
        obj = obj.collect()
    elif module.startswith("pyarrow") and type(obj).__name__ in ("FileSystemDataset", "Dataset", "UnionDataset"):
        obj = obj.scanner().to_reader()
    elif module.startswith("pyarrow") and type(obj).__name__ == "Scanner":
        obj = obj.to_reader()
    if hasattr(obj, "__arrow_c_stream__"):
        return obj.__arrow_c_stream__()
    if hasattr(obj, "arrow"):  # DuckDB relations before __arrow_c_stream__
        return _stream_capsule(obj.arrow())
    raise TypeError(
        f"cannot read a {type(obj).__module__}.{type(obj).__name__} as an input: give a path or an "
        "object with __arrow_c_stream__ (pyarrow Table/RecordBatchReader, Polars, DuckDB, pandas)")


def _is_path(obj: Any) -> bool:
    return isinstance(obj, (str, os.PathLike))


def _is_duckdb_relation(obj: Any) -> bool:
    return (type(obj).__module__ or "").split(".")[0] in ("duckdb", "_duckdb") and hasattr(obj, "__arrow_c_stream__")


def _duckdb_table(rel: Any) -> Any:
    """A DuckDB relation read whole into a pyarrow Table."""
    for method in ("to_arrow_table", "fetch_arrow_table"):
        if hasattr(rel, method):
            return getattr(rel, method)()
    out = rel.arrow()
    return out.read_all() if hasattr(out, "read_all") else out


def _streamable(producers: list) -> list:
    """A DuckDB connection streams one result at a time: with several DuckDB relations, all but
    one (the downloads input's, else the last) are read into pyarrow Tables first."""
    relations = [i for i, (role, _, obj) in enumerate(producers) if _is_duckdb_relation(obj)]
    if len(relations) < 2:
        return producers
    streamed = next((i for i in relations if producers[i][0] == "downloads"), relations[-1])
    return [(role, name, _duckdb_table(obj) if i in relations and i != streamed else obj)
            for i, (role, name, obj) in enumerate(producers)]


def _inputs(roles: dict) -> tuple:
    """{role: input} -> ({role: path}, [(role, name, capsule)]).

    An input is None, a path, an Arrow producer, or a list of them (at most one path per role;
    the path is read first, then the streams in order)."""
    paths, producers = {}, []
    for role, value in roles.items():
        if value is None:
            continue
        items = list(value) if isinstance(value, (list, tuple)) else [value]
        others = []
        for item in items:
            if _is_path(item):
                if role in paths:
                    raise TypeError(f"{role}: at most one path per input (give more data as Arrow streams)")
                paths[role] = os.fspath(item)
            else:
                others.append(item)
        for i, item in enumerate(others):
            producers.append((role, role if len(others) == 1 else f"{role}[{i}]", item))
    return paths, [(role, name, _stream_capsule(obj)) for role, name, obj in _streamable(producers)]


def _options(backend: Optional[str], options: dict) -> dict:
    # backend=None: the ECOSTAT_BACKEND environment variable, else auto (as the CLI without --backend).
    options = dict(options)
    options["backend"] = "" if backend is None else backend
    return options


# ---- results ---------------------------------------------------------------------------------
class _ArrowStream:
    """One Arrow C stream, for any consumer of the PyCapsule interface (pa.table, polars, ...)."""

    def __init__(self, capsule: Any):
        self._capsule = capsule

    def __arrow_c_stream__(self, requested_schema: Any = None) -> Any:
        if self._capsule is None:
            raise ValueError("this Arrow stream was already read")
        capsule, self._capsule = self._capsule, None
        return capsule


def _pyarrow():
    try:
        import pyarrow
    except ImportError as e:  # pragma: no cover - pyarrow is installed with the tests
        raise ImportError("ecostat's tables are pyarrow Tables: pip install pyarrow") from e
    return pyarrow


class Results:
    """The results of a job: the results document (``to_json``/``to_dict``, schema
    ecostat.results/1, docs/results-schema.md) and its tables as pyarrow Tables."""

    def __init__(self, native: Any):
        self._native = native

    def to_json(self, indent: int = 2, threads: int = 1) -> str:
        """The results document, as ``ecostat run --json`` writes it (indent -1: one line).
        threads: threads formatting long share tables (0 = all cores); the text is the same."""
        if threads < 0:
            raise ValueError("threads must be >= 0 (0 = all cores)")
        return self._native.to_json(indent, threads)

    def to_dict(self) -> dict:
        return json.loads(self._native.to_json(-1))

    @property
    def backend(self) -> dict:
        """The backend that ran the job: name, compiled, available, device, status."""
        return self._native.backend

    def tables(self) -> List[str]:
        """Every table name :meth:`table` takes, e.g. ``share.model``, ``share.country_x_month``,
        ``concentration``, ``lorenz.model``, ``lineage.families``."""
        return list(self._native.table_names())

    def arrow_stream(self, name: str) -> _ArrowStream:
        """The table as an object with ``__arrow_c_stream__`` (read once), for Polars & co."""
        return _ArrowStream(self._native.table_stream(name))

    def table(self, name: str):
        """The table of that name as a pyarrow Table (KeyError lists the names there are)."""
        pa = _pyarrow()
        return pa.RecordBatchReader.from_stream(self.arrow_stream(name)).read_all()

    def share(self, group: str = "model"):
        """share.<group>: key (utf8), downloads (uint64), share (float64), downloads descending."""
        return self.table(f"share.{group}")

    def share_month(self, group: str):
        """share.<group>_x_month: key, month ("YYYY-MM"), downloads, share (within the month)."""
        return self.table(f"share.{group}_x_month")

    def share_year(self, group: str):
        """share.<group>_x_year (the study's attribution over time): key, year, downloads, share."""
        return self.table(f"share.{group}_x_year")

    def concentration(self, within: Optional[str] = None):
        """One row per unit (``within=None``) or per group of ``within``: n, total, gini, hhi,
        top_k_<k>, top_pct_<p>, p<q>, below_<t>_count, below_<t>_fraction."""
        return self.table("concentration" if within is None else f"concentration_within.{within}")

    def lorenz(self, unit: str = "model"):
        """The Lorenz curve of a unit's totals: population (fraction of units), share."""
        return self.table(f"lorenz.{unit}")

    def families(self):
        """lineage.families: root, size, descendants, one column per relation, downloads, share."""
        return self.table("lineage.families")

    def derivatives(self, by: str = "organisation"):
        """lineage.derivatives_by_<by> (organisation or tag)."""
        return self.table(f"lineage.derivatives_by_{by}")

    def to_pandas(self, name: str = "share.model"):
        """The table of that name as a pandas DataFrame."""
        return self.table(name).to_pandas()

    def __repr__(self) -> str:
        d = self.to_dict()
        return (f"<ecostat.Results backend={d['backend']['name']} measure={d['measure']} "
                f"units={d['input']['units']} download_records={d['input']['download_records']}>")


class Partial:
    """A job's state before the reduction: partials of disjoint parts of the input merge
    (:func:`merge`, any order) into the state of one job over all of it; :meth:`finish` gives
    its results. Picklable (through :meth:`to_bytes`), for Dask, Spark, multiprocessing."""

    def __init__(self, native: Any):
        self._native = native

    def to_bytes(self) -> bytes:
        """A self-describing binary form (magic ``ECOSTATP``)."""
        return self._native.to_bytes()

    @classmethod
    def from_bytes(cls, data: bytes) -> "Partial":
        """The partial :meth:`to_bytes` gave; InputError on a malformed or foreign blob."""
        return cls(_native._Partial.from_bytes(bytes(data)))

    def finish(self, backend: Optional[str] = "auto", **options: Any) -> Results:
        """The results, as one job over the same input would give them (the same options)."""
        return Results(self._native.finish(_options(backend, options)))

    @property
    def events(self) -> int:
        return self._native.events

    def __reduce__(self):
        return (_partial_from_bytes, (self.to_bytes(),))

    def __repr__(self) -> str:
        return f"<ecostat.Partial repositories={self._native.repositories} events={self.events}>"


def _partial_from_bytes(data: bytes) -> Partial:
    return Partial.from_bytes(data)


# ---- entry points ----------------------------------------------------------------------------
def run(repos: Any = None, downloads: Any = None, orgs: Any = None, params: Any = None,
        backend: Optional[str] = "auto", **options: Any) -> Results:
    """Runs a job. Each input is a path, an Arrow producer, or a list of them; with no input at
    all, the sample embedded in the library (as ``ecostat run``). Options: the engine's
    (docs/python.md, "Options"); an unknown one is a TypeError."""
    paths, streams = _inputs({"repos": repos, "downloads": downloads, "orgs": orgs, "params": params})
    return Results(_native._run(paths, streams, _options(backend, options)))


def partial(repos: Any = None, downloads: Any = None, orgs: Any = None, params: Any = None,
            backend: Optional[str] = "auto", **options: Any) -> Partial:
    """The same inputs as :func:`run`, stopped before the reduction."""
    paths, streams = _inputs({"repos": repos, "downloads": downloads, "orgs": orgs, "params": params})
    return Partial(_native._run_partial(paths, streams, _options(backend, options)))


def merge(parts: Iterable[Partial]) -> Partial:
    """Merges partials (any number, any order: the result does not depend on the order)."""
    parts = list(parts)
    for p in parts:
        if not isinstance(p, Partial):
            raise TypeError(f"merge: expected ecostat.Partial, got {type(p).__name__}")
    return Partial(_native._merge([p._native for p in parts]))


def backends() -> List[dict]:
    """Every backend (cpu, cuda, hip): name, compiled, available, device, status."""
    return list(_native.backends())


def option_names() -> List[str]:
    """Every keyword option run, partial and Partial.finish take."""
    return list(_native.option_names())
