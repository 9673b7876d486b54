"""Partitions (one per day, one per region) and how a child's partition maps to its parent's.

Everything here is pure: which partition keys an asset has, which parent partitions one child
partition reads, and parsing `--partition KEY` / `--partition A..B`.
"""

from __future__ import annotations

import bisect
import itertools
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from workbench.clock import now
from workbench.errors import DefinitionError, SelectionError


@dataclass(frozen=True, slots=True)
class StaticPartitions:
    """A fixed list of partition keys, e.g. regions."""

    names: tuple[str, ...]

    def __init__(self, names: Sequence[str]) -> None:
        if not names or len(set(names)) != len(names) or not all(isinstance(n, str) and n for n in names):
            raise DefinitionError(f"StaticPartitions needs distinct non-empty names, got {list(names)!r}")
        object.__setattr__(self, "names", tuple(names))

    def keys(self) -> tuple[str, ...]:
        return self.names


@dataclass(frozen=True, slots=True)
class DailyPartitions:
    """One partition per day from `start` through `end` (default: today, UTC), as YYYY-MM-DD."""

    start: str
    end: str | None = None

    def __post_init__(self) -> None:
        for value in (self.start, self.end):
            if value is not None:
                _day(value, "DailyPartitions")

    def keys(self) -> tuple[str, ...]:
        first = _day(self.start, "DailyPartitions")
        last = _day(self.end, "DailyPartitions") if self.end else now().date()
        return tuple((first + timedelta(days=i)).isoformat() for i in range((last - first).days + 1))


@dataclass(frozen=True, slots=True)
class Grid:
    """A sweep: one partition per combination of param values, e.g. `Grid(lr=[0.01, 0.1], depth=[4, 6])`.

    A cell's key names its values in the order given (`lr=0.01:depth=4`); the asset receives them
    as `context.params`, over the defaults of `@asset(params=...)`.
    """

    axes: tuple[tuple[str, tuple[Any, ...]], ...]

    def __init__(self, **axes: Sequence[Any]) -> None:
        if not axes or not all(isinstance(v, (list, tuple)) and v for v in axes.values()):
            raise DefinitionError(f"Grid needs at least one param with a non-empty list of values, got {axes!r:.80}")
        cells = {name: tuple(values) for name, values in axes.items()}
        for name, values in cells.items():
            try:
                labels = {_label(v) for v in values}
            except (TypeError, ValueError) as exc:
                raise DefinitionError(f"Grid: the values of {name!r} must be JSON (numbers, text, ...): {exc}") from exc
            if len(labels) != len(values):
                raise DefinitionError(f"Grid: the values of {name!r} are not distinct: {list(values)!r:.80}")
        object.__setattr__(self, "axes", tuple(cells.items()))

    def keys(self) -> tuple[str, ...]:
        names = [name for name, _ in self.axes]
        return tuple(
            ":".join(f"{n}={_label(v)}" for n, v in zip(names, combo, strict=True))
            for combo in itertools.product(*(values for _, values in self.axes))
        )

    def params(self, key: str) -> dict[str, Any]:
        """The param values of the cell named `key` ({} for a key that is not a cell)."""
        labels = dict(part.partition("=")[::2] for part in key.split(":"))
        found = {name: next((v for v in values if _label(v) == labels.get(name)), _MISSING) for name, values in self.axes}
        return {} if any(v is _MISSING for v in found.values()) else found


_MISSING = object()


def _label(value: Any) -> str:
    """How a param value reads in a cell's key: JSON, with text unquoted."""
    return value if isinstance(value, str) else json.dumps(value, sort_keys=True, allow_nan=False)


def cell_params(partitions: object, partition: str) -> dict[str, Any]:
    """The params a partition sets: a grid cell's values, else none."""
    return partitions.params(partition) if isinstance(partitions, Grid) and partition else {}


NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_.-]{0,63}")  # used with fullmatch
SEP = "|"  # joins the keys of a multi-dimensional partition: `2026-11-01|eu`


@dataclass(frozen=True, slots=True)
class DynamicPartitions:
    """Keys added while the project lives (`wb partitions add NAME KEY`, `workbench.add_partitions`),
    e.g. one partition per customer; they are kept in the store, in sorted order."""

    name: str

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not NAME.fullmatch(self.name):
            raise DefinitionError(f"DynamicPartitions needs a name of letters, digits, _ . - (got {self.name!r})")


OneDimension = StaticPartitions | DailyPartitions | DynamicPartitions


@dataclass(frozen=True, slots=True)
class MultiPartitions:
    """Two (or more) dimensions, e.g. `MultiPartitions(date=DailyPartitions(...), region=StaticPartitions([...]))`:
    one partition per combination, keyed `2026-11-01|eu` in the order the dimensions are given."""

    dimensions: tuple[tuple[str, OneDimension], ...]

    def __init__(self, **dimensions: OneDimension) -> None:
        if len(dimensions) < 2 or not all(isinstance(d, OneDimension) for d in dimensions.values()):
            raise DefinitionError(
                "MultiPartitions needs at least two dimensions, each StaticPartitions, DailyPartitions or "
                f"DynamicPartitions, got {dimensions!r:.120}"
            )
        for name, dim in dimensions.items():
            if isinstance(dim, StaticPartitions) and any(SEP in k for k in dim.names):
                raise DefinitionError(f"MultiPartitions: the keys of dimension {name!r} may not contain {SEP!r}")
        object.__setattr__(self, "dimensions", tuple(dimensions.items()))

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(name for name, _ in self.dimensions)

    def dimension(self, name: str) -> int:
        """The position of dimension `name` in a key (-1 when there is none)."""
        return self.names.index(name) if name in self.names else -1


Partitions = StaticPartitions | DailyPartitions | Grid | DynamicPartitions | MultiPartitions
DynamicKeys = Mapping[str, Sequence[str]]  # the keys of each dynamic partition set, by name


def keys_of(partitions: Partitions, dynamic: DynamicKeys) -> tuple[str, ...]:
    """The partition keys of a definition; dynamic sets read theirs from `dynamic`."""
    if isinstance(partitions, DynamicPartitions):
        return tuple(sorted(dynamic.get(partitions.name, ())))
    if isinstance(partitions, MultiPartitions):
        axes = [keys_of(d, dynamic) for _, d in partitions.dimensions]
        return tuple(SEP.join(combo) for combo in itertools.product(*axes))
    return partitions.keys()


def dynamic_names(partitions: Partitions | None) -> tuple[str, ...]:
    """The names of the dynamic partition sets a definition uses."""
    if isinstance(partitions, DynamicPartitions):
        return (partitions.name,)
    if isinstance(partitions, MultiPartitions):
        return tuple(d.name for _, d in partitions.dimensions if isinstance(d, DynamicPartitions))
    return ()


@dataclass(frozen=True, slots=True)
class AllPartitions:
    """The child (partition) reads every partition of the parent."""


@dataclass(frozen=True, slots=True)
class SamePartition:
    """The child partition reads the parent partition with the same key (default when both match)."""


@dataclass(frozen=True, slots=True)
class Dimension:
    """Between a multi-dimensional asset and a one-dimensional one: match on dimension `name`.

    A `date x region` child partition reads its day of a daily parent; a daily child reads every
    region of its day of a `date x region` parent. Inferred when one side is a dimension of the other.
    """

    name: str


@dataclass(frozen=True, slots=True)
class Window:
    """The child partition reads the last `size` parent partitions up to its own key."""

    size: int

    def __post_init__(self) -> None:
        if self.size < 1:
            raise DefinitionError(f"Window(size={self.size}) needs a size of at least 1")


Mapping_ = AllPartitions | SamePartition | Window | Dimension


def _day(text: str, where: str) -> date:
    try:
        return date.fromisoformat(text)
    except (TypeError, ValueError) as exc:
        raise DefinitionError(f"{where}: {text!r} is not a date (YYYY-MM-DD)") from exc


def default_mapping(child: Partitions | None, parent: Partitions | None) -> Mapping_:
    """Same partition for equally partitioned assets; everything when the child is unpartitioned; the
    shared dimension between a multi-dimensional asset and one of its dimensions."""
    if parent is None:
        return SamePartition()
    if child is None:
        return AllPartitions()
    for multi, other in ((child, parent), (parent, child)):
        if isinstance(multi, MultiPartitions) and not isinstance(other, MultiPartitions):
            name = next((n for n, d in multi.dimensions if d == other), None)
            if name is not None:
                return Dimension(name)
    return SamePartition()


def parent_partitions(
    mapping: Mapping_,
    child_partition: str,
    parent_keys: Sequence[str],
    child: Partitions | None = None,
    parent: Partitions | None = None,
) -> list[str]:
    """The parent partitions one child partition reads ([""] for an unpartitioned parent).

    Constant or logarithmic time per call (a year of daily units calls it 365 times per asset).
    `child` and `parent` (the definitions) are needed by a `Dimension` mapping only.
    """
    if not parent_keys:
        return [""]
    if isinstance(mapping, AllPartitions) or not child_partition:
        return list(parent_keys)
    if isinstance(mapping, Dimension):
        return _along(mapping.name, child_partition, parent_keys, child, parent)
    index = _index(parent_keys)
    if isinstance(mapping, Window):
        if index.ordered:
            upto = bisect.bisect_right(parent_keys, child_partition)
            return list(parent_keys[max(0, upto - mapping.size) : upto])
        return [k for k in parent_keys if k <= child_partition][-mapping.size :]
    return [child_partition] if child_partition in index.positions else []


def _along(name: str, child_partition: str, parent_keys: Sequence[str], child: object, parent: object) -> list[str]:
    """The parent keys whose dimension `name` is the child's value of it."""
    at = child.dimension(name) if isinstance(child, MultiPartitions) else -1
    value = child_partition.split(SEP)[at] if at >= 0 else child_partition
    if isinstance(parent, MultiPartitions) and parent.dimension(name) >= 0:
        return _by_component(parent_keys, parent.dimension(name)).get(value, [])
    return [value] if value in _index(parent_keys).positions else []


_COMPONENTS: dict[tuple[int, int], tuple[Sequence[str], dict[str, list[str]]]] = {}


def _by_component(keys: Sequence[str], at: int) -> dict[str, list[str]]:
    """Multi-dimensional keys grouped by their value at position `at`, built once per sequence."""
    found = _COMPONENTS.get((id(keys), at))
    if found is None or found[0] is not keys:
        if len(_COMPONENTS) > 256:
            _COMPONENTS.clear()
        groups: dict[str, list[str]] = {}
        for key in keys:
            groups.setdefault(key.split(SEP)[at], []).append(key)
        found = _COMPONENTS[(id(keys), at)] = (keys, groups)
    return found[1]


@dataclass(frozen=True, slots=True)
class _KeyIndex:
    keys: Sequence[str]
    positions: frozenset[str]
    ordered: bool


_INDEXES: dict[int, _KeyIndex] = {}


def _index(keys: Sequence[str]) -> _KeyIndex:
    """A set of the keys and whether they are sorted, built once per sequence of keys."""
    found = _INDEXES.get(id(keys))
    if found is None or found.keys is not keys:
        if len(_INDEXES) > 256:  # graphs come and go in long-lived processes
            _INDEXES.clear()
        ordered = all(a <= b for a, b in zip(keys, keys[1:]))
        found = _INDEXES[id(keys)] = _KeyIndex(keys, frozenset(keys), ordered)
    return found


def select_partitions(keys: Sequence[str], text: str) -> list[str]:
    """`KEY`, `A..B` (inclusive) or a comma-separated list of either, checked against `keys`.

    On multi-dimensional keys (`2026-11-01|eu`) a part without `|` names one dimension's value or
    range: `2026-11-01` is that day in every region, `2026-11-01..2026-11-07` a week of them."""
    chosen: list[str] = []
    for part in (p.strip() for p in text.split(",")):
        if SEP not in part and keys and SEP in keys[0] and part not in keys:
            chosen.extend(_select_component(keys, part))
        elif ".." in part:
            low, _, high = part.partition("..")
            if low not in keys or high not in keys:
                bad = low if low not in keys else high
                raise SelectionError(f"unknown partition {bad!r} in range {part!r} (partitions: {_span(keys)})")
            chosen.extend(k for k in keys if low <= k <= high)
        elif part in keys:
            chosen.append(part)
        else:
            raise SelectionError(f"unknown partition {part!r} (partitions: {_span(keys)})")
    return list(dict.fromkeys(chosen))


def _select_component(keys: Sequence[str], part: str) -> list[str]:
    """The multi-dimensional keys with a value (`A`) or a range (`A..B`) in one of their dimensions."""
    low, _, high = part.partition("..")
    high = high or low
    for at in range(len(keys[0].split(SEP))):
        values = {k.split(SEP)[at] for k in keys}
        if low in values and high in values:
            return [k for k in keys if low <= k.split(SEP)[at] <= high]
    raise SelectionError(f"unknown partition {part!r}: no dimension has {low!r}" + (f" and {high!r}" if high != low else "") + f" (partitions: {_span(keys)})")


def _span(keys: Sequence[str]) -> str:
    return ", ".join(keys) if len(keys) <= 5 else f"{keys[0]} .. {keys[-1]}, {len(keys)} in all"


def unit_id(key: str, partition: str) -> str:
    """How a (asset, partition) pair is named in statuses, plans and input versions."""
    return f"{key}[{partition}]" if partition else key


def split_unit(unit: str) -> tuple[str, str]:
    if unit.endswith("]") and "[" in unit:
        key, _, rest = unit.partition("[")
        return key, rest[:-1]
    return unit, ""
