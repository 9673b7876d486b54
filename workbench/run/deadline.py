"""`@asset(timeout=...)` enforced locally: user code that runs too long is abandoned, not waited for.

Python cannot kill a thread. The code runs in a detached thread of its own (`run.detached`); when the
time is up the caller gets `AssetTimeout` (the asset fails with `timed out after N s` and its record
is written) and the thread is left to end by itself; it does not keep the process alive at exit.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from workbench.run import capture, detached

__all__ = ["AssetTimeout", "within"]

T = TypeVar("T")

class AssetTimeout(Exception):
    """The code ran longer than its timeout and was abandoned."""

    def __init__(self, seconds: float) -> None:
        super().__init__(f"timed out after {seconds:g} s")


def within(seconds: float | None, work: Callable[[], T], name: str = "wb-timed") -> T:
    """`work()`, or `AssetTimeout` when it has not returned after `seconds` (None: no limit)."""
    if seconds is None:
        return work()
    outcome: list[tuple[bool, object]] = []

    def target() -> None:
        try:
            outcome.append((True, work()))
        except BaseException as exc:  # handed to the caller, who decides
            outcome.append((False, exc))

    thread = detached.start(capture.inherit(target), name)
    thread.join(seconds)
    if not outcome:
        raise AssetTimeout(seconds)
    ok, value = outcome[0]
    if not ok:
        assert isinstance(value, BaseException)
        raise value
    return value  # type: ignore[return-value]

