"""ML lifecycle: metrics, diff, aliases (set/move/load/gc safety), version references, provenance."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import workbench
from tests.conftest import run_wb
from workbench.errors import VersionRefError

PIPELINE = """
import polars as pl
import workbench
from workbench import Output, asset, source

raw = source("raw", path="raw.csv")
C = 1.0


@asset
def table(raw: pl.LazyFrame) -> pl.DataFrame:
    return raw.collect()


@asset
def model(table: pl.DataFrame, context) -> dict:
    workbench.log_metric("rows_seen", table.height)
    context.add_metadata(c=C)
    score = table["x"].sum() * C
    return Output({"score": score}, metrics={"score": score})
"""


@pytest.fixture
def project(make_project):  # type: ignore[no-untyped-def]
    return make_project({"pipeline.py": PIPELINE, "raw.csv": "x,y\n1,a\n2,b\n"})


def edit(path: Path, old: str, new: str) -> None:
    path.write_text(path.read_text().replace(old, new))


def three_versions(project: Path) -> None:
    workbench.materialize(project=project)
    edit(project / "pipeline.py", "C = 1.0", "C = 2.0")
    workbench.materialize(project=project)
    (project / "raw.csv").write_text("x,y,z\n1,a,0\n2,b,0\n3,c,0\n")
    workbench.materialize(project=project)


def test_metrics_and_metadata_on_the_record(project: Path) -> None:
    result = workbench.materialize(project=project)
    record = result.records["model"]
    assert record.metrics == {"rows_seen": 2.0, "score": 3.0}
    assert record.metadata["c"] == 1.0
    table = result.records["table"]
    assert table.rows == 2 and table.metadata["schema"] == {"x": "Int64", "y": "String"}
    with pytest.raises(workbench.WorkbenchError, match="no asset is running"):
        workbench.log_metric("x", 1)


def test_history_shows_metric_columns_and_diff(project: Path) -> None:
    three_versions(project)
    history = run_wb(project, "history", "model")
    assert "rows_seen" in history.stdout and "score" in history.stdout
    doc = json.loads(run_wb(project, "diff", "model@latest~2", "model@latest", "--json").stdout)
    assert doc["code"]["changed"] is True
    assert [i["key"] for i in doc["inputs"]] == ["table"]
    assert {m["name"]: m["delta"] for m in doc["metrics"]} == {"rows_seen": 1.0, "score": 9.0}
    table = json.loads(run_wb(project, "diff", "table@latest~1", "latest", "--json").stdout)
    assert table["schema"]["added"] == {"z": "Int64"} and table["rows"]["delta"] == 1
    assert table["code"]["changed"] is False
    human = run_wb(project, "diff", "table@latest~1", "table@latest")
    assert "column  + z: Int64" in human.stdout and "rows      2 -> 3 (+1)" in human.stdout


def test_aliases_set_move_load_and_gc_safety(project: Path) -> None:
    three_versions(project)
    oldest = json.loads(run_wb(project, "history", "model", "--json").stdout)[-1]
    out = run_wb(project, "alias", "set", "model@latest~2", "champion")
    assert out.returncode == 0, out.stderr
    assert workbench.load("model", alias="champion", project=project) == {"score": 3.0}
    assert workbench.load("model", version="champion", project=project) == {"score": 3.0}
    listed = json.loads(run_wb(project, "alias", "list", "--json").stdout)
    assert [(a["asset_key"], a["name"], a["data_version"]) for a in listed] == [("model", "champion", oldest["data_version"])]
    assert listed[0]["set_by"] and listed[0]["set_at"]

    gc = run_wb(project, "gc", "--keep", "1")
    assert gc.returncode == 0, gc.stderr
    assert workbench.load("model", alias="champion", project=project) == {"score": 3.0}  # pinned: kept
    assert workbench.load("model", project=project) == {"score": 12.0}  # latest: kept
    middle = run_wb(project, "show", "model@latest~1")
    assert middle.returncode == 3 and "missing" in middle.stderr  # neither latest nor aliased: gone

    assert run_wb(project, "alias", "set", "model@latest", "champion").returncode == 0  # move
    assert workbench.load("model", alias="champion", project=project) == {"score": 12.0}
    assert run_wb(project, "alias", "remove", "model", "champion").returncode == 0
    with pytest.raises(VersionRefError, match="no such alias"):
        workbench.load("model", alias="champion", project=project)
    bad = run_wb(project, "alias", "set", "model", "latest")
    assert bad.returncode == 2 and "invalid alias name" in bad.stderr

    (project / ".workbench" / "metadata.duckdb").unlink()
    assert run_wb(project, "doctor", "--rebuild").returncode == 0
    assert run_wb(project, "alias", "list", "--json").stdout.strip() == "[]"  # removal survives a rebuild


def test_version_provenance(project: Path) -> None:
    three_versions(project)
    tree = json.loads(run_wb(project, "lineage", "model@latest~1", "--json").stdout)
    history = json.loads(run_wb(project, "history", "table", "--json").stdout)
    assert tree["inputs"][0]["key"] == "table"
    assert tree["inputs"][0]["data_version"] == history[-1]["data_version"]  # model v2 read table v1
    assert tree["inputs"][0]["inputs"][0]["key"] == "raw"
    prefix = history[0]["data_version"][:6]
    assert json.loads(run_wb(project, "lineage", f"table@{prefix}", "--json").stdout)["data_version"] == history[0]["data_version"]
    bad = run_wb(project, "lineage", "table@zzz")
    assert bad.returncode == 2 and "no such alias" in bad.stderr


def test_git_commit_and_dirty_flag(project: Path) -> None:
    import git

    repo = git.Repo.init(project)
    repo.index.add(["pipeline.py", "raw.csv", "pyproject.toml"])
    commit = repo.index.commit("init", author=git.Actor("t", "t@example.com"), committer=git.Actor("t", "t@example.com"))
    (project / ".gitignore").write_text(".workbench/\n")
    repo.index.add([".gitignore"])
    commit = repo.index.commit("ignore", author=git.Actor("t", "t@example.com"), committer=git.Actor("t", "t@example.com"))
    clean = workbench.materialize(project=project).records["model"]
    assert clean.git_commit == commit.hexsha and clean.git_dirty is False
    edit(project / "pipeline.py", "C = 1.0", "C = 5.0")
    dirty = workbench.materialize(project=project).records["model"]
    assert dirty.git_commit == commit.hexsha and dirty.git_dirty is True
    assert "uncommitted changes" in run_wb(project, "show", "model").stdout
