"""The partition status strip: counts and a bar in the overview, Enter lists the partitions, `m`
there runs just one (issue 14)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path

from textual.pilot import Pilot
from textual.widgets import DataTable
from workbench.tui.app import WorkbenchApp
from workbench.tui.graph_view import GraphView
from workbench.tui.partition_strip import PartitionList, PartitionStrip, bar, strip

from workbench.core.staleness import FRESH, MISSING, STALE, Status
from workbench.project import find_project

Settle = Callable[[Pilot[None]], Awaitable[None]]

DAILY = '''
from workbench import DailyPartitions, asset


@asset
def raw() -> dict:
    return {"n": 3}


@asset(partitions=DailyPartitions(start="2026-11-01", end="2026-11-03"))
def events(raw: dict, partition: str) -> dict:
    return {"day": partition}
'''


def unit(partition: str, state: str) -> Status:
    return Status("events", state, (), None, None, partition=partition)


def test_the_bar_has_a_cell_per_partition_or_the_worst_of_each_run() -> None:
    three = [unit("a", FRESH), unit("b", STALE), unit("c", MISSING)]
    assert bar(three, 40).plain == "███" and [s.style for s in bar(three, 40).spans] == ["green", "yellow", "#42a5f5"]
    year = [unit(f"d{i:03}", STALE if i == 200 else FRESH) for i in range(365)]
    cells = bar(year, 73)
    assert len(cells.plain) == 73 and [s.style for s in cells.spans].count("yellow") == 1  # one cell holds day 200
    text = strip(year, 73).plain
    assert text.startswith("✔ 364 fresh  ↻ 1 stale  ○ 0 missing  ✘ 0 failed  of 365") and "d000" in text and "d364" in text


async def test_enter_lists_the_partitions_and_m_runs_just_one(make_project: Callable[..., Path], settle: Settle) -> None:
    root = make_project({"pipeline.py": DAILY})
    app = WorkbenchApp(find_project(root))
    async with app.run_test(size=(120, 36)) as pilot:
        await settle(pilot)
        graph = app.query_one(GraphView)
        graph.cursor = "events"
        await settle(pilot)
        shown = str(app.query_one(PartitionStrip).render())
        assert "0 fresh" in shown and "3 missing" in shown and "of 3" in shown and "2026-11-01" in shown
        await pilot.press("enter")
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, PartitionList)
        table = screen.query_one(DataTable)
        assert [str(table.get_row_at(i)[0]) for i in range(table.row_count)] == ["2026-11-01", "2026-11-02", "2026-11-03"]
        await pilot.press("down", "m")
        await settle(pilot)
        assert not isinstance(app.screen, PartitionList)
        states = {u: st.state for u, st in app.query_one("#detail").units.items()}  # type: ignore[attr-defined]
        assert states["events[2026-11-02]"] == "fresh" and states["raw"] == "fresh"
        assert states["events[2026-11-01]"] == states["events[2026-11-03]"] == "missing"
        app.query_one("#detail").open_tab("overview")  # type: ignore[attr-defined]  # a run opens the Run tab
        await settle(pilot)
        assert "1 fresh" in str(app.query_one(PartitionStrip).render())
        graph.cursor = "raw"
        await settle(pilot)
        assert not app.query_one(PartitionStrip).has_class("-shown")  # unpartitioned: no strip
