"""Partitions: per-partition staleness, backfills of a range, and the three dependency mappings."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import workbench
from tests.conftest import run_wb
from workbench.core.partitions import DailyPartitions, StaticPartitions, Window, parent_partitions, select_partitions
from workbench.errors import DefinitionError, SelectionError

PIPELINE = """
from pathlib import Path
import polars as pl
from workbench import AllPartitions, DailyPartitions, StaticPartitions, Window, asset

DAYS = DailyPartitions(start="2026-01-01", end="2026-01-05")
BROKEN = Path(__file__).with_name("broken-day")


@asset(partitions=DAYS, group="ingest")
def events(partition: str) -> pl.DataFrame:
    if BROKEN.exists() and BROKEN.read_text() == partition:
        raise ValueError(f"bad data for {partition}")
    day = int(partition[-2:])
    return pl.DataFrame({"day": [partition] * day, "n": list(range(day))})


@asset(partitions=DAYS)
def daily_totals(events: pl.DataFrame, partition: str) -> dict:
    return {"day": partition, "rows": events.height}


@asset
def all_events(events: pl.LazyFrame) -> pl.DataFrame:
    return events.collect()


@asset(partitions=DAYS, partition_mappings={"events": Window(3)})
def rolling(events: pl.LazyFrame) -> dict:
    return {"rows": events.collect().height}


@asset(partitions=StaticPartitions(["eu", "us"]))
def regions(partition: str) -> dict:
    return {"region": partition}


@asset
def by_region(regions: dict) -> dict:
    return {"regions": sorted(regions)}
"""

DAY_KEYS = [f"2026-01-0{d}" for d in range(1, 6)]


@pytest.fixture
def project(make_project):  # type: ignore[no-untyped-def]
    return make_project({"pipeline.py": PIPELINE})


def states(project: Path) -> dict[str, dict]:  # type: ignore[type-arg]
    return {row["key"]: row for row in json.loads(run_wb(project, "status", "--json").stdout)}


def test_partition_units_and_mappings(project: Path) -> None:
    result = workbench.materialize(project=project)
    assert result.ok, result.errors
    assert {f"events[{d}]" for d in DAY_KEYS} <= set(result.materialized)
    assert workbench.load("all_events", project=project).height == 1 + 2 + 3 + 4 + 5  # every partition
    assert workbench.load("by_region", project=project) == {"regions": ["eu", "us"]}  # a dict by partition
    from workbench.workspace import Workspace

    ws = Workspace.open(project)
    rolling = {m.partition: m for m in ws.metadata.history("rolling")}
    assert set(rolling["2026-01-03"].input_versions) == {"events[2026-01-01]", "events[2026-01-02]", "events[2026-01-03]"}
    assert set(rolling["2026-01-05"].input_versions) == {"events[2026-01-03]", "events[2026-01-04]", "events[2026-01-05]"}
    assert ws.metadata.history("daily_totals", partition="2026-01-04")[0].input_versions.keys() == {"events[2026-01-04]"}
    assert workbench.load("rolling", project=project) is not None


def test_backfill_runs_only_missing_partitions_and_status_summarises(project: Path) -> None:
    out = run_wb(project, "materialize", "events", "--partition", "2026-01-01..2026-01-03", "--json")
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)["materialized"] == [{"key": "events", "partition": d} for d in DAY_KEYS[:3]]
    rows = states(project)
    assert rows["events"]["state"] == "stale" and rows["events"]["reasons"] == ["3/5 fresh, 2 missing"]
    per_partition = {p["partition"]: p["state"] for p in rows["events"]["partitions"]}
    assert per_partition == {**dict.fromkeys(DAY_KEYS[:3], "fresh"), **dict.fromkeys(DAY_KEYS[3:], "missing")}
    human = run_wb(project, "status", "events")
    assert "3/5 fresh, 2 missing" in human.stdout

    out = run_wb(project, "materialize", "events", "--partition", "2026-01-01..2026-01-05", "--json")
    assert json.loads(out.stdout)["materialized"] == [{"key": "events", "partition": d} for d in DAY_KEYS[3:]]
    bad = run_wb(project, "materialize", "events", "--partition", "2026-02-30")
    assert bad.returncode == 2 and "unknown partition" in bad.stderr


def test_a_failing_partition_blocks_only_its_downstream(project: Path) -> None:
    (project / "broken-day").write_text("2026-01-04")
    result = workbench.materialize(project=project)
    assert result.failed == ("events[2026-01-04]",)
    assert "daily_totals[2026-01-04]" in result.blocked and "daily_totals[2026-01-03]" in result.materialized
    assert "all_events" in result.blocked  # it reads every partition
    assert "rolling[2026-01-05]" in result.blocked and "rolling[2026-01-03]" in result.materialized
    (project / "broken-day").unlink()
    again = workbench.materialize(project=project)
    assert again.ok
    assert "events[2026-01-04]" in again.materialized and "events[2026-01-02]" not in again.materialized
    assert "daily_totals[2026-01-02]" not in again.materialized


def test_code_change_makes_every_partition_stale(project: Path) -> None:
    workbench.materialize(project=project)
    (project / "pipeline.py").write_text(PIPELINE.replace('return {"day": partition, "rows": events.height}', 'return {"day": partition, "rows": events.height, "v": 2}'))
    rows = states(project)
    assert rows["daily_totals"]["reasons"] == ["0/5 fresh, 5 stale"]
    assert rows["events"]["state"] == "fresh"


def test_pure_partition_helpers() -> None:
    days = DailyPartitions(start="2026-01-30", end="2026-02-02").keys()
    assert days == ("2026-01-30", "2026-01-31", "2026-02-01", "2026-02-02")
    assert select_partitions(days, "2026-01-31..2026-02-01") == ["2026-01-31", "2026-02-01"]
    assert select_partitions(days, "2026-02-02,2026-01-30") == ["2026-02-02", "2026-01-30"]
    with pytest.raises(SelectionError, match="unknown partition"):
        select_partitions(days, "2026-03-01")
    assert parent_partitions(Window(2), "2026-02-01", days) == ["2026-01-31", "2026-02-01"]
    assert parent_partitions(Window(5), "2026-01-30", days) == ["2026-01-30"]
    with pytest.raises(DefinitionError):
        StaticPartitions(["a", "a"])
    with pytest.raises(DefinitionError):
        DailyPartitions(start="yesterday")


def test_lineage_of_a_version_follows_partition_inputs(project: Path) -> None:
    workbench.materialize(project=project)
    tree = json.loads(run_wb(project, "lineage", "all_events@latest", "--json").stdout)
    inputs = tree["inputs"]
    assert [(i["key"], i.get("partition")) for i in inputs] == [("events", d) for d in DAY_KEYS]
    assert all("note" not in i for i in inputs)
    human = run_wb(project, "lineage", "all_events@latest")
    assert "events[2026-01-03]@" in human.stdout
