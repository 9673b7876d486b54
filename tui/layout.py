"""A layered (Sugiyama-style) layout of a DAG on a character grid; pure Python, no Textual.

Steps: longest-path layers (left to right); dummy nodes on edges that span several layers;
barycenter sweeps to cut crossings, keeping each group contiguous within a layer; rows near
the parents' mean; edges routed with box-drawing characters in the channel between two
layers, on vertical tracks chosen by interval colouring. `fit()` draws the same skeleton with
labels cut to a width budget: a graph too wide for the screen is shown whole, zoomed out.
"""

from __future__ import annotations

import heapq
from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from workbench.tui.canvas import Canvas, Edge

MAX_LABEL = 36  # widest node label, in cells
MIN_LABEL = 3  # the zoomed-out overview: ' G ', the state glyph only
MAX_TRACKS = 12  # vertical tracks per channel; beyond this, tracks are shared
SWEEPS = 4

@dataclass(frozen=True, slots=True)
class Placed:
    """A node's box: label cells [x, x + width) on row y, in layer `layer`."""

    key: str
    layer: int
    x: int
    y: int
    width: int


@dataclass(frozen=True, slots=True)
class Layout:
    """Node boxes, the edge and group-label text of every row, and the keys of every layer."""

    width: int
    height: int
    nodes: Mapping[str, Placed]
    lines: Canvas  # edges and group captions as text, row by row; node boxes are left blank
    columns: tuple[tuple[str, ...], ...]  # real keys of each layer, top to bottom
    rows: tuple[tuple[Placed, ...], ...]  # the boxes on each row, left to right


def label_width(key: str) -> int:
    """Cells for ' G key ' (G: the state glyph), capped at MAX_LABEL."""
    return min(len(key) + 4, MAX_LABEL)


@dataclass(frozen=True, slots=True)
class Skeleton:
    """Where everything goes before label widths are chosen: layers (dummies included), rows, tracks."""

    layers: list[list[str]]
    ys: Mapping[str, int]
    succs: Mapping[str, list[str]]
    group_of: Mapping[str, str] | None  # None: no captions
    channels: list[dict[str, int]]  # per channel between two layers: the track of each bending source

    def natural(self) -> list[int]:
        """The full label width of each layer."""
        return [max((label_width(k) for k in layer if not k.startswith("\0")), default=4) for layer in self.layers]

    def gaps(self) -> list[int]:
        """The width of each channel: one cell per track and one on either side."""
        return [max(c.values(), default=-1) + 3 for c in self.channels]

    def size(self) -> tuple[int, int]:
        """(width, height) of the layout drawn with the widest labels, without drawing it."""
        return sum(self.natural()) + sum(self.gaps()), max(self.ys.values(), default=-1) + 1


def layout(
    keys: Sequence[str], parents: Mapping[str, Sequence[str]], groups: Mapping[str, str] | None = None,
    width: int | None = None,
) -> Layout:
    """Lay out `keys` (in topological order); edges are the `parents` among `keys`.

    With `groups`, nodes of one group stay together in each layer under a caption. With `width`,
    labels are cut so the whole graph fits in that many cells if it can.
    """
    return fit(skeleton(keys, parents, groups), width)


def fit(sk: Skeleton, width: int | None = None) -> Layout:
    """Draw `sk` with the widest labels (up to MAX_LABEL) that keep it within `width` cells."""
    return _draw(sk, MAX_LABEL if width is None else cap(sk.natural(), sum(sk.gaps()), width))


def cap(natural: Sequence[int], gaps: int, width: int) -> int:
    """The largest label cap c (MIN_LABEL..MAX_LABEL) with sum(min(w, c)) + gaps <= width."""
    best = MIN_LABEL
    for c in range(MIN_LABEL, MAX_LABEL + 1):
        if sum(min(w, c) for w in natural) + gaps > width:
            break
        best = c
    return best


def skeleton(
    keys: Sequence[str], parents: Mapping[str, Sequence[str]], groups: Mapping[str, str] | None = None
) -> Skeleton:
    """Layers, order, rows and edge tracks of the layout of `keys`."""
    wanted = set(keys)
    ups = {k: [p for p in parents.get(k, ()) if p in wanted] for k in keys}
    level: dict[str, int] = {}
    for k in keys:
        level[k] = 1 + max((level[p] for p in ups[k]), default=-1)
    layers: list[list[str]] = [[] for _ in range(max(level.values(), default=-1) + 1)]
    preds: dict[str, list[str]] = {k: [] for k in keys}
    succs: dict[str, list[str]] = {k: [] for k in keys}
    for k in keys:
        layers[level[k]].append(k)
    group_of = dict(groups or {})
    for k in keys:
        for p in ups[k]:
            prev = p
            for lv in range(level[p] + 1, level[k]):  # a dummy per skipped layer keeps edges short
                dummy = f"\0{p}\0{k}\0{lv}"
                layers[lv].append(dummy)
                group_of[dummy] = group_of.get(k, "")
                preds[dummy], succs[dummy] = [prev], []
                succs[prev].append(dummy)
                prev = dummy
            succs[prev].append(k)
            preds[k].append(prev)
    rank = {g: i for i, g in enumerate(dict.fromkeys(group_of[k] for k in keys))} if groups else {}
    _order(layers, preds, succs, lambda item: rank.get(group_of.get(item, ""), 0))
    captioned = groups is not None and len(rank) > 1
    ys = _place(layers, preds, succs, group_of if captioned else None)
    channels = []
    for layer in layers[:-1]:
        bends = [(item, ys[item], [ys[s] for s in succs[item]]) for item in layer]
        channels.append(_tracks([b for b in bends if any(r != b[1] for r in b[2])]))
    return Skeleton(layers, ys, succs, group_of if captioned else None, channels)


def _order(
    layers: list[list[str]], preds: Mapping[str, list[str]], succs: Mapping[str, list[str]], group: Callable[[str], int]
) -> None:
    """Barycenter sweeps, down then up; sorting by `group(item)` first keeps groups contiguous."""
    pos = {item: i for layer in layers for i, item in enumerate(layer)}
    for layer in layers:
        layer.sort(key=lambda item: (group(item), pos[item]))
    for sweep in range(SWEEPS):
        down = sweep % 2 == 0
        indices = range(1, len(layers)) if down else range(len(layers) - 2, -1, -1)
        for i in indices:
            layer = layers[i]
            for j, item in enumerate(layer):
                pos[item] = j
            links = preds if down else succs
            bary = {}
            for item in layer:
                near = [pos[n] for n in links[item]]
                bary[item] = sum(near) / len(near) if near else pos[item]
            layer.sort(key=lambda item: (group(item), bary[item]))
            for j, item in enumerate(layer):
                pos[item] = j


def _place(
    layers: list[list[str]], preds: Mapping[str, list[str]], succs: Mapping[str, list[str]], group_of: Mapping[str, str] | None
) -> dict[str, int]:
    """Rows: each item as near its parents' mean row as the order allows (then the roots near
    their children's), two rows apart, three before a new group for its caption; top row 0."""
    ys: dict[str, int] = {}
    for layer in layers:
        _fit(layer, [_mean(ys, preds[item]) for item in layer], group_of, ys)
    if len(layers) > 1:
        _fit(layers[0], [_mean(ys, succs[item]) for item in layers[0]], group_of, ys)
    top = min(ys.values(), default=0) - (1 if group_of is not None else 0)
    return {item: y - top for item, y in ys.items()}


def _mean(ys: Mapping[str, int], near: Sequence[str]) -> float:
    return sum(ys[n] for n in near) / len(near) if near else 0.0


def _fit(layer: Sequence[str], wants: Sequence[float], group_of: Mapping[str, str] | None, ys: dict[str, int]) -> None:
    """Rows closest (least squares) to `wants` keeping the layer's order and gaps: isotonic
    regression by pool-adjacent-violators, so a crowded layer spreads both up and down."""
    offsets, at, last = [], 0, None
    for i, item in enumerate(layer):
        gap = 2
        if group_of is not None and not item.startswith("\0"):
            gap, last = (3 if group_of[item] != last else 2), group_of[item]
        at += gap if i else 0
        offsets.append(at)
    blocks: list[list[float]] = []  # [mean, count]
    for want, offset in zip(wants, offsets, strict=True):
        blocks.append([want - offset, 1])
        while len(blocks) > 1 and blocks[-2][0] > blocks[-1][0]:
            mean, count = blocks.pop()
            blocks[-1] = [(blocks[-1][0] * blocks[-1][1] + mean * count) / (blocks[-1][1] + count), blocks[-1][1] + count]
    i = 0
    for mean, count in blocks:
        for _ in range(int(count)):
            ys[layer[i]] = round(mean) + offsets[i]
            i += 1


def _tracks(sources: list[tuple[str, int, list[int]]]) -> dict[str, int]:
    """Vertical tracks for the sources (item, row, target rows) of one channel.

    A source leaves on its row to the left of any track that enters a target on that row, so
    two strokes never share a row segment; sources with disjoint spans share a track.
    """
    leaving: defaultdict[int, list[str]] = defaultdict(list)
    for item, row, _ in sources:
        leaving[row].append(item)
    # left[u]: the sources whose tracks must lie left of u's (they leave on a row u enters)
    left = {u: {w for t in set(targets) for w in leaving.get(t, ()) if w != u} for u, _, targets in sources}
    right: defaultdict[str, list[str]] = defaultdict(list)
    for u, ws in left.items():
        for w in ws:
            right[w].append(u)
    spans = {item: (min(row, *targets), max(row, *targets)) for item, row, targets in sources}
    waiting = {u: len(ws) for u, ws in left.items()}
    ready = [(spans[u], u) for u, n in waiting.items() if n == 0]
    heapq.heapify(ready)
    used: list[list[tuple[int, int]]] = []
    out: dict[str, int] = {}
    while len(out) < len(spans):
        if ready:
            item = heapq.heappop(ready)[1]
        else:  # crossing edges constrain each other both ways: break the tie at the top
            item = min((u for u in spans if u not in out), key=spans.__getitem__)
        if item in out:
            continue
        lo, hi = spans[item]
        t = 1 + max((out[w] for w in left[item] if w in out), default=-1)
        while t < len(used) and any(a <= hi and lo <= b for a, b in used[t]):
            t += 1
        t = min(t, MAX_TRACKS - 1)
        if t == len(used):
            used.append([])
        used[t].append((lo, hi))
        out[item] = t
        for v in right[item]:
            waiting[v] -= 1
            if waiting[v] == 0 and v not in out:
                heapq.heappush(ready, (spans[v], v))
    return out


def _edge(item: str, succ: str) -> Edge:
    """The real edge (parent, child) that the stroke from `item` to `succ` belongs to."""
    for end in (succ, item):
        if end.startswith("\0"):
            parent, child, _ = end[1:].split("\0")
            return parent, child
    return item, succ


def _draw(sk: Skeleton, cap: int) -> Layout:
    """Place the nodes; the edges and captions of each layer are painted when the screen reaches them."""
    layers, ys, succs, group_of, channels = sk.layers, sk.ys, sk.succs, sk.group_of, sk.channels
    widths = [min(w, cap) for w in sk.natural()]
    gaps = sk.gaps()
    xs, x = [], 0
    for i, width in enumerate(widths):
        xs.append(x)
        x += width + (gaps[i] if i < len(channels) else 0)

    def paint(i: int) -> None:
        """Layer i's dummy strokes and group captions, and the edges across the channel after it."""
        last = None
        for item in layers[i]:
            if item.startswith("\0"):
                canvas.hline(ys[item], xs[i], xs[i] + widths[i], _edge(item, item))
            elif group_of is not None and group_of[item] != last:
                last = group_of[item]
                canvas.caption(ys[item] - 1, xs[i], last[: widths[i]])
        if i == len(channels):
            return
        start, end = xs[i] + widths[i], xs[i + 1]
        for item in layers[i]:
            row = ys[item]
            for succ in succs[item]:
                edge, y = _edge(item, succ), ys[succ]
                if item not in channels[i]:
                    canvas.hline(row, start, end, edge)
                    continue
                tx = start + 1 + channels[i][item]
                canvas.hline(row, start, tx + 1, edge)
                canvas.hline(y, tx, end, edge)
                canvas.vline(tx, min(row, y), max(row, y), edge)

    canvas = Canvas(x, max(ys.values(), default=-1) + 1, xs, paint)
    nodes = {
        item: Placed(item, i, xs[i], ys[item], widths[i]) for i, layer in enumerate(layers) for item in layer if not item.startswith("\0")
    }
    by_row: list[list[Placed]] = [[] for _ in range(canvas.height)]
    for placed in nodes.values():
        by_row[placed.y].append(placed)
    return Layout(
        width=x,
        height=canvas.height,
        nodes=nodes,
        lines=canvas,
        columns=tuple(tuple(sorted((k for k in layer if k in nodes), key=ys.__getitem__)) for layer in layers),
        rows=tuple(tuple(sorted(row, key=lambda p: p.x)) for row in by_row),
    )
