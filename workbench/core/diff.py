"""What changed between two versions of an asset: code, inputs, params, schema, rows, metrics (pure)."""

from __future__ import annotations

from typing import Any

from workbench.core.records import Materialization


def _schema(m: Materialization) -> dict[str, str]:
    schema = m.metadata.get("schema")
    return dict(schema) if isinstance(schema, dict) else {}


def _delta(a: Any, b: Any) -> float | None:
    """`b - a` when both are numbers (a record read from JSON may hold anything)."""
    numbers = all(isinstance(x, (int, float)) and not isinstance(x, bool) for x in (a, b))
    return b - a if numbers else None


def _side(m: Materialization) -> dict[str, Any]:
    doc = {"data_version": m.data_version, "materialized_at": m.ended_at.isoformat(), "git_commit": m.git_commit}
    return {**doc, "partition": m.partition} if m.partition else doc


def diff(a: Materialization, b: Materialization) -> dict[str, Any]:
    """A JSON-ready description of how version `b` differs from version `a`."""
    inputs = sorted(set(a.input_versions) | set(b.input_versions))
    schema_a, schema_b = _schema(a), _schema(b)
    metrics = sorted(set(a.metrics) | set(b.metrics))
    libraries = sorted(set(a.libraries) | set(b.libraries))
    params = sorted(set(a.params) | set(b.params))
    return {
        "key": a.asset_key,
        "a": _side(a),
        "b": _side(b),
        "same_data": a.data_version == b.data_version,
        "code": {"a": a.code_version, "b": b.code_version, "changed": a.code_version != b.code_version},
        "inputs": [
            {"key": k, "a": a.input_versions.get(k), "b": b.input_versions.get(k)}
            for k in inputs
            if a.input_versions.get(k) != b.input_versions.get(k)
        ],
        "schema": {
            "added": {c: t for c, t in schema_b.items() if c not in schema_a},
            "removed": {c: t for c, t in schema_a.items() if c not in schema_b},
            "retyped": {c: [schema_a[c], schema_b[c]] for c in schema_a if c in schema_b and schema_a[c] != schema_b[c]},
        },
        "libraries": [
            {"name": name, "a": a.libraries.get(name), "b": b.libraries.get(name)}
            for name in libraries
            if a.libraries.get(name) != b.libraries.get(name)
        ],
        "params": [
            {"name": name, "a": a.params.get(name), "b": b.params.get(name)}
            for name in params
            if a.params.get(name) != b.params.get(name)
        ],
        "rows": {"a": a.rows, "b": b.rows, "delta": (b.rows - a.rows) if a.rows is not None and b.rows is not None else None},
        "size": {"a": a.size, "b": b.size},
        "metrics": [
            {
                "name": name,
                "a": a.metrics.get(name),
                "b": b.metrics.get(name),
                "delta": _delta(a.metrics.get(name), b.metrics.get(name)),
            }
            for name in metrics
        ],
    }
