"""The automation half of `wb watch`: schedule ticks, freshness deadlines and observed sources.

Between passes the watcher asks `Automator.due()` (every quarter second) whether the clock has
reached the next time something may come due: a tick, a freshness deadline, a poll. It then judges
the project (`Workspace.status`, which also polls the observed sources whose poll interval has
passed) and runs each due tick. A tick is claimed in the
store before it runs (`MetadataStore.claim_tick`): of two watchers only the first runs it, and a
laptop that wakes after many missed ticks runs its catch-up policy once. Times come from the
clock (`workbench.clock`), never from sleeping, so a closed lid or a clock jump is only a
later look.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import replace
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Protocol

from workbench.clock import now
from workbench.core.automation import SOURCE, Automation, Tick
from workbench.core.records import FAILED, SUCCESS, TICK_SKIPPED, TickRecord, utcnow
from workbench.core.spec import SourceSpec
from workbench.core.staleness import R_UPSTREAM_CHANGED
from workbench.errors import WorkbenchError

if TYPE_CHECKING:
    from workbench.core.staleness import Status
    from workbench.run.executor import Result
    from workbench.run.reporting import Reporter
    from workbench.workspace import Workspace

__all__ = ["Automator"]

RETRY = 60.0  # seconds before looking again at a tick that stays due (claimed by another watcher, or failed)


class Log(Protocol):
    def __call__(self, kind: str, message: str, **fields: Any) -> None: ...


class Automator:
    """Finds what is due in a loaded workspace and runs it, each tick once across processes."""

    def __init__(self, log: Log, reporter: Callable[[], Reporter], selection: str | None, jobs: int | None) -> None:
        self.log, self.reporter, self.selection, self.jobs = log, reporter, selection, jobs
        self.next_look: datetime | None = None  # clock time of the next thing that may come due; None: nothing
        self.said = ""  # the last "next: ..." line, said again only when it changes

    def plan_next(self, ws: Workspace) -> None:
        """After a load or a pass: when to look next (now, if the project has any automation)."""
        automated = any(s.schedule or s.freshness for s in ws.graph.assets()) or any(
            isinstance(n, SourceSpec) and n.observed for n in ws.graph.nodes.values()
        )
        self.next_look = now() if automated else None

    def due(self) -> bool:
        return self.next_look is not None and now() >= self.next_look

    def run_due(self, ws: Workspace) -> int:
        """Run every tick due now; how many ran. Errors are logged, and looked at again later."""
        try:
            ws.refresh_partitions()
            status = ws.status()
            automation = ws.automation(status)
            ticks = [t for a in automation.values() for t in a.due]
            ticks += _source_ticks(ws, status)
            ran = sum(self._run(ws, tick) for tick in self._selected(ws, ticks))
        except WorkbenchError as exc:  # e.g. an observed source that cannot be looked at: try again later
            self.log("error", f"automation: {exc}")
            self.next_look = now() + timedelta(seconds=RETRY)
            return 0
        # after a run, judge again at once (what ran is no longer due); else at the next deadline
        self.next_look = now() if ran else _next_look(ws, status, automation, ws.metadata.observations())
        if ran:
            self.said = ""  # say what is next again after the run, even when it is the same
        else:
            self._say_next(ws, status, automation)
        return ran

    def _say_next(self, ws: Workspace, status: Mapping[str, Status], automation: Mapping[str, Automation]) -> None:
        """`next: orders scheduled 2026-11-30 06:00`, once per change."""
        upcoming = sorted(
            [(a.next_tick, f"{a.key} scheduled") for a in automation.values() if a.next_tick is not None]
            + [(at, f"{key} overdue") for key, at in _deadlines(ws, status, automation).items()]
        )
        if not upcoming:
            return
        when, what = upcoming[0]
        line = f"next: {what} {when.astimezone().strftime('%Y-%m-%d %H:%M')}"
        if line != self.said:
            self.said = line
            self.log("next", line, asset=what.split()[0], at=when.isoformat())

    def _selected(self, ws: Workspace, ticks: list[Tick]) -> list[Tick]:
        if not self.selection:
            return ticks
        chosen = set(ws.select(self.selection))
        return [t for t in ticks if t.kind == SOURCE or t.key in chosen]

    def _run(self, ws: Workspace, tick: Tick) -> bool:
        """Claim `tick` and run what it targets; False when another process claimed it first."""
        claim = TickRecord(tick.id, tick.key, tick.partition, tick.kind, tick.at, tick.reason, utcnow(),
                           f"pid {os.getpid()} (watch)")  # fmt: skip
        if not ws.metadata.claim_tick(claim):
            return False
        target = f"{tick.key}[{tick.partition}]" if tick.partition else tick.key
        fields = {"trigger": tick.kind, "asset": tick.key, "partition": tick.partition, "reason": tick.reason}
        outcome, run_id = FAILED, ""
        try:
            self.log("tick", f"{tick.reason}: running {target if tick.kind != SOURCE else 'what reads ' + tick.key}",
                     **fields)  # fmt: skip
            result = self._materialize(ws, tick)
            outcome, run_id = _outcome(result), result.run_id
        finally:
            ended = replace(claim, run_id=run_id, outcome=outcome, ended_at=utcnow())
            ws.artifacts.write_tick(ended)  # JSON first (the truth), then the index
            ws.metadata.end_tick(ended)
            self.log("tick", f"{tick.reason}: {outcome}", **fields, outcome=outcome, run_id=run_id)
        return True

    def _materialize(self, ws: Workspace, tick: Tick) -> Result:
        from workbench.watch.watcher import _PassReporter

        reporter = _PassReporter(self.reporter(), self.log)
        if tick.kind == SOURCE:
            below = f"key:{tick.key}+"
            selection = f"({below}) and ({self.selection})" if self.selection else below
            return ws.materialize(selection, jobs=self.jobs, trigger="watch", reporter=reporter)
        return ws.materialize(
            tick.key, force=True, partitions=tick.partition or None, jobs=self.jobs, trigger="watch", reporter=reporter
        )


def _deadlines(ws: Workspace, status: Mapping[str, Status], automation: Mapping[str, Automation]) -> dict[str, datetime]:
    """When each asset with a freshness limit, not overdue yet, will be."""
    from workbench.core.units import units_of

    out = {}
    for a in automation.values():
        if a.freshness is not None and not a.overdue:
            units = [status[u] for u in units_of(ws.partition_keys, a.key) if u in status]
            newest = [st.record.ended_at for st in units if st.record is not None]
            if newest:
                out[a.key] = max(newest) + timedelta(seconds=a.freshness)
    return out


def _source_ticks(ws: Workspace, status: Mapping[str, Status]) -> list[Tick]:
    """A tick per observed source that assets read at another version than its current one.

    Judged on staleness, not on the last look: a look taken by another command (`wb status`) that
    stored the new version still makes the readers run. The id names the version and the stale
    readers' records, so two watchers run it once and a failed run is not retried in a loop.
    """
    ticks = []
    for node in ws.graph.nodes.values():
        if not (isinstance(node, SourceSpec) and node.observed):
            continue
        behind = [st for st in status.values() if any(r.kind == R_UPSTREAM_CHANGED and r.upstream == node.key for r in st.reasons)]
        if behind:
            seen = ",".join(sorted(st.record.id for st in behind if st.record is not None))
            salt = f"{status[node.key].data_version}>{seen}"
            ticks.append(Tick(node.key, "", SOURCE, now(), f"source {node.url or node.key} changed", salt=salt))
    return ticks


def _outcome(result: Result) -> str:
    if not result.ok:
        return FAILED
    return SUCCESS if result.materialized else TICK_SKIPPED


def _next_look(
    ws: Workspace, status: Mapping[str, Status], automation: Mapping[str, Automation], observations: Mapping[str, Any]
) -> datetime | None:
    """The earliest clock time something may come due: a tick, a freshness deadline, a poll."""
    times = [a.next_tick for a in automation.values() if a.next_tick is not None]
    times += _deadlines(ws, status, automation).values()
    for node in ws.graph.nodes.values():
        if isinstance(node, SourceSpec) and node.observed:
            seen = observations.get(node.key)
            times.append(seen.observed_at + timedelta(seconds=node.poll) if seen else now())
    if any(a.overdue or a.due for a in automation.values()):
        times.append(now() + timedelta(seconds=RETRY))
    return min(times) if times else None
