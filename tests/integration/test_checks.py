"""Asset checks: blocking and non-blocking, recorded and shown, and check-only reruns on a check edit."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import workbench
from tests.conftest import run_wb

PIPELINE = """
import polars as pl
from workbench import CheckResult, DailyPartitions, asset, check

LIMIT = 10


@asset
def orders() -> pl.DataFrame:
    return pl.DataFrame({"id": [1, 2, 3], "amount": [5.0, None, 7.0]})


@asset
def revenue(orders: pl.DataFrame) -> dict:
    return {"total": orders["amount"].sum()}


@asset
def report(revenue: dict) -> dict:
    return {"text": f"revenue {revenue['total']}"}


@check(asset="orders")
def has_rows(orders: pl.DataFrame) -> bool:
    return orders.height > 0


@check(asset="orders", blocking=True)
def amounts_below_limit(orders: pl.DataFrame) -> CheckResult:
    worst = orders["amount"].max()
    return CheckResult(worst < LIMIT, metadata={"max": worst})


@check(asset="revenue")
def no_nulls(revenue: dict) -> bool:
    return revenue["total"] is not None


@asset(partitions=DailyPartitions(start="2026-03-01", end="2026-03-02"))
def daily(partition: str) -> dict:
    return {"day": partition}


@check(asset="daily")
def has_day(daily: dict) -> bool:
    return daily["day"].startswith("2026-03")
"""


@pytest.fixture
def project(make_project):  # type: ignore[no-untyped-def]
    return make_project({"pipeline.py": PIPELINE})


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new))


def test_checks_run_after_their_asset_and_are_recorded(project: Path) -> None:
    result = workbench.materialize(project=project)
    assert result.ok
    verdicts = {(c.asset_key, c.partition, c.name): c.passed for c in result.checks}
    assert verdicts == {
        ("orders", "", "has_rows"): True,
        ("orders", "", "amounts_below_limit"): True,
        ("revenue", "", "no_nulls"): True,
        ("daily", "2026-03-01", "has_day"): True,
        ("daily", "2026-03-02", "has_day"): True,
    }
    blocking = next(c for c in result.checks if c.name == "amounts_below_limit")
    assert blocking.metadata == {"max": 7.0} and blocking.blocking
    rows = {r["key"]: r for r in json.loads(run_wb(project, "status", "--json").stdout)}
    assert rows["orders"]["checks"] == [
        {"name": "has_rows", "state": "passed", "blocking": False},
        {"name": "amounts_below_limit", "state": "passed", "blocking": True},
    ]
    assert rows["daily"]["partitions"][0]["checks"][0]["state"] == "passed"
    history = json.loads(run_wb(project, "history", "orders", "--json").stdout)
    assert {c["name"] for c in history[0]["checks"]} == {"has_rows", "amounts_below_limit"}
    assert "amounts_below_limit" in run_wb(project, "history", "orders").stdout


def test_failing_blocking_check_stops_downstream_and_exits_1(project: Path) -> None:
    edit(project / "pipeline.py", "LIMIT = 10", "LIMIT = 6")
    out = run_wb(project, "materialize", "--json")
    assert out.returncode == 1, out.stderr
    doc = json.loads(out.stdout)
    assert "orders" in doc["materialized"] and doc["failed"] == []
    assert doc["blocked"] == {"revenue": "orders", "report": "orders"}
    failing = [c for c in doc["checks"] if not c["passed"]]
    assert failing == [{"key": "orders", "check": "amounts_below_limit", "passed": False, "blocking": True}]
    status = run_wb(project, "status")
    assert "check amounts_below_limit failed (blocking)" in status.stdout
    rows = {r["key"]: r for r in json.loads(run_wb(project, "status", "--json").stdout)}
    assert rows["revenue"]["reasons"] == ["missing", "upstream orders failed check amounts_below_limit"]
    again = run_wb(project, "materialize", "--json")  # still blocked: the check failed on this version
    assert again.returncode == 1 and json.loads(again.stdout)["materialized"] == []


def test_non_blocking_failure_reports_but_does_not_block(project: Path) -> None:
    edit(project / "pipeline.py", "return orders.height > 0", "return orders.height > 100")
    result = workbench.materialize(project=project)
    assert result.ok and "report" in result.materialized
    assert [c.name for c in result.checks if not c.passed] == ["has_rows"]


def test_editing_a_check_reruns_the_check_not_the_asset(project: Path) -> None:
    workbench.materialize(project=project)
    edit(project / "pipeline.py", "LIMIT = 10", "LIMIT = 6")  # the blocking check's constant
    rows = {r["key"]: r for r in json.loads(run_wb(project, "status", "--json").stdout)}
    assert rows["orders"]["state"] == "fresh"
    assert {c["name"]: c["state"] for c in rows["orders"]["checks"]}["amounts_below_limit"] == "stale"
    result = workbench.materialize(project=project)
    assert result.materialized == ()  # no asset reran
    assert [(c.name, c.passed) for c in result.checks] == [("amounts_below_limit", False)]
    assert not result.ok and result.failed_blocking_checks == ("orders:amounts_below_limit",)
    edit(project / "pipeline.py", "LIMIT = 6", "LIMIT = 10")
    fixed = workbench.materialize(project=project)
    assert fixed.ok and fixed.materialized == () and [c.passed for c in fixed.checks] == [True]


def test_checks_survive_a_rebuild(project: Path) -> None:
    workbench.materialize(project=project)
    (project / ".workbench" / "metadata.duckdb").unlink()
    assert run_wb(project, "doctor", "--rebuild").returncode == 0
    rows = {r["key"]: r for r in json.loads(run_wb(project, "status", "--json").stdout)}
    assert [c["state"] for c in rows["orders"]["checks"]] == ["passed", "passed"]


def test_check_of_unknown_asset_is_a_clear_error(make_project) -> None:  # type: ignore[no-untyped-def]
    root = make_project({"pipeline.py": "from workbench import asset, check\n@asset\ndef orders():\n    return {}\n@check(asset='ordrs')\ndef c(ordrs):\n    return True\n"})
    out = run_wb(root, "status")
    assert out.returncode == 2 and "did you mean 'orders'" in out.stderr


LOGGED = """
import logging
from workbench import asset, check


@asset
def table() -> dict:
    return {"rows": [1, 2, 3]}


@check(asset="table")
def counted(table: dict) -> bool:
    print("counted", len(table["rows"]), "rows")
    logging.getLogger("checks").warning("row 2 looks odd")
    return True


@check(asset="table")
def crashes(table: dict) -> bool:
    return table["columns"] > 0
"""


def test_a_checks_output_and_traceback_are_kept_and_shown(make_project) -> None:  # type: ignore[no-untyped-def]
    project = make_project({"pipeline.py": LOGGED})
    assert run_wb(project, "materialize").returncode == 0  # non-blocking checks: the run succeeds
    show = run_wb(project, "show", "table").stdout
    assert "check counted passed" in show and "counted 3 rows" in show and "row 2 looks odd" in show
    assert "check crashes failed  KeyError: 'columns'" in show and 'return table["columns"] > 0' in show
    (record,) = json.loads(run_wb(project, "history", "table", "--json").stdout)
    checks = {c["name"]: c for c in record["checks"]}
    assert "counted 3 rows" in checks["counted"]["log"] and checks["counted"]["traceback"] is None
    assert checks["crashes"]["traceback"].startswith("Traceback") and "KeyError" in checks["crashes"]["traceback"]
