"""States as the TUI draws them: a glyph (legible without colour) and a style per state."""

from __future__ import annotations

from rich.style import Style
from rich.text import Text

from workbench.core.diagram import GLYPH
from workbench.core.diagram import RUNNING as RUNNING  # re-exported: the TUI names it from here
from workbench.core.staleness import FAILED, FRESH, MISSING, STALE

STATES = (FRESH, STALE, MISSING, FAILED, RUNNING)
PILL = {
    FRESH: Style.parse("#e8f5e9 on #2e7d32"),
    STALE: Style.parse("#1b1b1b on #f9a825"),
    MISSING: Style.parse("#e3f2fd on #1565c0"),
    FAILED: Style.parse("bold #ffffff on #c62828"),
    RUNNING: Style.parse("bold #ffffff on #8e24aa"),
}
INK = {FRESH: "green", STALE: "yellow", MISSING: "#42a5f5", FAILED: "bold red", RUNNING: "magenta"}
UNKNOWN = Style.parse("#e0e0e0 on #424242")
EDGE = Style.parse("#78909c")
EDGE_HOT = Style.parse("bold #ffca28")  # the focused asset's own edges
EDGE_DIM = Style.parse("#3d4a52")  # outside the focused asset's lineage, when dimmed
DIMMED = Style.parse("#757575 on #2a2a2a")
CAPTION = Style.parse("italic #9e9e9e")
CURSOR = Style(reverse=True, bold=True)
RELATED = Style(underline=True)
SOURCE = Style(italic=True)


def glyph(state: str | None) -> str:
    return GLYPH.get(state or "", "·")


def pill(state: str | None) -> Style:
    return PILL.get(state or "", UNKNOWN)


def state_text(state: str | None, label: str | None = None) -> Text:
    """`✔ fresh` (or `✔ label`) in the state's colour, for tables, trees and the detail pane."""
    return Text(f"{glyph(state)} {label or state or 'unknown'}", style=INK.get(state or "", ""))
