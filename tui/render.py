"""One visible row of a `Layout` as rich segments, styled by the nodes' current states."""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Callable, Collection, Mapping

from rich.segment import Segment
from rich.style import Style
from workbench.tui import theme
from workbench.tui.canvas import Edge
from workbench.tui.layout import MAX_LABEL, Layout

EDGE_STYLES = (theme.EDGE_DIM, theme.EDGE, theme.EDGE_HOT)  # by rank: outside the lineage, plain, the focused node's


def label(key: str, state: str | None, width: int) -> str:
    """' G key ' padded or cut (with an ellipsis) to exactly `width` cells; ' G ' when even two
    letters of the key would not fit (the zoomed-out overview)."""
    text = f" {theme.glyph(state)} {key}"
    if len(text) > width - 1:
        text = text[: width - 2] + "…" if width >= 7 else text[:2]
    return text.ljust(width)[:width]


def render_row(
    layout: Layout,
    y: int,
    x0: int,
    width: int,
    states: Mapping[str, str],
    cursor: str | None = None,
    related: Collection[str] = (),
    sources: Collection[str] = (),
    edge_rank: Callable[[Edge], int] | None = None,
    dimmed: Collection[str] = (),
) -> list[Segment]:
    """Cells [x0, x0 + width) of row `y`: edges, group captions and node boxes.

    `edge_rank(edge)` picks each edge's style from EDGE_STYLES (default: plain); `dimmed` nodes
    are drawn faint (those outside the focused asset's lineage).
    """
    if not 0 <= y < layout.height:
        return [Segment(" " * width)]
    x1 = x0 + width
    line = layout.lines.text(y, x0, x1)  # window cells: index i is column x0 + i
    ranks = layout.lines.ranks(y, edge_rank, x0, min(x1, layout.width)) if edge_rank is not None else None
    overlays: list[tuple[int, str, Style]] = [(x, text, theme.CAPTION) for x, text in layout.lines.captions_at(y, x0, x1)]
    boxes = layout.rows[y]  # left to right, none wider than MAX_LABEL
    for i in range(bisect_left(boxes, x0 - MAX_LABEL, key=lambda b: b.x), len(boxes)):
        box = boxes[i]
        if box.x >= x1:
            break
        if box.x + box.width <= x0:
            continue
        state = states.get(box.key)
        style = theme.pill(state)
        if box.key in sources:
            style += theme.SOURCE
        if box.key == cursor:
            style += theme.CURSOR
        elif box.key in related:
            style += theme.RELATED
        elif box.key in dimmed:
            style = theme.DIMMED
        overlays.append((box.x, label(box.key, state, box.width), style))
    overlays.sort(key=lambda o: o[0])
    segments: list[Segment] = []
    at = x0
    for x, text, style in overlays:
        if x > at:
            segments += _edges(line, ranks, at - x0, x - x0)
        start = max(at, x)
        segments.append(Segment(text[start - x : x1 - x], style))
        at = min(x + len(text), x1)
    if at < x1:
        segments += _edges(line, ranks, at - x0, x1 - x0)
    return segments


def _edges(line: str, ranks: list[int] | None, a: int, b: int) -> list[Segment]:
    """Cells [a, b) of the edge text, in runs of one style."""
    if ranks is None:
        return [Segment(line[a:b], theme.EDGE)]
    out: list[Segment] = []
    start = a
    for x in range(a + 1, b + 1):
        if x == b or _rank(ranks, x) != _rank(ranks, start):
            out.append(Segment(line[start:x], EDGE_STYLES[_rank(ranks, start)]))
            start = x
    return out


def _rank(ranks: list[int], x: int) -> int:
    return ranks[x] if x < len(ranks) else 1
