"""`wb watch`: rerun what became stale when project code or source files change.

The watchdog observer thread only files relevant paths into a `Debouncer`. The thread that calls
`Watcher.run()` waits for a quiet batch and runs one pass: reload the definitions from disk
(`Workspace.open`), follow the modules and sources they now name, and `materialize` the selection
with trigger `watch` — which runs only what is stale. Changes that arrive during a pass wait in
the debouncer, so at most one pass runs at a time and exactly one more follows.
"""

from __future__ import annotations

import os
import signal
import sys
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING

from watchdog.events import (
    DirCreatedEvent,
    DirDeletedEvent,
    DirMovedEvent,
    FileClosedEvent,
    FileCreatedEvent,
    FileDeletedEvent,
    FileModifiedEvent,
    FileMovedEvent,
    FileSystemEvent,
    FileSystemEventHandler,
)
from watchdog.observers import Observer
from watchdog.observers.api import ObservedWatch

from workbench.debounce import Debouncer
from workbench.errors import WorkbenchError
from workbench.project import ProjectConfig, find_project, is_project_file
from workbench.spec import SourceSpec
from workbench.watchrules import PathRules, watch_targets
from workbench.workspace import Workspace

if TYPE_CHECKING:
    from workbench.executor import Result
    from workbench.plan import Plan
    from workbench.reporting import Reporter

__all__ = ["Watcher", "graceful_signals"]

# Content changes only: opening, reading or touching a file (attrib) never starts a pass.
EVENTS: list[type[FileSystemEvent]] = [
    FileCreatedEvent, FileModifiedEvent, FileClosedEvent, FileDeletedEvent, FileMovedEvent,
    DirCreatedEvent, DirDeletedEvent, DirMovedEvent,
]  # fmt: skip

Log = Callable[[str], None]


def stderr_line(text: str) -> None:
    """The default log: one time-stamped line on stderr, like `PlainReporter`."""
    sys.stderr.write(f"{time.strftime('%H:%M:%S')} {text}\n")
    sys.stderr.flush()


class _Handler(FileSystemEventHandler):
    """Runs in the observer thread: keeps the relevant paths of each event."""

    def __init__(self, debouncer: Debouncer, rules: PathRules) -> None:
        self.debouncer = debouncer
        self.rules = rules  # replaced (one atomic assignment) after each reload

    def on_any_event(self, event: FileSystemEvent) -> None:
        rules = self.rules
        paths = (os.fsdecode(p) for p in (event.src_path, event.dest_path) if p)
        self.debouncer.add(p for p in paths if rules.relevant(p, event.is_directory))


class _PassReporter:
    """Says what is stale and why before the run starts, then hands every event to the renderer."""

    def __init__(self, inner: Reporter, log: Log) -> None:
        self.inner, self.log = inner, log

    def planned(self, plan: Plan) -> None:
        for key in plan.to_run:
            self.log(f"stale  {key}: {'; '.join(str(r) for r in plan.reasons[key])}")
        self.inner.planned(plan)

    def started(self, key: str) -> None:
        self.inner.started(key)

    def finished(self, key: str, outcome: str, seconds: float, detail: str = "") -> None:
        self.inner.finished(key, outcome, seconds, detail)

    def closed(self) -> None:
        self.inner.closed()


def _default_reporter() -> Reporter:
    from workbench import views

    return views.reporter(quiet=False)


class Watcher:
    """Watches one project and keeps `selection` up to date until `stop()` or Ctrl-C."""

    def __init__(
        self,
        path: str | Path | None,
        selection: str | None = None,
        *,
        jobs: int | None = None,
        log: Log = stderr_line,
        reporter: Callable[[], Reporter] = _default_reporter,
        debouncer: Debouncer | None = None,
    ) -> None:
        self.config: ProjectConfig = find_project(path)
        self.selection, self.jobs, self.log, self.reporter = selection, jobs, log, reporter
        self.debouncer = debouncer or Debouncer()
        self.handler = _Handler(self.debouncer, PathRules.of(self.config))
        self.observer = Observer()
        self.watches: dict[tuple[Path, bool, int], ObservedWatch] = {}
        self.passes = 0

    def run(self) -> None:
        """Bring the selection up to date, then one pass per batch of changes.

        A bad selection at start raises `SelectionError`; later errors are reported and waited out.
        """
        self._check_selection()
        try:
            self._watch(watch_targets(self.config.root, (), _packages(self.config), ()))
            self.observer.start()
            self.log(f"watching {self.config.root} (selection: {self.selection or 'all'}); Ctrl-C stops")
            self._pass(frozenset())
            while changed := self.debouncer.wait():
                self._pass(changed)
        except KeyboardInterrupt:
            self.log("stopped")
        finally:
            if self.observer.is_alive():
                self.observer.stop()
                self.observer.join()

    def stop(self) -> None:
        """End `run()` after the current pass (callable from any thread)."""
        self.debouncer.close()

    def _check_selection(self) -> None:
        """A selection that is malformed or matches nothing is bad input (exit 2), said before watching."""
        if not self.selection:
            return
        try:
            ws = Workspace.open(self.config.root)
        except WorkbenchError:
            return  # the first pass reports a project that does not load, and waits for a fix
        ws.select(self.selection)

    def _pass(self, changed: frozenset[str]) -> None:
        self.passes += 1
        try:
            self._run_pass(changed)
        except KeyboardInterrupt:
            self.log(f"interrupted pass {self.passes}")
            raise

    def _run_pass(self, changed: frozenset[str]) -> None:
        started = time.perf_counter()
        self.log(f"pass {self.passes}: " + (f"changed {self._describe(changed)}" if changed else "start"))
        try:
            ws = Workspace.open(self.config.root)
            self._follow(ws)
            result = ws.materialize(
                self.selection, jobs=self.jobs, trigger="watch", reporter=_PassReporter(self.reporter(), self.log)
            )
        except WorkbenchError as exc:
            self.log(f"error: {exc}")
            self.log(f"pass {self.passes} failed; still watching: save a fix to continue")
            return
        queued = self.debouncer.pending
        self.log(f"pass {self.passes} done in {time.perf_counter() - started:.2f}s: {_summary(result)}")
        if queued:
            self.log(f"queued: {queued} change(s) arrived during the pass; one more pass follows")

    def _follow(self, ws: Workspace) -> None:
        """Watch what the freshly loaded definitions name: their module files and sources."""
        self.config = ws.project.config
        sources = [n.path for n in ws.graph.nodes.values() if isinstance(n, SourceSpec)]
        rules = PathRules.of(self.config, sources)
        root = self.config.root
        self._watch(watch_targets(root, _module_files(root), _packages(self.config), rules.sources))
        self.handler.rules = rules

    def _watch(self, targets: dict[Path, bool]) -> None:
        """Schedule new folders and unschedule the ones no longer wanted.

        A folder is known by its inode too: one deleted and created again needs a new watch.
        """
        wanted = {(folder, recursive, _inode(folder)) for folder, recursive in targets.items()}
        for key in set(self.watches) - wanted:
            self.observer.unschedule(self.watches.pop(key))
        for key in wanted - set(self.watches):
            folder, recursive, _ = key
            try:
                self.watches[key] = self.observer.schedule(
                    self.handler, str(folder), recursive=recursive, event_filter=EVENTS
                )
            except OSError as exc:  # e.g. the inotify watch limit; the next pass tries again
                self.log(f"warning: cannot watch {folder}: {exc}")

    def _describe(self, changed: Iterable[str], limit: int = 5) -> str:
        names = sorted(os.path.relpath(p, self.config.root) for p in changed)
        more = f" and {len(names) - limit} more" if len(names) > limit else ""
        return ", ".join(names[:limit]) + more


def _packages(config: ProjectConfig) -> list[Path]:
    """Where the configured modules' top-level packages would be (watched recursively if they exist)."""
    return [config.root / name.split(".")[0] for name in config.modules]


def _inode(folder: Path) -> int:
    try:
        return folder.stat().st_ino
    except OSError:
        return 0


def _module_files(root: Path) -> list[Path]:
    """Files of the loaded project modules (helpers included), not the workbench's own."""
    prefix = str(root)  # a cheap first cut: project modules are imported from the resolved root
    files = (getattr(m, "__file__", None) for name, m in list(sys.modules.items()) if name.split(".")[0] != "workbench")
    return [Path(f) for f in files if f and f.startswith(prefix) and is_project_file(f, root)]


def _summary(result: Result) -> str:
    if not (result.materialized or result.failed or result.blocked):
        return f"nothing stale ({len(result.skipped)} fresh)"
    parts = [f"materialized {len(result.materialized)}", f"skipped {len(result.skipped)}"]
    if result.failed:
        parts.append(f"failed {len(result.failed)} ({', '.join(result.failed)})")
    return ", ".join(parts)


@contextmanager
def graceful_signals() -> Iterator[None]:
    """SIGINT and SIGTERM stop the watcher: the first raises KeyboardInterrupt in the main thread.

    During a run the executor counts the signals instead (`workbench.interrupts`): the first lets
    the running assets finish and be recorded, a second stops them. Signals after the first one
    here are acknowledged and ignored, so they cannot cut the watcher's cleanup short.
    """
    stopping = False

    def handle(signum: int, frame: FrameType | None) -> None:
        nonlocal stopping
        # os.write, not sys.stderr: a handler may run in the middle of a buffered write
        if stopping:
            os.write(2, f"{time.strftime('%H:%M:%S')} already stopping\n".encode())
            return
        stopping = True
        os.write(2, f"{time.strftime('%H:%M:%S')} stopping\n".encode())
        raise KeyboardInterrupt

    previous = {sig: signal.signal(sig, handle) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
