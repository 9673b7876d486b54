"""Daily partitions and checks: one partition per day of orders, like an Airflow DAG's daily runs.

`daily_orders` reads its own day's export (`raw_orders[DAY]`, one file of the partitioned source),
so a new or changed export reruns only its day. `wb materialize daily_orders --partition
2026-01-03..2026-01-05` is a backfill: only missing or stale days run. The checks run after each
partition; the blocking one stops the report if the staging step ever lets a duplicate order id through.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from etl_pipeline.ingest import DAYS
from etl_pipeline.staging import clean_orders
from workbench import CheckResult, asset, check

if TYPE_CHECKING:  # annotations only: imported lazily so that `wb status` stays fast
    import polars as pl


@asset(group="daily", partitions=DAYS, tags={"domain": "sales", "layer": "marts"})
def daily_orders(raw_orders: pl.LazyFrame) -> pl.DataFrame:
    """The orders of one day (its own export), cleaned, with their count per status."""
    import polars as pl

    return (
        clean_orders(raw_orders)
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
