"""The selection language: every operator of both Dagster generations, precedence and errors."""

from __future__ import annotations

import pytest

from workbench.core.graph import AssetGraph
from workbench.core.selection import (
    All,
    And,
    Group,
    Key,
    KeyGlob,
    Kind,
    Not,
    Or,
    Roots,
    Sinks,
    State,
    Tag,
    Traverse,
    needs_states,
    parse,
    select,
)  # fmt: skip
from workbench.core.spec import asset, source, spec_of
from workbench.errors import SelectionError

raw_penguins = source("raw_penguins", "data/penguins.csv")


@asset(group="prep", io="parquet")
def penguins(raw_penguins: object) -> None: ...


@asset(group="prep", tags={"team": "data eng"})
def bills(penguins: object) -> dict[str, int]:
    return {}


@asset(group="prep")
def flippers(penguins: object) -> list[int]:
    return []


@asset(group="ml", tags={"tier": "gold"})
def features(bills: object, flippers: object) -> None: ...


@asset(group="ml", io="pickle", tags={"kind": "sklearn"})
def model(features: object) -> None: ...


@asset(group="ml", tags={"tier": "gold"})
def report(model: object) -> bytes:
    return b""


@asset(name="ns/thing", deps=["raw_penguins"])
def thing() -> None: ...


# raw_penguins -> penguins -> {bills, flippers} -> features -> model -> report;  raw_penguins -> ns/thing
ASSETS = [spec_of(f) for f in (penguins, bills, flippers, features, model, report, thing)]
GRAPH = AssetGraph.build([raw_penguins, *(spec for spec in ASSETS if spec is not None)])
EVERYTHING = set(GRAPH.nodes)


def sel(text: str | None) -> set[str]:
    return set(select(GRAPH, text))


def test_everything_and_topological_order() -> None:
    assert select(GRAPH, None) == select(GRAPH, "") == select(GRAPH, "*") == select(GRAPH, "  ") == GRAPH.order
    assert select(GRAPH, "report, raw_penguins, bills") == ("raw_penguins", "bills", "report")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("bills", {"bills"}),
        ("ns/thing", {"ns/thing"}),
        ("+features", {"features", "bills", "flippers"}),
        ("++features", {"features", "bills", "flippers", "penguins"}),
        ("*features", {"features", "bills", "flippers", "penguins", "raw_penguins"}),
        ("penguins+", {"penguins", "bills", "flippers"}),
        ("penguins++", {"penguins", "bills", "flippers", "features"}),
        ("features*", {"features", "model", "report"}),
        ("*bills*", {"raw_penguins", "penguins", "bills", "features", "model", "report"}),
        ("+model+", {"features", "model", "report"}),
        ("bills flippers", {"bills", "flippers"}),
        ("bills,flippers", {"bills", "flippers"}),
        ("bills , ns/thing   report", {"bills", "ns/thing", "report"}),
        ("raw_penguins+ *flippers", {"raw_penguins", "penguins", "ns/thing", "flippers"}),
    ],
)
def test_legacy_syntax(text: str, expected: set[str]) -> None:
    assert sel(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("key:bills", {"bills"}),
        ('key:"ns/thing"', {"ns/thing"}),
        ("key:ns/*", {"ns/thing"}),
        ("key:penguin*", {"penguins"}),
        ("key:*penguins", {"penguins", "raw_penguins"}),
        ("key:f*s", {"features", "flippers"}),
        ("key:zebra*", set()),
        ("group:prep", {"penguins", "bills", "flippers"}),
        ('group:"sources"', {"raw_penguins"}),
        ("group:nope", set()),
        ("tag:tier", {"features", "report"}),
        ("tag:team=data", set()),
        ('tag:"team"="data eng"', {"bills"}),
        ("tag:'team'='data eng'", {"bills"}),
        ("kind:parquet", {"penguins"}),
        ("kind:json", {"bills", "flippers"}),
        ("kind:bytes", {"report"}),
        ("kind:pickle", {"model"}),
        ("kind:sklearn", {"model"}),
        ("kind:source", {"raw_penguins"}),
        ("kind:asset", EVERYTHING - {"raw_penguins"}),
        ("kind:asset and kind:json", {"bills", "flippers"}),
        ("group:pr*", {"penguins", "bills", "flippers"}),
        ('group:"*"', EVERYTHING),
    ],
)
def test_filters(text: str, expected: set[str]) -> None:
    assert sel(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # a bare '+' in the new grammar is every level
        ("+key:features", {"features", "bills", "flippers", "penguins", "raw_penguins"}),
        ("key:penguins+", {"penguins", "bills", "flippers", "features", "model", "report"}),
        ("key:penguins+ and +key:features", {"penguins", "bills", "flippers", "features"}),
        ("key:bills+ and +key:report", {"bills", "features", "model", "report"}),
        ("+(group:prep)", {"raw_penguins", "penguins", "bills", "flippers"}),
        ("(group:prep)+", {"penguins", "bills", "flippers", "features", "model", "report"}),
        ("+(key:bills or key:flippers)", {"raw_penguins", "penguins", "bills", "flippers"}),
        ("(tag:tier)+", {"features", "model", "report"}),
        ('key:"model"+', {"model", "report"}),
        ("+kind:source+", EVERYTHING),
        ("roots(*)+", EVERYTHING),
        ("+sinks(group:prep)", {"raw_penguins", "penguins", "bills", "flippers"}),
        # N levels in both generations
        ("2+key:model", {"model", "features", "bills", "flippers"}),
        ("key:penguins+2", {"penguins", "bills", "flippers", "features"}),
        ("1+key:features+1", {"bills", "flippers", "features", "model"}),
        ("3+report", {"report", "model", "features", "bills", "flippers"}),
        ("report+0", {"report"}),
        ("0+bills+0", {"bills"}),
        ("0+key:bills", {"bills"}),
    ],
)
def test_depth_operators(text: str, expected: set[str]) -> None:
    assert sel(text) == expected


def test_wildcard_rule_key_glob_versus_legacy_descendants() -> None:
    assert sel("key:penguins*") == {"penguins"}
    assert sel("penguins*") == {"penguins", "bills", "flippers", "features", "model", "report"}
    assert parse("key:penguin*") == KeyGlob("penguin*")
    assert parse("key:f?atures") == Key("f?atures")  # only '*' is a wildcard, as in Dagster
    assert parse('key:"penguin"+') == Traverse(Key("penguin"), 0, None)


def test_plus_counts_levels_on_bare_keys_only() -> None:
    assert parse("+a") == Traverse(Key("a"), 1, 0)
    assert parse("++a+") == Traverse(Key("a"), 2, 1)
    assert parse("*a*") == Traverse(Key("a"), None, None)
    assert parse("+key:a") == Traverse(Key("a"), None, 0)
    assert parse("key:a+") == Traverse(Key("a"), 0, None)
    assert parse("+(a)") == Traverse(Key("a"), None, 0)  # parentheses are the new grammar
    assert parse("2+key:a+3") == parse("2+(a)+3") == Traverse(Key("a"), 2, 3)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("group:prep and tag:team", {"bills"}),
        ("group:prep or group:ml", {"penguins", "bills", "flippers", "features", "model", "report"}),
        ("not group:ml", {"raw_penguins", "penguins", "bills", "flippers", "ns/thing"}),
        ("group:ml and not tag:tier", {"model"}),
        ("not not bills", {"bills"}),
        ("NOT group:ml AND NOT group:prep", {"raw_penguins", "ns/thing"}),
        ("group:prep Or bills AnD report", {"penguins", "bills", "flippers"}),
        ("group:prep or bills and report", {"penguins", "bills", "flippers"}),
        ("(group:prep or bills) and report", set()),
        ("(group:prep or report) and tag:team", {"bills"}),
        ("not (group:prep or group:ml)", {"raw_penguins", "ns/thing"}),
        ("bills report and model", {"bills"}),
        ("tag:tier, bills and group:prep", {"features", "report", "bills"}),
        ("( ( bills ) )", {"bills"}),
    ],
)
def test_boolean_operators_and_precedence(text: str, expected: set[str]) -> None:
    assert sel(text) == expected


def test_precedence_shape() -> None:
    a, b, c = Key("a"), Key("b"), Key("c")
    assert parse("a or b and not c") == Or((a, And((b, Not(c)))))
    assert parse("not a and b") == And((Not(a), b))
    assert parse("a b, c") == Or((a, b, c))
    assert parse("not +a") == Not(Traverse(a, 1, 0))
    assert parse("*") == parse("") == All()
    assert parse("group:g and tag:k=v and kind:json") == And((Group("g"), Tag("k", "v"), Kind("json")))
    assert parse("status:failed+") == Traverse(State("failed"), 0, None)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("roots(*)", {"raw_penguins"}),
        ("sinks(*)", {"report", "ns/thing"}),
        ("roots(group:prep)", {"penguins"}),
        ("sinks(group:prep)", {"bills", "flippers"}),
        ("roots(group:ml)", {"features"}),
        ("sinks(+features)", {"features"}),
        ("roots(bills or report)", {"bills"}),  # report is below bills, through features and model
        ("sinks(bills or report)", {"report"}),
        ("roots(flippers or report or ns/thing)", {"flippers", "ns/thing"}),
        ("roots(bills or flippers)", {"bills", "flippers"}),
        ("ROOTS ( group:ml )", {"features"}),
        ("sinks(roots(*)+1)", {"penguins", "ns/thing"}),
        ("roots(key:zebra*)", set()),
    ],
)
def test_roots_and_sinks(text: str, expected: set[str]) -> None:
    assert sel(text) == expected
    assert isinstance(parse(text), Roots | Sinks)


def test_unknown_key_suggests() -> None:
    with pytest.raises(SelectionError, match=r"unknown asset key 'penguin' \(did you mean 'penguins'"):
        select(GRAPH, "penguin*")
    with pytest.raises(SelectionError, match=r"unknown asset key 'thing' \(did you mean 'ns/thing'"):
        select(GRAPH, "key:thing")
    with pytest.raises(SelectionError, match="unknown asset key 'bils'"):
        select(GRAPH, "group:ml and not bils")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("a and", "bad selection 'a and': expected a term after 'and' at column 6"),
        ("a or", "expected a term after 'or' at column 5"),
        ("a,", "expected a term after ',' at column 3"),
        ("not", "expected a term after 'not' at column 4"),
        ("and a", "expected a term, found 'and' at column 1"),
        ("(a", "unclosed '(' at column 1"),
        ("((a)", "unclosed '(' at column 1"),
        ("a)", "unexpected ')' at column 2"),
        ("()", "expected a term after '(' at column 2"),
        ("roots()", "expected a term after '(' at column 7"),
        ("key:", "expected a value after 'key:' at column 5"),
        ('key:""', "expected a value after 'key:' at column 5"),
        ("tag:team=", "expected a value after '=' at column 10"),
        ('key:"a', "unterminated quote at column 5"),
        ("+", "expected a term after '+' at column 2"),
        ("*+", "'*' (every asset) takes no '+' or '*' at column 2"),
        ("+*", "expected a term after '+' at column 2"),
        ("**key:a", "'*' (every asset) takes no '+' or '*' at column 2"),
        ("++key:a", "'++' works on a bare key only; write '2+' here at column 1"),
        ("key:a++", "'++' works on a bare key only; write '+2' here at column 6"),
        ("*key:a", "'*' works on a bare key only; write '+' here at column 1"),
        ('key:"a"*', "'*' works on a bare key only; write '+' here at column 8"),
        ("(a)*", "'*' works on a bare key only; write '+' here at column 4"),
        ("status:ok", "unknown status 'ok' (expected fresh, stale, missing or failed) at column 1"),
        ("a ++", "expected a term after '++' at column 5"),
        ("2+", "expected a term after '2+' at column 3"),
        ("+ a", "'+' must touch the term it extends at column 3"),
        ("a*b", "expected a space, ',' or operator before 'b' at column 3"),
        ("(a)(b)", "expected a space, ',' or operator before '(' at column 4"),
        ("a not b", "unexpected 'not' at column 3"),
        ("owner:me", "unknown filter 'owner:'"),
        ("group:a=b", "'=' is only allowed in tag:K=V"),
        ("foo(a)", "unknown function 'foo'"),
        ("a = b", "unexpected character '=' at column 3"),
        ("a & b", "unexpected character '&' at column 3"),
    ],
)
def test_malformed_selections(text: str, message: str) -> None:
    with pytest.raises(SelectionError) as info:
        parse(text)
    assert message in str(info.value)
    assert str(info.value).startswith(f"bad selection {text!r}: ")


def test_keywords_and_functions_as_keys() -> None:
    assert parse("key:and") == Key("and")
    assert parse("roots") == Key("roots")
    assert parse("sinks or roots") == Or((Key("sinks"), Key("roots")))


def test_ast_is_frozen() -> None:
    expr = parse("a")
    assert isinstance(expr, Key)
    with pytest.raises(AttributeError):
        expr.name = "b"  # type: ignore[misc]


STATES = {"raw_penguins": "fresh", "penguins": "fresh", "bills": "failed", "flippers": "stale", "features": "missing",
          "model": "missing", "report": "missing", "ns/thing": "stale"}  # fmt: skip


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("status:failed", {"bills"}),
        ("status:failed+", {"bills", "features", "model", "report"}),
        ("status:stale", {"flippers", "ns/thing"}),
        ("status:fresh and kind:asset", {"penguins"}),
        ("not status:missing and group:prep", {"penguins", "bills", "flippers"}),
        ("roots(status:missing)", {"features"}),
    ],
)
def test_status_filter(text: str, expected: set[str]) -> None:
    assert set(select(GRAPH, text, STATES)) == expected
    assert needs_states(parse(text))


def test_status_needs_the_states() -> None:
    assert not needs_states(parse("+(group:prep or not tag:tier), sinks(*)"))
    assert needs_states(parse("bills or roots(not (status:stale))"))
    with pytest.raises(SelectionError, match="status: filters need the assets' current states"):
        select(GRAPH, "status:fresh")


@pytest.mark.parametrize("text", ["(" * 200 + "bills" + ")" * 200, "not " * 200 + "bills", "roots(" * 200 + "*" + ")" * 200])
def test_deep_nesting_is_a_selection_error(text: str) -> None:
    with pytest.raises(SelectionError, match="more than 100 levels of nesting") as info:
        select(GRAPH, text)
    assert len(str(info.value)) < 200  # the text is shortened in the message


def test_nesting_up_to_the_limit_and_long_unions_work() -> None:
    assert sel("(" * 100 + "bills" + ")" * 100) == {"bills"}
    assert sel("not " * 100 + "bills") == {"bills"}
    many = " ".join(["bills", "report"] * 5000)  # flat, not 10,000 levels of recursion
    assert sel(many) == {"bills", "report"}
    assert sel(" and ".join(["group:prep"] * 5000)) == {"penguins", "bills", "flippers"}
