"""Ingest: the raw files, declared as sources (versioned by content hash, like an Airflow sensor
that fires only when the bytes really changed)."""

from __future__ import annotations

from pathlib import Path

from workbench import DailyPartitions, source

ORDERS = Path(__file__).resolve().parent.parent / "data" / "orders"


def last_export_day() -> str:
    """The day of the newest order export (`data/orders/YYYY-MM-DD.csv`): a new export adds a partition."""
    return max(path.stem for path in ORDERS.glob("*.csv"))


DAYS = DailyPartitions(start="2026-01-01", end=last_export_day())

raw_orders = source(
    "raw_orders",
    path="data/orders/{date}.csv",  # one CSV per day, one partition per file: a new file is a new partition
    partitions=DAYS,
    group="ingest",
    tags={"domain": "sales", "format": "csv"},
    description="Web shop orders, one CSV export per day",
)
raw_products = source(
    "raw_products",
    path="data/products.parquet",
    group="ingest",
    tags={"domain": "catalog", "format": "parquet"},
    description="Product dimension (id, name, category, unit price)",
)
raw_customers = source(
    "raw_customers",
    path="data/customers.csv",
    group="ingest",
    tags={"domain": "crm", "format": "csv", "pii": "true"},
    description="Customer dimension (id, country, segment, signup date)",
)
