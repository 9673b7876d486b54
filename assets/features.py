"""Features in DuckDB SQL, and a deterministic train/test split."""

from __future__ import annotations

from typing import TYPE_CHECKING

from workbench import asset

if TYPE_CHECKING:  # annotations only: imported lazily so that `wb status` stays fast
    import duckdb
    import polars as pl

TEST_EVERY = 4  # every 4th penguin of each species goes to the test set


@asset(group="features", tags={"domain": "penguins", "layer": "silver"})
def penguin_features(penguins: duckdb.DuckDBPyRelation) -> duckdb.DuckDBPyRelation:
    """Numeric features per penguin, computed by DuckDB over the cleaned Parquet."""
    return penguins.query(
        "penguins",
        """
        SELECT
            species,
            bill_length_mm,
            bill_depth_mm,
            flipper_length_mm,
            body_mass_g / 1000.0                AS body_mass_kg,
            bill_length_mm / bill_depth_mm      AS bill_ratio,
            CASE WHEN sex = 'male' THEN 1 ELSE 0 END AS is_male,
            CASE WHEN island = 'Biscoe' THEN 1 ELSE 0 END AS on_biscoe,
            CASE WHEN island = 'Dream' THEN 1 ELSE 0 END AS on_dream,
            row_number() OVER (PARTITION BY species ORDER BY bill_length_mm, bill_depth_mm, body_mass_g) AS rank_in_species
        FROM penguins
        ORDER BY species, rank_in_species
        """,
    )


def in_test_set() -> pl.Expr:
    """The split rule both halves share: by rank within species, so it is stratified and stable."""
    import polars as pl

    return pl.col("rank_in_species") % TEST_EVERY == 0


@asset(group="features", tags={"domain": "penguins"})
def train_set(penguin_features: pl.LazyFrame) -> pl.DataFrame:
    return penguin_features.filter(~in_test_set()).drop("rank_in_species").collect()


@asset(group="features", tags={"domain": "penguins"})
def test_set(penguin_features: pl.LazyFrame) -> pl.DataFrame:
    return penguin_features.filter(in_test_set()).drop("rank_in_species").collect()
