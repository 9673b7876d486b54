"""Materializing from the TUI: a thread worker runs `Workspace.materialize` while the nodes
show progress live (`TuiReporter` messages) and the outcome arrives as a notification."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from textual import work
from textual.app import App
from textual.message import Message
from textual.widgets import TabbedContent
from textual.worker import Worker
from workbench.tui import timeline
from workbench.tui.legend import Legend
from workbench.tui.reporter import STARTED, TuiReporter
from workbench.tui.run_panel import RunPanel
from workbench.tui.theme import RUNNING

from workbench.core.partitions import split_unit
from workbench.core.staleness import Status
from workbench.errors import WorkbenchError
from workbench.run.reporting import CHECKED, FAILED, FRESH, MATERIALIZED, RETRY
from workbench.workspace import Workspace

if TYPE_CHECKING:
    from workbench.run.executor import Result

SETTLED = {MATERIALIZED: "fresh", FRESH: "fresh", FAILED: "failed"}  # run outcome -> node state
REPAINT_SECONDS = 0.1


class Runs(App[None]):
    """The run half of `WorkbenchApp`: the `m`/`M` actions and the progress they report."""

    ws: Workspace | None
    current: str | None
    selection: str
    overrides: dict[str, str]
    statuses: dict[str, Status]
    running: Worker[None] | None
    planned = done = 0  # assets in the current run's plan, and how many have settled
    repaint_due = False
    t0 = 0.0  # time.monotonic() when the current run was planned
    units: tuple[str, ...] = ()  # the current run's plan
    started: dict[str, float]  # unit -> seconds from t0
    finished: dict[str, tuple[float, str]]  # unit -> (seconds from t0, state)
    last_run: timeline.Timeline | None = None  # of the newest recorded run, built with the statuses off the UI thread

    class RunDone(Message):
        """A materialization started from the TUI ended (with a result, or an error)."""

        def __init__(self, result: Result | None, error: str = "") -> None:
            super().__init__()
            self.result, self.error = result, error

    def paint(self) -> None:
        raise NotImplementedError

    def after_run(self) -> None:
        raise NotImplementedError

    def action_materialize(self, scope: str) -> None:
        """`focused` (and its stale upstream), `force` (the focused asset, even if fresh), `filter`, `stale`."""
        if self.ws is None:
            self.notify("no project loaded", severity="error")
            return
        if self.running is not None and self.running.is_running:
            self.notify("a run is already in progress", severity="warning")
            return
        if scope in ("focused", "force") and self.current is None:
            return
        selection = {"stale": None, "filter": self.selection or None}.get(scope, self.current)
        self.start(self.ws, selection, scope == "force")

    def run_unit(self, unit: str | None) -> None:
        """Materialize one unit (`key[partition]`, with the stale upstream it reads); None: nothing."""
        if unit is None or self.ws is None:
            return
        if self.running is not None and self.running.is_running:
            self.notify("a run is already in progress", severity="warning")
            return
        self.start(self.ws, unit, False)

    def start(self, ws: Workspace, selection: str | None, force: bool) -> None:
        self.planned = self.done = 0
        self.query_one(Legend).progress = "planning…"
        self.query_one("#detail #tabs", TabbedContent).active = "run-tab"
        self.running = self.materialize(ws, selection, force)

    @work(thread=True, group="run")
    def materialize(self, ws: Workspace, selection: str | None, force: bool) -> None:
        try:
            result = ws.materialize(selection, force=force, trigger="tui", reporter=TuiReporter(self))
        except WorkbenchError as exc:
            self.post_message(self.RunDone(None, str(exc)))
            return
        self.post_message(self.RunDone(result))

    def on_tui_reporter_planned(self, event: TuiReporter.Planned) -> None:
        self.planned, self.done = len(event.keys), 0
        self.t0, self.units, self.started, self.finished = time.monotonic(), event.keys, {}, {}
        self.query_one(Legend).progress = f"running 0/{self.planned}"
        self.show_run()

    def on_tui_reporter_progress(self, event: TuiReporter.Progress) -> None:
        """Progress is per unit (an asset or one partition); the node shows its latest unit."""
        key = split_unit(event.key)[0]
        now = time.monotonic() - self.t0
        if event.outcome == STARTED:
            self.overrides[key] = RUNNING
            self.started[event.key] = now
        elif event.outcome not in (RETRY, CHECKED):
            self.done += 1
            self.query_one(Legend).progress = f"running {self.done}/{self.planned}"
            self.started.setdefault(event.key, max(now - event.seconds, 0.0))
            self.finished[event.key] = (now, SETTLED.get(event.outcome, event.outcome))
            if event.outcome in SETTLED:
                self.overrides[key] = SETTLED[event.outcome]
            else:
                self.overrides.pop(key, None)
        if not self.repaint_due:  # a busy run repaints ten times a second, not once per event
            self.repaint_due = True
            self.set_timer(REPAINT_SECONDS, self._repaint)

    def _repaint(self) -> None:
        self.repaint_due = False
        self.paint()
        self.show_run()

    def show_run(self) -> None:
        """The Run tab: the run in progress, else the timeline of the last recorded run."""
        panel = self.query_one(RunPanel)
        if self.running is not None and self.running.is_running and self.units:
            panel.show(timeline.live(self.units, self.started, self.finished), self.t0)
        else:
            panel.show(self.last_run)

    def on_runs_run_done(self, event: RunDone) -> None:
        self.query_one(Legend).progress = ""
        self.units = ()
        result = event.result
        if result is None:
            self.notify(event.error, title="run failed", severity="error", markup=False)
        elif not (result.materialized or result.failed or result.blocked):
            self.notify("everything is fresh: nothing to do", markup=False)
        else:
            lines = [f"materialized {len(result.materialized)}, skipped {len(result.skipped)}, failed {len(result.failed)}"]
            lines += [f"{key}: {result.errors.get(key, '')}" for key in result.failed[:3]]
            self.notify("\n".join(lines), severity="error" if result.failed else "information", markup=False)
        self.after_run()
