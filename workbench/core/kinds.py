"""The serializer an asset declares before it runs: `io=`, else what its return annotation implies."""

from __future__ import annotations

from typing import Any

from workbench.core.spec import AssetSpec

TABLE_TYPES = ("DataFrame", "LazyFrame", "Table", "DuckDBPyRelation")


def annotation_name(annotation: Any) -> str | None:
    if annotation is None:
        return None
    name = annotation if isinstance(annotation, str) else getattr(annotation, "__name__", str(annotation))
    return name.split("[", 1)[0].rsplit(".", 1)[-1]


def kind_of_annotation(annotation: Any) -> str | None:
    """The serializer a return annotation implies, or None when it says nothing."""
    if annotation is None or annotation is Any:
        return None
    base = annotation_name(annotation)
    if base in TABLE_TYPES:
        return "parquet"
    if base in ("dict", "list", "Dict", "List", "Mapping", "Sequence"):
        return "json"
    if base == "bytes":
        return "bytes"
    if base in ("None", "NoneType", "_empty"):
        return None
    return "pickle"


def declared_kind(spec: AssetSpec) -> str | None:
    """The serializer of an asset known before it runs: `io=`, else its return annotation."""
    if spec.io:
        return spec.io
    return kind_of_annotation(spec.fn.__annotations__.get("return"))
