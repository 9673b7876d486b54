"""Applying a plan: topological, parallel, in-process; a failure blocks only its downstream.

Before each asset starts, its staleness is judged again against what this run has produced so
far, so an asset whose upstream rebuilt identical bytes is skipped (early cutoff).
"""

from __future__ import annotations

import time
import uuid
from collections import deque
from collections.abc import Callable, Mapping
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING

from workbench.gitinfo import git_info
from workbench.records import Latest, Materialization, Run, utcnow
from workbench.reporting import BLOCKED, FAILED, FRESH, MATERIALIZED, RETRY, Reporter
from workbench.runner import RunContext, attempt, run_asset
from workbench.staleness import FAILED as STATE_FAILED
from workbench.partitions import split_unit
from workbench.spec import AssetSpec
from workbench.staleness import Status, asset_status
from workbench.units import unit_inputs, unit_parents

if TYPE_CHECKING:
    from workbench.plan import Plan
    from workbench.workspace import Workspace


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

    @property
    def ok(self) -> bool:
        return not self.failed and not self.blocked

    def to_json(self) -> dict[str, object]:
        """Unpartitioned units as keys, partitions as `{"key": ..., "partition": ...}` objects."""
        return {
            "run_id": self.run_id,
            "materialized": [_unit_json(u) for u in self.materialized],
            "skipped": [_unit_json(u) for u in self.skipped],
            "failed": [_unit_json(u) for u in self.failed],
            "blocked": dict(self.blocked),
            "errors": dict(self.errors),
        }


def _unit_json(unit: str) -> str | dict[str, str]:
    key, partition = split_unit(unit)
    return {"key": key, "partition": partition} if partition else key


class _Recorder:
    """JSON records at once (they are the durable truth); index rows in batches.

    One DuckDB write costs ~12 ms, so records are indexed at most `interval` seconds after
    they were written, many at a time, instead of once per asset.
    """

    def __init__(self, ws: Workspace, interval: float = 0.25) -> None:
        self.ws = ws
        self.interval = interval
        self.pending: list[Materialization] = []
        self.since = 0.0

    def write(self, record: Materialization) -> Materialization:
        """Write the JSON record (in the asset's worker thread, so file I/O overlaps)."""
        self.ws.artifacts.write_record(record)
        return record

    def add(self, record: Materialization) -> None:
        """Queue an already written record for the index."""
        if not self.pending:
            self.since = time.monotonic()
        self.pending.append(record)

    def flush(self, *, due_only: bool = False) -> None:
        if self.pending and not (due_only and time.monotonic() - self.since < self.interval):
            self.ws.metadata.add_many(self.pending)
            self.pending = []


def execute(
    ws: Workspace,
    plan: Plan,
    status: Mapping[str, Status],
    reporter: Reporter,
    *,
    jobs: int,
    trigger: str,
    selection: str = "",
) -> Result:
    """Run `plan`; each key's outcome is materialized, fresh (cut off), failed or blocked."""
    run = Run(run_id=uuid.uuid4().hex, trigger=trigger, selection=selection, started_at=utcnow())
    if plan.empty:
        return Result(run.run_id, skipped=plan.fresh)
    ws.metadata.record_run(run)
    ctx = RunContext(run.run_id, trigger, git_info(ws.root), ws.root, checkpoints=ws.project.config.home / "checkpoints")
    apply = _Apply(ws, plan, status, reporter, ctx)
    try:
        apply.run(max(1, jobs))
    finally:
        apply.recorder.flush()
        reporter.closed()
        result = apply.result()
        ws.metadata.record_run(
            replace(
                run,
                ended_at=utcnow(),
                status="success" if result.ok and len(apply.outcome) == len(plan.to_run) else "failed",
                materialized=len(result.materialized),
                failed=len(result.failed),
                skipped=len(result.skipped),
            )
        )
    return result


class _Apply:
    """The mutable state of one run, kept in the scheduling thread."""

    def __init__(self, ws: Workspace, plan: Plan, status: Mapping[str, Status], reporter: Reporter, ctx: RunContext):
        self.ws, self.plan, self.reporter, self.ctx = ws, plan, reporter, ctx
        self.graph = ws.graph
        self.states = dict(status)
        self.recorder = _Recorder(ws)
        self.outcome: dict[str, str] = {}
        self.records: dict[str, Materialization] = {}
        self.errors: dict[str, str] = {}
        self.blocked: dict[str, str] = {}
        in_plan = set(plan.to_run)
        self.parents = {u: unit_parents(self.graph, ws.partition_keys, *split_unit(u)) for u in plan.to_run}
        self.children: dict[str, list[str]] = {u: [] for u in plan.to_run}
        for unit, parents in self.parents.items():
            for parent in parents:
                if parent in in_plan:
                    self.children[parent].append(unit)
        self.waiting = {u: sum(p in in_plan for p in ps) for u, ps in self.parents.items()}
        self.ready = deque(u for u in plan.to_run if self.waiting[u] == 0)

    def run(self, jobs: int) -> None:
        running: dict[Future[Materialization], tuple[str, float]] = {}
        self.reporter.planned(self.plan)
        pool = ThreadPoolExecutor(max_workers=jobs, thread_name_prefix="wb-asset")
        try:
            while self.ready or running:
                while self.ready:
                    unit = self.ready.popleft()
                    job = self._job(unit)
                    if job is not None:
                        self.reporter.started(unit)
                        running[pool.submit(job)] = (unit, time.perf_counter())
                if not running:
                    continue
                done, _ = wait(running, timeout=self.recorder.interval, return_when=FIRST_COMPLETED)
                for future in done:
                    unit, t0 = running.pop(future)
                    self._finished(unit, future.result(), time.perf_counter() - t0)
                self.recorder.flush(due_only=True)
        finally:  # on Ctrl-C: queued assets never start; running ones finish and are recorded
            pool.shutdown(wait=True, cancel_futures=True)
            for future, (unit, t0) in running.items():
                if not future.cancelled() and future.exception() is None:
                    self._finished(unit, future.result(), time.perf_counter() - t0)

    def _job(self, unit: str) -> Callable[[], Materialization] | None:
        """The work for `unit`, or None when it is blocked or (judged again now) fresh."""
        key, partition = split_unit(unit)
        parents = self.parents[unit]
        bad = next((p for p in parents if self.outcome.get(p) in (FAILED, BLOCKED)), None)
        if bad is not None:
            self.blocked[unit] = self.blocked.get(bad, bad)
            self._settle(unit, BLOCKED, 0.0, f"upstream {bad} failed")
            return None
        before = self.states[unit]
        now = asset_status(key, parents, before.code_version or "", _latest(before), self.states, partition)
        if now.fresh and unit not in self.plan.forced:
            self.states[unit] = now
            self._settle(unit, FRESH, 0.0, "upstream produced identical data")
            return None
        spec = self.graph.nodes[key]
        assert isinstance(spec, AssetSpec)
        upstream = {p: self.states[p] for p in parents}
        inputs = unit_inputs(self.graph, self.ws.partition_keys, key, partition)
        nodes, artifacts, version = self.graph.nodes, self.ws.artifacts, now.code_version or ""
        ctx = replace(self.ctx, partition=partition)

        def once() -> Materialization:
            return run_asset(spec, inputs, upstream, nodes, version, artifacts, ctx)

        return lambda: self.recorder.write(attempt(spec, once, self._on_retry))

    def _on_retry(self, key: str, n: int, error: str) -> None:
        self.reporter.finished(key, RETRY, 0.0, f"attempt {n + 1}: {error.splitlines()[0] if error else ''}")

    def _finished(self, unit: str, record: Materialization, seconds: float) -> None:
        self.recorder.add(record)
        self.records[unit] = record
        if record.ok:
            self.states[unit] = Status(
                record.asset_key, "fresh", (), record.code_version, record.data_version, record, record, record.partition
            )
            self._settle(unit, MATERIALIZED, seconds)
        else:
            self.errors[unit] = record.error or "failed"
            self.states[unit] = replace(self.states[unit], state=STATE_FAILED, last=record)
            self._settle(unit, FAILED, seconds, self.errors[unit])

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
        )


def _latest(status: Status) -> Latest:
    return Latest(status.record, status.last)
