"""Progress events of a run: the CLI renders them with rich, the TUI posts messages, tests collect them."""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol, TextIO

from workbench.text import terminal_safe

if TYPE_CHECKING:
    from rich.console import Console

    from workbench.core.plan import Plan

MATERIALIZED, FRESH, FAILED, BLOCKED, RETRY = "materialized", "fresh", "failed", "blocked", "retry"
CHECKED = "check"  # a check's result: reported, but not a unit of progress


class Reporter(Protocol):
    def planned(self, plan: Plan) -> None: ...
    def started(self, key: str) -> None: ...
    def finished(self, key: str, outcome: str, seconds: float, detail: str = "") -> None: ...
    def flush(self) -> None: ...  # show what was reported so far
    def closed(self) -> None: ...


class NullReporter:
    def planned(self, plan: Plan) -> None:
        pass

    def started(self, key: str) -> None:
        pass

    def finished(self, key: str, outcome: str, seconds: float, detail: str = "") -> None:
        pass

    def flush(self) -> None:
        pass

    def closed(self) -> None:
        pass


@dataclass
class ListReporter(NullReporter):
    """Collects events as tuples; for tests and embedding."""

    events: list[tuple[str, ...]] = field(default_factory=list)

    def started(self, key: str) -> None:
        self.events.append(("started", key))

    def finished(self, key: str, outcome: str, seconds: float, detail: str = "") -> None:
        self.events.append((outcome, key))


class PlainReporter(NullReporter):
    """One line per event; for pipes, CI logs and `wb watch`. Lines are written together at `flush`
    (at most every 0.1 s while jobs end, and whenever the run waits): one write, not one a line."""

    def __init__(self, stream: TextIO | None = None, stamp: str = "%H:%M:%S") -> None:
        self.stream = stream or sys.stderr
        self.stamp = stamp  # a strftime format: `wb watch` adds the date
        self._second: tuple[int, str] = (-1, "")  # the stamp of the current second, made once
        self._pending: list[str] = []

    def planned(self, plan: Plan) -> None:
        if plan.to_run:
            self._line(f"plan: {len(plan.to_run)} to run, {len(plan.fresh)} fresh")
            self.flush()

    def started(self, key: str) -> None:
        self._line(f"start  {key}")

    def finished(self, key: str, outcome: str, seconds: float, detail: str = "") -> None:
        suffix = f": {terminal_safe(detail)}" if detail else ""
        self._line(f"{outcome:<12} {key} ({seconds:.2f}s){suffix}")

    def flush(self) -> None:
        if self._pending:
            text, self._pending = "".join(self._pending), []
            self.stream.write(text)
            self.stream.flush()

    def closed(self) -> None:
        self.flush()

    def _line(self, text: str) -> None:
        now = int(time.time())
        if now != self._second[0]:
            self._second = (now, time.strftime(self.stamp, time.localtime(now)))
        self._pending.append(f"{self._second[1]} {text}\n")


def progress_reporter(enabled: bool | None = None) -> Reporter:
    """The progress of `workbench.materialize`, drawn by rich: `None` shows it in a Jupyter notebook
    and on a terminal, not when stderr is a file or a pipe. In a notebook the bar needs `ipywidgets`
    (as rich's does); without it the per-asset lines alone are shown."""
    from importlib.util import find_spec

    from rich.console import Console

    console = Console(stderr=True)
    if not enabled and (enabled is False or not (console.is_jupyter or console.is_terminal)):
        return NullReporter()
    return RichReporter(console, bar=not console.is_jupyter or find_spec("ipywidgets") is not None)


class RichReporter(NullReporter):
    """A rich progress bar with one line per finished asset, for terminals and notebooks."""

    STYLES = {MATERIALIZED: "green", FRESH: "cyan", FAILED: "bold red", BLOCKED: "yellow", RETRY: "magenta", CHECKED: "blue"}

    def __init__(self, console: Console | None = None, *, bar: bool = True) -> None:
        from rich.console import Console
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

        self.console = console or Console(stderr=True)
        self.bar = bar
        self.progress = Progress(
            SpinnerColumn(),
            TextColumn("[progress.description]{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=self.console,
            transient=True,
        )
        self.task = self.progress.add_task("materializing", total=0)
        self.running: set[str] = set()

    def planned(self, plan: Plan) -> None:
        if plan.to_run:
            self.progress.update(self.task, total=len(plan.to_run))
            if self.bar:
                self.progress.start()

    def started(self, key: str) -> None:
        self.running.add(key)
        self._describe()

    def finished(self, key: str, outcome: str, seconds: float, detail: str = "") -> None:
        from rich.text import Text

        if outcome not in (RETRY, CHECKED):
            self.running.discard(key)
            self.progress.advance(self.task)
        line = Text.assemble((f"{outcome:<12}", self.STYLES.get(outcome, "")), f" {key} ", (f"{seconds:.2f}s", "dim"))
        if detail:
            line.append(f"  {terminal_safe(detail)}", style="dim")
        self.progress.console.print(line)
        self._describe()

    def closed(self) -> None:
        self.progress.stop()

    def _describe(self) -> None:
        from rich.markup import escape

        names = ", ".join(sorted(self.running)[:3]) + (" ..." if len(self.running) > 3 else "")
        # the description is rich markup: a partition such as `[eu]` must not read as a style
        self.progress.update(self.task, description=f"running {escape(names)}" if names else "materializing")
