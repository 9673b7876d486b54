"""The graph as Mermaid and DOT text: nodes with their states, edges among the drawn keys, escaping."""

from __future__ import annotations

from workbench.core.diagram import dot, mermaid, render
from workbench.core.graph import AssetGraph
from workbench.core.spec import asset, source, spec_of

raw = source("raw", path="data.csv")


@asset(group="prep")
def clean(raw):  # type: ignore[no-untyped-def]
    return raw


@asset(group='ml "v2"', name="ml/model")
def model(clean):  # type: ignore[no-untyped-def]
    return clean


GRAPH = AssetGraph.build([spec_of(f) for f in (raw, clean, model)])
STATES = {"raw": "fresh", "clean": "stale", "ml/model": "failed"}


def test_mermaid_draws_groups_states_sources_and_edges() -> None:
    assert mermaid(GRAPH, GRAPH.order, STATES) == "\n".join([
        "flowchart LR",
        '    subgraph g0["sources"]',
        '        n0[("✔ raw")]',
        "    end",
        '    subgraph g1["prep"]',
        '        n1["↻ clean"]',
        "    end",
        '    subgraph g2["ml #quot;v2#quot;"]',
        '        n2["✘ ml/model"]',
        "    end",
        "    n0 --> n1",
        "    n1 --> n2",
        "    classDef fresh fill:#2e7d32,color:#ffffff,stroke:#2e7d32",
        "    class n0 fresh",
        "    classDef stale fill:#f9a825,color:#1b1b1b,stroke:#f9a825",
        "    class n1 stale",
        "    classDef failed fill:#c62828,color:#ffffff,stroke:#c62828",
        "    class n2 failed",
    ]) + "\n"


def test_dot_escapes_keys_and_keeps_only_edges_among_the_drawn_keys() -> None:
    text = dot(GRAPH, ["clean", "ml/model"], STATES)
    assert text.startswith("digraph workbench {\n    rankdir=LR;") and text.endswith("}\n")
    assert '        label="ml \\"v2\\"";' in text
    assert '"ml/model" [label="✘ ml/model", fillcolor="#c62828", fontcolor="#ffffff"];' in text
    assert '"clean" -> "ml/model";' in text and "raw" not in text  # raw is not drawn, nor its edge
    assert render("dot", GRAPH, ["clean"], {}) == dot(GRAPH, ["clean"], {})
    assert '"clean" [label="· clean"];' in render("dot", GRAPH, ["clean"], {})  # no state: the default fill
