"""Moving the cursor over a `Layout`: within a layer, across layers, to parents and children."""

from __future__ import annotations

from collections.abc import Iterable

from workbench.tui.layout import Layout

UP, DOWN, LEFT, RIGHT = "up", "down", "left", "right"


def nearest(layout: Layout, keys: Iterable[str], y: int) -> str | None:
    """The key among `keys` whose row is closest to `y` (the upper one on a tie)."""
    placed = [layout.nodes[k] for k in keys if k in layout.nodes]
    return min(placed, key=lambda p: (abs(p.y - y), p.y)).key if placed else None


def step(layout: Layout, key: str, direction: str) -> str:
    """The node one step away from `key`; `key` itself at an edge of the graph."""
    here = layout.nodes[key]
    if direction in (UP, DOWN):
        column = layout.columns[here.layer]
        i = column.index(key) + (1 if direction == DOWN else -1)
        return column[i] if 0 <= i < len(column) else key
    layer = here.layer + (1 if direction == RIGHT else -1)
    if not 0 <= layer < len(layout.columns):
        return key
    return nearest(layout, layout.columns[layer], here.y) or key


def ordered(layout: Layout, keys: Iterable[str]) -> list[str]:
    """`keys` that are laid out, top to bottom (then left to right)."""
    return sorted((k for k in keys if k in layout.nodes), key=lambda k: (layout.nodes[k].y, layout.nodes[k].x))
