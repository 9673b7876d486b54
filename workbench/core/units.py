"""Units of work: an asset, or one partition of a partitioned asset, and the units each one reads.

A unit is named by `unit_id(key, partition)`: `key` when unpartitioned, `key[partition]` otherwise.
Statuses, plans, executors and the input versions of records all speak in units.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from workbench.core.graph import AssetGraph
from workbench.core.partitions import DynamicKeys, Mapping_, SamePartition, default_mapping, keys_of, parent_partitions, unit_id
from workbench.core.spec import AssetSpec
from workbench.errors import DefinitionError

PartitionKeys = Mapping[str, tuple[str, ...]]  # asset key -> its partition keys (() when unpartitioned)


@dataclass(frozen=True, slots=True)
class InputRef:
    """What one parameter (or `deps=` entry) of a unit reads: one parent unit, or several."""

    key: str
    units: tuple[str, ...]
    many: bool  # a collection (all partitions, or a window) rather than a single value


def partition_keys(graph: AssetGraph, dynamic: DynamicKeys | None = None) -> dict[str, tuple[str, ...]]:
    """Every node's partition keys, computed once (daily partitions depend on today's date, dynamic
    ones on the keys added to the store: `dynamic`, by name)."""
    return {k: (keys_of(n.partitions, dynamic or {}) if n.partitions else ()) for k, n in graph.nodes.items()}


def check_mappings(graph: AssetGraph) -> None:
    """Mappings name real parents, and differently partitioned assets say how they map."""
    for spec in graph.assets():
        for name in spec.partition_mappings:
            if name not in graph.parents[spec.key] and name not in graph.inputs[spec.key]:
                raise DefinitionError(f"asset {spec.key!r} at {spec.location}: partition_mappings names {name!r}, not a parent")
        for parent in graph.parents[spec.key] if spec.partitions else ():
            theirs = graph.nodes[parent].partitions
            if not (theirs and theirs != spec.partitions):
                continue  # the same partitions (or none) on both sides: any mapping fits
            if isinstance(_mapping(graph, spec, parent), SamePartition):
                raise DefinitionError(
                    f"asset {spec.key!r} at {spec.location} and its parent {parent!r} are partitioned differently: "
                    "give partition_mappings={...: AllPartitions() or Window(n)}"
                )


def _mapping(graph: AssetGraph, spec: AssetSpec, parent: str) -> Mapping_:
    params = [p for p, k in graph.inputs[spec.key].items() if k == parent]
    for name in (parent, *params):
        if name in spec.partition_mappings:
            return spec.partition_mappings[name]
    return default_mapping(spec.partitions, graph.nodes[parent].partitions)


def unit_inputs(graph: AssetGraph, keys: PartitionKeys, key: str, partition: str) -> dict[str, InputRef]:
    """Per parameter (and per `deps=` key) of the unit, the parent units it reads."""
    spec = graph.nodes[key]
    assert isinstance(spec, AssetSpec)
    refs: dict[str, InputRef] = {}
    named = dict(graph.inputs[key])
    for dep in graph.parents[key]:
        if dep not in named.values():
            named[dep] = dep
    for name, parent in named.items():
        parent_keys = keys.get(parent, ())
        if not partition and not parent_keys:  # nothing partitioned: the parent asset is the unit read
            refs[name] = InputRef(parent, (parent,), False)
            continue
        mapping = _mapping(graph, spec, parent)
        parts = parent_partitions(mapping, partition, parent_keys, spec.partitions, graph.nodes[parent].partitions)
        many = bool(parent_keys) and (not partition or not isinstance(mapping, SamePartition))
        refs[name] = InputRef(parent, tuple(unit_id(parent, p) for p in parts), many)
    return refs


def unit_parents(graph: AssetGraph, keys: PartitionKeys, key: str, partition: str) -> tuple[str, ...]:
    """The parent units of one unit, in a stable order."""
    if graph.is_source(key):
        return ()
    if not partition and not any(keys.get(p) for p in graph.parents[key]):
        return graph.parents[key]  # nothing partitioned here: units are assets
    refs = unit_inputs(graph, keys, key, partition)
    return tuple(dict.fromkeys(u for ref in refs.values() for u in ref.units))


def units_of(keys: PartitionKeys, key: str) -> list[str]:
    return [unit_id(key, p) for p in keys.get(key, ())] or [key]


def units_in_order(graph: AssetGraph, keys: PartitionKeys, assets: Iterable[str]) -> list[str]:
    wanted = set(assets)
    return [u for k in graph.order if k in wanted for u in units_of(keys, k)]
