"""Dynamic partitions: add and remove the keys of a `DynamicPartitions` set (`wb partitions`)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import TYPE_CHECKING

from workbench.core.dynamic import PartitionEvent, check_partition_key
from workbench.core.graph import suggest
from workbench.core.partitions import dynamic_names
from workbench.core.records import utcnow
from workbench.errors import SelectionError
from workbench.ops.aliases import who

if TYPE_CHECKING:
    from workbench.workspace import Workspace


def dynamic_sets(ws: Workspace) -> dict[str, list[str]]:
    """Each dynamic partition set the project declares, with the nodes that use it."""
    found: dict[str, list[str]] = {}
    for key, node in ws.graph.nodes.items():
        for name in dynamic_names(node.partitions):
            found.setdefault(name, []).append(key)
    return found


def change_partitions(ws: Workspace, name: str, keys: Sequence[str], *, add: bool) -> list[str]:
    """Add (or remove) `keys` to the set `name`; returns the keys that changed (others already were)."""
    sets = dynamic_sets(ws)
    if name not in sets:
        known = f" (dynamic partition sets: {', '.join(sorted(sets))})" if sets else " (the project declares none)"
        raise SelectionError(f"no asset uses DynamicPartitions({name!r}){suggest(name, sets) or known}")
    have = set(ws.partition_keys_of(name))
    if not add and (missing := [k for k in keys if k not in have]):
        raise SelectionError(f"{name} has no partition {missing[0]!r}")
    changed = [check_partition_key(k) for k in dict.fromkeys(keys) if (k in have) != add]
    when = utcnow()
    for key in changed:
        ws.artifacts.write_partition_event(PartitionEvent(uuid.uuid4().hex, name, key, add, who(), when))
    ws.forget_partition_keys()
    return changed
