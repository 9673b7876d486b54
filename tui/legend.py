"""One line under the header: a pill per state with its count, the filter, and run progress."""

from __future__ import annotations

from collections import Counter

from rich.text import Text
from textual.reactive import reactive
from textual.widget import Widget
from workbench.tui import theme


class Legend(Widget):
    """The colour key of the graph, doubling as a summary of the project."""

    DEFAULT_CSS = """
    Legend { height: 1; padding: 0 1; background: $panel; }
    """

    counts: reactive[Counter[str]] = reactive(Counter, always_update=True)
    selection: reactive[str] = reactive("")
    progress: reactive[str] = reactive("")

    def render(self) -> Text:
        text = Text()
        for state in theme.STATES:
            text.append(f" {theme.glyph(state)} {state} {self.counts.get(state, 0)} ", style=theme.pill(state))
            text.append(" ")
        if self.selection:
            text.append(" filter ", style="bold").append(self.selection)
        if self.progress:
            text.append("  ").append(self.progress, style="bold magenta")
        return text
