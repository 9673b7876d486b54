"""Turning bursts of file events into batches: an editor's atomic save or a folder copy is one pass."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable

QUIET = 0.12  # seconds without a new change before a batch is due
MAX_WAIT = 1.0  # a steady stream of changes still gets a pass this long after its first change
WAKE = 0.25  # the longest single wait: Python runs a signal handler only when the main thread runs
# bytecode, and a C-level handler a library puts in front of Python's (Polars does) does not wake it


class Debouncer:
    """Collects changed paths from any thread and releases them as one batch once a burst is over.

    A batch is due `quiet` seconds after its latest change or `max_wait` seconds after its first,
    whichever comes first. Changes that arrive while the consumer is busy simply wait here: the
    pending set is the "dirty flag", and the next `wait()` returns all of them at once.
    """

    def __init__(self, quiet: float = QUIET, max_wait: float = MAX_WAIT, clock: Callable[[], float] = time.monotonic):
        self.quiet, self.max_wait, self.clock = quiet, max_wait, clock
        self._cond = threading.Condition()
        self._pending: set[str] = set()
        self._first = self._last = 0.0
        self._closed = False

    def add(self, paths: Iterable[str]) -> None:
        new = set(paths)
        if not new:
            return
        with self._cond:
            now = self.clock()
            if not self._pending:
                self._first = now
            self._pending |= new
            self._last = now
            self._cond.notify_all()

    @property
    def pending(self) -> int:
        with self._cond:
            return len(self._pending)

    def due_in(self) -> float | None:
        """Seconds until the pending batch is due (0.0: now), or None when nothing is pending."""
        with self._cond:
            if not self._pending:
                return None
            return max(0.0, min(self._last + self.quiet, self._first + self.max_wait) - self.clock())

    def take(self) -> frozenset[str]:
        """The pending paths, now cleared."""
        with self._cond:
            batch = frozenset(self._pending)
            self._pending.clear()
            return batch

    def wait(self, alarm: Callable[[], bool] | None = None) -> frozenset[str]:
        """Block until a batch is due and return it; an empty batch once `close()` was called, or
        when `alarm()` (asked between waits of at most `WAKE` seconds) says something else is due."""
        with self._cond:
            while not self._closed:
                delay = self.due_in()
                if delay == 0.0:
                    return self.take()
                if alarm is not None and alarm():
                    return frozenset()
                self._cond.wait(WAKE if delay is None else min(delay, WAKE))
            return frozenset()

    @property
    def closed(self) -> bool:
        return self._closed

    def close(self) -> None:
        """Wake `wait()` for good (from any thread)."""
        with self._cond:
            self._closed = True
            self._cond.notify_all()
