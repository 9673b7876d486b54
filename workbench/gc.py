"""`wb gc`: delete the artifacts of old versions, never the latest N, the newest, or an aliased one."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from workbench.records import AliasEvent, Materialization


@dataclass(frozen=True, slots=True)
class GcPlan:
    delete: tuple[str, ...]  # artifact uris
    kept: int  # versions kept
    dropped: int  # versions whose artifact goes


def plan_gc(histories: Mapping[str, list[Materialization]], aliases: Iterable[AliasEvent], keep: int) -> GcPlan:
    """Per asset keep the newest `keep` (at least 1) successful versions and every aliased one.

    Artifacts are content-addressed, so a uri still used by a kept version is never deleted.
    """
    pinned = {(a.asset_key, a.data_version) for a in aliases}
    keep_uris: set[str] = set()
    drop: list[Materialization] = []
    kept = 0
    for key, records in histories.items():
        versions: list[Materialization] = []
        seen: set[str | None] = set()
        for m in records:  # newest first; one entry per data version
            if m.ok and m.artifact_uri and m.data_version not in seen:
                seen.add(m.data_version)
                versions.append(m)
        for i, m in enumerate(versions):
            if i < max(keep, 1) or (key, m.data_version) in pinned:
                keep_uris.add(m.artifact_uri or "")
                kept += 1
            else:
                drop.append(m)
    delete = sorted({m.artifact_uri for m in drop if m.artifact_uri and m.artifact_uri not in keep_uris})
    return GcPlan(tuple(delete), kept, len(drop))
