"""Run search: the versions of many assets as rows with `params.<name>` / `metrics.<name>` columns (pure)."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

from workbench.core.records import Materialization
from workbench.errors import SelectionError

if TYPE_CHECKING:
    import polars as pl

FIXED = ("key", "partition", "data_version", "code_version", "status", "materialized_at", "git_commit")
SPARKS = "▁▂▃▄▅▆▇█"


def rows(records: Iterable[Materialization]) -> list[dict[str, Any]]:
    """One row per record: the fixed columns, then `params.<name>` and `metrics.<name>` (None when absent)."""
    records = list(records)
    params = sorted({name for r in records for name in r.params})
    metrics = sorted({name for r in records for name in r.metrics})
    return [
        {
            "key": r.asset_key,
            "partition": r.partition,
            "data_version": r.data_version,
            "code_version": r.code_version,
            "status": r.status,
            "materialized_at": r.ended_at,
            "git_commit": r.git_commit,
            **{f"params.{n}": r.params.get(n) for n in params},
            **{f"metrics.{n}": r.metrics.get(n) for n in metrics},
        }
        for r in records
    ]


def sort_column(columns: Sequence[str], name: str) -> str:
    """The column `--sort NAME` means: a metric, else a param, else a column by its full name."""
    for candidate in (f"metrics.{name}", f"params.{name}", name):
        if candidate in columns:
            return candidate
    metrics = [c.removeprefix("metrics.") for c in columns if c.startswith("metrics.")]
    raise SelectionError(f"--sort {name}: no such metric, param or column (metrics: {', '.join(metrics) or 'none'})")


def sort_rows(table: list[dict[str, Any]], name: str, descending: bool = False) -> list[dict[str, Any]]:
    """`table` ordered by column `name` (see `sort_column`); rows without a value come last."""
    if not table:
        return table
    column = sort_column(list(table[0]), name)
    present = [r for r in table if r[column] is not None]
    absent = [r for r in table if r[column] is None]
    try:
        return sorted(present, key=lambda r: r[column], reverse=descending) + absent
    except TypeError:  # mixed types (a param that was a number, then text): compare as text
        return sorted(present, key=lambda r: _text(r[column]), reverse=descending) + absent


def frame(table: list[dict[str, Any]]) -> pl.DataFrame:
    """`table` as a Polars DataFrame; a column mixing numbers and text holds text."""
    import polars as pl

    if not table:
        return pl.DataFrame(schema={**dict.fromkeys(FIXED, pl.String), "materialized_at": pl.Datetime("us", "UTC")})
    data = {name: _uniform([r[name] for r in table]) for name in table[0]}
    return pl.DataFrame(data, strict=False)


def _uniform(values: list[Any]) -> list[Any]:
    kinds = {type(v) for v in values if v is not None}
    if len(kinds) <= 1 or kinds <= {int, float}:
        return values
    return [None if v is None else _text(v) for v in values]


def _text(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, sort_keys=True)


def sparkline(points: Sequence[Sequence[float]], width: int = 24) -> str:
    """A series of [step, value] as block characters, lowest to highest; long series are sampled."""
    values = [p[1] for p in sorted(points, key=lambda p: p[0])]
    if len(values) > width:
        values = [values[round(i * (len(values) - 1) / (width - 1))] for i in range(width)]
    if not values:
        return ""
    low, high = min(values), max(values)
    span = high - low
    return "".join(SPARKS[0 if span == 0 else round((v - low) / span * (len(SPARKS) - 1))] for v in values)
