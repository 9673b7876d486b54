"""The asset graph as text for other tools: Mermaid (GitHub renders it) and Graphviz DOT.

Pure: the graph, the keys to draw and each asset's state in, text out. `wb lineage --format`
prints it; the TUI shares the state glyphs.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from workbench.core.graph import AssetGraph
from workbench.core.staleness import FAILED, FRESH, MISSING, STALE

RUNNING = "running"
FORMATS = ("mermaid", "dot")
GLYPH = {FRESH: "✔", STALE: "↻", MISSING: "○", FAILED: "✘", RUNNING: "▶"}
FILL = {FRESH: "#2e7d32", STALE: "#f9a825", MISSING: "#1565c0", FAILED: "#c62828", RUNNING: "#8e24aa"}
INK = {STALE: "#1b1b1b"}  # text colour on a fill (default white)


def render(fmt: str, graph: AssetGraph, keys: Sequence[str], states: Mapping[str, str]) -> str:
    """`keys` (in topological order) and the edges among them, in `fmt` (one of FORMATS)."""
    return (mermaid if fmt == "mermaid" else dot)(graph, keys, states)


def label(key: str, state: str | None) -> str:
    return f"{GLYPH.get(state or '', '·')} {key}"


def mermaid(graph: AssetGraph, keys: Sequence[str], states: Mapping[str, str]) -> str:
    """A `flowchart LR`: sources as cylinders, a subgraph per group (when there are several),
    nodes filled by state."""
    ids = {k: f"n{i}" for i, k in enumerate(keys)}
    groups: dict[str, list[str]] = {}
    for key in keys:
        groups.setdefault(graph.nodes[key].group, []).append(key)
    lines = ["flowchart LR"]
    for i, (group, members) in enumerate(groups.items()):
        indent = "    " if len(groups) == 1 else "        "
        if len(groups) > 1:
            lines.append(f'    subgraph g{i}["{_mermaid_text(group)}"]')
        for key in members:
            text = _mermaid_text(label(key, states.get(key)))
            lines.append(f'{indent}{ids[key]}[("{text}")]' if graph.is_source(key) else f'{indent}{ids[key]}["{text}"]')
        if len(groups) > 1:
            lines.append("    end")
    for key in keys:
        lines += [f"    {ids[p]} --> {ids[key]}" for p in graph.parents[key] if p in ids]
    for state, fill in FILL.items():
        members = [ids[k] for k in keys if states.get(k) == state]
        if members:
            lines.append(f"    classDef {state} fill:{fill},color:{INK.get(state, '#ffffff')},stroke:{fill}")
            lines.append(f"    class {','.join(members)} {state}")
    return "\n".join(lines) + "\n"


def dot(graph: AssetGraph, keys: Sequence[str], states: Mapping[str, str]) -> str:
    """A `digraph` laid out left to right, a cluster per group (when there are several), nodes
    filled by state, sources as cylinders."""
    groups: dict[str, list[str]] = {}
    for key in keys:
        groups.setdefault(graph.nodes[key].group, []).append(key)
    lines = [
        "digraph workbench {",
        "    rankdir=LR;",
        '    node [shape=box, style="rounded,filled", fontname="Helvetica", fillcolor="#424242", fontcolor="#ffffff"];',
    ]
    for i, (group, members) in enumerate(groups.items()):
        indent = "    " if len(groups) == 1 else "        "
        if len(groups) > 1:
            lines += [f"    subgraph cluster_{i} {{", f"        label={_dot_text(group)};", '        style="rounded,dashed";']
        for key in members:
            state = states.get(key)
            attrs = [f"label={_dot_text(label(key, state))}"]
            if state in FILL:
                attrs += [f'fillcolor="{FILL[state]}"', f'fontcolor="{INK.get(state, "#ffffff")}"']
            if graph.is_source(key):
                attrs.append("shape=cylinder")
            lines.append(f"{indent}{_dot_text(key)} [{', '.join(attrs)}];")
        if len(groups) > 1:
            lines.append("    }")
    wanted = set(keys)
    for key in keys:
        lines += [f"    {_dot_text(p)} -> {_dot_text(key)};" for p in graph.parents[key] if p in wanted]
    lines.append("}")
    return "\n".join(lines) + "\n"


def _mermaid_text(text: str) -> str:
    return text.replace('"', "#quot;")


def _dot_text(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'
