"""Rendering one row of the layout: clipping to the viewport, styles by state, cursor, markup safety."""

from __future__ import annotations

from workbench.tui import theme
from workbench.tui.layout import layout
from workbench.tui.navigate import DOWN, LEFT, RIGHT, UP, nearest, step
from workbench.tui.render import render_row

KEYS = ["a", "b", "c", "d"]
PARENTS = {"c": ["a", "b"], "d": ["c"]}


def text(segments: list) -> str:
    return "".join(s.text for s in segments)


def test_row_is_clipped_to_the_viewport_and_styled_by_state() -> None:
    lay = layout(KEYS, PARENTS)
    c = lay.nodes["c"]
    full = render_row(lay, c.y, 0, lay.width, {"c": "stale", "d": "failed"}, cursor="d", related={"c"})
    assert len(text(full)) == lay.width
    assert " ↻ c " in text(full) and " ✘ d " in text(full)
    styles = {s.text.strip(): s.style for s in full if s.text.strip() in ("↻ c", "✘ d")}
    assert styles["↻ c"] == theme.pill("stale") + theme.RELATED
    assert styles["✘ d"] == theme.pill("failed") + theme.CURSOR
    window = render_row(lay, c.y, c.x + 1, 4, {"c": "stale"})
    assert text(window) == "↻ c "  # a box cut by the left edge of the viewport
    assert text(render_row(lay, lay.height + 3, 0, 7, {})) == " " * 7


def test_keys_with_markup_are_drawn_verbatim() -> None:
    lay = layout(["[b]x"], {})
    assert "[b]x" in text(render_row(lay, 0, 0, lay.width, {}))


def test_navigation_within_and_across_layers() -> None:
    lay = layout(KEYS, PARENTS)
    top, bottom = lay.columns[0]
    assert step(lay, top, DOWN) == bottom and step(lay, bottom, DOWN) == bottom
    assert step(lay, bottom, UP) == top and step(lay, top, UP) == top
    assert step(lay, "a", RIGHT) == "c" and step(lay, "c", RIGHT) == "d" and step(lay, "d", RIGHT) == "d"
    assert step(lay, "c", LEFT) == nearest(lay, ["a", "b"], lay.nodes["c"].y)
    assert nearest(lay, [], 0) is None


def test_overview_lists_checks_and_their_state() -> None:
    from pathlib import Path

    from workbench.tui import describe

    from workbench.core.graph import AssetGraph
    from workbench.core.spec import asset, spec_of
    from workbench.core.staleness import CheckState, Status

    @asset
    def orders() -> dict:  # type: ignore[no-untyped-def]
        return {}

    graph = AssetGraph.build([spec_of(orders)])
    status = Status("orders", "fresh", (), "c", "d", checks=(CheckState("orders:no_nulls", True, "failed"),))
    text = describe.overview(graph, Path.cwd(), "orders", status).plain
    assert "no_nulls  failed (blocking)" in text


def test_overview_and_history_show_params_and_a_metric_trend() -> None:
    from datetime import datetime, timezone
    from pathlib import Path

    from workbench.tui import describe

    from workbench.core.graph import AssetGraph
    from workbench.core.records import Materialization
    from workbench.core.spec import asset, spec_of
    from workbench.core.staleness import Status

    @asset(params={"lr": 0.01, "opt": "adam"})
    def model() -> dict:  # type: ignore[no-untyped-def]
        return {}

    now = datetime(2026, 1, 1, tzinfo=timezone.utc)
    record = Materialization(
        "r", "model", "success", "c", "run", "cli", now, now, data_version="d" * 32,
        params={"lr": 0.01, "opt": "adam"}, metrics={"loss": 0.1}, series={"loss": [[0, 0.9], [1, 0.5], [2, 0.1]]},
    )  # fmt: skip
    graph = AssetGraph.build([spec_of(model)])
    text = describe.overview(graph, Path.cwd(), "model", Status("model", "fresh", (), "c", "d", record, record)).plain
    assert "lr = 0.01" in text and "opt = adam" in text and "loss = 0.1  █▅▁" in text


def _layered(layers: int, width: int) -> tuple[list[str], dict[str, list[str]]]:
    """`layers` layers of `width` nodes, each a child of two nodes of the layer before."""
    keys = [f"n{i}_{j}" for i in range(layers) for j in range(width)]
    parents = {f"n{i}_{j}": [f"n{i - 1}_{j}", f"n{i - 1}_{(j + 1) % width}"] for i in range(1, layers) for j in range(width)}
    return keys, parents


def test_a_window_of_a_row_is_drawn_from_the_strokes_in_it_alone(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from workbench.tui.canvas import Canvas

    painted: list[int] = []  # the row of every horizontal stroke drawn
    hline = Canvas.hline

    def counted(self, y, *rest):  # type: ignore[no-untyped-def]
        painted.append(y)
        hline(self, y, *rest)

    monkeypatch.setattr(Canvas, "hline", counted)
    keys, parents = _layered(200, 3)  # thousands of cells wide; a screen shows 60
    lay = layout(keys, parents)
    y, x0 = lay.nodes["n100_1"].y, lay.nodes["n100_1"].x - 20
    ranked: list[tuple[str, str]] = []

    def rank(edge: tuple[str, str]) -> int:
        ranked.append(edge)
        return 1

    row = render_row(lay, y, x0, 60, {}, edge_rank=rank)
    assert len(text(row)) == 60
    near = {k for k in keys if 96 <= int(k[1:].split("_")[0]) <= 103}  # the window shows about four layers
    assert ranked and {parent for parent, _ in ranked} <= near  # not the hundreds of edges elsewhere on the row
    drawn = len(painted)  # only the layers the window reaches were painted
    assert len(ranked) < len(lay.lines.strokes[y]) / 4 and drawn < len(painted) / 20
    for start in (x0, 0, lay.width - 30):  # the middle, both ends
        assert lay.lines.text(y, start, start + 60) == lay.lines[y][start : start + 60].ljust(60)

