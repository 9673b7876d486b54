"""The Run tab: the run in progress (each unit's state and time so far), then the last run's timeline."""

from __future__ import annotations

import time

from rich.text import Text
from textual.widget import Widget
from workbench.tui.timeline import Timeline, draw

TICK_SECONDS = 0.5  # how often a live run's running bars grow


class RunPanel(Widget):
    """Draws a `Timeline` at its own width; a live one (`t0` given) grows while it runs."""

    DEFAULT_CSS = """
    RunPanel { height: auto; }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.timeline: Timeline | None = None
        self.t0: float | None = None  # time.monotonic() at the start of a live run

    def on_mount(self) -> None:
        self.set_interval(TICK_SECONDS, self._tick)

    def show(self, timeline: Timeline | None, t0: float | None = None) -> None:
        self.timeline, self.t0 = timeline, t0
        self.refresh(layout=True)

    def _tick(self) -> None:
        if self.t0 is not None:
            self.refresh()

    def render(self) -> Text:
        if self.timeline is None:
            return Text("no run recorded yet: m materializes the focused asset, M everything stale", style="dim")
        now = time.monotonic() - self.t0 if self.t0 is not None else 0.0
        return draw(self.timeline, self.size.width or 80, now)
