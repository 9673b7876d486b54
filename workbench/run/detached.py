"""Threads this process will not wait for: timed-out assets, assets a second Ctrl+C stopped, an
import that hangs while `wb watch` loads the project, background index reads, pod log followers.

Python cannot kill a thread, and letting the interpreter finalize while one still runs is unsafe:
a daemon thread that wakes inside a C extension (DuckDB, Polars) during shutdown aborts the whole
process (SIGABRT) instead of exiting. The CLI therefore asks `running()` before it exits and, when
one of these threads is alive, flushes its streams and ends the process at once. Every record a
run wrote is already committed by then; what the abandoned code would still produce is discarded.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable

__all__ = ["detach", "running", "start"]

_THREADS: list[threading.Thread] = []
_LOCK = threading.Lock()


def start(target: Callable[[], object], name: str) -> threading.Thread:
    """Run `target` in a daemon thread of its own that the process may leave behind at exit."""
    thread = threading.Thread(target=target, name=name, daemon=True)
    detach([thread])
    thread.start()
    return thread


def detach(threads: Iterable[threading.Thread]) -> None:
    """Mark threads (already running or about to start) as ones the process will not wait for."""
    with _LOCK:
        _THREADS[:] = [t for t in _THREADS if t.is_alive() or not t.ident]  # forget the ones that ended
        _THREADS.extend(threads)


def running() -> bool:
    """Whether a detached thread still runs (the process must then exit with `os._exit`)."""
    with _LOCK:
        return any(t.is_alive() for t in _THREADS)
