"""Runs on other machines through a shared artifact store: the pod entry point and `wb sync`.

A remote run has no DuckDB. `run_remote` finds each input's latest successful record among the
JSON records of the shared store, runs the asset and its checks with the same runner as a local
run and writes the artifact, its record (trigger `push`) and the check results there. `sync`
copies those records, their content-addressed artifacts and the check results into the local
store and indexes them; `upload_inputs` is the same copy the other way, for the fresh inputs a
pushed plan reads. Nothing here knows Kubernetes.
"""

from __future__ import annotations

import json
import shutil
import sys
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING

from workbench import capture
from workbench.errors import SelectionError, StoreError, WorkbenchError
from workbench.gitinfo import git_info
from workbench.graph import suggest
from workbench.hashing import file_digest
from workbench.partitions import split_unit, unit_id
from workbench.records import CheckRecord, Materialization
from workbench.runner import RunContext, attempt, run_asset, run_checks
from workbench.sources import observe
from workbench.spec import AssetSpec, SourceSpec
from workbench.staleness import FRESH, MISSING, R_MISSING, Reason, Status, source_status
from workbench.storage.artifacts import ArtifactStore, RecordProblem
from workbench.units import InputRef, unit_inputs, unit_parents

if TYPE_CHECKING:
    from workbench.plan import Plan
    from workbench.workspace import Workspace

TRIGGER = "push"
_LOCAL_SCHEMES = ("file", "local", "memory")
_MEMO = "remote.json"


@dataclass
class SyncReport:
    """What a copy between stores did."""

    indexed: int = 0  # records new to the local index
    checks: int = 0  # check results new to the local index
    artifacts: int = 0  # objects copied
    records: list[Materialization] = field(default_factory=list)  # records present in the destination
    problems: list[str] = field(default_factory=list)


def shared_store_url(ws: Workspace, url: str | None) -> str:
    """The store pods share: `url`, else the one the last push used, else the project's own if remote.

    A plain path is made absolute: it must be a path every node mounts (e.g. an NFS volume).
    """
    url = url or _remembered(ws).get("store") or _remote_or_none(ws.project.config.artifacts_url)
    if not url:
        raise WorkbenchError(
            "no shared store: pass --store URL (s3://bucket/path, gs://..., or a path every node mounts) "
            "or set WORKBENCH_STORE"
        )
    return url if "://" in url else str(Path(url).expanduser().resolve())


def _remote_or_none(url: str) -> str | None:
    return url if "://" in url and url.split("://", 1)[0] not in _LOCAL_SCHEMES else None


def _remembered(ws: Workspace) -> dict[str, str]:
    try:
        doc = json.loads((ws.project.config.home / _MEMO).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return doc if isinstance(doc, dict) else {}


def remember_store(ws: Workspace, url: str) -> None:
    """Let a later `wb sync` without --store import from the store this push used."""
    path = ws.project.config.home / _MEMO
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"store": url}), encoding="utf-8")


def latest_successes(store: ArtifactStore, key: str) -> dict[str, Materialization]:
    """The newest successful record of each partition of `key` ("" when unpartitioned) in `store`."""
    out: dict[str, Materialization] = {}
    for r in store.iter_records(key):
        if not isinstance(r, Materialization) or not r.ok or r.asset_key != key:
            continue  # unreadable, failed, or a record of a key this one prefixes
        if r.partition not in out or r.ended_at > out[r.partition].ended_at:
            out[r.partition] = r
    return out


def check_unit(ws: Workspace, key: str, partition: str) -> AssetSpec:
    """The spec of asset `key`, if `partition` is one of its partitions (or "" when unpartitioned)."""
    spec = ws.graph.nodes.get(key)
    if not isinstance(spec, AssetSpec):
        what = "a source, not an asset" if spec is not None else "unknown" + suggest(key, ws.graph.nodes)
        raise SelectionError(f"cannot run {key!r}: {what}")
    keys = ws.partition_keys.get(key, ())
    if keys and partition not in keys:
        raise SelectionError(f"cannot run {unit_id(key, partition)!r}: {key!r} has no partition {partition!r}")
    if partition and not keys:
        raise SelectionError(f"cannot run {unit_id(key, partition)!r}: {key!r} is not partitioned")
    return spec


def _upstream(ws: Workspace, inputs: Mapping[str, InputRef], store: ArtifactStore) -> dict[str, Status]:
    """The status of each parent unit as the shared store sees it; sources from the image's files."""
    out: dict[str, Status] = {}
    for ref in inputs.values():
        node = ws.graph.nodes[ref.key]
        if isinstance(node, SourceSpec):
            out[ref.key] = source_status(ref.key, observe(node, ws.root, None).data_version, node.path)
            continue
        found = latest_successes(store, ref.key)
        for unit in ref.units:
            partition = split_unit(unit)[1]
            record = found.get(partition)
            if record is None:
                out[unit] = Status(ref.key, MISSING, (Reason(R_MISSING),), None, None, partition=partition)
            else:
                out[unit] = Status(
                    ref.key, FRESH, (), record.code_version, record.data_version, record, record, partition
                )
    return out


@dataclass(frozen=True, slots=True)
class RemoteRun:
    """What `wb run-asset` did: the materialization and the results of the asset's checks."""

    record: Materialization
    checks: tuple[CheckRecord, ...] = ()

    @property
    def ok(self) -> bool:
        """False when the asset or a blocking check failed: then its downstream must not run."""
        return self.record.ok and not any(c.blocking and not c.passed for c in self.checks)


def run_remote(ws: Workspace, key: str, store_url: str, run_id: str | None = None, partition: str = "") -> RemoteRun:
    """Materialize `key` (one partition) against the shared store, run its checks, write their records there.

    The pod's entry point: the asset's output is captured into its record and, as it happens,
    also written to the pod's log.
    """
    spec = check_unit(ws, key, partition)
    capture.echo(True)
    store = ArtifactStore(store_url)
    inputs = unit_inputs(ws.graph, ws.partition_keys, key, partition)
    upstream = _upstream(ws, inputs, store)
    ctx = RunContext(run_id or uuid.uuid4().hex, TRIGGER, git_info(ws.root, ws.project.config.home), ws.root, partition)
    versions, nodes = ws.code_versions, ws.graph.nodes

    def once() -> Materialization:
        return run_asset(spec, inputs, upstream, nodes, versions[key], store, ctx, ws.libraries_of(key))

    record = attempt(spec, once, _retrying)
    store.write_record(record)
    checks = run_checks(ws.graph.checks.get(key, ()), record, store, versions, ctx.run_id) if record.ok else []
    for result in checks:
        store.write_check_record(result)
    return RemoteRun(record, tuple(checks))


def _retrying(key: str, n: int, error: str) -> None:
    print(f"retry {key} (attempt {n + 1}): {error.splitlines()[0] if error else ''}", file=sys.stderr, flush=True)


def print_outcome(run: RemoteRun) -> None:
    """What a pod's log ends with: the traceback if the asset failed, its checks, one summary line."""
    record = run.record
    if record.traceback and not record.ok:
        print(record.traceback.rstrip(), file=sys.stderr)
    for result in run.checks:
        verdict = "passed" if result.passed else "FAILED" + (" (blocking)" if result.blocking else "")
        print(f"check {result.check_key}: {verdict}{f': {result.error}' if result.error else ''}", file=sys.stderr)
    unit, seconds = unit_id(record.asset_key, record.partition), (record.ended_at - record.started_at).total_seconds()
    if record.ok:
        rows = f", {record.rows} rows" if record.rows is not None else ""
        what = f"{(record.data_version or '')[:12]} ({record.size} bytes{rows})"
        print(f"materialized {unit} {what} in {seconds:.2f}s", file=sys.stderr)
    else:
        print(f"error: asset {unit} failed: {record.error}", file=sys.stderr)


def copy_records(records: Iterable[Materialization], source: ArtifactStore, dest: ArtifactStore) -> SyncReport:
    """Copy each record's artifact (unless `dest` has it), then the record: never a record without its artifact."""
    report = SyncReport()
    for record in records:
        if record.ok and record.artifact_uri and not dest.exists(record.artifact_uri):
            try:
                _copy_object(source, dest, record)
            except StoreError as exc:
                report.problems.append(
                    f"{record.asset_key}@{(record.data_version or '')[:12]}: {exc} (record not copied)"
                )
                continue
            report.artifacts += 1
        dest.write_record(record)
        report.records.append(record)
    return report


def _copy_object(source: ArtifactStore, dest: ArtifactStore, record: Materialization) -> None:
    """Copy a record's artifact, checking that its bytes still hash to the record's data version."""
    uri = record.artifact_uri or ""
    suffix = PurePosixPath(uri).suffix
    scratch = dest.scratch_path(suffix)
    try:
        local = source.local_path(uri)
        if file_digest(local) != record.data_version:
            raise StoreError(f"artifact {uri} in {source.url} does not match its data version")
        shutil.copyfile(local, scratch)
        dest.put_file(scratch, suffix)
    except OSError as exc:
        raise StoreError(f"cannot copy {uri} from {source.url}: {exc}") from exc
    finally:
        scratch.unlink(missing_ok=True)


def sync(ws: Workspace, store_url: str) -> SyncReport:
    """Import every record of the shared store (its artifact first) and every check result."""
    shared = ArtifactStore(store_url)
    metadata = ws.metadata  # opened first: a lost local index is caught up before anything is imported
    records, checks, problems = [], [], []
    for item in (*shared.iter_records(), *shared.iter_check_records()):
        if isinstance(item, RecordProblem):
            problems.append(f"unreadable record {item.uri}: {item.message} (skipped)")
        elif isinstance(item, Materialization):
            records.append(item)
        else:
            checks.append(item)
    report = copy_records(records, shared, ws.artifacts)
    report.problems[:0] = problems
    for result in checks:
        ws.artifacts.write_check_record(result)
    report.indexed = metadata.add_many(report.records)
    report.checks = metadata.add_check_results(checks)
    return report


def upload_inputs(ws: Workspace, plan: Plan, status: Mapping[str, Status], store_url: str) -> SyncReport:
    """Put the latest records of the fresh units the plan reads (but does not run) into the shared store."""
    graph, running = ws.graph, set(plan.to_run)
    parents = {p for u in plan.to_run for p in unit_parents(graph, ws.partition_keys, *split_unit(u))}
    needed = sorted(p for p in parents - running if not graph.is_source(split_unit(p)[0]))
    records = [r for p in needed if (r := status[p].record) is not None]
    report = copy_records(records, ws.artifacts, ArtifactStore(store_url))
    if report.problems:
        raise StoreError(f"cannot upload the inputs of the run: {report.problems[0]}")
    return report
