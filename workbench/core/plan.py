"""Plan, then apply: a frozen plan says what will run and why; executors only apply it."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from workbench.core.graph import AssetGraph
from workbench.core.partitions import select_partitions, split_unit, unit_id
from workbench.core.staleness import CHECK_STALE, R_FORCED, Reason, Status
from workbench.core.units import PartitionKeys, unit_parents
from workbench.errors import SelectionError


@dataclass(frozen=True, slots=True)
class Plan:
    """Units (assets, or partitions of them) to run, in topological order, and why."""

    targets: tuple[str, ...]  # selected units
    to_run: tuple[str, ...]
    reasons: Mapping[str, tuple[Reason, ...]]  # why each unit in to_run runs
    fresh: tuple[str, ...]  # in scope and already fresh: skipped
    forced: frozenset[str]
    check_only: tuple[str, ...] = ()  # fresh units whose checks must run (a check was edited or is new)

    @property
    def empty(self) -> bool:
        return not self.to_run and not self.check_only


def make_plan(
    graph: AssetGraph,
    status: Mapping[str, Status],
    selected: Iterable[str],
    *,
    force: bool = False,
    only: bool = False,
    keys: PartitionKeys | None = None,
    partitions: str | None = None,
    named: Mapping[str, str] | None = None,
) -> Plan:
    """Targets are the selected assets' units (only `partitions` of partitioned ones, if given, or
    those `named` for an asset, as `KEY[PARTITIONS]` names them); the scope adds every upstream unit
    they read, unless `only`."""
    keys = keys or {}
    named = named or {}
    for key, text in named.items():
        if not keys.get(key):
            raise SelectionError(f"{key} is not partitioned: select it without [{text}]")
    assets = [k for k in selected if not graph.is_source(k)]
    targets: list[str] = []
    for key in assets:
        if not keys.get(key):
            if graph.nodes[key].partitions is None:  # else a partition set with no keys: nothing to run
                targets.append(key)
            continue
        wanted = named.get(key) or partitions
        chosen = select_partitions(keys[key], wanted) if wanted else keys[key]
        targets.extend(unit_id(key, p) for p in chosen)
    scope = set(targets) if only else _with_upstream(graph, keys, targets)
    forced = frozenset(targets) if force else frozenset()
    to_run: list[str] = []
    fresh: list[str] = []
    check_only: list[str] = []
    reasons: dict[str, tuple[Reason, ...]] = {}
    for unit in (u for u in status if u in scope):  # status is in topological order
        st = status[unit]
        if unit in forced:
            to_run.append(unit)
            reasons[unit] = st.reasons or (Reason(R_FORCED),)
        elif st.fresh:
            fresh.append(unit)
            if any(c.state == CHECK_STALE for c in st.checks):
                check_only.append(unit)
        else:
            to_run.append(unit)
            reasons[unit] = st.reasons
    return Plan(tuple(targets), tuple(to_run), reasons, tuple(fresh), forced, tuple(check_only))


def _with_upstream(graph: AssetGraph, keys: PartitionKeys, targets: list[str]) -> set[str]:
    scope: set[str] = set()
    stack = list(targets)
    while stack:
        unit = stack.pop()
        key, partition = split_unit(unit)
        if unit in scope or graph.is_source(key) or (not partition and graph.nodes[key].partitions is not None):
            continue
        scope.add(unit)
        stack.extend(unit_parents(graph, keys, key, partition))
    return scope
