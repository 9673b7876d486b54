"""Staleness as a pure function of (graph, code versions, latest records, source versions).

Every asset gets a state (`fresh`, `stale`, `missing`, `failed`) and the reasons behind it.
Staleness is transitive in one pass over the topological order: an asset below a stale,
missing or failed upstream is itself stale (`upstream X stale`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from workbench.graph import AssetGraph
from workbench.partitions import unit_id
from workbench.records import Latest, Materialization
from workbench.units import PartitionKeys, unit_parents

FRESH, STALE, MISSING, FAILED = "fresh", "stale", "missing", "failed"

# Reason kinds
R_MISSING = "missing"
R_FAILED = "failed"
R_CODE = "code changed"
R_DEPS = "dependencies changed"
R_UPSTREAM_CHANGED = "upstream changed"
R_UPSTREAM_STALE = "upstream stale"
R_SOURCE_MISSING = "source missing"
R_FORCED = "forced"


@dataclass(frozen=True, slots=True)
class Reason:
    kind: str
    upstream: str | None = None
    detail: str = ""

    def __str__(self) -> str:
        if self.kind == R_UPSTREAM_CHANGED:
            return f"upstream {self.upstream} changed"
        if self.kind == R_UPSTREAM_STALE:
            return f"upstream {self.upstream} stale"
        return f"{self.kind} ({self.detail})" if self.detail else self.kind


@dataclass(frozen=True, slots=True)
class Status:
    """The state of one node, its reasons, and the versions it was judged on."""

    key: str
    state: str
    reasons: tuple[Reason, ...]
    code_version: str | None
    data_version: str | None
    record: Materialization | None = None  # latest successful record
    last: Materialization | None = None  # latest record of any status
    partition: str = ""

    @property
    def unit(self) -> str:
        return unit_id(self.key, self.partition)

    @property
    def fresh(self) -> bool:
        return self.state == FRESH

    @property
    def only_upstream_stale(self) -> bool:
        """True when the asset would be fresh if its stale upstreams rebuilt identical bytes."""
        return bool(self.reasons) and all(r.kind == R_UPSTREAM_STALE for r in self.reasons)


def source_status(key: str, data_version: str | None, path: str) -> Status:
    if data_version is None:
        return Status(key, MISSING, (Reason(R_SOURCE_MISSING, detail=path),), None, None)
    return Status(key, FRESH, (), None, data_version)


def asset_status(
    key: str,
    parents: tuple[str, ...],
    code_version: str,
    latest: Latest | None,
    upstream: Mapping[str, Status],
    partition: str = "",
) -> Status:
    """The status of one unit (asset or partition) given the statuses of its parent units."""
    success = latest.success if latest else None
    last = latest.last if latest else None
    failed_last = last is not None and not last.ok and (success is None or last.ended_at >= success.ended_at)
    reasons: list[Reason] = []
    if failed_last:
        reasons.append(Reason(R_FAILED, detail=(last.error or "").splitlines()[0][:200] if last and last.error else ""))
    if success is None:
        if not failed_last:
            reasons.append(Reason(R_MISSING))
    else:
        if success.code_version != code_version:
            reasons.append(Reason(R_CODE))
        recorded = success.input_versions
        added = [p for p in parents if p not in recorded]
        removed = sorted(set(recorded) - set(parents))
        if added or removed:
            parts = ([f"added {', '.join(added)}"] if added else []) + ([f"removed {', '.join(removed)}"] if removed else [])
            reasons.append(Reason(R_DEPS, detail="; ".join(parts)))
        for p in parents:
            if p in recorded and upstream[p].data_version is not None and recorded[p] != upstream[p].data_version:
                reasons.append(Reason(R_UPSTREAM_CHANGED, upstream=p))
    for p in parents:
        if not upstream[p].fresh:
            reasons.append(Reason(R_UPSTREAM_STALE, upstream=p))
    if failed_last:
        state = FAILED
    elif success is None:
        state = MISSING
    else:
        state = STALE if reasons else FRESH
    return Status(
        key=key,
        state=state,
        reasons=tuple(reasons),
        code_version=code_version,
        data_version=success.data_version if success else None,
        record=success,
        last=last,
        partition=partition,
    )


def compute_status(
    graph: AssetGraph,
    code_versions: Mapping[str, str],
    latest: Mapping[str, Latest],
    sources: Mapping[str, str | None],
    keys: PartitionKeys | None = None,
) -> dict[str, Status]:
    """Status of every unit by unit id, in topological order (sources included).

    `latest` and the returned mapping are keyed by unit id (see `workbench.units`).
    """
    keys = keys or {}
    out: dict[str, Status] = {}
    for key in graph.order:
        spec = graph.nodes[key]
        if graph.is_source(key):
            out[key] = source_status(key, sources.get(key), getattr(spec, "path", ""))
            continue
        for partition in keys.get(key) or ("",):
            unit = unit_id(key, partition)
            parents = unit_parents(graph, keys, key, partition)
            out[unit] = asset_status(key, parents, code_versions[key], latest.get(unit), out, partition)
    return out
