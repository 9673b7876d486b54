"""The layered layout: placement invariants, edge routing that connects every edge, captions."""

from __future__ import annotations

from collections import deque

from hypothesis import given, settings
from hypothesis import strategies as st
from workbench.tui.canvas import GLYPHS, E, N, S, W
from workbench.tui.layout import MAX_LABEL, MIN_LABEL, Layout, cap, layout
from workbench.tui.render import label

LINKS = {glyph: bits for bits, glyph in sorted(GLYPHS.items())}  # the fullest reading of each glyph
LINKS.update({"─": E | W, "│": N | S})
STEPS = {N: (0, -1, S), S: (0, 1, N), E: (1, 0, W), W: (-1, 0, E)}


def picture(lay: Layout) -> str:
    rows = [list(line) for line in lay.lines]
    for box in lay.nodes.values():
        rows[box.y][box.x : box.x + box.width] = label(box.key, "fresh", box.width)
    return "\n".join("".join(row).rstrip() for row in rows)


def reaches(lay: Layout, start: tuple[int, int], goal: tuple[int, int]) -> bool:
    """Follow box-drawing strokes from `start`; True if `goal` is reached."""
    seen, todo = {start}, deque([start])
    while todo:
        x, y = todo.popleft()
        if (x, y) == goal:
            return True
        bits = LINKS.get(lay.lines[y][x], 0)
        for bit, (dx, dy, back) in STEPS.items():
            nx, ny = x + dx, y + dy
            inside = 0 <= ny < lay.height and 0 <= nx < lay.width
            if bits & bit and inside and (nx, ny) not in seen and LINKS.get(lay.lines[ny][nx], 0) & back:
                seen.add((nx, ny))
                todo.append((nx, ny))
    return False


dags = st.integers(min_value=1, max_value=24).flatmap(
    lambda n: st.tuples(
        st.just(n),
        st.lists(st.tuples(st.integers(0, n - 1), st.integers(0, n - 1)), max_size=3 * n),
        st.booleans(),
        st.one_of(st.none(), st.integers(10, 200)),
    )
)


@settings(max_examples=60, deadline=None)
@given(dags)
def test_every_edge_is_a_connected_stroke_and_boxes_never_overlap(dag: tuple[int, list[tuple[int, int]], bool, int | None]) -> None:
    n, pairs, grouped, width = dag
    keys = [f"n{i}" for i in range(n)]
    parents = {k: sorted({keys[a] for a, b in pairs if a < b and keys[b] == k}) for k in keys}
    groups = {k: f"g{int(k[1:]) % 3}" for k in keys} if grouped else None
    lay = layout(keys, parents, groups, width)
    assert set(lay.nodes) == set(keys)
    if width is not None and lay.width > width:  # only when even the glyph-only overview is too wide
        assert all(box.width == MIN_LABEL for box in lay.nodes.values())
    cells = set()
    for box in lay.nodes.values():
        span = {(x, box.y) for x in range(box.x, box.x + box.width)}
        assert not span & cells
        cells |= span
        assert box.key in lay.columns[box.layer]
    for child, ups in parents.items():
        c = lay.nodes[child]
        for parent in ups:
            p = lay.nodes[parent]
            assert p.layer < c.layer
            assert reaches(lay, (p.x + p.width, p.y), (c.x - 1, c.y)), f"{parent} -> {child}\n{picture(lay)}"
    fresh = layout(keys, parents, groups, width)  # nothing painted yet: each window paints what it reaches
    for x0 in reversed(range(0, lay.width + 4, 7)):  # a window of a row is that slice of the whole row
        for y in range(lay.height):
            assert fresh.lines.text(y, x0, x0 + 9) == lay.lines[y][x0 : x0 + 9].ljust(9)


def test_pipeline_picture() -> None:
    keys = ["raw", "clean", "features", "train", "test", "model", "report"]
    parents = {"clean": ["raw"], "features": ["clean"], "train": ["features"], "test": ["features"],
               "model": ["train"], "report": ["model", "test", "clean"]}
    assert picture(layout(keys, parents)) == "\n".join([
        "                                  ┌─ ✔ train ── ✔ model ─┐",
        "                   ┌─ ✔ features ─┤                      │",
        " ✔ raw ── ✔ clean ─┤              └─ ✔ test  ────────────┴┬─ ✔ report",
        "                   └──────────────┐                       │",
        "                                  └───────────────────────┘",
    ])


def test_a_graph_too_wide_for_the_screen_is_drawn_whole_with_shorter_labels() -> None:
    keys = ["raw", "clean", "features", "train", "test", "model", "report"]
    parents = {"clean": ["raw"], "features": ["clean"], "train": ["features"], "test": ["features"],
               "model": ["train"], "report": ["model", "test", "clean"]}
    full = layout(keys, parents)
    fitted = layout(keys, parents, width=full.width - 10)
    assert fitted.width <= full.width - 10 and set(fitted.nodes) == set(keys)
    assert label("features", "fresh", fitted.nodes["features"].width) == " ✔ fe… "
    assert picture(layout(keys, parents, width=40)) == "\n".join([  # zoomed out: the state glyphs only
        "                  ┌─ ✔  ── ✔  ─┐",
        "           ┌─ ✔  ─┤            │",
        " ✔  ── ✔  ─┤      └─ ✔  ───────┴┬─ ✔",
        "           └──────┐             │",
        "                  └─────────────┘",
    ])
    assert cap([10, 20, 30], 5, 10**6) == MAX_LABEL and cap([10, 20, 30], 5, 5) == MIN_LABEL
    assert cap([10, 20, 30], 5, 5 + 10 + 15 + 15) == 15


def test_groups_stay_together_under_one_caption_per_run() -> None:
    keys = ["a", "b", "c", "x", "y"]
    parents = {"x": ["a", "b", "c"], "y": ["a"]}
    groups = {"a": "one", "b": "two", "c": "one", "x": "one", "y": "two"}
    lay = layout(keys, parents, groups)
    first = [groups[k] for k in lay.columns[0]]
    assert first in (["one", "one", "two"], ["two", "one", "one"])
    captions = [(y, text) for y, row in enumerate(lay.lines.captions) for _, text in row]
    assert sorted(text for _, text in captions) == ["one", "one", "two", "two"]
    for y, text in captions:  # each caption sits right above the first node of its run
        assert any(box.y == y + 1 and groups[box.key] == text for box in lay.nodes.values())


def test_columns_are_top_to_bottom_and_long_keys_are_cut() -> None:
    key = "k" * 80
    lay = layout(["a", "b", key], {key: ["a"]})
    assert sorted(lay.columns[0]) == ["a", "b"] and lay.columns[1] == (key,)
    for column in lay.columns:
        ys = [lay.nodes[k].y for k in column]
        assert ys == sorted(ys)
    cut = label(key, "stale", lay.nodes[key].width)
    assert cut.endswith("… ") and cut.startswith(" ↻ kkk") and len(cut) == lay.nodes[key].width == 36


def test_empty_graph() -> None:
    lay = layout([], {})
    assert (lay.width, lay.height, dict(lay.nodes)) == (0, 0, {})


def test_a_scene_draws_its_layout_once_measuring_the_channels_once(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """Cost: one drawing, fitted to the screen (not a natural one first), in time linear in the layers."""
    from workbench.tui import layout as module
    from workbench.tui import scene

    from workbench.core.graph import AssetGraph
    from workbench.core.spec import asset, spec_of

    chain = [asset(name=f"a{i}", deps=[f"a{i - 1}"] if i else [])(lambda: {}) for i in range(60)]  # far wider than the screen
    graph = AssetGraph.build([spec_of(fn) for fn in chain])
    calls = {"draw": 0, "gaps": 0}
    draw, gaps = module._draw, module.Skeleton.gaps

    def counted_draw(*args, **kwargs):  # type: ignore[no-untyped-def]
        calls["draw"] += 1
        return draw(*args, **kwargs)

    def counted_gaps(self):  # type: ignore[no-untyped-def]
        calls["gaps"] += 1
        return gaps(self)

    monkeypatch.setattr(module, "_draw", counted_draw)
    monkeypatch.setattr(module.Skeleton, "gaps", counted_gaps)
    view = scene.build(graph, "", True, None, (120, 40))
    assert set(view.diagram.nodes) == {f"a{i}" for i in range(60)} and view.arrangement is not None
    assert view.diagram.width <= view.arrangement.width or view.diagram.nodes["a0"].width == MIN_LABEL
    assert calls == {"draw": 1, "gaps": 3}  # the natural size, the cap and the drawing: never once per layer
