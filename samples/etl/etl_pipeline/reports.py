"""Reports: the daily sales report, a Markdown file (the kind an Airflow DAG would e-mail)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from workbench import Output, Schedule, asset

if TYPE_CHECKING:  # annotations only: imported lazily so that `wb status` stays fast
    import polars as pl

TREND_DAYS = 7  # the latest day is compared with the average of the days before it


def change(now: float, before: float | None) -> str:
    """A signed percentage change, e.g. '+4.2%' ('n/a' without a baseline)."""
    return f"{(now - before) / before:+.1%}" if before else "n/a"


MORNING = Schedule("0 7 * * *", timezone="Europe/Berlin")  # the report, every morning at 07:00 Berlin time


@asset(group="reports", tags={"layer": "report", "owner": "analytics", "sla": "daily"}, io="bytes", schedule=MORNING)
def daily_report(daily_sales: pl.DataFrame, category_sales: pl.DataFrame) -> bytes:
    """The latest day's KPIs against the previous days' average, its top categories, and the trend."""
    import polars as pl

    daily = daily_sales.sort("order_date")
    today = daily.row(-1, named=True)
    before = daily.slice(max(0, daily.height - 1 - TREND_DAYS), min(TREND_DAYS, daily.height - 1))
    baseline = before.select(pl.col("orders", "revenue", "avg_order_value").mean()).row(0, named=True)
    top = category_sales.filter(pl.col("order_date") == today["order_date"]).sort("rank_in_day")
    lines = [
        f"# Daily sales report: {today['order_date']}",
        "",
        f"Compared with the average of the {before.height} days before.",
        "",
        "| KPI | today | vs. average |",
        "| --- | ---: | ---: |",
        f"| orders | {today['orders']} | {change(today['orders'], baseline['orders'])} |",
        f"| revenue | {today['revenue']:,.2f} | {change(today['revenue'], baseline['revenue'])} |",
        f"| average order | {today['avg_order_value']:,.2f} | {change(today['avg_order_value'], baseline['avg_order_value'])} |",
        f"| cancel rate | {today['cancel_rate']:.1%} | |",
        "",
        "## Categories today",
        "",
        "| # | category | units | revenue |",
        "| ---: | --- | ---: | ---: |",
        *(f"| {r['rank_in_day']} | {r['category']} | {r['units']} | {r['revenue']:,.2f} |" for r in top.iter_rows(named=True)),
        "",
        "## Revenue by day",
        "",
        "| day | orders | revenue |",
        "| --- | ---: | ---: |",
        *(f"| {r['order_date']} | {r['orders']} | {r['revenue']:,.2f} |" for r in daily.iter_rows(named=True)),
        "",
    ]
    report = "\n".join(lines).encode()
    return Output(
        report,
        metadata={"day": str(today["order_date"])},
        metrics={"revenue": float(today["revenue"]), "orders": float(today["orders"])},
    )
