"""The notebook entry points and run-time behaviour: retries, logs, lazy inputs, version references."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

import workbench
from workbench.errors import SelectionError, VersionRefError

PIPELINE = """
import logging
from pathlib import Path
import polars as pl
import duckdb
from workbench import Output, asset, source

rows = source("rows", path="rows.csv")
ATTEMPTS = Path(__file__).with_name("attempts.txt")


@asset
def table(rows: pl.LazyFrame) -> pl.DataFrame:
    print("loading rows")
    logging.getLogger("pipeline").warning("a warning")
    return rows.collect()


@asset
def lazy_kind(table: pl.LazyFrame) -> dict:
    return {"lazy": type(table).__name__}


@asset
def summed(table: duckdb.DuckDBPyRelation) -> duckdb.DuckDBPyRelation:
    return table.aggregate("sum(x) AS total")


@asset(retries=2)
def flaky(table: pl.DataFrame) -> dict:
    n = int(ATTEMPTS.read_text()) if ATTEMPTS.exists() else 0
    ATTEMPTS.write_text(str(n + 1))
    if n < 2:
        raise RuntimeError(f"attempt {n} fails")
    return Output({"rows": table.height}, metadata={"note": "third time lucky"}, metrics={"attempts": n + 1})


@asset
def blob() -> bytes:
    return b"\\x00raw"
"""


@pytest.fixture
def project(make_project):  # type: ignore[no-untyped-def]
    return make_project({"pipeline.py": PIPELINE, "rows.csv": "x,y\n1,a\n2,b\n3,NA\n"})


def test_materialize_and_load(project: Path) -> None:
    result = workbench.materialize(project=project)
    assert result.ok, result.errors
    assert set(result.materialized) == {"table", "lazy_kind", "summed", "flaky", "blob"}
    assert workbench.load("lazy_kind", project=project) == {"lazy": "LazyFrame"}
    assert workbench.load("summed", project=project)["total"].to_list() == [6]
    table = workbench.load("table", project=project)
    assert isinstance(table, pl.DataFrame) and table["y"].null_count() == 1
    assert workbench.load("blob", project=project) == b"\x00raw"

    record = result.records["flaky"]
    assert record.metrics == {"attempts": 3} and record.metadata["note"] == "third time lucky"
    assert record.trigger == "api"
    log = result.records["table"].log
    assert "loading rows" in log and "a warning" in log
    assert result.records["table"].rows == 3 and result.records["table"].metadata["columns"] == 2

    again = workbench.materialize(project=project)
    assert again.materialized == () and set(again.skipped) == set(result.materialized)


def test_version_references(project: Path) -> None:
    workbench.materialize("table", project=project)
    (project / "rows.csv").write_text("x,y\n1,a\n")
    workbench.materialize("table", project=project)
    latest = workbench.load("table", project=project)
    previous = workbench.load("table", version="latest~1", project=project)
    assert latest.height == 1 and previous.height == 3
    from workbench.workspace import Workspace

    ws = Workspace.open(project)
    versions = [m.data_version for m in ws.metadata.history("table")]
    assert workbench.load("table", version=versions[1][:8], project=project).height == 3
    with pytest.raises(VersionRefError, match="only 2 successful"):
        workbench.load("table", version="latest~2", project=project)
    with pytest.raises(VersionRefError, match="no version"):
        workbench.load("table", version="ffffffff", project=project)
    with pytest.raises(VersionRefError, match="not a version"):
        workbench.load("table", version="../../etc", project=project)
    with pytest.raises(SelectionError, match="did you mean 'table'"):
        workbench.load("tabel", project=project)


def test_asset_functions_stay_plain(project: Path) -> None:
    from workbench.project import find_project, load_project

    graph = load_project(find_project(project)).graph
    fn = graph.nodes["table"].fn
    assert fn(pl.LazyFrame({"x": [1]})).height == 1


CHECKPOINTED = """
from pathlib import Path
from workbench import asset

FAIL_FLAG = Path(__file__).with_name("fail-once")


@asset
def long_step(context) -> dict:
    progress = context.checkpoint_dir / "progress.txt"
    done = [int(x) for x in progress.read_text().split()] if progress.exists() else []
    ran = []
    for step in range(len(done), 5):
        if step == 3 and FAIL_FLAG.exists():
            FAIL_FLAG.unlink()
            raise RuntimeError("crashed at step 3")
        done.append(step)
        ran.append(step)
        progress.write_text(" ".join(map(str, done)))
    print("ran steps", ran)
    return {"steps": done}
"""


def test_checkpoint_resumes_after_failure(make_project) -> None:  # type: ignore[no-untyped-def]
    root = make_project({"pipeline.py": CHECKPOINTED, "fail-once": ""})
    first = workbench.materialize(project=root)
    assert first.failed == ("long_step",)
    second = workbench.materialize(project=root)
    assert second.ok and "ran steps [3, 4]" in second.records["long_step"].log
    assert workbench.load("long_step", project=root) == {"steps": [0, 1, 2, 3, 4]}
    assert not any((root / ".workbench" / "checkpoints" / "long_step").iterdir())  # cleared on success


REGISTERS_A_FINDER = """
import sys
from workbench import asset

class LibraryFinder:  # what a library such as six registers when it is first imported
    def find_spec(self, name, path=None, target=None):
        return None

@asset
def a() -> dict:
    sys.meta_path.append(LibraryFinder())
    return {"v": 1}
"""


def test_the_api_leaves_what_libraries_registered(make_project) -> None:  # type: ignore[no-untyped-def]
    import sys

    project = make_project({"pipeline.py": REGISTERS_A_FINDER})
    path, before = list(sys.path), list(sys.meta_path)
    try:
        assert workbench.materialize(project=project).ok
        added = [f for f in sys.meta_path if f not in before]
        assert [type(f).__name__ for f in added] == ["LibraryFinder"]  # and not workbench's own finder
        assert sys.path == path
    finally:
        sys.meta_path[:] = before
