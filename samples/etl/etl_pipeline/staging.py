"""Staging: typed, deduplicated and cleaned copies of the raw files, in Polars."""

from __future__ import annotations

from typing import TYPE_CHECKING

from workbench import asset

if TYPE_CHECKING:  # annotations only: imported lazily so that `wb status` stays fast
    import polars as pl

STAGING_TAGS = {"layer": "staging", "owner": "data-eng"}


def clean_orders(raw: pl.LazyFrame) -> pl.LazyFrame:
    """Orders without duplicate exports or missing quantities, with a timestamp and a date."""
    import polars as pl

    return (
        raw.unique(subset="order_id", keep="first", maintain_order=True)
        .drop_nulls("quantity")
        .with_columns(pl.col("ordered_at").str.to_datetime("%Y-%m-%d %H:%M:%S"))
        .with_columns(pl.col("ordered_at").dt.date().alias("order_date"), pl.col("quantity").cast(pl.Int32))
        .sort("order_id")
    )


@asset(group="staging", tags={**STAGING_TAGS, "domain": "sales"})
def stg_orders(raw_orders: pl.LazyFrame) -> pl.DataFrame:
    """Every day's orders, cleaned (an unpartitioned child reads every partition of the source)."""
    return clean_orders(raw_orders).collect()


@asset(group="staging", tags={**STAGING_TAGS, "domain": "catalog"})
def stg_products(raw_products: pl.LazyFrame) -> pl.DataFrame:
    """The product dimension, as is (it already arrives typed, as Parquet)."""
    return raw_products.sort("product_id").collect()


@asset(group="staging", tags={**STAGING_TAGS, "domain": "crm", "pii": "true"})
def stg_customers(raw_customers: pl.LazyFrame) -> pl.DataFrame:
    """Customers with upper-case, trimmed country codes and a real date type."""
    import polars as pl

    return (
        raw_customers.with_columns(
            pl.col("country").str.strip_chars().str.to_uppercase(),
            pl.col("signup_date").cast(pl.Utf8).str.to_date("%Y-%m-%d"),
        )
        .sort("customer_id")
        .collect()
    )
