"""Applying a plan: topological, parallel, in-process; a failure blocks only its downstream.

Before each asset starts, its staleness is judged again against what this run has produced so
far, so an asset whose upstream rebuilt identical bytes is skipped (early cutoff).
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Mapping
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING

from workbench.gitinfo import git_info
from workbench.records import Latest, Materialization, Run, utcnow
from workbench.reporting import BLOCKED, FAILED, FRESH, MATERIALIZED, RETRY, Reporter
from workbench.runner import RunContext, attempt, run_asset
from workbench.staleness import FAILED as STATE_FAILED
from workbench.staleness import Status, asset_status

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
        return {
            "run_id": self.run_id,
            "materialized": list(self.materialized),
            "skipped": list(self.skipped),
            "failed": list(self.failed),
            "blocked": dict(self.blocked),
            "errors": dict(self.errors),
        }


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
    run = Run(run_id=uuid.uuid4().hex, trigger=trigger, selection=selection, started_at=utcnow())
    if plan.empty:
        return Result(run.run_id, skipped=plan.fresh)
    ws.metadata.record_run(run)
    ctx = RunContext(run.run_id, trigger, git_info(ws.root), ws.root)
    states = dict(status)
    outcome: dict[str, str] = {}
    records: dict[str, Materialization] = {}
    errors: dict[str, str] = {}
    blocked: dict[str, str] = {}
    pending = list(plan.to_run)
    graph = ws.graph
    in_plan = set(plan.to_run)
    running: dict[Future[Materialization], tuple[str, float]] = {}
    reporter.planned(plan)

    def ready(key: str) -> bool:
        return all(p in outcome for p in graph.parents[key] if p in in_plan)

    def on_retry(key: str, n: int, error: str) -> None:
        reporter.finished(key, RETRY, 0.0, f"attempt {n + 1}: {error.splitlines()[0] if error else ''}")

    pool = ThreadPoolExecutor(max_workers=max(1, jobs), thread_name_prefix="wb-asset")
    try:
        while pending or running:
            for key in [k for k in pending if ready(k)]:
                pending.remove(key)
                bad = next((p for p in graph.parents[key] if outcome.get(p) in (FAILED, BLOCKED)), None)
                if bad is not None:
                    outcome[key] = BLOCKED
                    blocked[key] = blocked.get(bad, bad)
                    reporter.finished(key, BLOCKED, 0.0, f"upstream {bad} failed")
                    continue
                spec = graph.nodes[key]
                now = asset_status(key, graph.parents[key], states[key].code_version or "", _latest(states[key]), states)
                if now.fresh and key not in plan.forced:
                    outcome[key] = FRESH
                    states[key] = now
                    reporter.finished(key, FRESH, 0.0, "upstream produced identical data")
                    continue
                upstream = {p: states[p] for p in graph.parents[key]}
                code_version = now.code_version or ""

                def job(spec=spec, upstream=upstream, code_version=code_version, key=key) -> Materialization:
                    return attempt(
                        spec,
                        lambda: run_asset(spec, graph.inputs[key], upstream, graph.nodes, code_version, ws.artifacts, ctx),
                        on_retry,
                    )

                reporter.started(key)
                running[pool.submit(job)] = (key, time.perf_counter())
            if not running:
                continue
            done, _ = wait(running, return_when=FIRST_COMPLETED)
            for future in done:
                key, t0 = running.pop(future)
                record = future.result()
                ws.save_record(record)
                records[key] = record
                if record.ok:
                    outcome[key] = MATERIALIZED
                    states[key] = Status(key, "fresh", (), record.code_version, record.data_version, record, record)
                    reporter.finished(key, MATERIALIZED, time.perf_counter() - t0)
                else:
                    outcome[key] = FAILED
                    errors[key] = record.error or "failed"
                    states[key] = replace(states[key], state=STATE_FAILED, last=record)
                    reporter.finished(key, FAILED, time.perf_counter() - t0, errors[key])
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
        reporter.closed()
        result = Result(
            run_id=run.run_id,
            materialized=tuple(k for k in plan.to_run if outcome.get(k) == MATERIALIZED),
            skipped=plan.fresh + tuple(k for k in plan.to_run if outcome.get(k) in (FRESH, BLOCKED)),
            failed=tuple(k for k in plan.to_run if outcome.get(k) == FAILED),
            blocked=blocked,
            errors=errors,
            records=records,
        )
        ws.metadata.record_run(
            replace(
                run,
                ended_at=utcnow(),
                status="success" if result.ok and len(outcome) == len(plan.to_run) else "failed",
                materialized=len(result.materialized),
                failed=len(result.failed),
                skipped=len(result.skipped),
            )
        )
    return result


def _latest(status: Status) -> Latest:
    return Latest(status.record, status.last)
