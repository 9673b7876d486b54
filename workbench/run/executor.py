"""Applying a plan: topological, parallel; a failure blocks only its downstream.

Jobs run on worker threads (`workbench.run.workers`). A job that ends settles its unit and starts
the units it made ready, in its own thread under the run's lock; the thread that called
`execute` only waits: it retries units another process holds, says who runs long jobs, indexes
records and sees Ctrl+C. In a run of many units, each worker thread hands its assets to a forked
worker process of its own when forking is safe (`workbench.run.processes`), so that assets run on
every core; everything else (leases, records, the index) stays in this process.

Before each asset starts, its staleness is judged again against what this run has produced so
far, so an asset whose upstream rebuilt identical bytes is skipped (early cutoff). Each unit runs
under a lease (`workbench.run.leases`): a unit another process is materializing waits for it, then is
judged again on the record that process noted, so it is not built twice.

Ctrl+C (or SIGTERM) during a run (`workbench.run.interrupts`): the first press starts nothing new and
lets the running assets finish, recorded and indexed; a second press stops them: their outputs
are discarded, and every record already written is indexed before `KeyboardInterrupt` is raised.
"""

from __future__ import annotations

import os
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, NamedTuple, Protocol, cast

from workbench.core.partitions import split_unit, unit_id
from workbench.core.records import CheckRecord, Latest, Materialization, Run, utcnow
from workbench.core.spec import AssetSpec
from workbench.core.staleness import (
    CHECK_FAILED,
    CHECK_PASSED,
    CHECK_STALE,
    R_ARTIFACT_MISSING,
    CheckState,
    Status,
    asset_status,
    changed_libraries,
)  # fmt: skip
from workbench.core.staleness import FAILED as STATE_FAILED
from workbench.core.units import InputRef, unit_inputs, unit_parents
from workbench.errors import WorkbenchError
from workbench.run import detached, interrupts
from workbench.run.budget import CpuBudget
from workbench.run.handoff import Handoff
from workbench.run.leases import Lease, Leases, RunJournal, store_lock
from workbench.run.processes import MANY, Child, ChildDied, fork_children, unsafe_to_fork
from workbench.run.reporting import BLOCKED, CHECKED, FAILED, FRESH, MATERIALIZED, RETRY, Reporter
from workbench.run.runner import RunContext, attempt, restore, run_asset, run_checks, unfinished, versions_read
from workbench.run.workers import Workers
from workbench.versioning.gitinfo import GitInfo, git_info, uncommitted_patch

if TYPE_CHECKING:
    from pathlib import Path

    from workbench.core.graph import AssetGraph
    from workbench.core.plan import Plan
    from workbench.project import Project
    from workbench.storage.artifacts import ArtifactStore
    from workbench.storage.base import MetadataStore


class RunTarget(Protocol):
    """What the executor needs of a workspace: the graph, its code versions, the stores."""

    project: Project

    @property
    def root(self) -> Path: ...
    @property
    def graph(self) -> AssetGraph: ...
    @property
    def partition_keys(self) -> Mapping[str, tuple[str, ...]]: ...
    @property
    def code_versions(self) -> Mapping[str, str]: ...
    @property
    def metadata(self) -> MetadataStore: ...
    @property
    def artifacts(self) -> ArtifactStore: ...
    def libraries_of(self, key: str) -> dict[str, str]: ...


@dataclass(frozen=True, slots=True)
class Result:
    """What a run did: keys materialized, skipped (fresh, cut off, or blocked) and failed."""

    run_id: str
    materialized: tuple[str, ...] = ()
    skipped: tuple[str, ...] = ()
    failed: tuple[str, ...] = ()
    blocked: Mapping[str, str] = field(default_factory=dict)  # key -> the failed upstream
    errors: Mapping[str, str] = field(default_factory=dict)
    records: Mapping[str, Materialization] = field(default_factory=dict)
    checks: tuple[CheckRecord, ...] = ()

    @property
    def failed_blocking_checks(self) -> tuple[str, ...]:
        return tuple(f"{unit_id(c.asset_key, c.partition)}:{c.name}" for c in self.checks if c.blocking and not c.passed)

    @property
    def ok(self) -> bool:
        return not self.failed and not self.blocked and not self.failed_blocking_checks

    def to_json(self) -> dict[str, object]:
        """Unpartitioned units as keys, partitions as `{"key": ..., "partition": ...}` objects."""
        return {
            "run_id": self.run_id,
            "materialized": [_unit_json(u) for u in self.materialized],
            "skipped": [_unit_json(u) for u in self.skipped],
            "failed": [_unit_json(u) for u in self.failed],
            "blocked": dict(self.blocked),
            "errors": dict(self.errors),
            "checks": [
                {**_unit_json_obj(c.asset_key, c.partition), "check": c.name, "passed": c.passed, "blocking": c.blocking}
                for c in self.checks
            ],
        }


def _unit_json(unit: str) -> str | dict[str, str]:
    key, partition = split_unit(unit)
    return {"key": key, "partition": partition} if partition else key


def _unit_json_obj(key: str, partition: str) -> dict[str, str]:
    return {"key": key, "partition": partition} if partition else {"key": key}


@dataclass(frozen=True, slots=True)
class Done:
    """What one job produced: a materialization (None for a check-only job) and check results."""

    record: Materialization | None
    checks: tuple[CheckRecord, ...] = ()
    written: tuple[str, ...] = ()  # uris of the files written for it, the record's (or the run log) first


class _Asset(NamedTuple):
    """What a worker process needs to run one unit (the project it has: it was forked with it)."""

    key: str
    inputs: Mapping[str, InputRef]
    upstream: Mapping[str, Status]
    code_version: str
    partition: str
    libraries: Mapping[str, str]


COST_SHARE = 0.05  # of a run's time, spent writing the index at most (once it takes longer than the interval allows)
_INDEX_WAIT = 10.0  # seconds a record waits for the index at most (a write that waited for another process's lock)


class _Recorder:
    """Records written at once (they are the durable truth); index rows in batches.

    On a local store a run appends its records to its log (`storage/run_log.py`), else it writes a
    file per record. One DuckDB write opens, writes and checkpoints the file (~12-40 ms whatever
    its size), so records are indexed many at a time, instead of once per asset: `interval` seconds
    after the oldest was written (a second: ~4x fewer writes than a quarter, still live for another
    process's `wb status`), or later when writing the index took long, so that it takes at most a
    twentieth of the run (`COST_SHARE`: a big store's index, written while many jobs run). The run's
    journal names the log, or the record files written and not indexed yet, for the next command to
    index should this run be killed.
    """

    def __init__(self, ws: RunTarget, journal: RunJournal, run: Run, interval: float = 1.0) -> None:
        self.ws = ws
        self.journal = journal
        self.interval = interval
        self.log = ws.artifacts.open_log(run.run_id, run.started_at)
        self.logged = False  # the journal names the log
        self.pending: list[Materialization] = []
        self.pending_checks: list[CheckRecord] = []
        self.pending_uris: list[str] = []
        self.since = 0.0
        self.took = 0.0  # seconds the last index write took
        self._lock = threading.Lock()  # jobs queue records while the scheduling thread indexes them

    def write(self, done: Done) -> Done:
        """Write the records (in the asset's worker thread, so file I/O overlaps).

        The journal names them first: a kill in between leaves a line that `recover` drops (no
        file, or nothing in the log), never a record that no journal names.
        """
        if self.log is not None:
            with self._lock:  # before any job appends
                if not self.logged:
                    self.journal.wrote([self.log.uri])
                    self.logged = True
            self.log.append(done.record, done.checks)
            return Done(done.record, done.checks, (self.log.uri,))
        artifacts = self.ws.artifacts
        uris = [artifacts.record_uri(done.record)] if done.record is not None else []
        uris += [artifacts.check_record_uri(check) for check in done.checks]
        self.journal.wrote(uris)
        if done.record is not None:
            artifacts.write_record(done.record)
        for check in done.checks:
            artifacts.write_check_record(check)
        return Done(done.record, done.checks, tuple(uris))

    def add(self, done: Done) -> None:
        """Queue already written records for the index (in the thread of the job that wrote them)."""
        with self._lock:
            if not self.pending and not self.pending_checks:
                self.since = time.monotonic()
            if done.record is not None:
                self.pending.append(done.record)
            self.pending_checks.extend(done.checks)
            if self.log is None:  # a log stays in the journal until the run ends (`close`)
                self.pending_uris.extend(done.written)

    def flush(self, *, due_only: bool = False) -> None:
        """Index what is queued (`due_only`: once the oldest has waited `interval`). Jobs go on
        queueing while the index is written: what it writes is taken out first, and put back when
        the write fails, for the next flush."""
        with self._lock:
            if due_only and time.monotonic() - self.since < min(max(self.interval, self.took / COST_SHARE), _INDEX_WAIT):
                return
            records, checks, uris = self.pending, self.pending_checks, self.pending_uris
            self.pending, self.pending_checks, self.pending_uris = [], [], []
        start = time.monotonic()
        try:
            if records:
                self.ws.metadata.add_many(records)
                records = []
            if checks:
                self.ws.metadata.add_check_results(checks)
                checks = []
            if uris:
                self.journal.indexed(uris)
                uris = []
        finally:
            self.took = time.monotonic() - start
            if records or checks or uris:
                with self._lock:
                    self.pending[:0], self.pending_checks[:0], self.pending_uris[:0] = records, checks, uris

    def close(self) -> None:
        """Sync the log to disk and let go of the journal: removed when every record is indexed,
        else kept for the next command's `recover`."""
        try:
            if self.log is not None:
                self.log.close()
                with self._lock:
                    indexed = self.logged and not self.pending and not self.pending_checks
                if indexed:
                    self.journal.indexed([self.log.uri])
        finally:
            self.journal.close()


def execute(
    ws: RunTarget,
    plan: Plan,
    status: Mapping[str, Status],
    reporter: Reporter,
    *,
    jobs: int,
    trigger: str,
    selection: str = "",
    reuse: bool = True,
) -> Result:
    """Run `plan`; each key's outcome is materialized, fresh (cut off), failed or blocked.

    `reuse`: a unit whose code version and exact input versions match a stored version is
    restored from it (a new record pointing at the same artifact) instead of running.
    """
    run = Run(run_id=uuid.uuid4().hex, trigger=trigger, selection=selection, started_at=utcnow())
    if plan.empty:
        return Result(run.run_id, skipped=plan.fresh)
    ws.metadata.record_run(run)
    home = ws.project.config.home
    checkpoints = home / "checkpoints"  # an attempt's checkpoints outlive a failed run: look for them only where they can be
    ctx = RunContext(run.run_id, trigger, _git_state(ws), ws.root, checkpoints=checkpoints, resumable=checkpoints.is_dir(), handoff=Handoff())
    Leases(home / "locks").forget_if_alone()
    with store_lock(home / "locks", exclusive=False), interrupts.counted() as presses:  # gc waits for the run
        apply = _Apply(ws, plan, status, reporter, ctx, reuse, presses, run)
        try:
            apply.run(max(1, jobs))
        finally:
            try:
                apply.recorder.flush()
            finally:
                apply.recorder.close()  # the journal is kept for the next command if the index lacks records
                apply.leases.close()
            reporter.closed()
            result = apply.result()
            ok = result.ok and len(apply.outcome) == len(apply.units)
            ws.metadata.record_run(
                replace(
                    run,
                    ended_at=utcnow(),
                    status="interrupted" if presses.count else "success" if ok else "failed",
                    materialized=len(result.materialized),
                    failed=len(result.failed),
                    skipped=len(result.skipped),
                )
            )
    return result


def _git_state(ws: RunTarget) -> GitInfo:
    """The project's commit and dirty flag; a dirty tree's uncommitted changes go to the artifact
    store as a patch (by content hash, so an unchanged tree stores nothing new)."""
    home = ws.project.config.home
    git = git_info(ws.root, home)
    patch = uncommitted_patch(ws.root, home) if git.dirty else None
    if patch is None:
        return git
    local = ws.artifacts.scratch_path(".patch")
    local.write_bytes(patch)
    uri, _, _ = ws.artifacts.put_file(local, "patch")
    return replace(git, patch=uri)


class _Apply:
    """The mutable state of one run, changed under `lock` by the jobs that end and the scheduling thread."""

    def __init__(
        self, ws: RunTarget, plan: Plan, status: Mapping[str, Status], reporter: Reporter, ctx: RunContext, reuse: bool,
        presses: interrupts.Presses, run: Run,
    ) -> None:  # fmt: skip
        self.ws, self.plan, self.reporter, self.ctx, self.presses = ws, plan, reporter, ctx, presses
        self.graph = ws.graph
        self.states = dict(status)
        self.recorder = _Recorder(ws, RunJournal(ws.project.config.home / "journal", ctx.run_id), run)
        self.outcome: dict[str, str] = {}
        self.records: dict[str, Materialization] = {}
        self.checks: list[CheckRecord] = []
        self.errors: dict[str, str] = {}
        self.blocked: dict[str, str] = {}
        self.units = (*plan.to_run, *plan.check_only)
        in_plan = set(self.units)
        self.parents = {u: unit_parents(self.graph, ws.partition_keys, *split_unit(u)) for u in self.units}
        self.children: dict[str, list[str]] = {u: [] for u in self.units}
        for unit, parents in self.parents.items():
            for parent in parents:
                if parent in in_plan:
                    self.children[parent].append(unit)
        self.waiting = {u: sum(p in in_plan for p in ps) for u, ps in self.parents.items()}
        self.ready = deque(u for u in self.units if self.waiting[u] == 0)
        self.leases = Leases(ws.project.config.home / "locks")
        self.held: dict[str, Lease] = {}
        self.busy: list[str] = []  # ready units whose lease another process holds
        self.reuse = reuse
        self.reused: dict[str, Materialization] = {}  # unit -> the stored version it restored
        self._stored: dict[str, list[Materialization]] | None = None
        self.publishing = threading.Lock()  # a job writes its records, or the run stops it: never both
        self.stopped = False  # a second Ctrl+C: running jobs write nothing more
        self.published: set[str] = set()  # units whose records are written
        self.threads: dict[str, threading.Thread] = {}  # the worker running each unit
        self.pool: Workers  # made by `run`
        self.lock = threading.Lock()  # the state above; a job settles itself under it in its worker thread
        self.running: dict[str, float] = {}  # unit -> when its job was submitted
        self.changed = threading.Event()  # nothing runs any more, or a job failed: the scheduling thread looks
        self.failure: BaseException | None = None  # what a job raised, for the scheduling thread to raise
        self.closing = False  # the pool shuts down: nothing more starts
        self.shown = 0.0  # when progress lines were last written
        self.started: deque[tuple[float, str]] = deque()  # (when, unit) of the jobs submitted, not yet announced
        self.cpus = CpuBudget(ws.project.config.cpus or os.cpu_count() or 1)
        self.checks_only = frozenset(plan.check_only)
        self.procs: list[Child] = []  # the worker processes, one per worker thread (none: assets run in the threads)
        self._unclaimed: list[Child] = []  # those no worker thread has taken yet
        self._mine = threading.local()  # a worker thread's process

    def run(self, jobs: int) -> None:
        """Start the ready units. Each job, as it ends, settles itself and starts what that made ready,
        in its own worker thread (`_ended`): no hand-off to this thread and back per asset. This
        thread waits: it retries units another process holds, says who runs the long jobs, indexes
        what is due and sees Ctrl+C."""
        self.reporter.planned(self.plan)
        self._fork(jobs)
        self.pool = Workers(jobs, "wb-asset")
        try:
            with self.lock:
                self._dispatch()
            while not self.presses.count:
                self.changed.clear()
                with self.lock:
                    self._raise_failure()
                    if not (self.ready or self.running or self.busy):
                        break
                    if self.busy:
                        self.ready.extend(self.busy)
                        self.busy.clear()
                        self._dispatch()
                    self._announce()
                    self.reporter.flush()
                self.recorder.flush(due_only=True)
                self.changed.wait(_LEASE_POLL if self.busy else _WAKE)
            if self.presses.count:
                self._interrupted()
        finally:  # on an error: queued assets never start; running ones finish and are recorded
            with self.lock:
                self.closing = True
            self.pool.shutdown(wait=not self.stopped)
            for child in self.procs:
                child.stop()
            with self.lock:
                for unit, lease in self.held.items():  # those of cancelled jobs; the others are released already
                    if unit not in self.threads:  # a stopped job releases its own when it ends
                        lease.release()
                self.reporter.flush()

    def _fork(self, jobs: int) -> None:
        """Fork a worker process per worker thread, for a run of many units when forking is safe
        (the store's connection closed first: DuckDB's threads end with it)."""
        if jobs < 2 or len(self.plan.to_run) < MANY or not self.ws.project.config.processes:
            return
        self.ws.metadata.release()
        if unsafe_to_fork():
            return
        if self.ctx.handoff is not None:  # each process keeps the tables it made: a share of the budget each
            self.ctx.handoff.budget //= jobs
        try:
            self.procs = fork_children(jobs, self._in_child, _portable)
        except OSError:  # no memory or processes left to fork: the threads run the assets
            return
        self._unclaimed = list(self.procs)

    def _in_child(self, message: object) -> Materialization:
        """Run one asset (in a worker process) as `_job`'s `once` would in this one."""
        unit = cast(_Asset, message)
        spec = self.graph.nodes[unit.key]
        assert isinstance(spec, AssetSpec)
        ctx = self.ctx if unit.partition == self.ctx.partition else replace(self.ctx, partition=unit.partition)
        return run_asset(spec, unit.inputs, unit.upstream, self.graph.nodes, unit.code_version, self.ws.artifacts, ctx, unit.libraries)

    def _child(self) -> Child | None:
        """This worker thread's worker process; once it died, another live one (taking turns with
        its thread); None when the run has none left (the thread runs the asset itself)."""
        child: Child | None = getattr(self._mine, "child", None)
        if child is None and self._unclaimed:
            child = self._mine.child = self._unclaimed.pop()  # one per thread: as many as threads
        if child is not None and child.alive:
            return child
        return next((c for c in self.procs if c.alive), None)

    def _dispatch(self) -> None:
        """Lease and start the ready units whose CPUs fit (under `lock`); a unit judged fresh again
        settles at once, and the units it makes ready are started in the same call."""
        if self.presses.count or self.closing:
            return
        later: deque[str] = deque()  # units whose declared CPUs do not fit in the budget now
        while self.ready:  # units a fresh one settles come back here
            leased: list[tuple[str, Lease]] = []
            while self.ready:
                unit = self.ready.popleft()
                need = self._cpus(unit)
                if not self.cpus.fits(need):
                    later.append(unit)
                    continue
                lease = self._lease(unit)
                if lease is not None:
                    self.cpus.take(unit, need)
                    leased.append((unit, lease))
            if leased:  # one look at the holders' notes, after every lease of this pass was taken
                self.leases.follow()
            for unit, lease in leased:
                job = self._job(unit, lease)
                if job is None:
                    self.cpus.release(unit)
                    continue
                self.reporter.started(unit)
                now = time.perf_counter()
                self.running[unit] = now  # before the job can end: it settles under `lock`, held here
                self.pool.submit(job)
                self.started.append((now, unit))
        self.ready = later

    def _ended(self, unit: str, done: Done) -> None:
        """A job ended (in its worker thread): settle it and start what that made ready."""
        with self.lock:
            try:
                t0 = self.running.pop(unit, None)
                if t0 is None or (self.stopped and unit not in self.published):  # stopped: its output is discarded
                    return
                self._finished(unit, done, time.perf_counter() - t0)
                self._dispatch()
                if time.perf_counter() - self.shown >= _SHOW:
                    self.reporter.flush()
                    self.shown = time.perf_counter()
            except BaseException as exc:  # for the scheduling thread to raise
                self.failure = self.failure or exc
            finally:
                if self.failure is not None or not self.running:
                    self.changed.set()

    def _failed(self, unit: str, error: BaseException) -> None:
        """A job raised (not the asset: the workbench, writing its records): the run stops with it."""
        with self.lock:
            self.running.pop(unit, None)
            self.failure = self.failure or error
            self.changed.set()

    def _raise_failure(self) -> None:
        if self.failure is not None:
            raise self.failure

    def _interrupted(self) -> None:
        """Ctrl+C: let the running jobs finish (recorded and indexed); a second press stops them."""
        with self.lock:
            self.reporter.flush()
            running = len(self.running)
        if running:
            interrupts.say(f"finishing {running} running asset(s); Ctrl+C again to stop them")
        while self.presses.count < 2:
            self.changed.clear()
            with self.lock:
                self._raise_failure()
                if not self.running:
                    break
                self.reporter.flush()
            self.recorder.flush(due_only=True)
            self.changed.wait(_STOP_POLL)
        with self.lock:
            if self.running:
                self._stop()
        raise KeyboardInterrupt

    def _announce(self) -> None:
        """Say in the lease notes who runs the jobs started `_ANNOUNCE` seconds ago or more that have
        not ended (for `wb tui` in other processes, which looks about once a second): a short job
        writes no such note."""
        now = time.perf_counter()
        while self.started and now - self.started[0][0] >= _ANNOUNCE:
            _, unit = self.started.popleft()
            if unit not in self.outcome and unit in self.held:
                self.held[unit].hold(self.ctx.trigger, self.ctx.run_id)

    def _stop(self) -> None:
        """Stop the running jobs (under `lock`): they write no record from now on and their scratch
        files go. A job that wrote its records just before is waited for, so that they are indexed
        with the rest."""
        with self.publishing:
            self.stopped = True
        deadline = time.perf_counter() + _STOP_POLL * 10
        while any(u in self.published for u in self.running) and time.perf_counter() < deadline:
            self.lock.release()  # it only notes its lease now, then settles under `lock`
            try:
                time.sleep(_STOP_POLL / 10)
            finally:
                self.lock.acquire()
        stopped = list(self.running)
        self.running.clear()
        for child in self.procs:  # their threads get `ChildDied`, and end
            child.kill()
        detached.detach(self.threads[u] for u in stopped if u in self.threads)  # they cannot be joined
        self.ws.artifacts.discard_scratch()
        self.reporter.flush()
        interrupts.say(f"stopped {len(stopped)} running asset(s): {', '.join(stopped)}; their partial outputs are discarded")

    def _publish(self, unit: str, done: Done) -> Done:
        """Write the JSON records of a finished job (in its worker thread), unless the run stopped it."""
        with self.publishing:
            if self.stopped:
                return Done(None)
            self.published.add(unit)
            return self.recorder.write(done)

    def _lease(self, unit: str) -> Lease | None:
        """The lease on `unit`, or None when it is blocked (settled so) or another process holds it."""
        bad = next((p for p in self.parents[unit] if self._blocking(p)), None)
        if bad is not None:
            self.blocked[unit] = self.blocked.get(bad, bad)
            self._settle(unit, BLOCKED, 0.0, self._blocking(bad))
            return None
        lease = self.leases.acquire(unit)
        if lease is None:  # another process is materializing it: judge again when it is done
            self.busy.append(unit)
            return None
        self.held[unit] = lease
        return lease

    def _job(self, unit: str, lease: Lease) -> Callable[[], None] | None:
        """The work for leased `unit`, or None when it is (judged again now) fresh. The holders'
        notes were read after the lease was taken (`Leases.follow`)."""
        key, partition = split_unit(unit)
        parents = self.parents[unit]
        before = self.states[unit]
        spec = self.graph.nodes[key]
        assert isinstance(spec, AssetSpec)
        checks = self.graph.checks.get(key, ())
        versions, artifacts, run_id = self.ws.code_versions, self.ws.artifacts, self.ctx.run_id
        theirs = self._noted(before, lease)
        latest = _latest(before) if theirs is None else Latest(theirs if theirs.ok else before.record, theirs)
        lost = theirs is None and any(r.kind == R_ARTIFACT_MISSING for r in before.reasons)
        libraries = self.ws.libraries_of(key) if self.ws.project.config.stale_on_library_change else None
        now = asset_status(key, parents, before.code_version or "", latest, self.states, partition, lost, libraries)
        if now.fresh and unit not in self.plan.forced:
            self.states[unit] = replace(now, checks=before.checks)
            stale = tuple(c for c in checks if any(s.key == c.key and s.state == CHECK_STALE for s in before.checks))
            if theirs is not None:  # the check states were judged on an older version
                stale = checks
            if not stale:
                lease.release()
                why = "upstream produced identical data" if theirs is None else "materialized by another process"
                self._settle(unit, FRESH, 0.0, why)
                return None
            record = now.record
            assert record is not None
            return self._leased(
                lease, lambda: self._publish(unit, Done(None, tuple(run_checks(stale, record, artifacts, versions, run_id))))
            )
        upstream = {p: self.states[p] for p in parents}
        inputs = unit_inputs(self.graph, self.ws.partition_keys, key, partition)
        nodes, version = self.graph.nodes, now.code_version or ""
        ctx = self.ctx if partition == self.ctx.partition else replace(self.ctx, partition=partition)
        read = versions_read(inputs, upstream)
        previous = self._reusable(unit, version, read) if self.reuse and unit not in self.plan.forced else None
        installed = self.ws.libraries_of(key)

        def once() -> Materialization:
            if previous is not None:
                return restore(previous, version, read, ctx, installed)
            child = self._child()
            if child is not None:
                try:
                    read_from = {u: _sent(s) for u, s in upstream.items()}
                    return cast(Materialization, child.call(_Asset(key, inputs, read_from, version, partition, installed)))
                except ChildDied as exc:  # the next attempt, and the thread's next assets, go to another
                    return unfinished(spec, inputs, upstream, version, ctx, installed, f"{exc} while it ran this asset")
            return run_asset(spec, inputs, upstream, nodes, version, artifacts, ctx, installed)

        def job() -> Done:
            record = attempt(spec, once, self._on_retry, again=lambda: not self.stopped)  # a stopped job is not retried
            results = run_checks(checks, record, artifacts, versions, run_id) if record.ok else []
            return self._publish(unit, Done(record, tuple(results)))

        return self._leased(lease, job)

    def _reusable(self, unit: str, code_version: str, read: Mapping[str, str]) -> Materialization | None:
        """A stored version made by this code from exactly these inputs, whose artifact is still there."""
        key, _ = split_unit(unit)
        libraries = self.ws.libraries_of(key) if self.ws.project.config.stale_on_library_change else None
        for record in self._candidates().get(unit, ()):
            if record.code_version != code_version or dict(record.input_versions) != dict(read) or not record.artifact_uri:
                continue
            if libraries is not None and changed_libraries(record.libraries, libraries):
                continue
            try:
                present = self.ws.artifacts.exists(record.artifact_uri)
            except WorkbenchError:  # a uri that leaves the store: never reused
                continue
            if present:
                self.reused[unit] = record
                return record
        return None

    def _candidates(self) -> dict[str, list[Materialization]]:
        """Stored versions by unit for the code versions this run needs: one query, on first use."""
        if self._stored is None:
            self._stored = {}
            codes = {split_unit(u)[0]: self.ws.code_versions[split_unit(u)[0]] for u in self.plan.to_run}
            for record in self.ws.metadata.with_code(codes):
                self._stored.setdefault(unit_id(record.asset_key, record.partition), []).append(record)
        return self._stored

    def _leased(self, lease: Lease, work: Callable[[], Done]) -> Callable[[], None]:
        """`work` that notes its record in the lease, releases it when done (or failed), then
        settles its unit; what it raises (the workbench failing, not the asset) ends the run."""

        def job() -> None:
            self.threads[lease.unit] = threading.current_thread()
            try:
                done = work()
                if done.record is not None:
                    lease.note(done.record.id, done.written[0])
            except BaseException as exc:
                lease.release()
                self._failed(lease.unit, exc)
                return
            lease.release()
            self._ended(lease.unit, done)

        return job

    def _noted(self, before: Status, lease: Lease) -> Materialization | None:
        """The record the lease's previous holder noted, when it is newer than what `before` knows."""
        noted = lease.noted(follow=False)
        known = [m for m in (before.last, before.record) if m is not None]
        if noted is None or any(m.id == noted[0] for m in known):
            return None
        try:
            theirs = self.ws.artifacts.read_record(noted[1], noted[0])
        except (WorkbenchError, ValueError, TypeError):  # unreadable: judge on what the index said
            return None
        newer = all(theirs.ended_at > m.ended_at for m in known)
        return theirs if newer and theirs.id == noted[0] else None

    def _blocking(self, unit: str) -> str:
        """Why `unit` blocks its children ('' when it does not): it failed, or a blocking check did."""
        if self.outcome.get(unit) in (FAILED, BLOCKED):
            return f"upstream {unit} failed"
        check = self.states[unit].failed_blocking_check if unit in self.states else None
        return f"upstream {unit} failed check {check}" if check else ""

    def _on_retry(self, key: str, n: int, error: str) -> None:
        with self.lock:
            self.reporter.finished(key, RETRY, 0.0, f"attempt {n + 1}: {error.splitlines()[0] if error else ''}")

    def _cpus(self, unit: str) -> float:
        """The CPUs `unit` declares (`Resources(cpu=...)`); 0 for none, or when it only runs checks."""
        spec = self.graph.nodes[split_unit(unit)[0]]
        cpu = spec.resources.cpu if isinstance(spec, AssetSpec) else None
        return cpu if cpu and unit not in self.checks_only else 0.0

    def _finished(self, unit: str, done: Done, seconds: float) -> None:
        self.cpus.release(unit)
        self.recorder.add(done)
        record = done.record
        if record is not None:
            self.records[unit] = record
        if record is not None and not record.ok:
            self.errors[unit] = record.error or "failed"
            self.states[unit] = replace(self.states[unit], state=STATE_FAILED, last=record)
            self._settle(unit, FAILED, seconds, self.errors[unit])
            return
        previous = self.states[unit]
        ran = {c.check_key: c for c in done.checks}
        states = tuple(
            CheckState(c.key, c.blocking, CHECK_PASSED if ran[c.key].passed else CHECK_FAILED, ran[c.key]) if c.key in ran else c
            for c in previous.checks
        )
        if record is None:
            self.states[unit] = replace(previous, checks=states)
        else:
            self.states[unit] = Status(record.asset_key, "fresh", (), record.code_version, record.data_version, record, record, record.partition, states)
        self.checks.extend(done.checks)
        for c in done.checks:
            verdict = "passed" if c.passed else "FAILED" + (" (blocking)" if c.blocking else "")
            self.reporter.finished(unit, CHECKED, 0.0, f"{c.name} {verdict}" + (f": {c.error}" if c.error else ""))
        old = self.reused.get(unit)
        detail = f"reused version {old.data_version and old.data_version[:12]} from {old.ended_at:%Y-%m-%d %H:%M:%S}" if old and record else ""
        self._settle(unit, MATERIALIZED if record is not None else FRESH, seconds, detail)

    def _settle(self, unit: str, outcome: str, seconds: float, detail: str = "") -> None:
        self.outcome[unit] = outcome
        self.reporter.finished(unit, outcome, seconds, detail)
        for child in self.children[unit]:
            self.waiting[child] -= 1
            if self.waiting[child] == 0:
                self.ready.append(child)

    def result(self) -> Result:
        keys, outcome = self.plan.to_run, self.outcome
        return Result(
            run_id=self.ctx.run_id,
            materialized=tuple(k for k in keys if outcome.get(k) == MATERIALIZED),
            skipped=self.plan.fresh + tuple(k for k in keys if outcome.get(k) in (FRESH, BLOCKED)),
            failed=tuple(k for k in keys if outcome.get(k) == FAILED),
            blocked=self.blocked,
            errors=self.errors,
            records=self.records,
            checks=tuple(self.checks),
        )


_LEASE_POLL = 0.05  # seconds between tries for a unit another process holds
_WAKE = 0.25  # seconds the scheduler waits for a job at most: it then indexes what is due and sees Ctrl+C
_ANNOUNCE = 0.2  # seconds a job runs before its lease says who runs it
_STOP_POLL = 0.1  # seconds between looks at the presses while running assets finish
_SHOW = 0.1  # seconds between writes of progress lines by the jobs that settle themselves


def _portable(record: object) -> object:
    """A record as its file holds it (a value pickle refuses, e.g. a lock in its metadata, written
    as its `str`): what a worker process sends back when the record itself cannot be pickled."""
    assert isinstance(record, Materialization)
    return Materialization.from_json(record.to_json())


def _sent(status: Status) -> Status:
    """What a worker process needs of an input's state: its versions and record (no reasons, checks
    or failed attempt: less to pickle)."""
    return Status(status.key, status.state, (), status.code_version, status.data_version, status.record, None, status.partition)


def _latest(status: Status) -> Latest:
    return Latest(status.record, status.last)
