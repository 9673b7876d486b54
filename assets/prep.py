"""Ingest: the raw CSV as a source, and a cleaned table."""

from __future__ import annotations

from typing import TYPE_CHECKING

from workbench import asset, source

if TYPE_CHECKING:  # annotations only: imported lazily so that `wb status` stays fast
    import polars as pl

raw_penguins = source(
    "raw_penguins",
    path="samples/data/penguins.csv",
    description="Palmer Archipelago penguins (Gorman et al., Palmer Station LTER, CC0)",
)

MEASUREMENTS = ("bill_length_mm", "bill_depth_mm", "flipper_length_mm", "body_mass_g")


@asset(group="prep", tags={"domain": "penguins", "layer": "bronze"})
def penguins(raw_penguins: pl.LazyFrame) -> pl.DataFrame:
    """Penguins with every measurement and the sex recorded (rows with nulls dropped)."""
    return raw_penguins.drop_nulls(subset=[*MEASUREMENTS, "sex"]).collect()
