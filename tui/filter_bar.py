"""The `/` filter: a selection expression in the CLI's syntax (`+model`, `group:prep`, `tag:k=v`...)."""

from __future__ import annotations

from rich.text import Text
from textual.binding import Binding
from textual.message import Message
from textual.widgets import Input

HINT = "selection, as on the CLI: key  +key  key*  group:NAME  tag:K=V  X and not Y  (empty: all)"


class FilterBar(Input):
    """Hidden until `/`; Enter applies, Escape closes. Errors show on its border."""

    BINDINGS = [Binding("escape", "close", "Close", show=False)]
    DEFAULT_CSS = """
    FilterBar { dock: bottom; display: none; border: round $accent; height: 3; }
    FilterBar.-open { display: block; }
    FilterBar.-error { border: round $error; }
    """

    class Applied(Message):
        def __init__(self, expression: str) -> None:
            super().__init__()
            self.expression = expression

    class Closed(Message):
        pass

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(placeholder=HINT, id=id)
        self.border_title = "filter"
        self.can_focus = False  # only while open

    def open(self) -> None:
        self.add_class("-open")
        self.can_focus = True
        self.focus()

    def fail(self, message: str) -> None:
        """Keep the bar open and say what is wrong with the expression."""
        self.add_class("-error")
        self.border_subtitle = Text(message)

    def action_close(self) -> None:
        self.remove_class("-open", "-error")
        self.can_focus = False
        self.border_subtitle = ""
        self.post_message(self.Closed())

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.remove_class("-error")
        self.border_subtitle = ""
        self.post_message(self.Applied(event.value.strip()))
