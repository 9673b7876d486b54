"""`wb watch`: rerun what became stale when project code or source files change.

The watchdog observer thread only files relevant paths into a `Debouncer`. The thread that calls
`Watcher.run()` waits for a quiet batch, then until its writes settle (no new change, sizes and
times unchanged over `settle` seconds, and on Linux no file still open for writing), and runs one
pass: reload the definitions from disk (`Workspace.open`), follow the modules and sources they now
name, and `materialize` the selection with trigger `watch` — which runs only what is stale.
Changes that arrive during a pass wait in the debouncer, so at most one pass runs at a time and
exactly one more follows.

Loading runs in a thread of its own while this one watches it: a module whose import takes long is
reported (`still importing assets.hang (10 s)...`) every `hang_report` seconds. Python cannot stop
that import, so when a project file changes while one hangs, `restart` (the CLI's re-executes the
`wb watch` process in place: same pid, same terminal) lets a fresh process load the fix. An asset
that runs too long is bounded by its own `@asset(timeout=...)` (`workbench.run.deadline`).
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
from typing import TYPE_CHECKING, Any, NoReturn, Protocol

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

from workbench.core.spec import SourceSpec
from workbench.errors import WorkbenchError
from workbench.project import ProjectConfig, find_project, is_project_file
from workbench.run import detached
from workbench.versioning import loader
from workbench.versioning.sources import source_pattern
from workbench.watch.automation import Automator
from workbench.watch.debounce import WAKE, Debouncer
from workbench.watch.log import DATED, WatchLog
from workbench.watch.rules import PathRules, watch_targets
from workbench.workspace import Workspace

if TYPE_CHECKING:
    from workbench.core.plan import Plan
    from workbench.run.executor import Result
    from workbench.run.reporting import Reporter

__all__ = ["Watcher", "graceful_signals", "reexec"]

# Content changes only: opening, reading or touching a file (attrib) never starts a pass.
EVENTS: list[type[FileSystemEvent]] = [
    FileCreatedEvent, FileModifiedEvent, FileClosedEvent, FileDeletedEvent, FileMovedEvent,
    DirCreatedEvent, DirDeletedEvent, DirMovedEvent,
]  # fmt: skip

HANG_REPORT = 10.0  # seconds between "still importing" lines
SETTLE = 0.5  # seconds a batch's files must stay unchanged (and no new change arrive) before a pass
SETTLE_LIMIT = 60.0  # the longest wait for writes to settle; then the pass runs anyway, saying so
CLOSE_EVENTS = sys.platform.startswith("linux")  # inotify says when a file written to is closed


class Log(Protocol):
    def __call__(self, kind: str, message: str, **fields: Any) -> None: ...


class _Handler(FileSystemEventHandler):
    """Runs in the observer thread: keeps the relevant paths of each event, and the files open for writing."""

    def __init__(self, debouncer: Debouncer, rules: PathRules) -> None:
        self.debouncer = debouncer
        self.rules = rules  # replaced (one atomic assignment) after each reload
        self.writing: set[str] = set()  # modified and not closed yet (Linux only)

    def on_any_event(self, event: FileSystemEvent) -> None:
        rules = self.rules
        paths = [p for p in (os.fsdecode(x) for x in (event.src_path, event.dest_path) if x) if rules.relevant(p, event.is_directory)]
        if CLOSE_EVENTS and paths and not event.is_directory:
            if isinstance(event, FileModifiedEvent):
                self.writing.add(paths[0])
            elif isinstance(event, (FileClosedEvent, FileDeletedEvent, FileMovedEvent)):
                self.writing.difference_update(paths)
        self.debouncer.add(paths)


class _PassReporter:
    """Says what is stale and why before the run starts, then hands every event to the renderer."""

    def __init__(self, inner: Reporter, log: Log) -> None:
        self.inner, self.log = inner, log

    def planned(self, plan: Plan) -> None:
        for key in plan.to_run:
            reasons = [str(r) for r in plan.reasons[key]]
            self.log("stale", f"stale  {key}: {'; '.join(reasons)}", asset=key, reasons=reasons)
        self.inner.planned(plan)

    def started(self, key: str) -> None:
        self.inner.started(key)

    def finished(self, key: str, outcome: str, seconds: float, detail: str = "") -> None:
        self.log("asset", f"{outcome} {key}", asset=key, outcome=outcome, seconds=round(seconds, 3), detail=detail)
        self.inner.finished(key, outcome, seconds, detail)

    def flush(self) -> None:
        self.inner.flush()

    def closed(self) -> None:
        self.inner.closed()


class Watcher:
    """Watches one project and keeps `selection` up to date until `stop()` or Ctrl-C."""

    def __init__(
        self,
        path: str | Path | None,
        selection: str | None = None,
        *,
        jobs: int | None = None,
        log: Log | None = None,
        reporter: Callable[[], Reporter],
        debouncer: Debouncer | None = None,
        restart: Callable[[], NoReturn] | None = None,
        hang_report: float = HANG_REPORT,
        settle: float = SETTLE,
    ) -> None:
        self.config: ProjectConfig = find_project(path)
        self.selection, self.jobs, self.reporter = selection, jobs, reporter
        self.log: Log = log or WatchLog()
        self.debouncer = debouncer or Debouncer()
        self.restart, self.hang_report, self.settle = restart, hang_report, settle
        self.handler = _Handler(self.debouncer, PathRules.of(self.config))
        self.observer = Observer()
        self.watches: dict[tuple[Path, bool, int], ObservedWatch] = {}
        self.passes = 0
        self.keys: frozenset[str] | None = None  # the graph's keys at the last load
        self.automator = Automator(self.log, reporter, selection, jobs)
        self.workspace: Workspace | None = None  # the last loaded definitions, for schedules and freshness

    def run(self) -> None:
        """Bring the selection up to date, then one pass per batch of changes.

        A bad selection at start raises `SelectionError`; later errors are reported and waited out.
        """
        try:
            self._watch(watch_targets(self.config.root, (), _packages(self.config), ()))
            self.observer.start()  # before the first load: a change while it hangs restarts watch
            self._check_selection()
            self.log("watching", f"watching {self.config.root} (selection: {self.selection or 'all'}); Ctrl-C stops")
            self._pass(frozenset())
            while True:
                changed = self.debouncer.wait(self.automator.due)
                if changed:
                    self._pass(self._settled(changed))
                elif self.debouncer.closed:
                    break
                elif self.workspace is not None:
                    self._automate(self.workspace)
        except KeyboardInterrupt:
            self.log("stopped", "stopped")
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
            ws = self._load()
        except WorkbenchError:
            return  # the first pass reports a project that does not load, and waits for a fix
        ws.select(self.selection)

    def _pass(self, changed: frozenset[str]) -> None:
        self.passes += 1
        try:
            self._run_pass(changed)
        except KeyboardInterrupt:
            self.log("interrupted", f"interrupted pass {self.passes}", n=self.passes)
            raise

    def _run_pass(self, changed: frozenset[str]) -> None:
        started = time.perf_counter()
        what = f"changed {self._describe(changed)}" if changed else "start"
        self.log("pass", f"pass {self.passes}: {what}", n=self.passes, changed=self._relative(changed))
        try:
            self.workspace = None
            ws = self._load()
            self._follow(ws)
            result = ws.materialize(
                self.selection, jobs=self.jobs, trigger="watch", reporter=_PassReporter(self.reporter(), self.log)
            )
        except WorkbenchError as exc:
            self.log("error", f"error: {exc}", n=self.passes)
            self.log("failed", f"pass {self.passes} failed; still watching: save a fix to continue", n=self.passes)
            return
        self.workspace = ws
        self.automator.plan_next(ws)
        queued = self.debouncer.pending
        seconds = time.perf_counter() - started
        self.log("done", f"pass {self.passes} done in {seconds:.2f}s: {_summary(result)}", n=self.passes,
                 seconds=round(seconds, 3), **_counts(result))  # fmt: skip
        if queued:
            self.log("queued", f"queued: {queued} change(s) arrived during the pass; one more pass follows", changes=queued)

    def _automate(self, ws: Workspace) -> None:
        """Run what schedules, freshness limits and observed sources make due (`Automator`)."""
        try:
            self.automator.run_due(ws)
        except KeyboardInterrupt:
            self.log("interrupted", "interrupted an automated run")
            raise

    def _load(self) -> Workspace:
        """`Workspace.open` in a thread of its own, watched from this one.

        A project module whose import runs `hang_report` seconds is reported, and again every
        `hang_report` seconds; once it has been, a relevant change calls `restart` (if given).
        """
        outcome: list[Workspace | BaseException] = []

        def load() -> None:
            try:
                outcome.append(Workspace.open(self.config.root).recover())
            except BaseException as exc:  # raised again in this thread
                outcome.append(exc)

        thread = detached.start(load, "wb-load")  # a hung import must not block exit
        seen: tuple[str, float] | None = None
        report_at = self.hang_report
        while thread.is_alive():
            thread.join(WAKE)  # in slices: Ctrl-C is handled between them
            current = loader.importing()
            if current is None or not thread.is_alive():
                continue
            if current != seen:
                seen, report_at = current, self.hang_report
            elapsed = time.monotonic() - current[1]
            if elapsed >= report_at:
                self.log("importing", f"still importing {current[0]} ({elapsed:.0f} s)...", module=current[0],
                         seconds=round(elapsed, 1))  # fmt: skip
                report_at += self.hang_report
            if report_at > self.hang_report and self.restart is not None and self.debouncer.pending:
                changed = self.debouncer.take()
                self.log("restart", f"{self._describe(changed)} changed while {current[0]} was still importing: "
                         "restarting watch to load it afresh", module=current[0], changed=self._relative(changed))  # fmt: skip
                self.restart()
        result = outcome[0]
        if isinstance(result, BaseException):
            raise result
        return result

    def _settled(self, changed: frozenset[str]) -> frozenset[str]:
        """`changed` and what changed after it, once writes have settled (or after `SETTLE_LIMIT` seconds)."""
        deadline = time.monotonic() + SETTLE_LIMIT
        said = False
        before = _stats(changed)
        while True:
            end = time.monotonic() + self.settle
            while (left := end - time.monotonic()) > 0:
                time.sleep(min(left, WAKE))  # in slices: Ctrl-C is handled between them
            more = self.debouncer.take()
            after = _stats(changed | more)
            unsettled = more | {p for p, stat in after.items() if before.get(p) != stat} | (self.handler.writing & changed)
            if not unsettled:
                return changed
            changed, before = changed | more, after
            if time.monotonic() > deadline:
                self.handler.writing.difference_update(unsettled)  # a close event may have been lost
                self.log("warning", f"writes have not settled after {SETTLE_LIMIT:.0f} s ({self._describe(unsettled)}); "
                         "running the pass anyway", paths=self._relative(unsettled))  # fmt: skip
                return changed
            if not said:
                self.log("settling", f"waiting for writes to settle: {self._describe(unsettled)}", paths=self._relative(unsettled))
                said = True

    def _follow(self, ws: Workspace) -> None:
        """Watch what the freshly loaded definitions name: their module files and sources."""
        self.config = ws.project.config
        keys = frozenset(ws.graph.nodes)
        if self.keys is not None and (gone := sorted(self.keys - keys)):
            self.log("removed", f"left the graph: {', '.join(gone)}", assets=gone)
        self.keys = keys
        sources = [source_pattern(n) for n in ws.graph.nodes.values() if isinstance(n, SourceSpec) and not n.observed]
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
                self.log("warning", f"warning: cannot watch {folder}: {exc}", path=str(folder))

    def _relative(self, paths: Iterable[str]) -> list[str]:
        return sorted(os.path.relpath(p, self.config.root) for p in paths)

    def _describe(self, changed: Iterable[str], limit: int = 5) -> str:
        names = self._relative(changed)
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


def _stats(paths: Iterable[str]) -> dict[str, tuple[int, int] | None]:
    """(size, mtime) of each path; None for one that is gone."""
    stats: dict[str, tuple[int, int] | None] = {}
    for path in paths:
        try:
            st = os.stat(path)
            stats[path] = (st.st_size, st.st_mtime_ns)
        except OSError:
            stats[path] = None
    return stats


def _counts(result: Result) -> dict[str, Any]:
    """What a pass did: blocked assets apart from the skipped (fresh) ones."""
    blocked = sorted(result.blocked)
    return {
        "materialized": list(result.materialized),
        "failed": list(result.failed),
        "blocked": blocked,
        "skipped": len(result.skipped) - len(set(result.skipped) & set(blocked)),
    }


def _summary(result: Result) -> str:
    counts = _counts(result)
    if not (result.materialized or result.failed or result.blocked):
        return f"nothing stale ({counts['skipped']} fresh)"
    parts = [f"materialized {len(result.materialized)}", f"skipped {counts['skipped']}"]
    if result.failed:
        parts.append(f"failed {len(result.failed)} ({', '.join(result.failed)})")
    if result.blocked:
        parts.append(f"blocked {len(result.blocked)} ({', '.join(counts['blocked'])})")
    return ", ".join(parts)


def reexec() -> NoReturn:
    """Replace this process with a fresh run of the same command (same pid, terminal and arguments).

    Descriptors other than stdin, stdout and stderr are not passed on: watchdog's inotify
    descriptor, and with it every kernel watch, would otherwise outlive each restart.
    """
    sys.stdout.flush()
    sys.stderr.flush()
    fds = Path("/proc/self/fd")
    for name in os.listdir(fds) if fds.is_dir() else ():
        fd = int(name)
        if fd > 2:
            try:
                os.set_inheritable(fd, False)
            except OSError:  # the listing's own descriptor, closed by now
                pass
    os.execv(sys.executable, [sys.executable, *sys.orig_argv[1:]])


@contextmanager
def graceful_signals() -> Iterator[None]:
    """SIGINT and SIGTERM stop the watcher: the first raises KeyboardInterrupt in the main thread.

    During a run the executor counts the signals instead (`workbench.run.interrupts`): the first lets
    the running assets finish and be recorded, a second stops them. Signals after the first one
    here are acknowledged and ignored, so they cannot cut the watcher's cleanup short.
    """
    stopping = False

    def handle(signum: int, frame: FrameType | None) -> None:
        nonlocal stopping
        # os.write, not sys.stderr: a handler may run in the middle of a buffered write
        if stopping:
            os.write(2, f"{time.strftime(DATED)} already stopping\n".encode())
            return
        stopping = True
        os.write(2, f"{time.strftime(DATED)} stopping\n".encode())
        raise KeyboardInterrupt

    previous = {sig: signal.signal(sig, handle) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
