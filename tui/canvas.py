"""The edges of a layout as box-drawing text, drawn only where the screen looks.

A 10,000-asset graph is a grid of ~11,000 x 60 cells crossed by ~40,000 strokes, while a screen
shows 120 x 40 of it: `text(y, x0, x1)` and `ranks(...)` draw one window of one row from the
strokes that reach into it (found by bisection), never the whole row. The strokes themselves can
be painted on demand, one vertical band at a time (a layer and the channel after it): a band is
painted when a window first reaches it. Every stroke is tagged with the edge (parent, child) it
belongs to, so a row can also say which of its cells belong to which edges.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
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
    """Rows of text from horizontal strokes, vertical strokes and captions.

    With `paint`, the strokes of band i (cells from `bands[i]` up to the next band) are drawn by
    `paint(i)` when a read first reaches the band; each stroke stays inside its band.
    """

    def __init__(self, width: int, height: int, bands: Sequence[int] = (), paint: Callable[[int], None] | None = None) -> None:
        self.width, self.height = width, height
        self._strokes_by_row: list[list[Stroke]] = [[] for _ in range(height)]
        self._verticals: list[Vertical] = []
        self._captions: list[list[tuple[int, str]]] = [[] for _ in range(height)]
        self.longest = 1  # the most cells a horizontal stroke or a caption covers
        self._sorted = True  # strokes and captions of each row by x0, verticals by x: the reads bisect
        self._rows: dict[int, str] = {}
        self._bands, self._paint = list(bands), paint
        self._unpainted = set(range(len(self._bands))) if paint is not None else set()

    def hline(self, y: int, x0: int, x1: int, edge: Edge) -> None:
        """A stroke over cells [x0, x1) of row y; each cell links to its neighbours in the run."""
        self._strokes_by_row[y].append((x0, x1, edge))
        if x1 - x0 > self.longest:
            self.longest = x1 - x0
        self._sorted = False

    def vline(self, x: int, top: int, bottom: int, edge: Edge) -> None:
        self._verticals.append((x, top, bottom, edge))
        self._sorted = False

    def caption(self, y: int, x: int, text: str) -> None:
        self._captions[y].append((x, text))
        self.longest = max(self.longest, len(text))
        self._sorted = False

    @property
    def strokes(self) -> list[list[Stroke]]:
        """Every horizontal stroke, by row (all bands painted)."""
        self._reach(0, self.width)
        return self._strokes_by_row

    @property
    def verticals(self) -> list[Vertical]:
        self._reach(0, self.width)
        return self._verticals

    @property
    def captions(self) -> list[list[tuple[int, str]]]:
        """Every caption, by row (all bands painted)."""
        self._reach(0, self.width)
        return self._captions

    def captions_at(self, y: int, x0: int, x1: int) -> list[tuple[int, str]]:
        """The captions of row y that show a cell of [x0, x1)."""
        self._reach(x0, x1)
        return [(x, text) for x, text in self._captions[y] if x < x1 and x + len(text) > x0]

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
        for a, b, _ in self._strokes_in(y, x0, x1):
            if b - a > 1:
                for x in range(max(a, x0), min(b, x1)):
                    bits[x - x0] |= (E if x < b - 1 else 0) | (W if x > a else 0)
        for x, top, bottom, _ in self._verticals_in(y, x0, x1):
            bits[x - x0] |= (N if y > top else 0) | (S if y < bottom else 0)
        cells = [GLYPHS.get(b, " ") for b in bits]
        row = self._captions[y]  # bands reached and sorted by the reads above
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
        for a, b, edge in self._strokes_in(y, x0, x1):
            r = rank(edge)
            for x in range(max(a, x0), min(b, x1)):
                out[x - x0] = max(out[x - x0], r)
        for x, top, bottom, edge in self._verticals_in(y, x0, x1):
            if top != bottom:
                out[x - x0] = max(out[x - x0], rank(edge))
        return out

    def _strokes_in(self, y: int, x0: int, x1: int) -> Iterator[Stroke]:
        """The horizontal strokes of row y that cover a cell of [x0, x1)."""
        self._reach(x0, x1)
        row = self._strokes_by_row[y] if 0 <= y < self.height else []
        for i in range(bisect_left(row, x0 - self.longest, key=lambda s: s[0]), len(row)):
            stroke = row[i]
            if stroke[0] >= x1:
                break
            if stroke[1] > x0:
                yield stroke

    def _verticals_in(self, y: int, x0: int, x1: int) -> Iterator[Vertical]:
        """The vertical strokes in columns [x0, x1) that reach row y."""
        self._reach(x0, x1)
        found = self._verticals
        for i in range(bisect_left(found, x0, key=lambda v: v[0]), len(found)):
            vertical = found[i]
            if vertical[0] >= x1:
                break
            if vertical[1] <= y <= vertical[2]:
                yield vertical

    def _reach(self, x0: int, x1: int) -> None:
        """Paint the bands that [x0, x1) reaches, then order the strokes for reading."""
        if self._unpainted and self._paint is not None:
            for band in range(max(bisect_right(self._bands, x0) - 1, 0), bisect_left(self._bands, x1)):
                if band in self._unpainted:
                    self._unpainted.discard(band)
                    self._paint(band)
        if not self._sorted:
            for row in self._strokes_by_row:
                row.sort(key=lambda s: s[0])
            for captions in self._captions:
                captions.sort(key=lambda c: c[0])
            self._verticals.sort(key=lambda v: v[0])
            self._sorted = True
