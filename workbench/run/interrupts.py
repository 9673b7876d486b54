"""Ctrl+C (SIGINT) and SIGTERM while a run applies its plan: the first press lets the running
assets finish and be recorded, and starts nothing new; a second press stops them.

The handler only counts presses; the executor's scheduling loop, which wakes at least every
quarter second, reads the count. So a press never lands in the middle of an index write, and it
is seen even when a library (Polars) has put its own C-level SIGINT handler in front of Python's:
that handler chains to Python's, but does not wake a blocked wait.
"""

from __future__ import annotations

import signal
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType

SIGNALS = (signal.SIGINT, signal.SIGTERM)


class Presses:
    """How many times Ctrl+C (or SIGTERM) arrived since `counted()` began."""

    def __init__(self) -> None:
        self.count = 0


@contextmanager
def counted() -> Iterator[Presses]:
    """While the block runs, SIGINT and SIGTERM are counted instead of raising `KeyboardInterrupt`.

    Only the main thread receives signals; in any other thread (the TUI runs there) nothing is
    installed and the count stays 0.
    """
    presses = Presses()
    if threading.current_thread() is not threading.main_thread():
        yield presses
        return

    def handle(signum: int, frame: FrameType | None) -> None:
        presses.count += 1

    previous = {sig: signal.signal(sig, handle) for sig in SIGNALS}
    try:
        yield presses
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, signal.SIG_DFL if handler is None else handler)


def say(text: str) -> None:
    """One line on stderr, for the person who pressed Ctrl+C."""
    sys.stderr.write(f"{text}\n")
    sys.stderr.flush()
