"""Properties of selection over random small DAGs, and a fuzz of the parser."""

from __future__ import annotations

from collections.abc import Mapping

from hypothesis import given, settings
from hypothesis import strategies as st

from workbench.core.graph import AssetGraph
from workbench.core.selection import select
from workbench.core.spec import AssetSpec
from workbench.errors import SelectionError


def _fn() -> None: ...


@st.composite
def dags(draw: st.DrawFn) -> AssetGraph:
    """A DAG of 1-7 assets `n0..`, edges only from lower to higher index, random groups."""
    n = draw(st.integers(1, 7))
    specs = []
    for j in range(n):
        deps = tuple(f"n{i}" for i in range(j) if draw(st.booleans()))
        group = draw(st.sampled_from(["g1", "g2"]))
        specs.append(AssetSpec(key=f"n{j}", fn=_fn, params=(), deps=deps, group=group))
    return AssetGraph.build(specs)


def _closure(key: str, edges: Mapping[str, tuple[str, ...]]) -> set[str]:
    """`key` and everything reachable from it along `edges`, by plain search."""
    seen, todo = {key}, [key]
    while todo:
        for nxt in edges[todo.pop()]:
            if nxt not in seen:
                seen.add(nxt)
                todo.append(nxt)
    return seen


Case = tuple[AssetGraph, str, list[str], list[str]]


@st.composite
def cases(draw: st.DrawFn) -> Case:
    """A DAG, one of its keys and two non-empty lists of its keys."""
    graph = draw(dags())
    keys = st.sampled_from(graph.order)
    return graph, draw(keys), draw(st.lists(keys, min_size=1)), draw(st.lists(keys, min_size=1))


@given(cases())
def test_star_is_the_transitive_closure(case: Case) -> None:
    graph, k, _, _ = case
    assert set(select(graph, f"*{k}")) == _closure(k, graph.parents)
    assert set(select(graph, f"{k}*")) == _closure(k, graph.children)
    assert set(select(graph, f"+{k}")) == {k, *graph.parents[k]}
    assert set(select(graph, f"{k}+")) == {k, *graph.children[k]}
    assert set(select(graph, f"+key:{k}+")) == _closure(k, graph.parents) | _closure(k, graph.children)
    assert set(select(graph, f"+key:{k}")) == set(select(graph, f"*{k}"))
    assert set(select(graph, f"(key:{k})+")) == set(select(graph, f"{k}*"))
    grandparents = {g for p in graph.parents[k] for g in graph.parents[p]}
    assert set(select(graph, f"2+{k}")) == set(select(graph, f"++{k}")) == {k, *graph.parents[k], *grandparents}


@given(cases())
def test_boolean_algebra(case: Case) -> None:
    graph, _, xs, ys = case
    x, y = f"({', '.join(xs)})", f"({' '.join(ys)})"
    everything = set(graph.nodes)
    assert set(select(graph, f"not {x}")) == everything - set(xs)
    assert set(select(graph, f"{x} and {y}")) == set(xs) & set(ys)
    assert set(select(graph, f"{x} or {y}")) == set(xs) | set(ys)
    assert set(select(graph, f"not {x} and not {y}")) == everything - set(xs) - set(ys)
    assert set(select(graph, f"group:g1 or not group:g1")) == everything


@given(cases())
def test_path_between_two_assets(case: Case) -> None:
    graph, _, xs, ys = case
    a, c = xs[0], ys[0]
    on_a_path = {k for k in graph.nodes if k in _closure(a, graph.children) and c in _closure(k, graph.children)}
    assert set(select(graph, f"key:{a}+ and +key:{c}")) == on_a_path


@given(cases())
def test_roots_and_sinks_by_reachability(case: Case) -> None:
    graph, _, xs, _ = case
    members = set(xs)
    x = f"({' '.join(xs)})"
    has_member_above = {m for m in members if members & (_closure(m, graph.parents) - {m})}
    has_member_below = {m for m in members if members & (_closure(m, graph.children) - {m})}
    assert set(select(graph, f"roots{x}")) == members - has_member_above
    assert set(select(graph, f"sinks{x}")) == members - has_member_below


@given(dags())
def test_roots_and_sinks_of_everything(graph: AssetGraph) -> None:
    assert set(select(graph, "roots(*)")) == {k for k in graph.nodes if not graph.parents[k]}
    assert set(select(graph, "sinks(*)")) == {k for k in graph.nodes if not graph.children[k]}


@given(dags())
def test_selection_keeps_topological_order(graph: AssetGraph) -> None:
    chosen = select(graph, "not roots(*)")
    assert list(chosen) == [k for k in graph.order if k in chosen]


ALPHABET = st.sampled_from(
    list("n01 ,()+*:=\"'/_-&") + ["and", "or", "not", "key:", "tag:", "group:", "kind:", "roots", "sinks", "n1"]
)


@settings(max_examples=500)
@given(dags(), st.lists(ALPHABET, max_size=12).map("".join), st.text(max_size=12))
def test_only_selection_errors(graph: AssetGraph, text: str, noise: str) -> None:
    for candidate in (text, noise):
        try:
            select(graph, candidate)
        except SelectionError:
            pass
