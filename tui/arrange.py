"""Where the graph and the detail pane go on a screen of a given size: pure arithmetic.

The graph is the hero. A short graph goes over the detail pane at full width (so tables in
the pane get the width too); a taller one beside a readable pane when it fits next to it; else
over the pane if there is room, else beside it with its labels cut (zoomed out) to the room left.
"""

from __future__ import annotations

from dataclasses import dataclass

DETAIL_WIDTH = 60  # a readable detail pane beside the graph: a full git commit on one line
DETAIL_ROWS = 11  # the least height of the detail pane under the graph
CHROME_ROWS = 3  # header, legend and footer
SHORT = 0.4  # a graph at most this share of the screen's rows is short: it goes over the pane


@dataclass(frozen=True, slots=True)
class Arrangement:
    """`stacked`: the detail pane under the graph. `width`: the cells the graph is fitted to;
    `columns` / `rows`: the graph's share of the screen (None: whatever is left)."""

    stacked: bool
    width: int
    columns: int | None = None
    rows: int | None = None


def arrange(screen: tuple[int, int], graph: tuple[int, int], detail: bool = True) -> Arrangement:
    """The arrangement for a `screen` (columns, rows) and a graph's natural size (columns, rows)."""
    columns, rows = screen
    wide, high = graph
    if not detail:
        return Arrangement(stacked=False, width=columns - 1)
    room = rows - CHROME_ROWS
    if high + 1 <= room * SHORT:
        return Arrangement(stacked=True, width=columns - 1, rows=high + 1)
    if columns - wide - 1 >= DETAIL_WIDTH:
        return Arrangement(stacked=False, width=wide, columns=wide + 1)
    if high + 1 <= room - DETAIL_ROWS:
        return Arrangement(stacked=True, width=columns - 1, rows=high + 1)
    share = max(columns - DETAIL_WIDTH, columns // 2)
    return Arrangement(stacked=False, width=share - 1, columns=share)
