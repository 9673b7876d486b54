"""One way to name a unit everywhere: `KEY`, `KEY[PARTITION]`, each with an optional `@REF`.

`events[2026-11-01]@latest~1`, `sales[2026-11-01|eu]`, `model[lr=0.01:depth=4]@best:accuracy`. In a
selection (`wb materialize`, `wb history`, the TUI filter) `KEY[PARTITIONS]` also takes what
`--partition` takes: `events[2026-11-01..2026-11-07]`, `sales[2026-11-01]` (every region that day).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from workbench.core.partitions import select_partitions, unit_id
from workbench.core.versions import split_ref
from workbench.errors import SelectionError, VersionRefError

# KEY[...] inside a selection: the brackets end at a `]` followed by the end, a space, `,`, `)`, `+` or `*`.
_IN_SELECTION = re.compile(r"(?<![\w/\[])([A-Za-z_][A-Za-z0-9_/]*)\[(.*?)\](?=$|[\s),+*])")


@dataclass(frozen=True, slots=True)
class UnitRef:
    """A parsed `KEY[PARTITION]@REF`: `partition` is None when not named, `ref` None for the latest."""

    key: str
    partition: str | None = None
    ref: str | None = None

    @property
    def unit(self) -> str:
        return unit_id(self.key, self.partition or "")

    def __str__(self) -> str:
        return self.unit + (f"@{self.ref}" if self.ref is not None else "")


def parse_unit(text: str) -> UnitRef:
    """`KEY`, `KEY@REF`, `KEY[PARTITION]` or `KEY[PARTITION]@REF`."""
    open_at = text.find("[")
    if open_at < 0:
        key, ref = split_ref(text)
        return UnitRef(key, None, ref)
    close_at = text.rfind("]")
    tail = text[close_at + 1 :]
    if close_at < open_at or (tail and not tail.startswith("@")) or close_at == open_at + 1:
        raise SelectionError(f"cannot read {text!r} as a unit: use KEY, KEY[PARTITION] or KEY[PARTITION]@REF")
    if tail == "@":
        raise VersionRefError(f"empty version reference in {text!r}: use KEY[PARTITION]@VERSION, @ALIAS or @latest")
    return UnitRef(text[:open_at], text[open_at + 1 : close_at], tail[1:] or None)


def check_partition(keys: Mapping[str, Sequence[str]], unit: UnitRef) -> UnitRef:
    """`unit` if its partition (when named) is one of its asset's; else a `SelectionError` saying so."""
    if unit.partition is None:
        return unit
    have = keys.get(unit.key, ())
    if not have:
        raise SelectionError(f"{unit.key} is not partitioned: name it without [{unit.partition}]")
    if unit.partition not in have:
        select_partitions(have, unit.partition)  # raises naming the partitions there are
        raise SelectionError(f"{unit.unit} names several partitions: name one")
    return unit


def split_selection(expression: str | None) -> tuple[str | None, dict[str, str]]:
    """A selection with `KEY[PARTITIONS]` terms: the plain selection, and the partitions named per key."""
    if not expression or "[" not in expression:
        return expression, {}
    chosen: dict[str, str] = {}

    def plain(match: re.Match[str]) -> str:
        key, partitions = match.group(1), match.group(2).strip()
        if not partitions:
            raise SelectionError(f"empty partition in {match.group(0)!r}: use KEY[PARTITION] or KEY[A..B]")
        chosen[key] = f"{chosen[key]},{partitions}" if key in chosen else partitions
        return key

    return _IN_SELECTION.sub(plain, expression), chosen
