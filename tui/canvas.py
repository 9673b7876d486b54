"""The edges of a layout as box-drawing text, one row at a time, built only when a row is drawn.

A 1,000-asset graph is a grid of ~800 x 300 cells; drawing it all up front cost more than the
rest of the layout, while a screen shows forty rows. Every stroke is tagged with the edge
(parent, child) it belongs to, so a row can also say which of its cells belong to which edges.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence

N, E, S, W = 1, 2, 4, 8
GLYPHS = {
    N: "│", S: "│", N | S: "│", E: "─", W: "─", E | W: "─",
    E | S: "┌", W | S: "┐", N | E: "└", N | W: "┘",
    N | E | S: "├", N | W | S: "┤", E | W | S: "┬", N | E | W: "┴", N | E | S | W: "┼",
}
Edge = tuple[str, str]  # (parent key, child key)


class Canvas(Sequence[str]):
    """Rows of text from horizontal strokes, vertical strokes and captions; each row built once."""

    def __init__(self, width: int, height: int) -> None:
        self.width, self.height = width, height
        self.strokes: list[list[tuple[int, int, Edge]]] = [[] for _ in range(height)]  # per row: [x0, x1)
        self.verticals: list[tuple[int, int, int, Edge]] = []  # (x, top row, bottom row, edge)
        self.captions: list[list[tuple[int, str]]] = [[] for _ in range(height)]
        self._rows: dict[int, str] = {}

    def hline(self, y: int, x0: int, x1: int, edge: Edge) -> None:
        """A stroke over cells [x0, x1) of row y; each cell links to its neighbours in the run."""
        self.strokes[y].append((x0, x1, edge))

    def vline(self, x: int, top: int, bottom: int, edge: Edge) -> None:
        self.verticals.append((x, top, bottom, edge))

    def caption(self, y: int, x: int, text: str) -> None:
        self.captions[y].append((x, text))

    def __len__(self) -> int:
        return self.height

    def __iter__(self) -> Iterator[str]:
        return (self[y] for y in range(self.height))

    def __getitem__(self, y: int) -> str:  # type: ignore[override]
        if not 0 <= y < self.height:
            raise IndexError(y)
        row = self._rows.get(y)
        if row is None:
            row = self._rows[y] = self._draw(y)
        return row

    def ranks(self, y: int, rank: Callable[[Edge], int]) -> list[int]:
        """Per cell of row y, the highest `rank(edge)` of the edges drawn through it (0: none)."""
        out = [0] * self.width
        for x0, x1, edge in self.strokes[y]:
            r = rank(edge)
            for x in range(x0, x1):
                out[x] = max(out[x], r)
        for x, top, bottom, edge in self.verticals:
            if top <= y <= bottom and top != bottom:
                out[x] = max(out[x], rank(edge))
        return out

    def _draw(self, y: int) -> str:
        bits = [0] * self.width
        for x0, x1, _ in self.strokes[y]:
            if x1 - x0 > 1:
                bits[x0] |= E
                for x in range(x0 + 1, x1 - 1):
                    bits[x] |= E | W
                bits[x1 - 1] |= W
        for x, top, bottom, _ in self.verticals:
            if top <= y <= bottom:
                bits[x] |= (N if y > top else 0) | (S if y < bottom else 0)
        cells = [GLYPHS.get(b, " ") for b in bits]
        for x, text in self.captions[y]:
            cells[x : x + len(text)] = text
        return "".join(cells)
