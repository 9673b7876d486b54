"""The edges of a layout as box-drawing text, one row at a time, built only when a row is drawn.

A 1,000-asset graph is a grid of ~800 x 300 cells; drawing it all up front cost more than the
rest of the layout, while a screen shows forty rows.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

N, E, S, W = 1, 2, 4, 8
GLYPHS = {
    N: "│", S: "│", N | S: "│", E: "─", W: "─", E | W: "─",
    E | S: "┌", W | S: "┐", N | E: "└", N | W: "┘",
    N | E | S: "├", N | W | S: "┤", E | W | S: "┬", N | E | W: "┴", N | E | S | W: "┼",
}


class Canvas(Sequence[str]):
    """Rows of text from horizontal strokes, vertical strokes and captions; each row built once."""

    def __init__(self, width: int, height: int) -> None:
        self.width, self.height = width, height
        self.strokes: list[list[tuple[int, int]]] = [[] for _ in range(height)]  # per row: [x0, x1)
        self.verticals: list[tuple[int, int, int]] = []  # (x, top row, bottom row)
        self.captions: list[list[tuple[int, str]]] = [[] for _ in range(height)]
        self._rows: dict[int, str] = {}

    def hline(self, y: int, x0: int, x1: int) -> None:
        """A stroke over cells [x0, x1) of row y; each cell links to its neighbours in the run."""
        self.strokes[y].append((x0, x1))

    def vline(self, x: int, top: int, bottom: int) -> None:
        self.verticals.append((x, top, bottom))

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

    def _draw(self, y: int) -> str:
        bits = [0] * self.width
        for x0, x1 in self.strokes[y]:
            if x1 - x0 > 1:
                bits[x0] |= E
                for x in range(x0 + 1, x1 - 1):
                    bits[x] |= E | W
                bits[x1 - 1] |= W
        for x, top, bottom in self.verticals:
            if top <= y <= bottom:
                bits[x] |= (N if y > top else 0) | (S if y < bottom else 0)
        cells = [GLYPHS.get(b, " ") for b in bits]
        for x, text in self.captions[y]:
            cells[x : x + len(text)] = text
        return "".join(cells)
