"""Reasons that stay readable at scale: many stale partitions of one upstream read as one line.

`upstream orders[2026-11-01] stale`, repeated for 365 days, becomes
`upstream orders: 3 of 365 partitions stale (2026-11-01..2026-11-03)`.
"""

from __future__ import annotations

from collections.abc import Sequence

from workbench.core.partitions import split_unit

MAX_RANGES = 3  # ranges named in one reason; the rest are counted


def key_ranges(keys: Sequence[str], chosen: Sequence[str]) -> list[tuple[str, str]]:
    """The runs of consecutive `keys` (in their order) that are all in `chosen`, as (first, last)."""
    wanted = set(chosen)
    runs: list[tuple[str, str]] = []
    start: str | None = None
    last = ""
    for key in keys:
        if key in wanted:
            start = key if start is None else start
            last = key
        elif start is not None:
            runs.append((start, last))
            start = None
    if start is not None:
        runs.append((start, last))
    return runs


def ranges_text(runs: Sequence[tuple[str, str]]) -> str:
    """`2026-11-01..2026-11-03, 2026-11-07`, naming at most `MAX_RANGES` runs."""
    named = [first if first == last else f"{first}..{last}" for first, last in runs[:MAX_RANGES]]
    more = len(runs) - MAX_RANGES
    return ", ".join(named) + (f", and {more} more range(s)" if more > 0 else "")


def parent_groups(parents: Sequence[str]) -> dict[str, list[str]]:
    """Parent units grouped by asset key, partitions in their order ({} when none is partitioned)."""
    groups: dict[str, list[str]] = {}
    for unit in parents:
        key, partition = split_unit(unit)
        if partition:
            groups.setdefault(key, []).append(partition)
    return groups


def units_text(units: Sequence[str], among: Sequence[str]) -> str:
    """Units named one by one, except several partitions of one asset: `orders: 3 partitions
    (2026-11-01..2026-11-03)`, with runs judged in the order of `among` (a superset of `units`)."""
    groups = parent_groups(units)
    order = parent_groups(among)
    named: list[str] = []
    for unit in units:
        key, partition = split_unit(unit)
        if not partition or len(groups[key]) < 2:
            named.append(unit)
        elif partition == groups[key][0]:
            runs = key_ranges(order.get(key, groups[key]), groups[key])
            named.append(f"{key}: {len(groups[key])} partitions ({ranges_text(runs)})")
    return ", ".join(named)
