"""Plain progress lines: those of one pass of the scheduler are written together when it waits."""

from __future__ import annotations

import io

from workbench.run.reporting import FAILED, MATERIALIZED, PlainReporter


def events(out: io.StringIO) -> list[str]:
    return [line.split(" ", 1)[1] for line in out.getvalue().splitlines()]  # without the time stamp


def test_lines_wait_for_the_flush_and_the_close_writes_the_rest() -> None:
    out = io.StringIO()
    reporter = PlainReporter(out)
    reporter.started("a")
    reporter.finished("a", MATERIALIZED, 0.5)
    assert out.getvalue() == ""  # the scheduler has not waited yet
    reporter.flush()
    assert events(out) == ["start  a", "materialized a (0.50s)"]
    reporter.started("b")
    reporter.finished("b", FAILED, 1.0, "ValueError: no\x1b[2J")
    reporter.closed()
    assert events(out)[2:] == ["start  b", "failed       b (1.00s): ValueError: no\\x1b[2J"]  # made terminal-safe
