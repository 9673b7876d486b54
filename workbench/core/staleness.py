"""Staleness as a pure function of (graph, code versions, latest records, source versions, lost artifacts).

Every asset gets a state (`fresh`, `stale`, `missing`, `failed`) and the reasons behind it.
Staleness is transitive in one pass over the topological order: an asset below a stale,
missing or failed upstream is itself stale (`upstream X stale`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, replace

from workbench.core.checks import CheckSpec
from workbench.core.graph import AssetGraph
from workbench.core.partitions import Partitions, dynamic_names, split_unit, unit_id
from workbench.core.records import CheckRecord, Latest, Materialization
from workbench.core.summary import key_ranges, parent_groups, ranges_text, units_text
from workbench.core.units import PartitionKeys, unit_parents, units_of

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
R_CHECK_FAILED = "upstream failed check"
R_ARTIFACT_MISSING = "artifact missing"
R_LIBRARY = "library changed"
R_NO_PARTITIONS = "no partitions"
R_PARTITIONS = "partitions"  # a partitioned asset's summary of its partitions (detail: `3/5 fresh, 2 stale`)

CHECK_PASSED, CHECK_FAILED, CHECK_STALE = "passed", "failed", "stale"


_VERBS = {R_UPSTREAM_CHANGED: "changed", R_UPSTREAM_STALE: "stale", R_CHECK_FAILED: "failed check"}


@dataclass(frozen=True, slots=True)
class Reason:
    """Why a unit is not fresh. A reason about several partitions of one upstream asset names the
    asset in `upstream`, those partitions in `partitions` (in order) and the number it reads in `of`."""

    kind: str
    upstream: str | None = None
    detail: str = ""
    partitions: tuple[str, ...] = ()
    of: int = 0
    runs: tuple[tuple[str, str], ...] = ()  # `partitions` as runs of consecutive parent partitions

    def __str__(self) -> str:
        if self.partitions:
            check = f" {self.detail}" if self.kind == R_CHECK_FAILED else ""
            return (
                f"upstream {self.upstream}: {len(self.partitions)} of {self.of} partitions {_VERBS[self.kind]}{check}"
                f" ({ranges_text(self.runs)})"
            )
        if self.kind == R_UPSTREAM_CHANGED:
            return f"upstream {self.upstream} changed"
        if self.kind == R_UPSTREAM_STALE:
            return f"upstream {self.upstream} stale"
        if self.kind == R_CHECK_FAILED:
            return f"upstream {self.upstream} failed check {self.detail}"
        if self.kind == R_PARTITIONS:
            return self.detail
        return f"{self.kind} ({self.detail})" if self.detail else self.kind

    def to_json(self) -> dict[str, object]:
        """The reason as structured JSON (`wb status --json` `causes`)."""
        doc: dict[str, object] = {"kind": self.kind}
        if self.upstream is not None:
            doc["upstream"] = self.upstream
        if self.detail:
            doc["detail"] = self.detail
        if self.partitions:
            doc["partitions"] = {"count": len(self.partitions), "of": self.of, "ranges": [list(r) for r in self.runs]}
        return doc


def summarize(reasons: list[Reason], parents: tuple[str, ...]) -> list[Reason]:
    """One reason per (kind, upstream asset) for the upstream reasons about partitions of an asset
    the unit reads several partitions of; other reasons as they are."""
    if not any(r.upstream and r.upstream.endswith("]") for r in reasons):
        return reasons
    groups = parent_groups(parents)
    out: list[Reason] = []
    merged: dict[tuple[str, str, str], list[str]] = {}
    for reason in reasons:
        key, partition = split_unit(reason.upstream or "")
        if not partition or len(groups.get(key, ())) < 2:
            out.append(reason)
            continue
        group = (reason.kind, key, reason.detail)
        if group not in merged:
            merged[group] = []
            out.append(Reason(reason.kind, key, reason.detail))  # a placeholder, filled in below
        merged[group].append(partition)
    return [_merged(r, groups, merged) for r in out]


def _merged(reason: Reason, groups: Mapping[str, list[str]], merged: Mapping[tuple[str, str, str], list[str]]) -> Reason:
    found = merged.get((reason.kind, reason.upstream or "", reason.detail))
    if found is None or reason.upstream is None:
        return reason
    keys = groups[reason.upstream]
    wanted = set(found)
    chosen = tuple(k for k in keys if k in wanted)
    return replace(reason, partitions=chosen, of=len(keys), runs=tuple(key_ranges(keys, chosen)))


@dataclass(frozen=True, slots=True)
class CheckState:
    """One check of one unit: passed or failed on the unit's current version, or stale (to run)."""

    key: str
    blocking: bool
    state: str
    record: CheckRecord | None = None

    @property
    def name(self) -> str:
        return self.key.split(":", 1)[1]


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
    checks: tuple[CheckState, ...] = ()

    def __reduce__(self) -> tuple[type[Status], tuple[object, ...]]:
        """Pickled as its field values (a worker process is sent its inputs' states): 2x faster
        than the dataclass default."""
        return type(self), (self.key, self.state, self.reasons, self.code_version, self.data_version, self.record, self.last, self.partition, self.checks)

    @property
    def unit(self) -> str:
        return unit_id(self.key, self.partition)

    @property
    def fresh(self) -> bool:
        return self.state == FRESH

    @property
    def failed_blocking_check(self) -> str | None:
        """The name of a blocking check that failed on this version, if any."""
        return next((c.name for c in self.checks if c.blocking and c.state == CHECK_FAILED), None)

    @property
    def only_upstream_stale(self) -> bool:
        """True when the asset would be fresh if its stale upstreams rebuilt identical bytes."""
        return bool(self.reasons) and all(r.kind == R_UPSTREAM_STALE for r in self.reasons)


def source_status(key: str, data_version: str | None, path: str, partition: str = "") -> Status:
    if data_version is None:
        return Status(key, MISSING, (Reason(R_SOURCE_MISSING, detail=path),), None, None, partition=partition)
    return Status(key, FRESH, (), None, data_version, partition=partition)


def asset_status(
    key: str,
    parents: tuple[str, ...],
    code_version: str,
    latest: Latest | None,
    upstream: Mapping[str, Status],
    partition: str = "",
    artifact_missing: bool = False,
    libraries: Mapping[str, str] | None = None,
) -> Status:
    """The status of one unit (asset or partition) given the statuses of its parent units.

    `artifact_missing`: the artifact of the latest successful record is gone from the store.
    `libraries`: the installed versions of the distributions the asset's code reaches, when a
    library upgrade should make it stale (`stale_on_library_change`); None otherwise.
    """
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
        if artifact_missing:
            reasons.append(Reason(R_ARTIFACT_MISSING, detail=success.artifact_uri or ""))
        if success.code_version != code_version:
            reasons.append(Reason(R_CODE))
        if libraries is not None:
            reasons += [Reason(R_LIBRARY, detail=change) for change in changed_libraries(success.libraries, libraries)]
        recorded = success.input_versions
        if recorded.keys() != set(parents):
            reasons += _changed_dependencies(recorded, parents)
        for p in parents:
            if p in recorded and upstream[p].data_version is not None and recorded[p] != upstream[p].data_version:
                reasons.append(Reason(R_UPSTREAM_CHANGED, upstream=p))
    for p in parents:
        up = upstream[p]
        if up.state != FRESH:
            reasons.append(Reason(R_UPSTREAM_STALE, upstream=p))
        elif up.checks and (check := up.failed_blocking_check) is not None:
            reasons.append(Reason(R_CHECK_FAILED, upstream=p, detail=check))
    if reasons:
        reasons = summarize(reasons, parents)
    if failed_last:
        state = FAILED
    elif success is None:
        state = MISSING
    else:
        state = STALE if reasons else FRESH
    data_version = success.data_version if success else None
    return Status(key, state, tuple(reasons), code_version, data_version, success, last, partition)


def _changed_dependencies(recorded: Mapping[str, str], parents: tuple[str, ...]) -> list[Reason]:
    """`dependencies changed`: the parents differ from the inputs the record was built from."""
    added = [p for p in parents if p not in recorded]
    removed = sorted(set(recorded) - set(parents))
    parts = [f"added {units_text(added, parents)}"] if added else []
    parts += [f"removed {units_text(removed, sorted(recorded))}"] if removed else []
    return [Reason(R_DEPS, detail="; ".join(parts))]


def changed_libraries(recorded: Mapping[str, str], current: Mapping[str, str]) -> list[str]:
    """`polars 1.30.0 -> 1.31.0` for each distribution recorded at another version than installed.

    A record without library versions (older than schema 4) is never judged on them.
    """
    return [f"{name} {recorded[name]} -> {version}" for name, version in current.items() if recorded.get(name, version) != version]


def compute_status(
    graph: AssetGraph,
    code_versions: Mapping[str, str],
    latest: Mapping[str, Latest],
    sources: Mapping[str, str | None],
    keys: PartitionKeys | None = None,
    latest_checks: Mapping[tuple[str, str], CheckRecord] | None = None,
    lost: AbstractSet[str] = frozenset(),
    libraries: Mapping[str, Mapping[str, str]] | None = None,
) -> dict[str, Status]:
    """Status of every unit by unit id, in topological order (sources included).

    `latest` and the returned mapping are keyed by unit id (see `workbench.core.units`); check
    versions are in `code_versions` under the check's key (`asset:name`); `lost` holds the
    units whose latest successful artifact is gone from the store; `libraries` (opt-in) the
    installed distribution versions by asset key.
    """
    keys = keys or {}
    latest_checks = latest_checks or {}
    partitioned = any(keys.values())  # else every unit is an asset and its parents are the graph's
    out: dict[str, Status] = {}
    for key in graph.order:
        spec = graph.nodes[key]
        if graph.is_source(key):
            for partition in keys.get(key) or ("",):
                unit = unit_id(key, partition)
                out[unit] = source_status(key, sources.get(unit), getattr(spec, "shown", ""), partition)
            continue
        if spec.partitions is not None and not keys.get(key):  # a dynamic set with no key yet: nothing to run
            out[key] = Status(key, MISSING, (no_partitions(spec.partitions),), code_versions[key], None)
            continue
        for partition in keys.get(key) or ("",):
            unit = unit_id(key, partition)
            parents = unit_parents(graph, keys, key, partition) if partitioned else graph.parents[key]
            libs = libraries.get(key) if libraries is not None else None
            st = asset_status(key, parents, code_versions[key], latest.get(unit), out, partition, unit in lost, libs)
            specs = graph.checks.get(key, ())
            out[unit] = replace(st, checks=check_states(specs, st, code_versions, latest_checks)) if specs else st
    return out


def no_partitions(partitions: Partitions) -> Reason:
    names = dynamic_names(partitions)
    hint = f"add one with: wb partitions add {names[0]} KEY" if names else "the partition set is empty"
    return Reason(R_NO_PARTITIONS, detail=hint)


def overall_state(states: Iterable[str]) -> str:
    """An asset's state from its units': fresh, failed, missing (none built yet) or stale."""
    found = list(states)
    if all(state == FRESH for state in found):
        return FRESH
    if FAILED in found:
        return FAILED
    return MISSING if all(state == MISSING for state in found) else STALE


def asset_states(status: Mapping[str, Status], keys: PartitionKeys) -> dict[str, str]:
    """Each node's state by key, from the status of its units (`overall_state`)."""
    return {key: overall_state(status[u].state for u in units_of(keys, key)) for key in keys}


def check_states(
    specs: tuple[CheckSpec, ...],
    status: Status,
    code_versions: Mapping[str, str],
    latest_checks: Mapping[tuple[str, str], CheckRecord],
) -> tuple[CheckState, ...]:
    """Each check's state on the unit's current data version and the check's current code."""
    out = []
    for spec in specs:
        record = latest_checks.get((spec.key, status.partition))
        current = (
            record is not None
            and status.data_version is not None
            and record.asset_data_version == status.data_version
            and record.code_version == code_versions.get(spec.key)
        )
        state = CHECK_STALE if not current or record is None else CHECK_PASSED if record.passed else CHECK_FAILED
        out.append(CheckState(spec.key, spec.blocking, state, record))
    return tuple(out)
