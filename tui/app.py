"""`wb tui`: the asset graph, what is stale and why, every version, and one key to update.

All store and project I/O runs in thread workers. The app polls cheaply (`store_stamp`,
`code_stamp`) so runs recorded by other processes (`wb watch`, the CLI) show up by themselves.
"""

from __future__ import annotations

import subprocess
from collections import Counter
from collections.abc import Iterable

from rich.text import Text
from textual import work
from textual.app import ComposeResult, SuspendNotSupported, SystemCommand
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.events import Resize
from textual.screen import Screen
from textual.widgets import Footer, Header, Static
from textual.worker import Worker, get_current_worker
from workbench.tui import commands, data, scene, timeline
from workbench.tui.asset_tree import AssetTree
from workbench.tui.describe import why
from workbench.tui.detail import TABS, AssetDetail
from workbench.tui.editor import editor_command
from workbench.tui.filter_bar import FilterBar
from workbench.tui.graph_view import GraphView
from workbench.tui.help import HelpScreen
from workbench.tui.legend import Legend
from workbench.tui.messages import AssetHighlighted, AssetSelected
from workbench.tui.partition_strip import PartitionList
from workbench.tui.runs import Runs
from workbench.tui.theme import RUNNING

from workbench.core.selection import needs_states, parse, select
from workbench.core.staleness import Status
from workbench.errors import WorkbenchError
from workbench.project import ProjectConfig
from workbench.run.leases import Holder
from workbench.workspace import Workspace

POLL_SECONDS = 1.5


class WorkbenchApp(Runs):
    """The Workbench terminal UI for one project."""

    TITLE = "Workbench"
    BINDINGS = [
        Binding("m", "materialize('focused')", "Materialize"),
        Binding("M", "materialize('stale')", "All stale", show=False),
        Binding("slash", "filter", "Filter"),
        Binding("i", "toggle_detail", "Details"),
        Binding("e", "edit", "Edit"),
        Binding("v", "toggle_view", "List/graph", show=False),
        Binding("g", "toggle_groups", "Group captions", show=False),
        Binding("r", "reload", "Reload project", show=False),
        Binding("escape", "to_graph", "Back to the graph", show=False),
        *(Binding(str(i), f"tab('{name}')", f"{name.capitalize()} tab", show=False) for i, name in enumerate(TABS, 1)),
        Binding("question_mark", "help", "Help"),
        Binding("q", "quit", "Quit"),
    ]
    CSS = """
    #main { height: 1fr; }
    #views { width: 1fr; }
    #detail { width: 1fr; min-width: 44; }
    #tree, #message { display: none; }
    #message { padding: 1 2; }
    #main.-list #graph { display: none; }
    #main.-list #tree { display: block; }
    #main.-message #graph, #main.-message #tree, #main.-message #detail { display: none; }
    #main.-message #message { display: block; }
    #main.-narrow { layout: vertical; }
    #main.-narrow #detail { width: 1fr; height: 1fr; min-width: 0; }
    #main.-nodetail #detail { display: none; }
    """

    def __init__(self, config: ProjectConfig) -> None:
        super().__init__()
        self.config = config
        self.ws: Workspace | None = None
        self.statuses: dict[str, Status] = {}
        self.overrides: dict[str, str] = {}  # live states during a run
        self.held: dict[str, Holder] = {}  # assets other processes are running now
        self.scene: scene.Scene | None = None
        self.tree_scene: scene.Scene | None = None  # the scene the list view was last built for
        self.selection = ""
        self.current: str | None = None
        self.grouped = True
        self.detail_shown = True
        self.screen_size: tuple[int, int] | None = None
        self.stamps: tuple[object, object] = (None, None)  # (code, store) at the last sync
        self.syncing: Worker[None] | None = None
        self.running: Worker[None] | None = None
        self.sub_title = config.root.name

    def compose(self) -> ComposeResult:
        yield Header(show_clock=False)
        yield Legend(id="legend")
        with Horizontal(id="main"):
            with Vertical(id="views"):
                yield GraphView(id="graph")
                yield AssetTree(id="tree")
                yield Static(Text("loading the project…", style="dim"), id="message")
            yield AssetDetail(id="detail")
        yield FilterBar(id="filter")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#main").add_class("-message")
        self.syncing = self.sync(reload=True)
        self.set_interval(POLL_SECONDS, self.poll)

    def on_resize(self, event: Resize) -> None:
        self.screen_size = (event.size.width, event.size.height)  # self.size is updated after this handler
        self.fit_views()
        self.relayout()

    def screen_room(self) -> tuple[tuple[int, int], bool]:
        """The screen's size and whether the detail pane is shown: what a scene is fitted to."""
        return self.screen_size or (self.size.width, self.size.height), self.detail_shown

    def fit_views(self) -> None:
        """Size the graph (or list) and the detail pane as the scene's arrangement says."""
        main, views = self.query_one("#main"), self.query_one("#views")
        listed = main.has_class("-list")
        arranged = self.scene.arrangement if self.scene is not None and not listed else None
        if arranged is None:  # the list view: a fixed share
            stacked = self.screen_room()[0][0] < 2 * 44
            main.set_class(stacked, "-narrow")
            views.styles.width, views.styles.height = ("1fr", "50%") if stacked else ("40%", "1fr")
            return
        main.set_class(arranged.stacked, "-narrow")
        views.styles.width = arranged.columns if arranged.columns is not None and self.detail_shown else "1fr"
        views.styles.height = arranged.rows if arranged.rows is not None else "1fr"

    # --- loading and live refresh -------------------------------------------------------

    def poll(self) -> None:
        """Look for changes, unless a sync or a run is already under way."""
        if not any(w is not None and w.is_running for w in (self.syncing, self.running)):
            self.syncing = self.sync()

    def sync(self, reload: bool = False, refresh: bool = False) -> Worker[None]:
        return self._sync(self.screen_room(), reload, refresh)

    @work(thread=True, exclusive=True, group="sync")
    def _sync(self, room: tuple[tuple[int, int], bool], reload: bool = False, refresh: bool = False) -> None:
        """Reload the project if its code changed, else re-judge the assets if the store changed."""
        code = data.code_stamp(self.config)
        ws = self.ws
        held: dict[str, Holder] | None = None
        if reload or ws is None or code != self.stamps[0]:
            if not reload and ws is None and code == self.stamps[0]:
                return  # a broken project stays broken until its files change
            loaded = data.load(self.config)
            store = data.store_stamp(loaded.ws) if loaded.ws else None
        else:
            store = data.store_stamp(ws)
            held = data.held(ws)
            if store is None or (not refresh and store == self.stamps[1] and held == self.held):
                return  # unchanged, or the store is busy: look again at the next poll
            loaded = data.refresh(ws)
        fresh = loaded.ws is not None and loaded.ws is not ws
        states = {k: st.state for k, st in loaded.statuses.items()}
        view = scene.build(loaded.ws.graph, self.selection, self.grouped, states, *room) if fresh and loaded.ws else None
        if held is None:
            held = data.held(loaded.ws) if loaded.ws is not None else {}
        last = timeline.last_run(st.last for st in loaded.statuses.values())
        if not get_current_worker().is_cancelled:
            self.call_from_thread(self.apply, loaded, (code, store), view, held, last)

    def relayout(self) -> None:
        """A new scene for the current filter, grouping and screen, built off the UI thread."""
        if self.ws is not None:
            self._relayout(self.ws, self.states(), self.screen_room())

    @work(thread=True, exclusive=True, group="draw")
    def _relayout(self, ws: Workspace, states: dict[str, str], room: tuple[tuple[int, int], bool]) -> None:
        if ws is self.ws:
            view = scene.build(ws.graph, self.selection, self.grouped, states, *room)
            if not get_current_worker().is_cancelled:
                self.call_from_thread(self.draw, view)

    def apply(
        self, loaded: data.Loaded, stamps: tuple[object, object], view: scene.Scene | None, held: dict[str, Holder],
        last: timeline.Timeline | None = None,
    ) -> None:
        """Show what a sync found: an error, a new graph (with its scene), or new states."""
        self.stamps, self.held, self.last_run = stamps, held, last
        main = self.query_one("#main")
        if loaded.error is not None or loaded.ws is None:
            self.ws, self.statuses = None, {}
            self.show_message(Text.assemble(("Cannot load the project\n\n", "bold red"), loaded.error or "", (
                "\n\nFix it and save: the view reloads by itself (or press r).", "dim")))
            return
        self.ws, self.statuses = loaded.ws, loaded.statuses
        self.query_one(AssetDetail).units = loaded.units
        self.overrides.clear()
        self.show_run()
        if not len(self.ws.graph):
            self.show_message(Text.assemble(("No assets in this project yet.\n\n", "bold"), (
                "Declare one with @asset in a module listed in [tool.workbench] modules.", "dim")))
            return
        main.remove_class("-message")
        if view is not None:
            self.draw(view)
            if self.focused is None:
                self.view().focus()
        else:
            self.paint()
            if needs_states(parse(self.selection)):  # a status: filter follows the new states
                self.relayout()

    def show_message(self, text: Text) -> None:
        self.query_one("#message", Static).update(text)
        self.query_one("#main").add_class("-message")
        self.query_one(Legend).counts = Counter()

    def draw(self, view: scene.Scene) -> None:
        """Show a new scene (the filtered, laid-out assets) and colour it."""
        if self.ws is None or view.graph is not self.ws.graph:
            return  # built for a project that has since been reloaded
        if view.warning:
            self.notify(view.warning, severity="warning", markup=False)
        self.scene, self.selection = view, view.selection
        self.fit_views()
        self.query_one(GraphView).show(view.diagram, view.graph.parents, view.graph.children, view.sources)
        self.query_one(Legend).selection = view.selection
        self.paint()

    def states(self) -> dict[str, str]:
        running = {k: RUNNING for k in self.held}
        return {**{k: s.state for k, s in self.statuses.items()}, **running, **self.overrides}

    def paint(self) -> None:
        """Colour the nodes, count the states, and refresh the focused asset's details."""
        states = self.states()
        keys = self.scene.keys if self.scene else ()
        self.query_one(GraphView).set_states(states)
        if self.scene is not None and self.query_one("#main").has_class("-list"):  # the tree is built when shown
            reasons = {k: why(self.statuses.get(k)) for k in keys}
            if self.tree_scene is self.scene:
                self.query_one(AssetTree).set_states(states, reasons)
            else:
                self.query_one(AssetTree).show(keys, self.scene.groups, states, reasons)
                self.tree_scene = self.scene
        self.query_one(Legend).counts = Counter(states[k] for k in keys if k in states)
        if self.ws is not None and self.current is not None and self.current in self.ws.graph:
            self.query_one(AssetDetail).show(
                self.ws, self.current, self.statuses.get(self.current), self.held.get(self.current), self.overrides.get(self.current))

    # --- focus and views --------------------------------------------------------------

    def on_asset_highlighted(self, event: AssetHighlighted) -> None:
        self.current = event.key
        for detail in self.query(AssetDetail):  # none while the app shuts down
            if self.ws is not None and event.key in self.ws.graph:
                detail.show(self.ws, event.key, self.statuses.get(event.key), self.held.get(event.key), self.overrides.get(event.key))

    def on_asset_selected(self, event: AssetSelected) -> None:
        if not self.detail_shown:
            self.action_toggle_detail()
        self.on_asset_highlighted(AssetHighlighted(event.key))
        partitions = data.partitions_of(self.ws, event.key, self.query_one(AssetDetail).units) if self.ws else []
        if partitions:  # a partitioned asset: the list of its partitions, where `m` runs one
            self.push_screen(PartitionList(event.key, partitions), self.run_unit)
            return
        self.query_one("#detail #tabs Tabs").focus()

    def view(self) -> GraphView | AssetTree:
        return self.query_one(AssetTree) if self.query_one("#main").has_class("-list") else self.query_one(GraphView)

    def action_to_graph(self) -> None:
        self.view().focus()

    def action_toggle_detail(self) -> None:
        """Hide the detail pane (the graph takes the screen), or show it again."""
        self.detail_shown = not self.detail_shown
        self.query_one("#main").set_class(not self.detail_shown, "-nodetail")
        if not self.detail_shown and self.focused is not None and self.query_one(AssetDetail) in self.focused.ancestors:
            self.view().focus()
        self.relayout()

    def action_toggle_view(self) -> None:
        self.query_one("#main").toggle_class("-list")
        self.fit_views()
        self.paint()
        view = self.view()
        if self.current is not None:
            if isinstance(view, AssetTree):
                view.focus_key(self.current)
            else:
                view.cursor = self.current
        view.focus()

    def action_toggle_groups(self) -> None:
        self.grouped = not self.grouped
        self.relayout()

    def action_tab(self, name: str) -> None:
        self.query_one(AssetDetail).open_tab(name)

    def action_filter(self) -> None:
        self.query_one(FilterBar).open()

    def on_filter_bar_applied(self, event: FilterBar.Applied) -> None:
        if self.ws is None:
            return
        try:
            select(self.ws.graph, event.expression or None, self.states())
        except WorkbenchError as exc:
            self.query_one(FilterBar).fail(str(exc))
            return
        self.selection = event.expression
        self.query_one(FilterBar).action_close()
        self.relayout()

    def on_filter_bar_closed(self, event: FilterBar.Closed) -> None:
        self.view().focus()

    def action_reload(self) -> None:
        if self.running is not None and self.running.is_running:
            self.notify("wait for the run to finish before reloading", severity="warning")
        else:
            self.syncing = self.sync(reload=True)

    def action_edit(self) -> None:
        """Open the focused asset's definition in $VISUAL / $EDITOR at its line; the TUI resumes after."""
        if self.ws is None or self.current is None or self.current not in self.ws.graph:
            return
        spec = self.ws.graph.nodes[self.current]
        if not spec.file:
            self.notify(f"{self.current} has no definition file", severity="warning", markup=False)
            return
        argv = editor_command(spec.file, spec.line)
        try:
            try:
                with self.suspend():
                    subprocess.run(argv, check=False)
            except SuspendNotSupported:  # no terminal to hand over (tests, the web): run it anyway
                subprocess.run(argv, check=False, stdin=subprocess.DEVNULL, capture_output=True)
        except OSError as exc:
            self.notify(f"cannot start the editor {argv[0]}: {exc}", severity="error", markup=False)
            return
        self.poll()  # a saved edit shows as stale at once

    def action_help(self) -> None:
        self.push_screen(HelpScreen(list(commands.key_rows(self, [*GraphView.BINDINGS, *self.BINDINGS]))))

    def get_system_commands(self, screen: Screen[object]) -> Iterable[SystemCommand]:
        yield from super().get_system_commands(screen)
        yield from commands.system_commands(self)

    def after_run(self) -> None:
        self.syncing = self.sync(refresh=True)
