"""A short Markdown report of the data and the model."""

from __future__ import annotations

from typing import TYPE_CHECKING

from workbench import asset

if TYPE_CHECKING:  # annotations only: imported lazily so that `wb status` stays fast
    import polars as pl


@asset(group="reporting", tags={"domain": "penguins"}, io="bytes")
def report(evaluation: dict, penguins: pl.DataFrame) -> bytes:
    """Counts per species and island, and the model's held-out scores."""
    counts = penguins.group_by("species", "island").len().sort("species", "island")
    lines = [
        "# Penguin species classifier",
        "",
        f"{penguins.height} penguins with complete measurements.",
        "",
        "| species | island | penguins |",
        "| --- | --- | --- |",
        *(f"| {r['species']} | {r['island']} | {r['len']} |" for r in counts.iter_rows(named=True)),
        "",
        f"Held-out accuracy: **{evaluation['accuracy']:.1%}**, macro F1: **{evaluation['f1_macro']:.3f}** "
        f"on {evaluation['test_rows']} penguins.",
        "",
    ]
    return "\n".join(lines).encode()
