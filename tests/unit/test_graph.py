"""The immutable graph: edges, order, walks, layers, and load-time validation."""

from __future__ import annotations

import pytest

from workbench.core.graph import AssetGraph
from workbench.core.spec import asset, source, spec_of
from workbench.errors import DefinitionError


def specs(*fns):  # type: ignore[no-untyped-def]
    return [spec_of(f) for f in fns]


raw = source("raw", path="data.csv")


@asset
def a(raw):  # type: ignore[no-untyped-def]
    return 1


@asset
def b(a):  # type: ignore[no-untyped-def]
    return a


@asset(deps=["a"])
def c():  # type: ignore[no-untyped-def]
    return 3


@asset
def d(b, c):  # type: ignore[no-untyped-def]
    return b + c


def diamond() -> AssetGraph:
    return AssetGraph.build(specs(raw, a, b, c, d))


def test_edges_and_order() -> None:
    g = diamond()
    assert g.parents["d"] == ("b", "c")
    assert g.parents["c"] == ("a",)
    assert g.children["a"] == ("b", "c")
    assert g.order.index("raw") < g.order.index("a") < g.order.index("b") < g.order.index("d")
    assert g.inputs["d"] == {"b": "b", "c": "c"}
    assert g.inputs["c"] == {}


def test_walks_and_layers() -> None:
    g = diamond()
    assert g.ancestors(["d"]) == {"raw", "a", "b", "c"}
    assert g.ancestors(["d"], depth=1) == {"b", "c"}
    assert g.descendants(["a"]) == {"b", "c", "d"}
    assert g.layers() == [["raw"], ["a"], ["b", "c"], ["d"]]


def test_asset_stays_callable() -> None:
    assert d(1, 2) == 3


def test_unknown_dependency_suggests() -> None:
    @asset
    def e(bb):  # type: ignore[no-untyped-def]
        return bb

    with pytest.raises(DefinitionError, match=r"parameter 'bb' names no asset.*did you mean 'b'"):
        AssetGraph.build(specs(raw, a, b, e))


def test_unknown_explicit_dep() -> None:
    @asset(deps=["nope"])
    def f():  # type: ignore[no-untyped-def]
        return 1

    with pytest.raises(DefinitionError, match="unknown dependency 'nope'"):
        AssetGraph.build(specs(f))


def test_duplicate_key_names_both_places() -> None:
    @asset(name="a")
    def other(raw):  # type: ignore[no-untyped-def]
        return 2

    with pytest.raises(DefinitionError, match=r"duplicate asset key 'a': defined at .*test_graph.py:\d+ and at .*test_graph.py:\d+"):
        AssetGraph.build(specs(raw, a, other))


def test_cycle_is_named_in_full() -> None:
    @asset
    def x(z):  # type: ignore[no-untyped-def]
        return z

    @asset
    def y(x):  # type: ignore[no-untyped-def]
        return x

    @asset
    def z(y):  # type: ignore[no-untyped-def]
        return y

    with pytest.raises(DefinitionError, match=r"cycle: x -> y -> z -> x"):
        AssetGraph.build(specs(x, y, z))


def test_bad_key_rejected() -> None:
    with pytest.raises(DefinitionError, match="invalid asset key"):
        asset(name="1bad")(lambda: 1)
    with pytest.raises(DefinitionError, match="invalid asset key"):
        source("../etc", path="x")


def test_prefixed_key_resolves_by_last_segment() -> None:
    @asset(name="ns/thing")
    def thing():  # type: ignore[no-untyped-def]
        return 1

    @asset
    def user(thing):  # type: ignore[no-untyped-def]
        return thing

    g = AssetGraph.build(specs(thing, user))
    assert g.parents["user"] == ("ns/thing",)
