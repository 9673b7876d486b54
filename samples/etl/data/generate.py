"""Regenerate the ETL sample's synthetic data (deterministic: the same bytes on every run).

    python data/generate.py              # from samples/etl/: 14 days of orders
    python data/generate.py --days 15    # the same 14 files, plus "tomorrow's" export

Writes one CSV of orders per day (data/orders/YYYY-MM-DD.csv), a products dimension as Parquet
and a customers dimension as CSV. A little mess is added on purpose (duplicated rows, padded
lower-case country codes, missing quantities) so the staging layer has something to clean.
"""

from __future__ import annotations

import argparse
import csv
import random
from datetime import date, datetime, timedelta
from pathlib import Path

HERE = Path(__file__).resolve().parent
START = date(2026, 1, 1)
DAYS = 14
SEED = 42

CATEGORIES = {
    "coffee": ["Espresso beans", "Filter roast", "Decaf", "Cold brew pack", "Single origin"],
    "tea": ["Green tea", "Earl grey", "Chai", "Rooibos"],
    "equipment": ["Grinder", "Pour-over kit", "Kettle", "Scale", "French press"],
    "bakery": ["Croissant box", "Biscotti", "Banana bread"],
    "merch": ["Mug", "Tote bag", "Gift card"],
}
COUNTRIES = ["DE", "FR", "NL", "ES", "IT", "SE"]
SEGMENTS = ["consumer", "consumer", "consumer", "business"]


def products(rng: random.Random) -> list[dict[str, object]]:
    rows: list[dict[str, object]] = []
    for category, names in CATEGORIES.items():
        for name in names:
            price = rng.uniform(30, 120) if category == "equipment" else rng.uniform(3, 25)
            rows.append({"product_id": len(rows) + 1, "name": name, "category": category, "unit_price": round(price, 2)})
    return rows


def customers(rng: random.Random, n: int = 300) -> list[dict[str, object]]:
    rows = []
    for i in range(1, n + 1):
        country = rng.choice(COUNTRIES)
        if rng.random() < 0.1:  # messy input: padded, lower-case country codes
            country = f" {country.lower()} "
        signup = START - timedelta(days=rng.randint(0, 400))
        rows.append({"customer_id": i, "country": country, "segment": rng.choice(SEGMENTS), "signup_date": signup.isoformat()})
    return rows


def orders(rng: random.Random, day: date, first_id: int, n_products: int, n_customers: int) -> list[dict[str, object]]:
    weekend = day.weekday() >= 5
    rows = []
    for i in range(rng.randint(110, 150) + (40 if weekend else 0)):
        at = datetime.combine(day, datetime.min.time()) + timedelta(seconds=rng.randint(7 * 3600, 22 * 3600))
        quantity: object = rng.choice([1, 1, 1, 2, 2, 3, 4])
        if rng.random() < 0.01:  # messy input: a missing quantity
            quantity = ""
        status = rng.choices(["completed", "cancelled", "refunded"], weights=[92, 6, 2])[0]
        rows.append(
            {
                "order_id": first_id + i,
                "ordered_at": at.isoformat(sep=" "),
                "customer_id": rng.randint(1, n_customers),
                "product_id": rng.randint(1, n_products),
                "quantity": quantity,
                "status": status,
            }
        )
    rows += rng.sample(rows, 3)  # messy input: a few rows exported twice
    return rows


def write_csv(path: Path, rows: list[dict[str, object]]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]), lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)


def main() -> None:
    import polars as pl

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--days", type=int, default=DAYS, help=f"days of orders from {START} (default {DAYS})")
    days = parser.parse_args().days

    rng = random.Random(SEED)
    product_rows = products(rng)
    pl.DataFrame(product_rows).write_parquet(HERE / "products.parquet", statistics=False)
    customer_rows = customers(rng)
    write_csv(HERE / "customers.csv", customer_rows)
    next_id = 100_001
    for d in range(days):
        day = START + timedelta(days=d)
        rows = orders(rng, day, next_id, len(product_rows), len(customer_rows))
        next_id += len(rows)
        write_csv(HERE / "orders" / f"{day.isoformat()}.csv", rows)
    print(f"wrote {len(product_rows)} products, {len(customer_rows)} customers, {days} days of orders to {HERE}")


if __name__ == "__main__":
    main()
