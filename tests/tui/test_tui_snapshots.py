"""SVG snapshots of the screens (pytest-textual-snapshot). Update with
`pytest tests/tui --snapshot-update` and review the pictures.

Runs are recorded with a frozen clock (one tick of 1.5 s per reading, one unit at a time) in UTC,
so times, durations, versions and sizes on screen are the same on every run.
"""

from __future__ import annotations

import itertools
import os
import time
from collections.abc import Awaitable, Callable, Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from textual.pilot import Pilot
from workbench.tui.app import WorkbenchApp
from workbench.tui.graph_view import GraphView
from workbench.tui.reporter import TuiReporter

from tests.tui.conftest import BOOM, PIPELINE, TABLE
from workbench.project import find_project
from workbench.run import runner
from workbench.workspace import Workspace

Settle = Callable[[Pilot[None]], Awaitable[None]]
SIZES = {"80x24": (80, 24), "120x32": (120, 32), "160x45": (160, 45)}
EPOCH = datetime(2026, 1, 2, 9, 30, tzinfo=timezone.utc)


@pytest.fixture
def project(make_project: Callable[..., Path]) -> Path:
    return make_project({"pipeline.py": PIPELINE + TABLE})


@pytest.fixture
def frozen(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Run records get deterministic times, and the screen shows them in UTC."""
    ticks = itertools.count()
    monkeypatch.setattr(runner, "utcnow", lambda: EPOCH + timedelta(seconds=1.5 * next(ticks)))
    old = os.environ.get("TZ")
    os.environ["TZ"] = "UTC"
    time.tzset()
    yield
    if old is None:
        del os.environ["TZ"]
    else:
        os.environ["TZ"] = old
    time.tzset()


def run(root: Path, selection: str | None = None) -> None:
    Workspace.open(root).materialize(selection, jobs=1)


def edit(root: Path, old: str, new: str) -> None:
    path = root / "pipeline.py"
    path.write_text(path.read_text().replace(old, new))


@pytest.mark.parametrize(
    ("size", "press"),
    [
        ((80, 24), ()),  # the smallest supported terminal: detail pane under the graph
        ((120, 32), ("l", "j")),  # cursor moved, its lineage highlighted
        ((120, 32), ("slash", *"group:ml", "enter")),  # filtered by the CLI selection syntax
        ((80, 24), ("v",)),  # the list view
        ((80, 24), ("question_mark",)),  # the help screen
    ],
    ids=["main-80x24", "main-120x32", "filter", "list", "help"],
)
def test_screens(project: Path, snap_compare: Callable[..., bool], settle: Settle, size: tuple[int, int], press: tuple[str, ...]) -> None:
    async def run_before(pilot: Pilot[None]) -> None:
        await settle(pilot)
        await pilot.press(*press)
        await settle(pilot)

    assert snap_compare(WorkbenchApp(find_project(project)), terminal_size=size, run_before=run_before)


def fresh(root: Path) -> str:
    run(root)
    return "model"


def stale(root: Path) -> str:
    run(root)
    edit(root, 'raw["n"] - 1', 'raw["n"] - 2')
    return "clean"


def failed(root: Path) -> str:
    (root / "pipeline.py").write_text(PIPELINE + TABLE + BOOM)
    run(root)
    return "boom"


def running(root: Path) -> str:
    run(root, "clean")
    return "model"


def history(root: Path) -> str:
    run(root)
    edit(root, 'clean["n"] * 2', 'clean["n"] * 3')
    run(root, "model")
    return "model"


def lineage(root: Path) -> str:
    run(root)
    return "report"


STATES: dict[str, tuple[Callable[[Path], str], tuple[str, ...]]] = {
    "fresh": (fresh, ()),
    "stale": (stale, ()),
    "failed": (failed, ()),
    "running": (running, ()),
    "history": (history, ("2",)),
    "lineage": (lineage, ("3",)),
}


@pytest.mark.parametrize("size", SIZES.values(), ids=SIZES.keys())
@pytest.mark.parametrize("state", STATES)
def test_states_and_tabs(
    project: Path, frozen: None, snap_compare: Callable[..., bool], settle: Settle, state: str, size: tuple[int, int]
) -> None:
    prepare, press = STATES[state]
    focus = prepare(project)

    async def run_before(pilot: Pilot[None]) -> None:
        await settle(pilot)
        pilot.app.query_one(GraphView).cursor = focus
        if state == "running":  # progress as the executor reports it
            pilot.app.post_message(TuiReporter.Planned(("model", "report")))
            TuiReporter(pilot.app).started("model")
        await settle(pilot)
        await pilot.press(*press)
        await settle(pilot)

    assert snap_compare(WorkbenchApp(find_project(project)), terminal_size=size, run_before=run_before)
