"""`d` in History: what changed between two versions, as `wb diff` shows it, in a modal."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

from workbench.core.diff import diff
from workbench.core.records import Materialization
from workbench.present import diff_text


class DiffScreen(ModalScreen[None]):
    """The diff from version `a` to version `b` of one asset; escape, q or d closes it."""

    BINDINGS = [Binding("escape,q,d", "dismiss", "Close")]
    DEFAULT_CSS = """
    DiffScreen { align: center middle; }
    DiffScreen > VerticalScroll {
        width: auto; max-width: 100%; height: auto; max-height: 100%;
        border: round $accent; background: $panel; padding: 0 1;
    }
    DiffScreen Static { width: auto; }
    """

    def __init__(self, a: Materialization, b: Materialization) -> None:
        super().__init__()
        self.a, self.b = a, b

    def compose(self) -> ComposeResult:
        with VerticalScroll() as scroll:
            scroll.border_title = "diff (escape closes)"
            yield Static(self.text(), id="diff")

    def text(self) -> Text:
        return diff_text(diff(self.a, self.b))
