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
import os
import shutil
import sys
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any

from workbench.core.graph import suggest
from workbench.core.hashing import file_digest
from workbench.core.partitions import split_unit, unit_id
from workbench.core.records import FAILED, CheckRecord, Materialization, utcnow
from workbench.core.spec import AssetSpec, SourceSpec
from workbench.core.staleness import FRESH, MISSING, R_MISSING, Reason, Status, source_status
from workbench.core.units import InputRef, unit_inputs, unit_parents
from workbench.errors import SelectionError, StoreError, WorkbenchError
from workbench.kube import codepackage
from workbench.run import capture
from workbench.run.runner import RunContext, attempt, restore, run_asset, run_checks, versions_read
from workbench.storage.artifacts import ArtifactStore, RecordProblem
from workbench.versioning.gitinfo import git_info
from workbench.versioning.sources import observe_unit

if TYPE_CHECKING:
    from workbench.core.plan import Plan
    from workbench.workspace import Workspace

TRIGGER = "push"
CHECKPOINTS = "checkpoints"  # in the shared store: what failed remote attempts saved, by asset
_LOCAL_SCHEMES = ("file", "local", "memory")
_MEMO = "remote.json"
STAMP = "%Y%m%dT%H%M%S%f"  # how record files are named: <UTC time>-<id>.json
SYNC_MARGIN = timedelta(minutes=10)


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
    url = url or str(_remembered(ws).get("store") or "") or _remote_or_none(ws.project.config.artifacts_url)
    if not url:
        raise WorkbenchError(
            "no shared store: pass --store URL (s3://bucket/path, gs://..., or a path every node mounts) "
            "or set WORKBENCH_STORE"
        )
    return url if "://" in url else str(Path(url).expanduser().resolve())


def _remote_or_none(url: str) -> str | None:
    return url if "://" in url and url.split("://", 1)[0] not in _LOCAL_SCHEMES else None


def _remembered(ws: Workspace) -> dict[str, Any]:
    try:
        doc = json.loads((ws.project.config.home / _MEMO).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return doc if isinstance(doc, dict) else {}


def remember_store(ws: Workspace, url: str) -> None:
    """Let a later `wb sync` without --store import from the store this push used."""
    _remember(ws, store=url)


def _remember(ws: Workspace, **values: object) -> None:
    path = ws.project.config.home / _MEMO
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({**_remembered(ws), **values}), encoding="utf-8")


def _stamp(when: datetime) -> str:
    """The time part of a record's file name (see `ArtifactStore._write_once`)."""
    return (when.astimezone(timezone.utc) if when.tzinfo else when).strftime(STAMP)


def _since(mark: str) -> str:
    """The file-name stamp `SYNC_MARGIN` before `mark`: records written late (a pod that ended just
    before the last sync and wrote just after it) are read again; the index ignores what it has."""
    try:
        when = datetime.strptime(mark, STAMP)
    except ValueError:
        return ""
    return (when - SYNC_MARGIN).strftime(STAMP)


def latest_successes(store: ArtifactStore, key: str) -> dict[str, Materialization]:
    """The newest successful record of each partition of `key` ("" when unpartitioned) in `store`."""
    out: dict[str, Materialization] = {}
    for r in store.iter_records(key):
        if not isinstance(r, Materialization) or not r.ok or r.asset_key != key:
            continue  # unreadable, failed, or a record of a key this one prefixes
        if r.partition not in out or r.ended_at > out[r.partition].ended_at:
            out[r.partition] = r
    return out


def workspace_from_package(store_url: str, sha: str) -> Workspace:
    """The project of code package `sha`, fetched from the store into `$WORKBENCH_HOME/code`, and opened."""
    from workbench.workspace import Workspace

    home = Path(os.environ.get("WORKBENCH_HOME") or Path.home() / ".cache" / "workbench")
    return Workspace.open(codepackage.fetch(ArtifactStore(store_url), sha, home / "code"))  # no index in a pod


def source_parents(ws: Workspace, unit: str) -> list[SourceSpec]:
    """The sources a unit reads directly (their files go into the code package)."""
    nodes = ws.graph.nodes
    parents = (nodes[split_unit(p)[0]] for p in unit_parents(ws.graph, ws.partition_keys, *split_unit(unit)))
    return [p for p in parents if isinstance(p, SourceSpec)]


def environment(ws: Workspace, keys: Iterable[str]) -> dict[str, str]:
    """Python, workbench and the library versions that the code of assets `keys` reaches."""
    out: dict[str, str] = {}
    for key in sorted(keys):
        out.update(ws.libraries_of(key))
    try:
        out["workbench"] = version("workbench")
    except PackageNotFoundError:
        pass
    return dict(sorted(out.items()))


def environment_mismatch(laptop: Mapping[str, str], image: Mapping[str, str]) -> str:
    """'' if the image has every version the laptop has; else which differ, e.g. `polars 1.31.0 here, 1.30.0 in the image`."""
    differ = [
        f"{name} {want} on the laptop, {image.get(name) or 'not installed'} in the image"
        for name, want in sorted(laptop.items())
        if image.get(name) != want
    ]
    return "; ".join(differ)


def record_failure(ws: Workspace, store_url: str, run_id: str, unit: str, error: str) -> Materialization:
    """Write the record of a unit that failed without writing one (its pod never started, or was killed)."""
    key, partition = split_unit(unit)
    git = codepackage.git_of(ws.root)
    now = utcnow()
    record = Materialization(
        id=uuid.uuid4().hex,
        asset_key=key,
        status=FAILED,
        code_version=ws.code_versions[key],
        run_id=run_id,
        trigger=TRIGGER,
        started_at=now,
        ended_at=now,
        partition=partition,
        error=error,
        git_commit=git.commit if git else None,
        git_dirty=git.dirty if git else None,
        libraries=ws.libraries_of(key),
    )
    ArtifactStore(store_url).write_record(record)
    return record


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
            for unit in ref.units:
                partition = split_unit(unit)[1]
                out[unit] = source_status(ref.key, observe_unit(node, ws.root, partition).data_version, node.path, partition)
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
    checked: bool = False  # only the checks ran, on the stored `record`

    @property
    def ok(self) -> bool:
        """False when the asset or a blocking check failed: then its downstream must not run."""
        return self.record.ok and not any(c.blocking and not c.passed for c in self.checks)


def run_remote(
    ws: Workspace, key: str, store_url: str, run_id: str | None = None, partition: str = "", reuse: bool = True
) -> RemoteRun:
    """Materialize `key` (one partition) against the shared store, run its checks, write their records there.

    The pod's entry point: the asset's output is captured into its record and, as it happens,
    also written to the pod's log. As locally, a stored version made by the same code from the
    same inputs is restored instead of computed (`reuse`), so an asset whose upstream rebuilt
    identical bytes costs a pod start, not a run (early cutoff).
    """
    spec = check_unit(ws, key, partition)
    capture.echo(True)
    store = ArtifactStore(store_url)
    inputs = unit_inputs(ws.graph, ws.partition_keys, key, partition)
    upstream = _upstream(ws, inputs, store)
    git = codepackage.git_of(ws.root) or git_info(ws.root, ws.project.config.home)  # the laptop's, from a package
    checkpoints = ws.project.config.home / CHECKPOINTS
    restore_checkpoints(store, key, checkpoints)
    ctx = RunContext(run_id or uuid.uuid4().hex, TRIGGER, git, ws.root, partition, checkpoints)
    versions, nodes, installed = ws.code_versions, ws.graph.nodes, ws.libraries_of(key)
    read = versions_read(inputs, upstream)
    previous = reusable(store, key, partition, versions[key], read) if reuse else None

    def once() -> Materialization:
        if previous is not None:
            return restore(previous, versions[key], read, ctx, installed)
        return run_asset(spec, inputs, upstream, nodes, versions[key], store, ctx, installed)

    record = attempt(spec, once, _retrying)
    keep_checkpoints(store, key, checkpoints, record.ok)
    store.write_record(record)
    checks = run_checks(ws.graph.checks.get(key, ()), record, store, versions, ctx.run_id) if record.ok else []
    for result in checks:
        store.write_check_record(result)
    return RemoteRun(record, tuple(checks))


def check_remote(ws: Workspace, key: str, store_url: str, run_id: str | None = None, partition: str = "") -> RemoteRun:
    """Run the checks of `key` (one partition) on its latest stored version, made by the current code.

    What a pushed plan's check-only units run: `wb push` uploaded the version the laptop judged fresh.
    """
    check_unit(ws, key, partition)
    store = ArtifactStore(store_url)
    record = latest_successes(store, key).get(partition)
    if record is None or record.code_version != ws.code_versions[key]:
        raise StoreError(f"no stored version of {unit_id(key, partition)} made by its current code to check")
    checks = run_checks(ws.graph.checks.get(key, ()), record, store, ws.code_versions, run_id or uuid.uuid4().hex)
    for result in checks:
        store.write_check_record(result)
    return RemoteRun(record, tuple(checks), checked=True)


def reusable(
    store: ArtifactStore, key: str, partition: str, code_version: str, read: Mapping[str, str]
) -> Materialization | None:
    """The newest stored version of the unit made by `code_version` from exactly the inputs `read`, artifact present."""
    found = [
        r
        for r in store.iter_records(key)
        if isinstance(r, Materialization)
        and r.ok
        and (r.asset_key, r.partition, r.code_version) == (key, partition, code_version)
        and dict(r.input_versions) == dict(read)
        and r.artifact_uri
    ]
    for record in sorted(found, key=lambda r: r.ended_at, reverse=True):
        try:
            if store.exists(record.artifact_uri or ""):
                return record
        except WorkbenchError:  # a uri that leaves the store: never reused
            continue
    return None


def restore_checkpoints(store: ArtifactStore, key: str, local: Path) -> int:
    """Copy the checkpoints that failed remote attempts of `key` left in the store to `local/<key>`."""
    prefix = f"{CHECKPOINTS}/{key}"
    if not store.is_local:
        store.fs.invalidate_cache()
    try:
        found = [store.fs.unstrip_protocol(p) for p in store.fs.find(f"{store.root}/{prefix}")]
    except FileNotFoundError:
        return 0
    base = store.full_url(prefix)
    for url in found:
        relative = url[len(base) + 1 :]
        target = local / key / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(store.read_bytes(f"{prefix}/{relative}"))
    return len(found)


def keep_checkpoints(store: ArtifactStore, key: str, local: Path, ok: bool) -> None:
    """After an asset ran: a success clears its checkpoints from the store, a failure saves them there."""
    prefix = f"{CHECKPOINTS}/{key}"
    if ok:
        if store.exists(prefix):
            store.fs.rm(f"{store.root}/{prefix}", recursive=True)
        return
    folder = local / key
    for path in sorted(folder.rglob("*")) if folder.is_dir() else ():
        if path.is_file():
            store.write_bytes(f"{prefix}/{path.relative_to(folder).as_posix()}", path.read_bytes())


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
    if run.checked:
        print(f"checked {unit} {(record.data_version or '')[:12]}", file=sys.stderr)
    elif record.ok and record.reused_from:
        print(f"reused version {(record.data_version or '')[:12]} of {unit} (same code, same inputs)", file=sys.stderr)
    elif record.ok:
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
    """Import the records of the shared store written since the last sync (artifact first) and the check results.

    Record files are named by their UTC end time: each sync remembers the newest name it read and
    the next one reads from a margin before it, so a sync costs a listing plus the new records.
    """
    shared = ArtifactStore(store_url)
    metadata = ws.metadata
    remembered = _remembered(ws).get("synced")
    marks: dict[str, str] = remembered if isinstance(remembered, dict) else {}
    mark = str(marks.get(store_url) or "")
    records, checks, problems = [], [], []
    now = utcnow()
    for item in shared.iter_run_records(since=_since(mark)):
        if isinstance(item, RecordProblem):
            problems.append(f"unreadable record {item.uri}: {item.message} (skipped)")
            continue
        refused = _refusal(item, now)
        if refused:
            problems.append(f"record {item.id} of {item.asset_key}: {refused} (refused)")
            continue
        mark = max(mark, _stamp(item.ended_at))
        if isinstance(item, Materialization):
            records.append(item)
        else:
            checks.append(item)
    report = copy_records(records, shared, ws.artifacts)
    report.problems[:0] = problems
    for result in checks:
        ws.artifacts.write_check_record(result)
    report.indexed = metadata.add_many(report.records)
    report.checks = metadata.add_check_results(checks)
    _remember(ws, synced={**marks, store_url: mark})
    return report


CLOCK_SKEW = timedelta(minutes=5)  # how far in the future a synced record's times may be


def _refusal(item: Materialization | CheckRecord, now: datetime) -> str:
    """Why a record from a shared store is not imported ('' when it may be).

    A record dated in the future would stay "latest" for ever; one whose artifact is not named by
    its own data version could pass another asset's object (or a forged one) off as its own.
    """
    if item.ended_at > now + CLOCK_SKEW or item.started_at > item.ended_at + CLOCK_SKEW:
        return f"its times ({item.started_at.isoformat()} to {item.ended_at.isoformat()}) lie in the future"
    if isinstance(item, Materialization) and item.ok:
        if not item.artifact_uri or not item.data_version:
            return "a successful record without an artifact"
        name = PurePosixPath(item.artifact_uri).name.split(".", 1)[0]
        if name != item.data_version or not item.artifact_uri.startswith(f"objects/{item.data_version[:2]}/"):
            return f"its artifact {item.artifact_uri} is not named by its data version {item.data_version}"
    return ""


def upload_inputs(ws: Workspace, plan: Plan, status: Mapping[str, Status], store_url: str) -> SyncReport:
    """Put the latest records of the fresh units the plan reads or checks (but does not run) into the shared store."""
    graph, running = ws.graph, set(plan.to_run)
    parents = {p for u in plan.to_run for p in unit_parents(graph, ws.partition_keys, *split_unit(u))}
    parents.update(plan.check_only)  # their checks run on their stored version
    needed = sorted(p for p in parents - running if not graph.is_source(split_unit(p)[0]))
    records = [r for p in needed if (r := status[p].record) is not None]
    report = copy_records(records, ws.artifacts, ArtifactStore(store_url))
    if report.problems:
        raise StoreError(f"cannot upload the inputs of the run: {report.problems[0]}")
    return report
