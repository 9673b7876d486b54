"""Pilot tests: open a temp project, navigate, filter, open details, materialize, see it turn fresh."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path

from textual.pilot import Pilot
from textual.widgets import DataTable, Static, Tree
from workbench.tui import app as app_module
from workbench.tui.app import WorkbenchApp
from workbench.tui.asset_tree import AssetTree
from workbench.tui.detail import AssetDetail
from workbench.tui.filter_bar import FilterBar
from workbench.tui.graph_view import GraphView
from workbench.tui.help import HelpScreen
from workbench.tui.legend import Legend
from workbench.tui.version_table import VersionTable

from tests.conftest import run_wb
from tests.tui.conftest import PIPELINE, press_on, until
from workbench.project import find_project
from workbench.workspace import Workspace

Settle = Callable[[Pilot[None]], Awaitable[None]]
BOOM_ERROR = "[red]bad[/] value"


def static_text(app: WorkbenchApp, selector: str) -> str:
    return str(app.query_one(selector, Static).render())


async def test_navigate_and_open_details(pipeline: Path, settle: Settle) -> None:
    app = WorkbenchApp(find_project(pipeline))
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        graph = app.query_one(GraphView)
        assert app.focused is graph and graph.cursor == "raw"
        assert graph.states == {"raw": "missing", "clean": "missing", "model": "missing", "report": "missing"}
        await pilot.press("l")
        assert graph.cursor == "clean"
        await pilot.press("c")  # nearest child, then the next child on a second press
        first = graph.cursor
        await pilot.press("c")
        assert {first, graph.cursor} == {"model", "report"}
        await pilot.press("p")
        assert graph.cursor == "clean"
        await pilot.press("h", "right", "right")
        assert graph.cursor in ("model", "report")
        await pilot.press("enter")
        await settle(pilot)
        detail = app.query_one(AssetDetail)
        assert detail.key == graph.cursor and app.focused is not None and detail in app.focused.ancestors
        overview = static_text(app, "#overview")
        assert "missing" in overview and "group ml" in overview and "upstream" in overview
        await pilot.press("escape")
        assert app.focused is graph


async def test_filter_uses_the_cli_selection_syntax(pipeline: Path, settle: Settle) -> None:
    app = WorkbenchApp(find_project(pipeline))
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        graph = app.query_one(GraphView)
        await pilot.press("slash", *"+model", "enter")
        await settle(pilot)
        assert set(graph.diagram.nodes) == {"clean", "model"}
        assert app.query_one(Legend).selection == "+model" and app.focused is graph
        await pilot.press("slash", *"nope", "enter")
        bar = app.query_one(FilterBar)
        assert bar.has_class("-error") and "nope" in str(bar.border_subtitle)
        assert set(graph.diagram.nodes) == {"clean", "model"}  # a bad filter changes nothing
        await pilot.press("escape")
        assert not bar.has_class("-open") and app.focused is graph
        await pilot.press("slash", "ctrl+u", "enter")  # an empty filter shows everything again
        await settle(pilot)
        assert set(graph.diagram.nodes) == {"raw", "clean", "model", "report"}


async def test_a_status_filter_follows_the_states(pipeline: Path, settle: Settle) -> None:
    app = WorkbenchApp(find_project(pipeline))
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        graph = app.query_one(GraphView)
        await pilot.press("slash", *"status:missing", "enter")
        await settle(pilot)
        assert set(graph.diagram.nodes) == {"raw", "clean", "model", "report"}
        graph.cursor = "clean"
        await pilot.press("m")  # clean and raw turn fresh: the filter drops them
        await settle(pilot)
        assert set(graph.diagram.nodes) == {"model", "report"}
        assert app.query_one(Legend).selection == "status:missing"


async def test_m_materializes_the_focused_asset_and_its_upstream(pipeline: Path, settle: Settle) -> None:
    app = WorkbenchApp(find_project(pipeline))
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        graph = app.query_one(GraphView)
        await pilot.press("l", "l")
        assert graph.cursor in ("model", "report")
        target = graph.cursor
        await pilot.press("m")
        await settle(pilot)
        assert graph.states[target] == "fresh" and graph.states["clean"] == graph.states["raw"] == "fresh"
        assert sum(app.query_one(Legend).counts.values()) == 4
        await pilot.press("2")
        await settle(pilot)
        history = app.query_one(VersionTable)
        assert history.row_count == 1 and "success" in str(history.get_row_at(0)[1])
        record = app.statuses[target].record
        assert record is not None and record.trigger == "tui"
        await pilot.press("M")  # the rest of the stale assets
        await settle(pilot)
        assert set(graph.states.values()) == {"fresh"}


async def test_a_failure_shows_its_error_and_log_verbatim(make_project: Callable[..., Path], settle: Settle) -> None:
    from tests.tui.conftest import BOOM, PIPELINE

    root = make_project({"pipeline.py": PIPELINE + BOOM})
    app = WorkbenchApp(find_project(root))
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        await pilot.press("M")
        await settle(pilot)
        graph = app.query_one(GraphView)
        assert graph.states["boom"] == "failed" and graph.states["report"] == "fresh"
        graph.cursor = "boom"
        await pilot.press("5")
        await settle(pilot)
        log = static_text(app, "#log")
        assert BOOM_ERROR in log and "about to fail" in log and "Traceback" in log
        await pilot.press("1")
        await settle(pilot)
        assert BOOM_ERROR in static_text(app, "#overview")


async def test_runs_recorded_by_other_processes_show_up(pipeline: Path, settle: Settle, monkeypatch) -> None:
    monkeypatch.setattr(app_module, "POLL_SECONDS", 0.2)
    app = WorkbenchApp(find_project(pipeline))
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        done = run_wb(pipeline, "materialize", "model")  # the TUI must not hold the store's lock
        assert done.returncode == 0, done.stderr
        await until(pilot, lambda: app.query_one(GraphView).states.get("model") == "fresh")
        assert app.query_one(GraphView).states == {"raw": "fresh", "clean": "fresh", "model": "fresh", "report": "missing"}


async def test_table_preview_and_version_lineage(make_project: Callable[..., Path], settle: Settle) -> None:
    from tests.tui.conftest import PIPELINE, TABLE

    root = make_project({"pipeline.py": PIPELINE + TABLE})
    assert Workspace.open(root).materialize().ok
    app = WorkbenchApp(find_project(root))
    async with app.run_test(size=(120, 36)) as pilot:
        await settle(pilot)
        graph = app.query_one(GraphView)
        graph.cursor = "table"
        await pilot.press("4")
        await settle(pilot)
        table = app.query_one("#preview-table", DataTable)
        assert table.row_count == 3 and [str(c) for c in table.get_row_at(0)] == ["1", "[b]a"]
        assert "name: String" in static_text(app, "#preview-schema")
        graph.cursor = "report"
        await pilot.press("2")
        await settle(pilot)
        app.query_one(VersionTable).focus()
        await pilot.press("enter")  # the lineage of the chosen version
        await settle(pilot)
        lineage = app.query_one("#lineage", Tree)
        assert lineage.root.label.plain.startswith("report@")
        inputs = sorted(str(child.label).split("@")[0] for child in lineage.root.children)
        assert inputs == ["clean", "model"]


async def test_list_view_help_and_commands(pipeline: Path, settle: Settle) -> None:
    app = WorkbenchApp(find_project(pipeline))
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("l", "v")
        await settle(pilot)
        tree = app.query_one(AssetTree)
        assert app.focused is tree and tree.cursor_node is not None and tree.cursor_node.data == "clean"
        assert sorted(str(n.label) for n in tree.root.children) == ["ml", "prep"]
        await pilot.press("j")
        await settle(pilot)
        assert app.query_one(AssetDetail).key == tree.cursor_node.data
        await pilot.press("v")
        assert app.focused is app.query_one(GraphView)
        await pilot.press("question_mark")
        assert isinstance(app.screen, HelpScreen)
        await pilot.press("escape")
        assert not isinstance(app.screen, HelpScreen)
        titles = [c.title for c in app.get_system_commands(app.screen)]
        assert "Materialize everything stale" in titles and "Filter assets" in titles


async def test_load_errors_are_shown_and_recovered_from(make_project: Callable[..., Path], settle: Settle, monkeypatch) -> None:
    from tests.tui.conftest import PIPELINE

    monkeypatch.setattr(app_module, "POLL_SECONDS", 0.2)
    root = make_project({"pipeline.py": PIPELINE + "\ndef broken(:\n"})
    app = WorkbenchApp(find_project(root))
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        message = static_text(app, "#message")
        assert "Cannot load the project" in message and "syntax error" in message
        (root / "pipeline.py").write_text(PIPELINE)
        await until(pilot, lambda: bool(app.query_one(GraphView).diagram.nodes))
        assert set(app.query_one(GraphView).diagram.nodes) == {"raw", "clean", "model", "report"}


async def test_an_empty_project(make_project: Callable[..., Path], settle: Settle) -> None:
    root = make_project({"pipeline.py": "X = 1\n"})
    app = WorkbenchApp(find_project(root))
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        assert "No assets" in static_text(app, "#message")
        await pilot.press("m", "M", "slash", "x", "enter", "v", "j")  # nothing to act on: nothing breaks
        await settle(pilot)


async def test_a_partitioned_asset_is_one_node_summing_up_its_partitions(make_project: Callable[..., Path], settle: Settle) -> None:
    from tests.tui.conftest import PIPELINE

    regions = """

from workbench import StaticPartitions


@asset(partitions=StaticPartitions(["eu", "us"]))
def sales(raw: dict, partition: str) -> dict:
    return {"region": partition}
"""
    root = make_project({"pipeline.py": PIPELINE + regions})
    app = WorkbenchApp(find_project(root))
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        graph = app.query_one(GraphView)
        assert graph.states["sales"] == "missing" and "0/2 fresh" in str(app.statuses["sales"].reasons[0])
        graph.cursor = "sales"
        await pilot.press("m")
        await settle(pilot)
        assert graph.states["sales"] == "fresh" and "2/2 fresh" in str(app.statuses["sales"].reasons[0])
        await pilot.press("2")
        await settle(pilot)
        history = app.query_one(VersionTable)
        assert history.row_count == 2 and sorted(str(history.get_row_at(i)[1]) for i in range(2)) == ["eu", "us"]


async def test_run_progress_shows_on_the_nodes(pipeline: Path, settle: Settle) -> None:
    from workbench.tui.reporter import TuiReporter

    app = WorkbenchApp(find_project(pipeline))
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        reporter = TuiReporter(app)  # as the executor calls it, here from the test's thread
        app.post_message(TuiReporter.Planned(("raw", "clean")))
        reporter.started("raw")
        await settle(pilot)
        graph = app.query_one(GraphView)
        assert graph.states["raw"] == "running" and app.query_one(Legend).progress == "running 0/2"
        reporter.finished("raw", "materialized", 0.1)
        reporter.started("clean")
        reporter.finished("clean", "failed", 0.1, "boom")
        await settle(pilot)
        assert (graph.states["raw"], graph.states["clean"]) == ("fresh", "failed")
        assert app.query_one(Legend).progress == "running 2/2"


async def test_the_lineage_tab_shows_why_it_cannot_show_a_lineage(make_project: Callable[..., Path], settle: Settle) -> None:
    from tests.tui.conftest import PIPELINE

    root = make_project({"pipeline.py": PIPELINE})
    assert Workspace.open(root).materialize().ok
    app = WorkbenchApp(find_project(root))
    async with app.run_test(size=(120, 36)) as pilot:
        await settle(pilot)
        (root / ".workbench" / "metadata.duckdb").write_bytes(b"garbage" * 1000)  # damaged after the load
        app.query_one(GraphView).cursor = "model"
        await pilot.press("3")
        await settle(pilot)
        label = app.query_one("#lineage", Tree).root.label.plain
        assert label.startswith("cannot show the lineage of model@") and "wb doctor --rebuild" in label, label


async def test_the_log_tab_shows_each_checks_output_and_error(make_project: Callable[..., Path], settle: Settle) -> None:
    from tests.tui.conftest import PIPELINE

    checks = '''

from workbench import check


@check(asset="clean")
def chatty(clean: dict) -> bool:
    print("looked at", clean["n"], "rows")
    return True


@check(asset="clean")
def broken(clean: dict) -> bool:
    return clean["missing"] > 0
'''
    root = make_project({"pipeline.py": PIPELINE + checks})
    assert not Workspace.open(root).materialize("clean").failed
    app = WorkbenchApp(find_project(root))
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await press_on(pilot, "clean", "5")
        log = static_text(app, "#log")
        assert "cleaning 3" in log  # the asset's own output
        assert "chatty" in log and "looked at 2 rows" in log
        assert "broken" in log and "KeyError: 'missing'" in log and 'clean["missing"]' in log  # error and traceback


HELD = '''
import time
from pathlib import Path
from workbench import asset


@asset
def first() -> int:
    return 1


@asset
def slow(first: int) -> int:
    Path("started").touch()
    while not Path("release").exists():  # the test decides when it ends
        time.sleep(0.01)
    return first + 1
'''


async def test_a_run_held_by_another_process_shows_as_running_with_its_holder(
    make_project: Callable[..., Path], settle: Settle, monkeypatch
) -> None:  # type: ignore[no-untyped-def]
    import subprocess

    from tests.conftest import WB, wait_for, wb_env

    monkeypatch.setattr(app_module, "POLL_SECONDS", 0.2)
    root = make_project({"pipeline.py": HELD})
    app = WorkbenchApp(find_project(root))
    async with app.run_test(size=(120, 30)) as pilot:
        await settle(pilot)
        graph = app.query_one(GraphView)
        await pilot.press("l")
        assert graph.cursor == "slow"
        other = subprocess.Popen([WB, "materialize"], cwd=root, env=wb_env(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            wait_for(root / "started")
            await until(pilot, lambda: graph.states == {"first": "fresh", "slow": "running"})  # first is indexed in a batch
            overview = static_text(app, "#overview")
            assert f"▶ in pid {other.pid} (cli)" in overview, overview
            assert app.query_one(Legend).counts["running"] == 1
        finally:
            (root / "release").touch()
            assert other.wait(timeout=60) == 0
        await until(pilot, lambda: graph.states.get("slow") == "fresh")
        assert graph.states == {"first": "fresh", "slow": "fresh"}
        assert "in pid" not in static_text(app, "#overview")


def test_the_leases_are_read_only_while_a_run_is_going_on(make_project: Callable[..., Path], monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """Each poll looks for runs of other processes; with no run journal (every run keeps one while
    it holds leases) it does not read the notes the leases' holders leave."""
    from workbench.tui import data

    from workbench.run.leases import Leases

    root = make_project({"pipeline.py": PIPELINE})
    assert run_wb(root, "materialize").returncode == 0
    ws = Workspace.open(root).recover()
    assert sorted(p.name for p in (root / ".workbench" / "locks").iterdir()) == ["notes.jsonl", "store.lock", "units.lock"]
    read: list[int] = []
    monkeypatch.setattr(Leases, "holders", lambda self: read.append(1) or {})
    assert data.held(ws) == {} and read == []
    (root / ".workbench" / "journal" / "a-run").touch()  # a run going on (or killed: the next command recovers it)
    assert data.held(ws) == {} and read == [1]
