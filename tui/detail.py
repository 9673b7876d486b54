"""The detail pane of the focused asset: overview, history, lineage of a version, preview, log.

Only the tab on screen is filled. The overview and the log come from the in-memory status and
are drawn at once; the other tabs read the store or an artifact in a thread worker, after a
short pause, so holding an arrow key costs no I/O.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.containers import Vertical, VerticalScroll
from textual.timer import Timer
from textual.widgets import Static, TabbedContent, TabPane
from textual.worker import get_current_worker
from workbench.tui import data, describe, theme
from workbench.tui.lineage_tree import LineageTree
from workbench.tui.preview_pane import PreviewPane
from workbench.tui.version_table import VersionTable

from workbench.core.staleness import Status
from workbench.run.leases import Holder
from workbench.workspace import Workspace

DEBOUNCE = 0.12  # seconds between the last cursor move and loading the tab on screen
TABS = ("overview", "history", "lineage", "preview", "log")


class AssetDetail(Vertical):
    """Everything known about one asset; `show()` switches the asset."""

    DEFAULT_CSS = """
    AssetDetail { border: round $primary-darken-1; padding: 0 1; }
    AssetDetail:focus-within { border: round $accent; }
    AssetDetail TabPane { padding: 0; }
    AssetDetail #overview, AssetDetail #log { width: auto; }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.ws: Workspace | None = None
        self.key: str | None = None
        self.status: Status | None = None
        self.holder: Holder | None = None
        self.loaded: set[str] = set()  # tabs holding the current asset's data
        self._timer: Timer | None = None

    def compose(self) -> ComposeResult:
        with TabbedContent(id="tabs"):
            with TabPane("Overview", id="overview-tab"), VerticalScroll():
                yield Static(id="overview")
            with TabPane("History", id="history-tab"):
                yield VersionTable(id="history")
            with TabPane("Lineage", id="lineage-tab"):
                yield LineageTree(id="lineage")
            with TabPane("Preview", id="preview-tab"):
                yield PreviewPane(id="preview")
            with TabPane("Log", id="log-tab"), VerticalScroll():
                yield Static(id="log")

    def show(self, ws: Workspace, key: str, status: Status | None, holder: Holder | None = None) -> None:
        """Switch to `key`: the tab on screen is filled now if it needs no I/O, else shortly after
        (unless another asset comes first); the other tabs when they are opened. `holder`: the
        other process running it now, if any."""
        self.ws, self.key, self.status, self.holder = ws, key, status, holder
        self.loaded.clear()
        state = theme.RUNNING if holder else status.state if status else None
        self.border_title = Text.assemble((key, "bold"), "  ", theme.state_text(state))
        if self._timer is not None:
            self._timer.stop()
        if self.active in ("overview", "log"):
            self._load_active()
        else:
            self._timer = self.set_timer(DEBOUNCE, self._load_active)

    @property
    def active(self) -> str:
        """The name of the tab on screen."""
        return self.query_one("#tabs", TabbedContent).active.removesuffix("-tab")

    def open_tab(self, name: str) -> None:
        self.query_one("#tabs", TabbedContent).active = f"{name}-tab"

    def on_tabbed_content_tab_activated(self, event: TabbedContent.TabActivated) -> None:
        event.stop()
        self._load_active()

    def _load_active(self) -> None:
        tab = self.active
        if self.ws is None or self.key is None or tab in self.loaded:
            return
        self.loaded.add(tab)
        ws, key, status = self.ws, self.key, self.status
        version = status.data_version if status else None
        if tab == "overview":
            self.query_one("#overview", Static).update(describe.overview(ws.graph, ws.root, key, status, self.holder))
        elif tab == "log":
            log = describe.last_run(status.last, status.checks) if status else describe.last_run(None)
            self.query_one("#log", Static).update(log)
        elif tab == "history":
            self._fetch(key, lambda: ws.metadata.history(key, limit=200), self.query_one(VersionTable).show)
        elif tab == "lineage":
            self._fetch(key, lambda: data.lineage(ws, key, version), self.query_one(LineageTree).show)
        else:
            self._fetch(key, lambda: data.preview_of(ws, key, status), self.query_one(PreviewPane).show)

    @work(thread=True, group="details")
    def _fetch(self, key: str, read: Callable[[], Any], show: Callable[[Any], None]) -> None:
        """`read()` off the UI thread, then `show()` its result if `key` is still the focused asset."""
        found = read()
        if not get_current_worker().is_cancelled:
            self.app.call_from_thread(lambda: show(found) if key == self.key else None)

    def on_version_table_chosen(self, event: VersionTable.Chosen) -> None:
        event.stop()
        if self.ws is not None and self.key is not None:
            ws, key, tree = self.ws, self.key, self.query_one(LineageTree)
            self.loaded.add("lineage")
            self._fetch(key, lambda: data.lineage(ws, key, event.data_version), tree.show)
            self.open_tab("lineage")

    def on_lineage_tree_wanted(self, event: LineageTree.Wanted) -> None:
        event.stop()
        if self.ws is not None and self.key is not None:
            ws, tree = self.ws, self.query_one(LineageTree)
            self._fetch(self.key, lambda: data.lineage(ws, event.key, event.version), lambda t: tree.graft(event.node, t))
