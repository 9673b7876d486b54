"""A table handed on in memory within one run: each downstream asset gets its own copy."""

from __future__ import annotations

from pathlib import Path

from tests.conftest import run_wb, write_files
from workbench.api import load

PIPELINE = """
import polars as pl
from workbench import asset


@asset
def table() -> pl.DataFrame:
    return pl.DataFrame({"a": [1, 2, 3]})


@asset
def widened(table: pl.DataFrame) -> pl.DataFrame:
    table[0, "a"] = 100  # changes its input in place
    table.insert_column(0, pl.Series("b", [0, 0, 0]))
    table.columns = ["b2", "a2"]
    return table


@asset
def total(table: pl.DataFrame, widened: pl.DataFrame) -> dict:
    return {"columns": table.columns, "sum": int(table["a"].sum()), "widened": widened.columns}
"""


def test_an_input_changed_in_place_does_not_reach_its_siblings(tmp_path: Path) -> None:
    write_files(tmp_path, {"pyproject.toml": '[tool.workbench]\nmodules = ["pipeline"]\n', "pipeline.py": PIPELINE})
    assert run_wb(tmp_path, "materialize", "--jobs", "1").returncode == 0

    assert load("total", project=tmp_path) == {"columns": ["a"], "sum": 6, "widened": ["b2", "a2"]}
