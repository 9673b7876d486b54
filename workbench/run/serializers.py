"""Serialization by type: tables -> Parquet, dict/list -> JSON, bytes -> raw, anything else -> pickle."""

from __future__ import annotations

import io
import json
import pickle
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any, NamedTuple

import xxhash

from workbench.core.kinds import annotation_name
from workbench.errors import SerializationError, StoreError

IN_MEMORY = 64 << 20  # bytes: a smaller frame is serialized in memory, then written in one call
_DIGEST = re.compile(r"[0-9a-f]{32}")  # a content-addressed artifact is named by its xxh3-128 digest


EXTENSIONS = {"parquet": "parquet", "json": "json", "bytes": "bin", "pickle": "pkl"}


def kind_of_value(value: Any) -> str:
    """The serializer a value gets when the asset did not choose one."""
    module = type(value).__module__.split(".", 1)[0]
    name = type(value).__name__
    if (module == "polars" and name in ("DataFrame", "LazyFrame")) or (module == "pyarrow" and name == "Table"):
        return "parquet"
    if module == "duckdb" and name == "DuckDBPyRelation":
        return "parquet"
    if isinstance(value, (dict, list)):
        return "json"
    if isinstance(value, (bytes, bytearray)):
        return "bytes"
    return "pickle"


class Written(NamedTuple):
    """What `serialize` made: the kind actually used, rows and table facts for the record, the
    artifact's (xxh3-128 digest, size), hashed from the bytes as they were made, and the bytes
    themselves when they were made in memory (`data`; else they are in the file)."""

    kind: str
    rows: int | None
    facts: dict[str, Any]
    digest: tuple[str, int] | None
    data: bytes | memoryview | None = None


def serialize(value: Any, kind: str, file: Callable[[str], Path], *, explicit: bool = False) -> Written:
    """Serialize `value`: in memory (`data`), or into the file `file(extension)` names when it is a
    large frame or lazy (asked for only then).

    Bytes made in memory are not written anywhere yet: the store writes them only when it does not
    hold an object with their digest already (`ArtifactStore.put_bytes`).
    A dict/list that is not JSON-serializable falls back to pickle, unless the asset chose JSON
    (`explicit`, from `io="json"`): then the value cannot be stored as asked, a `SerializationError`.
    """
    if kind == "parquet":
        return _write_table(value, file)
    if kind == "json":
        try:
            text = json.dumps(value, sort_keys=True, indent=1, allow_nan=True)
        except (TypeError, ValueError) as exc:
            if explicit:
                raise SerializationError(
                    f"io='json' cannot hold this {type(value).__name__}: {exc}; return only dicts, lists,"
                    " strings, numbers, booleans and None, or choose io='pickle'"
                ) from exc
            return serialize(value, "pickle", file)
        return _in_memory(text.encode("utf-8"), kind)
    if kind == "bytes":
        if isinstance(value, str):
            value = value.encode()
        if not isinstance(value, (bytes, bytearray, memoryview)):
            raise SerializationError(f"io='bytes' needs a bytes value, got {type(value).__name__}")
        return _in_memory(bytes(value), kind)
    return _in_memory(pickled(value), "pickle")


def _in_memory(data: bytes | memoryview, kind: str, rows: int | None = None, facts: dict[str, Any] | None = None) -> Written:
    return Written(kind, rows, facts or {}, (xxhash.xxh3_128_hexdigest(data), len(data)), data)


def pickled(value: Any) -> bytes:
    """The bytes an artifact of `value` holds when it is pickled."""
    return pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL)


def _write_table(value: Any, file: Callable[[str], Path]) -> Written:
    import polars as pl

    module = type(value).__module__.split(".", 1)[0]
    if isinstance(value, pl.LazyFrame):
        path = file("parquet")
        value.sink_parquet(path)
        frame = pl.scan_parquet(path)
        schema = frame.collect_schema()
        return Written("parquet", frame.select(pl.len()).collect().item(), _facts(schema), None)
    if module == "duckdb":
        value = value.pl()
    elif module == "pyarrow":
        value = pl.from_arrow(value)
    if not isinstance(value, pl.DataFrame):
        raise SerializationError(f"cannot write {type(value).__name__} as parquet")
    if value.estimated_size() < IN_MEMORY:  # Polars writing a small file itself costs 4x (~1.7 ms)
        buffer = io.BytesIO()
        value.write_parquet(buffer)
        return _in_memory(buffer.getbuffer(), "parquet", value.height, _facts(value.schema))
    value.write_parquet(file("parquet"))
    return Written("parquet", value.height, _facts(value.schema), None)


def _facts(schema: Any) -> dict[str, Any]:
    return {"columns": len(schema), "schema": {k: str(v) for k, v in schema.items()}}


def reads_frame(annotation: Any) -> bool:
    """Whether `read` gives a parameter with this annotation a Parquet artifact as a Polars DataFrame."""
    return annotation_name(annotation) not in ("LazyFrame", "DuckDBPyRelation", "Table")


def read(path: Path, kind: str, annotation: Any = None, connection: Any = None) -> Any:
    """Read an artifact back, shaped by the parameter's annotation (lazy for LazyFrame/relations)."""
    want = annotation_name(annotation)
    if kind == "parquet":
        import polars as pl

        if want == "LazyFrame":
            return pl.scan_parquet(path)
        if want == "DuckDBPyRelation":
            return _duckdb(connection).read_parquet(str(path))
        if want == "Table":
            import pyarrow.parquet as pq

            return pq.read_table(path)
        return pl.read_parquet(path)
    if kind == "json":
        return json.loads(path.read_text(encoding="utf-8"))
    if kind == "bytes":
        return path.read_bytes()
    data = path.read_bytes()
    named = path.name.split(".", 1)[0]
    if _DIGEST.fullmatch(named) and xxhash.xxh3_128_hexdigest(data) != named:
        raise StoreError(f"artifact {path} does not match its content hash: refusing to unpickle it")
    return pickle.loads(data)  # noqa: S301 - only verified artifacts of the project's own store


def read_source(path: Path, annotation: Any = None, connection: Any = None) -> Any:
    """Hand a source to an asset: a Path by default, or a frame/relation/bytes per annotation."""
    want = annotation_name(annotation)
    if want in ("LazyFrame", "DataFrame"):
        import polars as pl

        suffix = path.suffix.lower()
        if suffix == ".parquet":
            frame = pl.scan_parquet(path)
        elif suffix in (".json", ".ndjson", ".jsonl"):
            frame = pl.scan_ndjson(path)
        else:
            frame = pl.scan_csv(path, null_values=["NA", "N/A", ""], infer_schema_length=10_000)
        return frame if want == "LazyFrame" else frame.collect()
    if want == "DuckDBPyRelation":
        con = _duckdb(connection)
        return con.read_parquet(str(path)) if path.suffix.lower() == ".parquet" else con.read_csv(str(path))
    if want == "bytes":
        return path.read_bytes()
    if want == "str":
        return str(path)
    return path


def _duckdb(connection: Any) -> Any:
    if connection is None:
        raise SerializationError("a DuckDB relation input needs a connection")
    return connection
