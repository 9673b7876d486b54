"""Per-thread capture of stdout, stderr and logging, so parallel assets each get their own log."""

from __future__ import annotations

import io
import logging
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TextIO, TypeVar

MAX_LOG_CHARS = 200_000
T = TypeVar("T")

_local = threading.local()
_install_lock = threading.Lock()
_echo = False  # also write captured output through (one asset per process, e.g. a pod's log)


def echo(enabled: bool) -> None:
    """Let captured output also reach the real stdout/stderr while it is being captured."""
    global _echo
    _echo = enabled


class _Router(io.TextIOBase):
    """Writes to the current thread's capture buffer if any, else to the original stream."""

    def __init__(self, original: TextIO) -> None:
        self.original = original

    def write(self, text: str) -> int:
        buffer: io.StringIO | None = getattr(_local, "buffer", None)
        if buffer is None:
            return self.original.write(text)
        if _echo:
            self.original.write(text)
        return buffer.write(text)

    def flush(self) -> None:
        if _echo or getattr(_local, "buffer", None) is None:
            self.original.flush()

    def isatty(self) -> bool:
        return getattr(_local, "buffer", None) is None and self.original.isatty()

    def __getattr__(self, name: str) -> Any:
        return getattr(self.original, name)


class _Handler(logging.Handler):
    def emit(self, record: logging.LogRecord) -> None:
        buffer = getattr(_local, "buffer", None)
        if buffer is not None:
            line = self.format(record) + "\n"
            buffer.write(line)
            if _echo and sys.__stderr__ is not None:
                sys.__stderr__.write(line)


def _install() -> None:
    with _install_lock:
        if not isinstance(sys.stdout, _Router):
            sys.stdout = _Router(sys.stdout)
        if not isinstance(sys.stderr, _Router):
            sys.stderr = _Router(sys.stderr)
        root = logging.getLogger()
        if not any(isinstance(h, _Handler) for h in root.handlers):
            handler = _Handler()
            handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
            root.addHandler(handler)
            if root.level > logging.INFO or root.level == logging.NOTSET:
                root.setLevel(logging.INFO)


@contextmanager
def captured() -> Iterator[io.StringIO]:
    """Route this thread's prints and log records into a buffer while the block runs."""
    _install()
    buffer = io.StringIO()
    previous = getattr(_local, "buffer", None)
    _local.buffer = buffer
    try:
        yield buffer
    finally:
        _local.buffer = previous


def inherit(work: Callable[[], T]) -> Callable[[], T]:
    """`work`, which when called in another thread prints into this thread's capture buffer."""
    buffer = getattr(_local, "buffer", None)

    def run() -> T:
        _local.buffer = buffer
        return work()

    return run


def tail(text: str) -> str:
    """Keep logs bounded: the last MAX_LOG_CHARS characters."""
    return text if len(text) <= MAX_LOG_CHARS else "[... truncated ...]\n" + text[-MAX_LOG_CHARS:]
