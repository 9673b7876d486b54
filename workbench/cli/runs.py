"""How the CLI shows a run: its progress and its outcome on stderr.

Kept apart from `views.py` so that a run loads rich only on a terminal, for the progress bar: in
a pipe, a CI log or a script the lines are plain (rich costs ~20 ms of every such run's start).
"""

from __future__ import annotations

import os
import sys
from typing import TYPE_CHECKING, Any

import click

from workbench.text import terminal_safe

if TYPE_CHECKING:
    from workbench.run.executor import Result
    from workbench.run.reporting import Reporter

STYLES: dict[str, dict[str, Any]] = {
    "green": {"fg": "green"}, "bold green": {"fg": "green", "bold": True}, "bold red": {"fg": "red", "bold": True},
    "yellow": {"fg": "yellow"}, "bold": {"bold": True}, "dim": {"dim": True}, "": {},
}  # fmt: skip


def reporter(quiet: bool, stamp: str = "%H:%M:%S") -> Reporter:
    """Progress on stderr: a rich progress bar on a terminal, else one line per event stamped with `stamp`."""
    from workbench.run.reporting import NullReporter, PlainReporter, RichReporter

    if quiet:
        return NullReporter()
    return RichReporter() if sys.stderr.isatty() else PlainReporter(stamp=stamp)


def print_result(result: Result) -> None:
    """What the run did, one line; then a line per failed or blocked asset."""
    if not result.materialized and not result.failed and not result.blocked:
        _say((f"everything is fresh: nothing to do ({len(result.skipped)} asset(s) skipped)", "green"))
        return
    parts = [f"materialized {len(result.materialized)}", f"skipped {len(result.skipped)}", f"failed {len(result.failed)}"]
    _say((", ".join(parts), "bold red" if result.failed else "bold green"))
    for key in result.failed:
        _say(("failed  ", "bold red"), (key, "bold"), (f": {terminal_safe(result.errors.get(key, ''))}", ""))
    for key, cause in result.blocked.items():
        _say(("skipped ", "yellow"), (key, "bold"), (f": upstream {cause} failed", ""))
    if result.failed:
        _say((f"see the traceback with: wb history {result.failed[0]}", "dim"))


def _say(*parts: tuple[str, str]) -> None:
    """One line on stderr of (text, style) parts: styled on a terminal (unless NO_COLOR), plain elsewhere."""
    color = False if os.environ.get("NO_COLOR") else None  # None: click styles only a terminal
    click.echo("".join(click.style(text, **STYLES[style]) for text, style in parts), err=True, color=color)
