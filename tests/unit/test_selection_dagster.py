"""Dagster's own selection test cases, ported: the same graphs, selection strings and expected sets.

Sources, in dagster-io/dagster:
  python_modules/dagster/dagster_tests/asset_defs_tests/test_antlr_asset_selection.py
  python_modules/dagster/dagster_tests/asset_defs_tests/test_asset_selection.py
  python_modules/dagster/dagster_tests/asset_defs_tests/test_unresolved_asset_job.py
  python_modules/dagster/dagster_tests/core_tests/selector_tests/test_subset_selector.py
  js_modules/dagster-ui/packages/ui-core/src/asset-selection/__tests__/AntlrAssetSelection.test.ts

Where Dagster's test builds a selection in Python (`AssetSelection.keys("f").upstream(depth=1)`), the
case is written as the string that means the same (`1+key:f`). A case whose expectation differs on
purpose says so in a comment naming the row of the README's "Where we differ from Dagster" table.
Cases for features Workbench does not have (owners, code locations, columns, multi-assets, ...) are
left out with a comment, or ported as the clear error Workbench gives for them.
"""

from __future__ import annotations

from collections.abc import Mapping

import pytest

from workbench.core.graph import AssetGraph, Node
from workbench.core.selection import select
from workbench.core.spec import AssetSpec, SourceSpec
from workbench.errors import SelectionError


def _fn() -> None: ...


def make_graph(
    edges: Mapping[str, str],
    sources: str = "",
    groups: Mapping[str, str] | None = None,
    tags: Mapping[str, Mapping[str, str]] | None = None,
    io: Mapping[str, str] | None = None,
) -> AssetGraph:
    """`edges` maps each asset to its space-separated parents; `sources` names the source assets."""
    groups, tags, io = groups or {}, tags or {}, io or {}
    nodes: list[Node] = [
        SourceSpec(key=k, path=f"{k}.csv", group=groups.get(k, "sources"), tags=tags.get(k, {})) for k in sources.split()
    ]
    for key, parents in edges.items():
        nodes.append(AssetSpec(key=key, fn=_fn, params=(), deps=tuple(parents.split()), group=groups.get(key, "default"),
                               tags=tags.get(key, {}), io=io.get(key)))  # fmt: skip
    return AssetGraph.build(nodes)


def keys(text: str) -> set[str]:
    return set(text.replace(",", " ").split())


def check(graph: AssetGraph, text: str, expected: str) -> None:
    assert set(select(graph, text)) == keys(expected), text


# --- test_antlr_asset_selection.py ---------------------------------------------------------------
# test_antlr_visit_basic: a -> b -> c; a tagged foo=bar, b of kinds python and snowflake, c in my_group.
# Dagster compares the parsed selection objects; here each is resolved on that graph. Workbench gives
# an asset one `kind` tag, so b's two kinds are the tag `python` and its serializer `parquet`.
ABC = make_graph({"a": "", "b": "a", "c": "b"}, groups={"c": "my_group"},
                 tags={"a": {"foo": "bar"}, "b": {"kind": "python"}}, io={"b": "parquet"})  # fmt: skip


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("key:a", "a"),
        ('key:"*/a+"', ""),
        ("not key:a", "b c"),
        ("NOT key:a", "b c"),
        ("key:a and key:b", ""),
        ("key:a AND key:b", ""),
        ("key:a or key:b", "a b"),
        ("key:a OR key:b", "a b"),
        ("1+key:a", "a"),
        ("2+key:a", "a"),
        ("key:a+1", "a b"),
        ("key:a+2", "a b c"),
        ("1+key:a+1", "a b"),
        ("+key:a", "a"),
        ("key:a+", "a b c"),
        ("+key:a+", "a b c"),
        ("key:a+ and +key:b", "a b"),
        ("+key:a and key:b+ and +key:c+", ""),
        ("sinks(key:a)", "a"),
        ("roots(key:c)", "c"),
        ("tag:foo=bar", "a"),
        ("group:my_group", "c"),
        ("group:marketing/foo/bar", ""),
        ('group:"marketing/*"', ""),
        ('group:"*"', "a b c"),
        ("kind:my_kind", ""),
        ("kind:python", "b"),
        ("kind:parquet", "b"),
        # "tag:foo": Dagster's Python side matches only an empty value (nothing here); its UI and
        # Workbench match any value of foo (README table: tag:K).
        ("tag:foo", "a"),
        # "<null>": the assets with no group / no kind. Every Workbench asset has both (a kind is at
        # least asset or source), so both are empty; Dagster gives a and c for kind:<null>.
        ("group:<null>", ""),
        ("kind:<null>", ""),
        # also from test_antlr_tree: strings that parse
        ("*", "a b c"),
        ('group:"my_group"', "c"),
        ("(((key:a)))", "a"),
        ("roots(key:a)", "a"),
    ],
)
def test_antlr_visit_basic(text: str, expected: str) -> None:
    check(ABC, text, expected)


@pytest.mark.parametrize(
    "text",
    [
        # test_antlr_tree_invalid: every string Dagster rejects, but "key:a key:b" (a union here,
        # README table: space-separated unions).
        "+", "*+", "**key:a", "not", "key:a and and", "key:a and", "sinks", "owner", "tag:foo=",
        "owner:owner@owner.com", "owner:<none>", "key:<fake>", "is:nonsense", "is:observable",
        # test_antlr_visit_basic filters Workbench does not have: an error, not a silent empty set.
        'owner:"owner@owner.com"', "is:external", "is:materializable", "code_location:my_location",
        "not_materialized_in_hours:24", "column:my_column", "table_name:my_table", "column_tag:my_key=my_value",
        "changed_in_branch:any", "partitions:static", "automation_type:sensor/run_status", "sensor:my_sensor",
        "schedule:my_schedule", "job:my_job", "owner:<null>",
        # "status:healthy": Workbench's states are fresh, stale, missing and failed.
        "status:healthy",
        # "key:prefix/thing" names no asset: an error with suggestions (README table: exact keys).
        "key:prefix/thing",
    ],
)  # fmt: skip
def test_antlr_invalid(text: str) -> None:
    with pytest.raises(SelectionError):
        select(ABC, text, states={})


def test_space_separated_union_is_a_deliberate_extension() -> None:
    check(ABC, "key:a key:b", "a b")  # Dagster rejects it (test_antlr_tree_invalid)


# --- test_asset_selection.py ---------------------------------------------------------------------
# earth (a source in planets) -> alice -> bob, candace -> danny -> edgar, fiona; george <- bob, fiona.
# Dagster's robots and aliens multi-assets become six plain assets; animals/zebra has a key prefix.
# Workbench lists source assets (README table): where Dagster leaves celestial/earth out of an
# upstream selection, the expected set here has it, marked "+ source".
EARTH = "celestial/earth"
PEOPLE = make_graph(
    {"alice": EARTH, "bob": "alice", "candace": "alice", "danny": "candace", "edgar": "danny", "fiona": "danny",
     "george": "bob fiona", "rosie": "", "r2d2": "", "walle": "", "zorg": "", "zapp": "", "zort": "",
     "animals/zebra": ""},
    sources=EARTH,
    groups={EARTH: "planets", "alice": "ladies", "candace": "ladies", "fiona": "ladies", "bob": "gentlemen",
            "danny": "gentlemen", "edgar": "gentlemen", "george": "gentlemen", "rosie": "robots", "r2d2": "robots",
            "walle": "robots", "zorg": "aliens", "zapp": "aliens", "zort": "aliens"},
)  # fmt: skip


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # test_asset_selection_all (include_sources=True)
        ("*", f"{EARTH} alice bob candace danny edgar fiona george rosie r2d2 walle zorg zapp zort animals/zebra"),
        # test_asset_selection_and
        ("(key:alice or key:bob) and (key:bob or key:candace)", "bob"),
        # test_asset_selection_downstream
        ("key:candace+", "candace danny edgar fiona george"),
        ("key:candace+1", "candace danny"),
        # test_asset_selection_groups (include_sources=True)
        ("group:planets", EARTH),
        ("group:ladies", "alice candace fiona"),
        # test_asset_selection_keys
        ("key:alice or key:bob", "alice bob"),
        ("key:animals/zebra", "animals/zebra"),
        # test_asset_selection_key_prefixes (include_sources=True for celestial)
        ("key:animals/*", "animals/zebra"),
        ("key:plants/*", ""),
        ("key:celestial/*", EARTH),
        # test_asset_selection_or
        ("key:alice or key:bob or key:bob or key:candace", "alice bob candace"),
        # test_asset_selection_subtraction
        ("(key:alice or key:bob) and not (key:bob or key:candace)", "alice"),
        ("group:ladies and not group:gentlemen", "alice candace fiona"),
        ("(group:ladies or key:bob) and not group:ladies", "bob"),
        # test_asset_selection_nothing
        ("group:ladies and not group:ladies", ""),
        ("(key:alice or key:bob) and not (key:alice or key:bob)", ""),
        # test_asset_selection_sinks: candace is not a sink of ladies, as she is upstream of fiona
        ("sinks(key:alice or key:bob)", "bob"),
        ("sinks(*)", "edgar george rosie r2d2 walle zorg zapp zort animals/zebra"),
        ("sinks(group:ladies)", "fiona"),
        # test_asset_selection_upstream
        ("+key:george", f"alice bob candace danny fiona george {EARTH}"),  # + source
        ("1+key:george", "bob fiona george"),
        # test_downstream_include_self
        ("key:candace+ and not key:candace", "danny edgar fiona george"),
        ("group:gentlemen+ and not group:gentlemen", "fiona"),
        ("group:ladies+ and not group:ladies", "george danny bob edgar"),
        # test_upstream_include_self
        ("+key:george and not key:george", f"danny fiona alice bob candace {EARTH}"),  # + source
        ("+group:gentlemen and not group:gentlemen", f"fiona alice candace {EARTH}"),  # + source
        ("+group:ladies and not group:ladies", f"danny {EARTH}"),  # + source
        # test_asset_selection_source_assets: upstream_source_assets()
        ("+key:alice and kind:source", EARTH),
        ("+key:george and kind:source", EARTH),
        # legacy syntax over the same graph (AssetSelection.from_string)
        ("candace*", "candace danny edgar fiona george"),
        ("candace+", "candace danny"),
        ("*george", f"alice bob candace danny fiona george {EARTH}"),  # + source
        ("+george", "bob fiona george"),
    ],
)
def test_asset_selection(text: str, expected: str) -> None:
    check(PEOPLE, text, expected)


# test_roots and test_sources: a -> b -> c
CHAIN = make_graph({"a": "", "b": "a", "c": "b"})


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("roots(key:a or key:b or key:c)", "a"),
        ("roots(key:a or key:c)", "a"),  # c is below a through b, which is not selected
        ("roots(key:b or key:c)", "b"),
        ("roots(key:c)", "c"),
        ("sinks(key:a or key:c)", "c"),
    ],
)
def test_roots(text: str, expected: str) -> None:
    check(CHAIN, text, expected)


def test_materializable() -> None:
    # test_materializable: .materializable() leaves out the sources
    graph = make_graph({"b": "source_upstream obs_source_upstream", "c": "b"}, sources="source_upstream obs_source_upstream")
    every = "key:source_upstream or key:obs_source_upstream or key:b or key:c"
    check(graph, every, "source_upstream obs_source_upstream b c")
    check(graph, f"({every}) and kind:asset", "b c")


def test_tag() -> None:
    # test_tag and test_tag_string
    graph = make_graph(
        {f"asset{i}": "" for i in range(1, 7)},
        tags={"asset1": {"foo": "fooval"}, "asset2": {"foo": "fooval2"}, "asset3": {"foo": "fooval", "bar": "barval"},
              "asset4": {"bar": "barval"}, "asset5": {"baz": ""}, "asset6": {"baz": "", "bar": "barval"}},
    )  # fmt: skip
    check(graph, "tag:foo=fooval", "asset1 asset3")
    check(graph, "tag:baz", "asset5 asset6")
    # Dagster's tag_string("foo") matches only foo="" (nothing here); Workbench any value (README table).
    check(graph, "tag:foo", "asset1 asset2 asset3")


# Left out of test_asset_selection.py: required_multi_asset_neighbors (no multi-assets), test_self_dep
# (an asset depending on itself is a cycle here), owners and code locations (no such attributes), and
# the tests of AssetSelection's Python objects (serialization, type checks, str()).


# --- test_unresolved_asset_job.py and test_subset_selector.py (test_clause_to_subset) --------------
# start -> a; b -> c; d <- a, b; e <- c; f <- e, d; final <- a, d
JOB_EDGES = {"start": "", "a": "start", "b": "", "c": "b", "d": "a b", "e": "c", "f": "e d", "final": "a d"}
JOB = make_graph(JOB_EDGES)
PREFIXED = make_graph({f"core/models/{k}": " ".join(f"core/models/{p}" for p in v.split()) for k, v in JOB_EDGES.items()})


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # test_define_selection_job; a list selection is written as a space- or comma-separated union
        ("*", "start a b c d e f final"),
        ("a", "a"),
        ("b+", "b c d"),
        ("+f", "f d e"),
        ("++f", "f d e c a b"),
        ("start*", "start a d f final"),
        ("+a b+", "start a b c d"),
        ("*c, final", "b c final"),
        ("key:a or key:b or key:c", "a b c"),
        ("1+key:f", "f d e"),
        ("2+key:f", "f d e c a b"),
        ("key:start+", "start a d f final"),
        ("1+key:a or key:b+1", "start a b c d"),
        ("+key:c or key:final", "b c final"),
        # test_resolve_subset_job_errors
        ("e", "e"),
        ("d e f", "d e f"),
        ("start+", "start a"),
        # test_clause_to_subset
        ("+++final", "final a d start b"),
        ("b++", "b c d e f final"),
    ],
)
def test_define_selection_job(text: str, expected: str) -> None:
    check(JOB, text, expected)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("*", "start a b c d e f final"),
        ("core/models/a", "a"),
        ("core/models/b+", "b c d"),
        ("+core/models/f", "f d e"),
        ("++core/models/f", "f d e c a b"),
        ("core/models/start*", "start a d f final"),
        ("+core/models/a core/models/b+", "start a b c d"),
        ("*core/models/c, core/models/final", "b c final"),
        ("1+key:core/models/a or key:core/models/b+1", "start a b c d"),
        ("key:core/models/a or key:core/models/b", "a b"),
    ],
)
def test_define_selection_job_with_prefixes(text: str, expected: str) -> None:
    assert set(select(PREFIXED, text)) == {f"core/models/{k}" for k in keys(expected)}


@pytest.mark.parametrize("text", ["x", "start x", "start, x"])
def test_resolve_subset_job_errors(text: str) -> None:
    # Dagster: DagsterInvalidSubsetError "... were selected"; here the unknown key is named.
    with pytest.raises(SelectionError, match="unknown asset key 'x'"):
        select(JOB, text)


@pytest.mark.parametrize(("text", "expected"), [("a+", "a b"), ("+c", "b c"), ("a c", "a c"), ("a c, c b", "a b c")])
def test_simple_graph_backed_asset_subset(text: str, expected: str) -> None:
    check(CHAIN, text, expected)


def test_root_asset_selection() -> None:
    # Dagster leaves the source out of the job's assets; Workbench lists it (README table).
    check(make_graph({"a": "source", "b": "a"}, sources="source"), "*b", "source a b")


# --- test_subset_selector.py ----------------------------------------------------------------------
# return_one, return_two -> add_nums -> multiply_two -> add_one
FOO = make_graph({"return_one": "", "return_two": "", "add_nums": "return_one return_two",
                  "multiply_two": "add_nums", "add_one": "multiply_two"})  # fmt: skip


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # test_parse_op_selection_single / test_parse_step_selection_single
        ("add_nums", "add_nums"),
        ("add_nums*", "add_nums multiply_two add_one"),
        ("*add_nums+", "return_one return_two add_nums multiply_two"),
        # test_parse_op_selection_multi / test_parse_step_selection_multi
        ("return_one add_nums+", "return_one add_nums multiply_two"),
        ("*add_nums, return_one+", "return_one return_two add_nums"),
        # test_traverser (fetch_upstream / fetch_downstream, plus the item itself)
        ("return_one+", "return_one add_nums"),
        ("multiply_two++", "multiply_two add_one"),
        ("++multiply_two", "multiply_two add_nums return_one return_two"),
        # test_parse_clause: legacy "1+some_solid" is not a clause in Dagster; here N+ works on bare
        # keys too (README table).
        ("1+add_nums", "add_nums return_one return_two"),
        ("*add_nums++", "return_one return_two add_nums multiply_two add_one"),
    ],
)
def test_subset_selector(text: str, expected: str) -> None:
    check(FOO, text, expected)


@pytest.mark.parametrize("text", ["*add_nums a", "some,solid", "1+some_solid"])
def test_subset_selector_errors(text: str) -> None:
    with pytest.raises(SelectionError, match="unknown asset key"):
        select(FOO, text)


# --- AntlrAssetSelection.test.ts (the UI's parser) -------------------------------------------------
# A -> B, B2 -> C; A tagged foo=bar, B tagged foo=baz with kinds python and snowflake, C in my_group.
# B's two kinds are its `kind` tag and its serializer, as for ABC above.
UI = make_graph({"A": "", "B": "A", "B2": "A", "C": "B B2"}, groups={"C": "my_group"},
                tags={"A": {"foo": "bar"}, "B": {"foo": "baz", "kind": "python"}}, io={"B": "parquet"})  # fmt: skip


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("*", "A B B2 C"),
        ("key:A", "A"),
        ("key:A and key:B", ""),
        ("key:A and key:B and key:C", ""),
        ("key:A or key:B", "A B"),
        ("key:A or key:B or key:C", "A B C"),
        ("(key:A or key:B) and (key:B or key:C)", "B"),
        ("not key:A", "B B2 C"),
        ("NOT key:A", "B B2 C"),
        ("1+key:A", "A"),
        ("1+key:B", "A B"),
        ("1+key:C", "B B2 C"),
        ("2+key:C", "A B B2 C"),
        ("key:A+1", "A B B2"),
        ("key:A+2", "A B B2 C"),
        ("key:C+1", "C"),
        ("key:B+1", "B C"),
        ("+key:A", "A"),
        ("+key:B", "A B"),
        ("+key:C", "A B B2 C"),
        ("key:A+", "A B B2 C"),
        ("key:B+", "B C"),
        ("key:C+", "C"),
        ("key:A+ and +key:C", "A B B2 C"),
        ("+key:B+", "A B C"),
        ("key:A+ and +key:C and +key:B+", "A B C"),
        ("key:A+ and +key:B+ and +key:C", "A B C"),
        ("key:A+ AND +key:B+ AND +key:C", "A B C"),
        ("sinks(*)", "C"),
        ("sinks(key:A)", "A"),
        ("sinks(key:A or key:B)", "B"),
        ("sinks(key:A OR key:B)", "B"),
        ("roots(*)", "A"),
        ("roots(key:C)", "C"),
        ("roots(key:A or key:B)", "A"),
        ("tag:foo", "A B"),
        ("tag:foo=bar", "A"),
        ("group:my_group", "C"),
        ("kind:python", "B"),
        ("kind:parquet", "B"),
        # left out: owner:"owner@owner.com" and code_location:"repo@my_location" (no such attributes)
    ],
)
def test_ui_valid_queries(text: str, expected: str) -> None:
    check(UI, text, expected)


@pytest.mark.parametrize(
    "text",
    ["not", "and", "key:A and", "sinks", "notafunction()", "tag:foo=", "owner", "owner:owner@owner.com"],
)
def test_ui_invalid_queries(text: str) -> None:
    with pytest.raises(SelectionError):
        select(UI, text)


def test_ui_invalid_queries_that_are_extensions_here() -> None:
    check(UI, "A", "A")  # a bare key is the legacy syntax
    check(UI, "key:A key:B", "A B")  # a space-separated union
