"""Ingest: the raw files, declared as sources (versioned by content hash, like an Airflow sensor
that fires only when the bytes really changed)."""

from __future__ import annotations

from workbench import source

raw_orders = source(
    "raw_orders",
    path="data/orders/*.csv",  # one CSV per day: a new day's file makes everything downstream stale
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
