"""`wb gc`: delete the artifacts of old versions; never a unit's current one, its newest N, or an aliased one."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from workbench.core.records import AliasEvent, Materialization

if TYPE_CHECKING:
    from workbench.workspace import Workspace


@dataclass(frozen=True, slots=True)
class GcPlan:
    delete: tuple[str, ...]  # artifact uris
    kept: int  # versions kept
    dropped: int  # versions whose artifact goes


def plan_gc(records: Iterable[Materialization], aliases: Iterable[AliasEvent], keep: int) -> GcPlan:
    """Per unit (an asset, or one partition of it) keep the newest `keep` (at least 1) successful
    versions, the first of which is the unit's current one, and every aliased version.

    Artifacts are content-addressed, so a uri still used by a kept version is never deleted.
    """
    pinned = {(a.asset_key, a.data_version) for a in aliases}
    units: dict[tuple[str, str], list[Materialization]] = {}
    for m in sorted(records, key=lambda m: (m.ended_at, m.id), reverse=True):  # newest first, as the index orders
        if m.ok and m.artifact_uri:
            units.setdefault((m.asset_key, m.partition), []).append(m)
    keep_uris: set[str] = set()
    drop: list[Materialization] = []
    kept = 0
    for (key, _), found in units.items():
        versions: dict[str | None, Materialization] = {}
        for m in found:
            versions.setdefault(m.data_version, m)  # the newest record of each version
        for i, m in enumerate(versions.values()):
            if i < max(keep, 1) or (key, m.data_version) in pinned:
                keep_uris.add(m.artifact_uri or "")
                kept += 1
            else:
                drop.append(m)
    delete = sorted({m.artifact_uri for m in drop if m.artifact_uri and m.artifact_uri not in keep_uris})
    return GcPlan(tuple(delete), kept, len(drop))


def collect(ws: Workspace, keep: int, *, dry_run: bool, on_wait: Callable[[], None]) -> GcPlan:
    """Plan, and unless `dry_run` apply, a collection under the store lock (exclusive when deleting:
    it waits for running materializations, calling `on_wait` once if it has to)."""
    from workbench.run.leases import store_lock

    with store_lock(ws.project.config.home / "locks", exclusive=not dry_run, on_wait=on_wait):
        records = [m for k in ws.graph.order if not ws.graph.is_source(k) for m in ws.metadata.history(k)]
        plan = plan_gc(records, ws.metadata.aliases(), keep)
        if not dry_run:
            for uri in plan.delete:
                ws.artifacts.delete(uri)
    return plan
