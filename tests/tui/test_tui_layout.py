"""The layered layout: placement invariants, edge routing that connects every edge, captions."""

from __future__ import annotations

from collections import deque

from hypothesis import given, settings
from hypothesis import strategies as st
from workbench.tui.canvas import GLYPHS, E, N, S, W
from workbench.tui.layout import Layout, layout
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
    )
)


@settings(max_examples=60, deadline=None)
@given(dags)
def test_every_edge_is_a_connected_stroke_and_boxes_never_overlap(dag: tuple[int, list[tuple[int, int]], bool]) -> None:
    n, pairs, grouped = dag
    keys = [f"n{i}" for i in range(n)]
    parents = {k: sorted({keys[a] for a, b in pairs if a < b and keys[b] == k}) for k in keys}
    groups = {k: f"g{int(k[1:]) % 3}" for k in keys} if grouped else None
    lay = layout(keys, parents, groups)
    assert set(lay.nodes) == set(keys)
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


def test_pipeline_picture() -> None:
    keys = ["raw", "clean", "features", "train", "test", "model", "report"]
    parents = {"clean": ["raw"], "features": ["clean"], "train": ["features"], "test": ["features"],
               "model": ["train"], "report": ["model", "test", "clean"]}
    assert picture(layout(keys, parents)) == "\n".join([
        "                                   ┌── ✔ train ── ✔ model ─┐",
        "                   ┌── ✔ features ─┤                       │",
        " ✔ raw ── ✔ clean ─┤               └── ✔ test  ────────────┴─┬── ✔ report",
        "                   └───────────────┐                         │",
        "                                   └─────────────────────────┘",
    ])


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
