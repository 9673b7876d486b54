"""What the views show: the assets a filter selects, their groups, and their layered layout.

Built off the UI thread (a 1,000-asset layout takes ~0.15 s), then handed to the views.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from workbench.tui.arrange import Arrangement, arrange
from workbench.tui.layout import Layout, fit, skeleton

from workbench.core.graph import AssetGraph
from workbench.core.selection import select
from workbench.errors import WorkbenchError


@dataclass(frozen=True, slots=True)
class Scene:
    graph: AssetGraph
    selection: str  # the filter expression in force ("" for all)
    keys: tuple[str, ...]  # topological order
    groups: Mapping[str, str]
    sources: frozenset[str]
    diagram: Layout
    arrangement: Arrangement | None = None  # where the graph and the detail pane go (None: no screen given)
    warning: str = ""  # why the requested filter was dropped


def build(
    graph: AssetGraph, selection: str, grouped: bool, states: Mapping[str, str] | None = None,
    screen: tuple[int, int] | None = None, detail: bool = True,
) -> Scene:
    """The scene for `selection` (`states`: each asset's state, for `status:`); a selection that no
    longer parses falls back to every asset. With `screen` (columns, rows), the diagram is fitted
    to the graph's share of it."""
    warning = ""
    try:
        keys = tuple(graph.subset_order(select(graph, selection or None, states)))
    except WorkbenchError as exc:
        warning, selection, keys = f"filter cleared: {exc}", "", graph.order
    groups = {k: graph.nodes[k].group for k in keys}
    sources = frozenset(k for k in keys if graph.is_source(k))
    sk = skeleton(keys, graph.parents, groups if grouped else None)
    arrangement = arrange(screen, sk.size(), detail) if screen is not None else None
    diagram = fit(sk, arrangement.width if arrangement is not None else None)  # drawn once, fitted
    return Scene(graph, selection, keys, groups, sources, diagram, arrangement, warning)
