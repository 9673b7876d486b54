"""Plan, then apply: a frozen plan says what will run and why; executors only apply it."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from workbench.graph import AssetGraph
from workbench.staleness import R_FORCED, Reason, Status


@dataclass(frozen=True, slots=True)
class Plan:
    targets: tuple[str, ...]  # selected assets
    to_run: tuple[str, ...]  # in topological order
    reasons: Mapping[str, tuple[Reason, ...]]  # why each key in to_run runs
    fresh: tuple[str, ...]  # in scope and already fresh: skipped
    forced: frozenset[str]

    @property
    def empty(self) -> bool:
        return not self.to_run


def make_plan(
    graph: AssetGraph,
    status: Mapping[str, Status],
    selected: Iterable[str],
    *,
    force: bool = False,
    only: bool = False,
) -> Plan:
    """Targets are the selected assets; scope adds their upstream assets unless `only`."""
    targets = [k for k in selected if not graph.is_source(k)]
    scope = set(targets) if only else set(targets) | {k for k in graph.ancestors(targets) if not graph.is_source(k)}
    forced = frozenset(targets) if force else frozenset()
    to_run: list[str] = []
    fresh: list[str] = []
    reasons: dict[str, tuple[Reason, ...]] = {}
    for key in graph.subset_order(scope):
        st = status[key]
        if key in forced:
            to_run.append(key)
            reasons[key] = st.reasons or (Reason(R_FORCED),)
        elif st.fresh:
            fresh.append(key)
        else:
            to_run.append(key)
            reasons[key] = st.reasons
    return Plan(tuple(targets), tuple(to_run), reasons, tuple(fresh), forced)
