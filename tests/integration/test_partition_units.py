"""Partitions everywhere (issue 14): `KEY[PARTITION]@REF` in every command, reasons that stay one
line at scale, partitioned sources, dynamic partitions and two-dimensional (date x region) ones."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import workbench
from tests.conftest import run_wb

PIPELINE = """
from pathlib import Path
import polars as pl
from workbench import DailyPartitions, DynamicPartitions, MultiPartitions, StaticPartitions, asset, source

DAYS = DailyPartitions(start="2026-11-01", end="2026-11-05")
REGIONS = StaticPartitions(["eu", "us", "apac"])
BROKEN = Path(__file__).with_name("broken-day")

orders = source("orders", path="data/orders/{date}.csv", partitions=DAYS)


@asset(partitions=DAYS)
def daily(orders: pl.DataFrame, partition: str) -> pl.DataFrame:
    if BROKEN.exists() and BROKEN.read_text() == partition:
        raise ValueError(f"bad export for {partition}")
    return orders.with_columns(pl.lit(partition).alias("day"))


@asset
def total(daily: pl.LazyFrame) -> dict:
    return {"amount": int(daily.select(pl.col("amount").sum()).collect().item())}


@asset(partitions=MultiPartitions(date=DAYS, region=REGIONS))
def sales(daily: pl.DataFrame, partition: str) -> dict:
    day, region = partition.split("|")
    return {"day": day, "region": region, "amount": int(daily["amount"].sum())}


@asset(partitions=DAYS)
def by_day(sales: dict) -> dict:
    return {"regions": sorted(value["region"] for value in sales.values())}


@asset(partitions=DynamicPartitions("customers"))
def customer(partition: str) -> dict:
    return {"customer": partition}
"""

DAYS = [f"2026-11-0{d}" for d in range(1, 6)]


def write_day(root: Path, day: str, amount: int) -> None:
    (root / "data" / "orders" / f"{day}.csv").write_text(f"id,amount\n1,{amount}\n2,{amount}\n")


@pytest.fixture
def project(make_project):  # type: ignore[no-untyped-def]
    root: Path = make_project({"pipeline.py": PIPELINE})
    (root / "data" / "orders").mkdir(parents=True)
    for i, day in enumerate(DAYS):
        write_day(root, day, i + 1)
    return root


def wb_ok(project: Path, *args: str) -> str:
    out = run_wb(project, *args)
    assert out.returncode == 0, out.stderr
    return out.stdout


def materialized(project: Path, *args: str) -> list[str]:
    doc = json.loads(wb_ok(project, "materialize", *args, "--json"))
    return sorted(f"{m['key']}[{m['partition']}]" if isinstance(m, dict) else m for m in doc["materialized"])


def test_show_history_load_diff_and_alias_name_one_partition(project: Path) -> None:
    wb_ok(project, "materialize", "daily")
    write_day(project, "2026-11-03", 30)
    wb_ok(project, "materialize", "daily[2026-11-03]")

    listing = wb_ok(project, "show", "daily")  # a partitioned asset lists its partitions and their states
    assert "5 partitions: 5/5 fresh" in listing and all(day in listing for day in DAYS)
    one = wb_ok(project, "show", "daily[2026-11-03]")
    assert one.startswith("daily[2026-11-03]") and "30" in one and "2026-11-03" in one
    older = wb_ok(project, "show", "daily[2026-11-03]@latest~1")
    assert " 3 " in older and " 30 " not in older

    history = wb_ok(project, "history", "daily")
    assert "partition" in history.splitlines()[1] and history.count("2026-11-0") >= 6
    only = wb_ok(project, "history", "daily[2026-11-03]", "--json")
    assert [r["partition"] for r in json.loads(only)] == ["2026-11-03", "2026-11-03"]

    assert workbench.load("daily", partition="2026-11-03", project=project)["amount"].to_list() == [30, 30]
    assert workbench.load("daily[2026-11-02]", project=project)["amount"].to_list() == [2, 2]
    assert workbench.load("daily[2026-11-03]", version="latest~1", project=project)["amount"].to_list() == [3, 3]

    changed = json.loads(wb_ok(project, "diff", "daily[2026-11-03]@latest~1", "latest", "--json"))
    assert changed["a"]["partition"] == changed["b"]["partition"] == "2026-11-03"
    assert changed["inputs"][0]["key"] == "orders[2026-11-03]"
    across = wb_ok(project, "diff", "daily[2026-11-02]", "daily[2026-11-03]")
    assert across.startswith("daily[2026-11-02]") and "daily[2026-11-03]" in across.splitlines()[0]

    wb_ok(project, "alias", "set", "daily[2026-11-03]@latest~1", "before_fix")
    pinned = workbench.load("daily", alias="before_fix", project=project)
    assert pinned["amount"].to_list() == [3, 3]
    tree = json.loads(wb_ok(project, "lineage", "daily[2026-11-03]", "--json"))
    assert tree["partition"] == "2026-11-03" and tree["inputs"][0]["partition"] == "2026-11-03"

    bad = run_wb(project, "show", "daily[2026-12-01]")
    assert bad.returncode == 2 and "unknown partition '2026-12-01'" in bad.stderr and "Traceback" not in bad.stderr
    flat = run_wb(project, "history", "total[2026-11-01]")
    assert flat.returncode == 2 and "total is not partitioned" in flat.stderr


def test_the_failure_hint_names_a_unit_that_history_accepts(project: Path) -> None:
    (project / "broken-day").write_text("2026-11-04")
    out = run_wb(project, "materialize", "daily")
    assert out.returncode == 1
    hint = next(line for line in out.stderr.splitlines() if "see the traceback with:" in line)
    command = hint.split("see the traceback with: wb ", 1)[1].split()
    assert command == ["history", "daily[2026-11-04]"]
    shown = run_wb(project, *command)
    assert shown.returncode == 0, shown.stderr
    assert "latest run failed (daily[2026-11-04]): ValueError: bad export for 2026-11-04" in shown.stdout
    assert 'raise ValueError(f"bad export for {partition}")' in shown.stdout  # the traceback


def test_a_new_or_changed_file_reruns_exactly_its_partition_and_downstream(project: Path) -> None:
    wb_ok(project, "materialize", "daily", "total", "by_day")
    write_day(project, "2026-11-02", 20)  # a changed export
    (project / "data" / "orders" / "2026-12-24.csv").write_text("id,amount\n1,1\n")  # names no partition
    status = {row["key"]: row for row in json.loads(wb_ok(project, "status", "--json"))}
    assert status["orders"]["unmatched"] == ["data/orders/2026-12-24.csv"]
    assert any("name no partition: data/orders/2026-12-24.csv" in r for r in status["orders"]["reasons"])
    ran = materialized(project, "daily", "total", "by_day")
    assert ran == sorted(
        ["daily[2026-11-02]", "total", "by_day[2026-11-02]", *(f"sales[2026-11-02|{r}]" for r in ("eu", "us", "apac"))]
    )
    (project / "data" / "orders" / "2026-11-05.csv").unlink()  # a partition's file is gone
    gone = {p["partition"]: p for p in json.loads(wb_ok(project, "status", "orders", "--json"))[0]["partitions"]}
    assert gone["2026-11-05"]["state"] == "missing" and gone["2026-11-04"]["state"] == "fresh"


def test_a_child_of_365_partitions_has_a_one_line_reason(make_project) -> None:  # type: ignore[no-untyped-def]
    project = make_project({"pipeline.py": """
        from workbench import DailyPartitions, asset

        @asset(partitions=DailyPartitions(start="2025-01-01", end="2025-12-31"))
        def orders(partition: str) -> dict:
            return {"day": partition}

        @asset
        def summary(orders: dict) -> dict:
            return {"days": len(orders)}
    """})
    wb_ok(project, "materialize")
    (project / "pipeline.py").write_text((project / "pipeline.py").read_text().replace('{"day": partition}', '{"d": partition}'))
    rows = {row["key"]: row for row in json.loads(wb_ok(project, "status", "--json"))}
    assert rows["summary"]["reasons"] == ["upstream orders: 365 of 365 partitions stale (2025-01-01..2025-12-31)"]
    assert rows["summary"]["causes"] == [{
        "kind": "upstream stale", "upstream": "orders",
        "partitions": {"count": 365, "of": 365, "ranges": [["2025-01-01", "2025-12-31"]]},
    }]  # fmt: skip
    wb_ok(project, "materialize", "orders[2025-01-01..2025-03-02],orders[2025-03-04..2025-12-31]")
    row = json.loads(wb_ok(project, "status", "summary", "--json"))[0]
    assert row["reasons"] == [
        "upstream orders: 364 of 365 partitions changed (2025-01-01..2025-03-02, 2025-03-04..2025-12-31)",
        "upstream orders: 1 of 365 partitions stale (2025-03-03)",
    ]
    assert "upstream orders: 1 of 365 partitions stale" in wb_ok(project, "status", "summary")


def test_dynamic_partitions_added_from_the_cli_run_and_show_in_status(project: Path) -> None:
    empty = json.loads(wb_ok(project, "status", "customer", "--json"))[0]
    assert empty["state"] == "missing" and "wb partitions add customers KEY" in empty["reasons"][0]
    assert materialized(project, "customer") == []  # nothing to run yet
    assert "added 2 partition(s) to customers: acme, globex" in wb_ok(project, "partitions", "add", "customers", "acme", "globex")
    assert json.loads(wb_ok(project, "status", "customer", "--json"))[0]["reasons"] == ["0/2 fresh, 2 missing"]
    assert materialized(project, "customer") == ["customer[acme]", "customer[globex]"]
    assert workbench.add_partitions("customers", ["initech", "acme"], project=project) == ["initech"]
    row = json.loads(wb_ok(project, "status", "customer", "--json"))[0]
    assert {p["partition"]: p["state"] for p in row["partitions"]} == {"acme": "fresh", "globex": "fresh", "initech": "missing"}
    assert materialized(project, "customer") == ["customer[initech]"]  # a backfill: only the new key
    assert workbench.load("customer[initech]", project=project) == {"customer": "initech"}
    wb_ok(project, "partitions", "remove", "customers", "globex")
    assert json.loads(wb_ok(project, "partitions", "list", "--json")) == [
        {"name": "customers", "keys": ["acme", "initech"], "used_by": ["customer"]}
    ]
    bad = run_wb(project, "partitions", "add", "customer", "x")
    assert bad.returncode == 2 and "did you mean 'customers'" in bad.stderr
    bad = run_wb(project, "partitions", "add", "customers", "a|b")
    assert bad.returncode == 2 and "invalid partition key" in bad.stderr


def test_a_date_by_region_asset_backfills_one_day_for_all_regions(project: Path) -> None:
    ran = materialized(project, "sales", "--partition", "2026-11-03")
    assert ran == ["daily[2026-11-03]", "sales[2026-11-03|apac]", "sales[2026-11-03|eu]", "sales[2026-11-03|us]"]
    assert materialized(project, "sales[2026-11-04]") == ["daily[2026-11-04]", *(f"sales[2026-11-04|{r}]" for r in ("apac", "eu", "us"))]
    assert materialized(project, "by_day[2026-11-03]") == ["by_day[2026-11-03]"]  # every region of its day
    assert workbench.load("by_day[2026-11-03]", project=project) == {"regions": ["apac", "eu", "us"]}
    assert workbench.load("sales[2026-11-03|us]", project=project) == {"day": "2026-11-03", "region": "us", "amount": 6}
    row = json.loads(wb_ok(project, "status", "sales", "--json"))[0]
    assert row["reasons"] == ["6/15 fresh, 9 missing"]
    plan = json.loads(wb_ok(project, "materialize", "sales[2026-11-01..2026-11-02]", "--dry-run", "--json"))
    assert sorted(u["partition"] for u in plan["to_run"] if u["key"] == "sales") == [
        f"2026-11-0{d}|{r}" for d in (1, 2) for r in ("apac", "eu", "us")
    ]
