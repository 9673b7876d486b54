"""The TUI as the place to work: the whole graph on screen, the focused lineage, the editor key,
the run timeline, the mouse, and visible loading (Pilot, at the sizes users have)."""

from __future__ import annotations

import json
import sys
import threading
from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest
from textual.pilot import Pilot
from textual.widgets import TabbedContent
from textual.widgets._footer import FooterKey
from workbench.tui import app as app_module
from workbench.tui import data, theme
from workbench.tui.app import WorkbenchApp
from workbench.tui.detail import AssetDetail
from workbench.tui.graph_view import GraphView
from workbench.tui.preview_pane import PreviewPane
from workbench.tui.render import render_row
from workbench.tui.run_panel import RunPanel

from tests.conftest import run_wb
from tests.tui.conftest import PIPELINE, TABLE, press_on, until
from workbench.project import find_project

Settle = Callable[[Pilot[None]], Awaitable[None]]
DEFAULT_KEYS = {"raw_penguins", "penguins", "penguin_features", "train_set", "test_set", "species_model", "evaluation", "report"}


@pytest.mark.parametrize("size", [(80, 24), (120, 32), (160, 45)], ids=["80x24", "120x32", "160x45"])
async def test_the_default_projects_whole_graph_and_help_and_quit_are_on_screen(
    default_project: Path, settle: Settle, size: tuple[int, int]
) -> None:
    app = WorkbenchApp(find_project(default_project))
    async with app.run_test(size=size) as pilot:
        await settle(pilot)
        graph = app.query_one(GraphView)
        assert set(graph.diagram.nodes) == DEFAULT_KEYS
        view = graph.scrollable_content_region
        assert graph.scroll_offset == (0, 0) and graph.diagram.width <= view.width and graph.diagram.height <= view.height
        assert view.right <= size[0] and view.bottom <= size[1] - 1 and view.y >= 2  # under the header and legend
        shown = {key.description: key.region for key in app.query(FooterKey)}
        for name in ("Help", "Quit"):
            assert 0 < shown[name].width and shown[name].right <= size[0], (name, shown[name])
        detail = app.query_one(AssetDetail).region
        assert detail.height >= 10 and detail.width >= 44 and detail.right <= size[0]


async def test_the_focused_lineage_is_highlighted_and_f_dims_the_rest(make_project: Callable[..., Path], settle: Settle) -> None:
    app = WorkbenchApp(find_project(make_project({"pipeline.py": PIPELINE + TABLE})))
    async with app.run_test(size=(120, 32)) as pilot:
        await settle(pilot)
        graph = app.query_one(GraphView)
        graph.cursor = "model"
        await settle(pilot)
        assert (graph.upstream, graph.downstream) == ({"raw", "clean"}, {"report"})
        on_path = [("raw", "clean"), ("clean", "model"), ("model", "report")]
        assert [graph.edge_rank(e) for e in on_path] == [2, 2, 2]
        assert graph.edge_rank(("clean", "report")) == graph.edge_rank(("raw", "table")) == 1  # not through model
        box = graph.diagram.nodes["model"]
        row = render_row(graph.diagram, box.y, 0, graph.diagram.width, graph.states, "model", edge_rank=graph.edge_rank)
        assert any(s.style == theme.EDGE_HOT for s in row)  # drawn bright on screen too
        await pilot.press("f")
        assert graph.dim and graph.edge_rank(("raw", "table")) == 0 and graph.edge_rank(("clean", "model")) == 2
        table = graph.diagram.nodes["table"]
        row = render_row(graph.diagram, table.y, 0, graph.diagram.width, graph.states, "model", graph.upstream | graph.downstream,
                         edge_rank=graph.edge_rank, dimmed={"table"})
        assert [s.style for s in row if "table" in s.text] == [theme.DIMMED]
        await pilot.press("f")
        assert not graph.dim and graph.edge_rank(("raw", "table")) == 1


EDITOR = """
import json, sys
with open(sys.argv[1], "a") as out:
    out.write(json.dumps(sys.argv[2:]) + "\\n")
"""


async def test_e_opens_the_definition_in_the_editor_at_its_line(
    make_project: Callable[..., Path], settle: Settle, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    root = make_project({"pipeline.py": PIPELINE})
    script, calls = tmp_path / "editor.py", tmp_path / "calls.jsonl"
    script.write_text(EDITOR)
    monkeypatch.delenv("VISUAL", raising=False)
    monkeypatch.setenv("EDITOR", f"{sys.executable} {script} {calls}")
    app = WorkbenchApp(find_project(root))
    async with app.run_test(size=(120, 32)) as pilot:
        await settle(pilot)
        await press_on(pilot, "model", "e")
        [argv] = [json.loads(line) for line in calls.read_text().splitlines()]
        line, file = int(argv[0].removeprefix("+")), argv[1]
        assert Path(file) == root / "pipeline.py"
        assert "def model(" in Path(file).read_text().splitlines()[line - 1 : line + 1][-1]  # the def, or its decorator above it
        assert app.is_running and app.focused is app.query_one(GraphView)  # the TUI resumed


async def test_a_run_shows_live_then_as_a_timeline_and_so_does_another_processs(
    pipeline: Path, settle: Settle, monkeypatch: pytest.MonkeyPatch
) -> None:
    from workbench.tui import timeline

    monkeypatch.setattr(app_module, "POLL_SECONDS", 0.2)
    on_ui_thread: list[bool] = []  # a timeline of the last run is built from every status: not on the UI thread
    last_run = timeline.last_run

    def built(records):  # type: ignore[no-untyped-def]
        on_ui_thread.append(threading.current_thread() is threading.main_thread())
        return last_run(records)

    monkeypatch.setattr(timeline, "last_run", built)
    app = WorkbenchApp(find_project(pipeline))
    async with app.run_test(size=(120, 32)) as pilot:
        await settle(pilot)
        await pilot.press("M")
        assert app.query_one("#detail #tabs", TabbedContent).active == "run-tab"  # opened as the run starts
        await settle(pilot)
        panel = app.query_one(RunPanel)
        assert panel.timeline is not None and panel.t0 is None  # the run is over: the recorded timeline
        bars = panel.timeline.bars
        assert [b.unit for b in bars] == ["raw", "clean", "model", "report"]  # in the order they ran
        assert all(b.state == "fresh" and b.start is not None and b.end is not None and b.start <= b.end for b in bars)
        assert all(later.start >= earlier.end for earlier, later in zip(bars, bars[1:]))  # a chain runs in turn
        drawn = str(panel.render())
        assert " tui " in drawn and all(f"{k} " in drawn for k in ("raw", "clean", "model", "report")) and "█" in drawn
        before = panel.timeline.title
        done = run_wb(pipeline, "materialize", "clean", "--force")  # a run by another process
        assert done.returncode == 0, done.stderr
        await until(pilot, lambda: panel.timeline is not None and panel.timeline.title != before)
        assert " cli " in panel.timeline.title and [b.unit for b in panel.timeline.bars] == ["clean"]
    assert on_ui_thread and not any(on_ui_thread)


async def test_the_live_run_panel_shows_each_units_state(pipeline: Path, settle: Settle) -> None:
    from workbench.tui.reporter import TuiReporter

    app = WorkbenchApp(find_project(pipeline))
    async with app.run_test(size=(120, 32)) as pilot:
        await settle(pilot)
        release = threading.Event()
        app.running = app.run_worker(release.wait, thread=True)  # a run in progress, as `m` starts one
        reporter = TuiReporter(app)
        app.post_message(TuiReporter.Planned(("raw", "clean", "model")))
        reporter.started("raw")
        reporter.finished("raw", "materialized", 0.5)
        reporter.started("clean")
        panel = app.query_one(RunPanel)
        while panel.timeline is None or "▶" not in str(panel.render()):  # the repaint after the events (settle would wait for the run)
            await pilot.pause(0.02)
        assert panel.t0 is not None
        drawn = str(app.query_one(RunPanel).render()).splitlines()
        assert drawn[0].startswith("running 1/3")
        states = {line.split()[0]: line.split()[1] for line in drawn[1:]}
        assert states == {"raw": "✔", "clean": "▶", "model": "·"} and "queued" in drawn[-1]
        release.set()
        await settle(pilot)


async def test_the_mouse_focuses_a_node_and_opens_a_tab(make_project: Callable[..., Path], settle: Settle) -> None:
    app = WorkbenchApp(find_project(make_project({"pipeline.py": PIPELINE})))
    async with app.run_test(size=(120, 32)) as pilot:
        await settle(pilot)
        graph = app.query_one(GraphView)
        assert graph.cursor == "raw"
        box = graph.diagram.nodes["model"]
        assert await pilot.click(GraphView, offset=(box.x + 2, box.y))
        await settle(pilot)
        assert graph.cursor == "model" and app.query_one(AssetDetail).key == "model"
        assert await pilot.click("#detail Tab#--content-tab-history-tab")
        await settle(pilot)
        assert app.query_one(AssetDetail).active == "history"


async def test_a_slow_preview_shows_loading_and_the_ui_stays_responsive(
    make_project: Callable[..., Path], settle: Settle, monkeypatch: pytest.MonkeyPatch
) -> None:
    release = threading.Event()
    real = data.preview_of

    def slow(*args: object) -> data.Preview:
        release.wait(30)
        return real(*args)  # type: ignore[arg-type]

    monkeypatch.setattr(data, "preview_of", slow)
    app = WorkbenchApp(find_project(make_project({"pipeline.py": PIPELINE})))
    async with app.run_test(size=(120, 32)) as pilot:
        await settle(pilot)
        await pilot.press("4")
        pane = app.query_one(PreviewPane)
        while not pane.loading:  # shown as soon as the tab starts loading (after the debounce)
            await pilot.pause(0.02)
        await pilot.press("l")  # the UI still answers while the artifact loads
        assert app.query_one(GraphView).cursor == "clean" and app.query_one(AssetDetail).key == "clean"
        release.set()
        await settle(pilot)
        assert not pane.loading and "never materialized" in str(app.query_one("#preview-text").render())


async def test_d_in_history_shows_what_wb_diff_shows(make_project: Callable[..., Path], settle: Settle) -> None:
    from workbench.tui.diff_screen import DiffScreen
    from workbench.tui.version_table import VersionTable

    from workbench.workspace import Workspace

    root = make_project({"pipeline.py": PIPELINE})
    assert Workspace.open(root).materialize().ok
    (root / "pipeline.py").write_text(PIPELINE.replace('clean["n"] * 2', 'clean["n"] * 3'))
    assert Workspace.open(root).materialize().ok
    cli = run_wb(root, "diff", "model@latest~1", "model@latest")
    assert cli.returncode == 0, cli.stderr
    app = WorkbenchApp(find_project(root))
    async with app.run_test(size=(120, 32)) as pilot:
        await settle(pilot)
        await press_on(pilot, "model", "2")
        table = app.query_one(VersionTable)
        table.focus()
        await pilot.press("d")  # the newest row against the one before it
        assert isinstance(app.screen, DiffScreen)
        shown = app.screen.query_one("#diff").render()
        assert str(shown).splitlines() == cli.stdout.splitlines() and "code " in cli.stdout
        await pilot.press("escape")
        await pilot.press("down", "space", "up", "d")  # the marked older version against the newest
        assert isinstance(app.screen, DiffScreen) and str(app.screen.query_one("#diff").render()).splitlines() == cli.stdout.splitlines()


async def test_the_mouse_wheel_scrolls_a_graph_taller_than_the_screen(make_project: Callable[..., Path], settle: Settle) -> None:
    from textual.events import MouseScrollDown

    many = "from workbench import asset\n" + "".join(f"\n\n@asset\ndef a{i}() -> int:\n    return {i}\n" for i in range(40))
    app = WorkbenchApp(find_project(make_project({"pipeline.py": many})))
    async with app.run_test(size=(120, 32)) as pilot:
        await settle(pilot)
        graph = app.query_one(GraphView)
        assert graph.diagram.height > graph.scrollable_content_region.height and graph.scroll_y == 0
        graph.post_message(MouseScrollDown(graph, 2, 2, 0, 1, 0, False, False, False))
        await settle(pilot)
        assert graph.scroll_y > 0
