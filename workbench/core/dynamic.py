"""Dynamic partition keys: events that add or remove a key of a `DynamicPartitions` set.

Each event is a small immutable JSON file in the store (`partitions/<name>/<time>-<id>.json`), like
alias events; the keys of a set are the events folded in time order.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, fields
from datetime import datetime

from workbench.errors import SelectionError

FORBIDDEN = ("|", "[", "]", "@", ",", "..", "\n", "\r", "\t")  # they separate units, dimensions or ranges


@dataclass(frozen=True, slots=True)
class PartitionEvent:
    """Key `key` added to (or removed from) the dynamic partition set `name`."""

    id: str
    name: str
    key: str
    added: bool
    by: str
    at: datetime

    def to_json(self) -> str:
        doc = {f.name: getattr(self, f.name) for f in fields(self)}
        doc["at"] = self.at.isoformat()
        return json.dumps(doc, sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> PartitionEvent:
        doc = json.loads(text)
        names = {f.name for f in fields(cls)}
        if not isinstance(doc, dict) or not names <= set(doc):
            raise ValueError("partition event lacks required fields")
        if not all(isinstance(doc[n], str) for n in names - {"added"}) or not isinstance(doc["added"], bool):
            raise ValueError("partition event has a field of the wrong type")
        return cls(**{**{n: doc[n] for n in names}, "at": datetime.fromisoformat(doc["at"])})


def current_keys(events: Iterable[PartitionEvent]) -> dict[str, tuple[str, ...]]:
    """The keys of each set after its events, in time order (the later event wins), sorted."""
    found: dict[str, dict[str, bool]] = {}
    for event in sorted(events, key=lambda e: (e.at, e.id)):
        found.setdefault(event.name, {})[event.key] = event.added
    return {name: tuple(sorted(k for k, there in keys.items() if there)) for name, keys in found.items()}


def check_partition_key(key: str) -> str:
    """`key` if it can name a partition; else a `SelectionError` saying what it may not hold."""
    if not key or key != key.strip() or len(key) > 200 or any(c in key for c in FORBIDDEN):
        raise SelectionError(
            f"invalid partition key {key!r}: 1-200 characters without surrounding spaces, and none of "
            + " ".join(repr(c) for c in FORBIDDEN[:6])
        )
    return key
