"""The edges of a layout as box-drawing text, drawn only where the screen looks.

A 10,000-asset graph is a grid of ~11,000 x 60 cells crossed by ~40,000 strokes, while a screen
shows 120 x 40 of it: `text(y, x0, x1)` and `ranks(...)` draw one window of one row from the
strokes that reach into it (found by bisection), never the whole row. Every stroke is tagged with
the edge (parent, child) it belongs to, so a row can also say which of its cells belong to which edges.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Callable, Iterator, Sequence

N, E, S, W = 1, 2, 4, 8
GLYPHS = {
    N: "│", S: "│", N | S: "│", E: "─", W: "─", E | W: "─",
    E | S: "┌", W | S: "┐", N | E: "└", N | W: "┘",
    N | E | S: "├", N | W | S: "┤", E | W | S: "┬", N | E | W: "┴", N | E | S | W: "┼",
}
Edge = tuple[str, str]  # (parent key, child key)
Stroke = tuple[int, int, Edge]  # cells [x0, x1) of one row
Vertical = tuple[int, int, int, Edge]  # (x, top row, bottom row, edge)


class Canvas(Sequence[str]):
    """Rows of text from horizontal strokes, vertical strokes and captions."""

    def __init__(self, width: int, height: int) -> None:
        self.width, self.height = width, height
        self.strokes: list[list[Stroke]] = [[] for _ in range(height)]
        self.verticals: list[Vertical] = []
        self.captions: list[list[tuple[int, str]]] = [[] for _ in range(height)]
        self.longest = 1  # the most cells a horizontal stroke or a caption covers
        self._sorted = True  # strokes and captions of each row by x0, verticals by x: the reads bisect
        self._rows: dict[int, str] = {}

    def hline(self, y: int, x0: int, x1: int, edge: Edge) -> None:
        """A stroke over cells [x0, x1) of row y; each cell links to its neighbours in the run."""
        self.strokes[y].append((x0, x1, edge))
        if x1 - x0 > self.longest:
            self.longest = x1 - x0
        self._sorted = False

    def vline(self, x: int, top: int, bottom: int, edge: Edge) -> None:
        self.verticals.append((x, top, bottom, edge))
        self._sorted = False

    def caption(self, y: int, x: int, text: str) -> None:
        self.captions[y].append((x, text))
        self.longest = max(self.longest, len(text))
        self._sorted = False

    def __len__(self) -> int:
        return self.height

    def __iter__(self) -> Iterator[str]:
        return (self[y] for y in range(self.height))

    def __getitem__(self, y: int) -> str:  # type: ignore[override]
        if not 0 <= y < self.height:
            raise IndexError(y)
        row = self._rows.get(y)
        if row is None:
            row = self._rows[y] = self.text(y, 0, self.width)
        return row

    def text(self, y: int, x0: int, x1: int) -> str:
        """Cells [x0, x1) of row y (blank beyond the canvas)."""
        bits = [0] * (x1 - x0)
        for a, b, _ in self._strokes(y, x0, x1):
            if b - a > 1:
                for x in range(max(a, x0), min(b, x1)):
                    bits[x - x0] |= (E if x < b - 1 else 0) | (W if x > a else 0)
        for x, top, bottom, _ in self._verticals(y, x0, x1):
            bits[x - x0] |= (N if y > top else 0) | (S if y < bottom else 0)
        cells = [GLYPHS.get(b, " ") for b in bits]
        self.settle()
        row = self.captions[y]
        for i in range(bisect_left(row, x0 - self.longest, key=lambda c: c[0]), len(row)):
            x, caption = row[i]
            if x >= x1:
                break
            start, end = max(x, x0), min(x + len(caption), x1)
            if start < end:
                cells[start - x0 : end - x0] = caption[start - x : end - x]
        return "".join(cells)

    def ranks(self, y: int, rank: Callable[[Edge], int], x0: int = 0, x1: int | None = None) -> list[int]:
        """Per cell of [x0, x1) of row y, the highest `rank(edge)` of the edges drawn through it (0: none)."""
        x1 = self.width if x1 is None else x1
        out = [0] * (x1 - x0)
        for a, b, edge in self._strokes(y, x0, x1):
            r = rank(edge)
            for x in range(max(a, x0), min(b, x1)):
                out[x - x0] = max(out[x - x0], r)
        for x, top, bottom, edge in self._verticals(y, x0, x1):
            if top != bottom:
                out[x - x0] = max(out[x - x0], rank(edge))
        return out

    def _strokes(self, y: int, x0: int, x1: int) -> Iterator[Stroke]:
        """The horizontal strokes of row y that cover a cell of [x0, x1)."""
        self.settle()
        row = self.strokes[y] if 0 <= y < self.height else []
        for i in range(bisect_left(row, x0 - self.longest, key=lambda s: s[0]), len(row)):
            stroke = row[i]
            if stroke[0] >= x1:
                break
            if stroke[1] > x0:
                yield stroke

    def _verticals(self, y: int, x0: int, x1: int) -> Iterator[Vertical]:
        """The vertical strokes in columns [x0, x1) that reach row y."""
        self.settle()
        found = self.verticals
        for i in range(bisect_left(found, x0, key=lambda v: v[0]), len(found)):
            vertical = found[i]
            if vertical[0] >= x1:
                break
            if vertical[1] <= y <= vertical[2]:
                yield vertical

    def settle(self) -> None:
        """Order the strokes for reading (the reads do it when needed; the drawing thread does it first)."""
        if not self._sorted:
            for row in self.strokes:
                row.sort(key=lambda s: s[0])
            for captions in self.captions:
                captions.sort(key=lambda c: c[0])
            self.verticals.sort(key=lambda v: v[0])
            self._sorted = True
