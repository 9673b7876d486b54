"""Daily partitions and checks: one partition per day of orders, like an Airflow DAG's daily runs.

`wb materialize daily_orders --partition 2026-01-03..2026-01-05` is a backfill: only missing or
stale days run. The checks run after each partition; the blocking one stops the report if the
staging step ever lets a duplicate order id through.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from workbench import CheckResult, DailyPartitions, asset, check

if TYPE_CHECKING:  # annotations only: imported lazily so that `wb status` stays fast
    import polars as pl

ORDERS = Path(__file__).resolve().parent.parent / "data" / "orders"


def last_export_day() -> str:
    """The day of the newest order export (`data/orders/YYYY-MM-DD.csv`): a new export adds a partition."""
    return max(path.stem for path in ORDERS.glob("*.csv"))


DAYS = DailyPartitions(start="2026-01-01", end=last_export_day())


@asset(group="daily", partitions=DAYS, tags={"domain": "sales", "layer": "marts"})
def daily_orders(stg_orders: pl.LazyFrame, partition: str) -> pl.DataFrame:
    """The orders of one day, with their count per status."""
    import polars as pl

    day = pl.lit(partition).str.to_date()
    return (
        stg_orders.filter(pl.col("order_date") == day)
        .group_by("status")
        .agg(pl.len().alias("orders"), pl.col("quantity").sum().alias("units"))
        .sort("status")
        .collect()
    )


@check(asset="daily_orders")
def day_has_orders(daily_orders: pl.DataFrame) -> CheckResult:
    """A day without orders usually means a missing export."""
    total = int(daily_orders["orders"].sum()) if daily_orders.height else 0
    return CheckResult(total > 0, metadata={"orders": total})


@check(asset="stg_orders", blocking=True)
def unique_order_ids(stg_orders: pl.DataFrame) -> CheckResult:
    """Staging deduplicates exports; a duplicate id here would double-count revenue downstream."""
    duplicates = stg_orders.height - stg_orders["order_id"].n_unique()
    return CheckResult(duplicates == 0, metadata={"duplicates": duplicates})
