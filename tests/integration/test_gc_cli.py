"""`wb gc` through the real CLI: partitions keep their current versions; `--dry-run` shows the same plan."""

from __future__ import annotations

import json
from pathlib import Path

from tests.conftest import run_wb

PIPELINE = """
from workbench import StaticPartitions, asset, source

raw = source("raw", path="raw.txt")


@asset(partitions=StaticPartitions(["eu", "us", "asia"]))
def sales(raw, partition: str) -> dict:
    return {"region": partition, "v": raw.read_text()}


@asset
def total(sales: dict) -> dict:
    return {"versions": sorted(s["v"] for s in sales.values())}
"""


def objects(project: Path) -> set[Path]:
    return set((project / ".workbench" / "artifacts" / "objects").rglob("*.json"))


def test_gc_keeps_the_current_artifact_of_every_partition(make_project) -> None:  # type: ignore[no-untyped-def]
    project = make_project({"pipeline.py": PIPELINE, "raw.txt": "1"})
    for version in ("1", "2"):
        (project / "raw.txt").write_text(version)
        out = run_wb(project, "materialize", "--jobs", "1")
        assert out.returncode == 0, out.stderr
    before = objects(project)
    assert len(before) == 2 * 3 + 2  # two versions of three partitions and of total

    dry = run_wb(project, "gc", "--keep", "1", "--dry-run")
    assert dry.returncode == 0, dry.stderr
    assert "would delete 4 artifact(s) of 4 old version(s); kept 4 version(s)" in dry.stdout
    assert objects(project) == before
    real = run_wb(project, "gc", "--keep", "1")
    assert "deleted 4 artifact(s) of 4 old version(s); kept 4 version(s)" in real.stdout, real.stdout + real.stderr

    rows = json.loads(run_wb(project, "status", "--json").stdout)
    sales = next(r for r in rows if r["key"] == "sales")
    assert {p["partition"]: p["state"] for p in sales["partitions"]} == {"eu": "fresh", "us": "fresh", "asia": "fresh"}
    assert {r["key"]: r["state"] for r in rows} == {"raw": "fresh", "sales": "fresh", "total": "fresh"}
    again = run_wb(project, "materialize", "--json")
    assert json.loads(again.stdout)["materialized"] == []  # nothing was lost, so nothing reruns
    assert len(objects(project)) == 4
