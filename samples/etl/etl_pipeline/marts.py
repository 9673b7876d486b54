"""Marts: the business tables, written in DuckDB SQL over the staging Parquet files.

A parameter annotated `duckdb.DuckDBPyRelation` receives a relation over its parent's Parquet
file (all of one asset's inputs share one DuckDB connection); returning a relation stores it as
Parquet. Editing a query changes the asset's code version: SQL constants are part of it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from workbench import asset

if TYPE_CHECKING:  # annotations only: imported lazily so that `wb status` stays fast
    import duckdb

MART_TAGS = {"layer": "mart", "owner": "analytics", "domain": "sales"}

ORDER_LINES_SQL = """
SELECT
    o.order_id,
    o.ordered_at,
    o.order_date,
    o.status,
    o.quantity,
    p.product_id,
    p.name            AS product,
    p.category,
    p.unit_price,
    round(o.quantity * p.unit_price, 2) AS amount,
    c.customer_id,
    c.country,
    c.segment
FROM orders AS o
JOIN products AS p USING (product_id)
JOIN customers AS c USING (customer_id)
ORDER BY o.order_id
"""

DAILY_SALES_SQL = """
SELECT
    order_date,
    count(*) FILTER (WHERE status = 'completed')                         AS orders,
    count(DISTINCT customer_id) FILTER (WHERE status = 'completed')      AS customers,
    CAST(sum(quantity) FILTER (WHERE status = 'completed') AS INTEGER)   AS units,
    round(sum(amount) FILTER (WHERE status = 'completed'), 2)            AS revenue,
    round(avg(amount) FILTER (WHERE status = 'completed'), 2)            AS avg_order_value,
    round(avg(CASE WHEN status = 'completed' THEN 0 ELSE 1 END), 4)      AS cancel_rate
FROM lines
GROUP BY order_date
ORDER BY order_date
"""

CATEGORY_SALES_SQL = """
SELECT
    order_date,
    category,
    sum(quantity)::INTEGER     AS units,
    round(sum(amount), 2)      AS revenue,
    rank() OVER (PARTITION BY order_date ORDER BY sum(amount) DESC) AS rank_in_day
FROM lines
WHERE status = 'completed'
GROUP BY order_date, category
ORDER BY order_date, rank_in_day, category
"""


def sql(query: str, **tables: duckdb.DuckDBPyRelation) -> duckdb.DuckDBPyRelation:
    """Run `query` with each relation visible as a view under its keyword name."""
    *others, (name, relation) = tables.items()
    for other_name, other in others:
        other.create_view(other_name, replace=True)
    result = relation.query(name, query)
    assert result is not None, "a SELECT always gives a relation"
    return result


@asset(group="marts", tags=MART_TAGS)
def fct_order_lines(
    stg_orders: duckdb.DuckDBPyRelation,
    stg_products: duckdb.DuckDBPyRelation,
    stg_customers: duckdb.DuckDBPyRelation,
) -> duckdb.DuckDBPyRelation:
    """One row per order, joined with its product and customer; `amount` = quantity x price."""
    return sql(ORDER_LINES_SQL, products=stg_products, customers=stg_customers, orders=stg_orders)


@asset(group="marts", tags=MART_TAGS)
def daily_sales(fct_order_lines: duckdb.DuckDBPyRelation) -> duckdb.DuckDBPyRelation:
    """Orders, customers, units, revenue, average order value and cancel rate per day."""
    return sql(DAILY_SALES_SQL, lines=fct_order_lines)


@asset(group="marts", tags=MART_TAGS)
def category_sales(fct_order_lines: duckdb.DuckDBPyRelation) -> duckdb.DuckDBPyRelation:
    """Completed revenue and units per day and product category, ranked within the day."""
    return sql(CATEGORY_SALES_SQL, lines=fct_order_lines)
