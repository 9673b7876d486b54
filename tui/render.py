"""One visible row of a `Layout` as rich segments, styled by the nodes' current states."""

from __future__ import annotations

from collections.abc import Collection, Mapping

from rich.segment import Segment
from rich.style import Style
from workbench.tui import theme
from workbench.tui.layout import Layout


def label(key: str, state: str | None, width: int) -> str:
    """' G key ' padded or cut (with an ellipsis) to exactly `width` cells."""
    text = f" {theme.glyph(state)} {key}"
    if len(text) > width - 1:
        text = text[: max(width - 2, 0)] + "…"
    return text.ljust(width)


def render_row(
    layout: Layout,
    y: int,
    x0: int,
    width: int,
    states: Mapping[str, str],
    cursor: str | None = None,
    related: Collection[str] = (),
    sources: Collection[str] = (),
) -> list[Segment]:
    """Cells [x0, x0 + width) of row `y`: edges, group captions and node boxes."""
    if not 0 <= y < layout.height:
        return [Segment(" " * width)]
    line = layout.lines[y]
    x1 = x0 + width
    overlays: list[tuple[int, str, Style]] = [
        (x, text, theme.CAPTION) for x, text in layout.lines.captions[y] if x < x1 and x + len(text) > x0
    ]
    for box in layout.rows[y]:
        if box.x >= x1 or box.x + box.width <= x0:
            continue
        state = states.get(box.key)
        style = theme.pill(state)
        if box.key in sources:
            style += theme.SOURCE
        if box.key == cursor:
            style += theme.CURSOR
        elif box.key in related:
            style += theme.RELATED
        overlays.append((box.x, label(box.key, state, box.width), style))
    overlays.sort(key=lambda o: o[0])
    segments: list[Segment] = []
    at = x0
    for x, text, style in overlays:
        if x > at:
            segments.append(Segment(line[at:x], theme.EDGE))
        start = max(at, x)
        segments.append(Segment(text[start - x : x1 - x], style))
        at = min(x + len(text), x1)
    if at < x1:
        segments.append(Segment(line[at:x1].ljust(x1 - at), theme.EDGE))
    return segments
