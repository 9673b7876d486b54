"""SVG snapshots of the main screens (pytest-textual-snapshot; Textual is pinned, since an
upgrade changes every snapshot). Update with `pytest tests/tui --snapshot-update` and review."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest
from textual.pilot import Pilot
from workbench.tui.app import WorkbenchApp

from workbench.project import find_project

Settle = Callable[[Pilot[None]], Awaitable[None]]


@pytest.fixture
def project(make_project: Callable[..., Path]) -> Path:
    from tests.tui.conftest import PIPELINE, TABLE

    return make_project({"pipeline.py": PIPELINE + TABLE})


@pytest.mark.parametrize(
    ("size", "press"),
    [
        ((80, 24), ()),  # the smallest supported terminal: detail pane under the graph
        ((120, 32), ("l", "j")),  # side by side, cursor moved, parents and children underlined
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
