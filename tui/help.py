"""The `?` screen: every key, and the selection syntax the `/` filter understands."""

from __future__ import annotations

from collections.abc import Sequence

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

SELECTION = (
    ("key  key:penguin*", "one asset; wildcards"),
    ("+key  key+  2+key", "with parents / children (N levels)"),
    ("*key  key*", "with all ancestors / descendants"),
    ("group:G  tag:K=V  status:S", "by group, tag or state"),
    ("X and not Y, roots(X)", "combine; sinks(X) too"),
)


class HelpScreen(ModalScreen[None]):
    """A modal table of keys; any of escape, q or ? closes it."""

    BINDINGS = [Binding("escape,q,question_mark", "dismiss", "Close")]
    DEFAULT_CSS = """
    HelpScreen { align: center middle; }
    HelpScreen > VerticalScroll {
        width: 72; max-width: 100%; height: auto; max-height: 100%;
        border: round $accent; background: $panel; padding: 0 1;
    }
    """

    def __init__(self, keys: Sequence[tuple[str, str]]) -> None:
        super().__init__()
        self.keys = keys

    def compose(self) -> ComposeResult:
        table = Table(box=None, show_header=False, pad_edge=False)
        table.add_column(style="bold cyan", no_wrap=True)
        table.add_column()
        for key, what in self.keys:
            table.add_row(Text(key), Text(what))
        table.add_row("", "")
        table.add_row(Text("filter (/)", style="bold"), Text("selection syntax, as on the CLI", style="bold"))
        for expr, what in SELECTION:
            table.add_row(Text(expr), Text(what))
        with VerticalScroll() as scroll:
            scroll.border_title = "Workbench keys"
            yield Static(table)
