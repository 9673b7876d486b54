"""Fuzzing with hypothesis: garbage in gives a clear `WorkbenchError` (or a right answer), never a traceback.

Targets: the selection parser, the project loader (random graphs with cycles and odd names, written
as modules and imported), version references, and the JSON record reader.
"""

from __future__ import annotations

import itertools
import json
import re
from collections import Counter
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from workbench.storage.artifacts import ArtifactStore, RecordProblem
from workbench.storage.memory import InMemoryMetadataStore
from workbench.storage.metadata import DuckDBMetadataStore

from workbench.core.diff import diff
from workbench.core.graph import AssetGraph
from workbench.core.records import FAILED, SUCCESS, AliasEvent, Materialization
from workbench.core.selection import select
from workbench.core.spec import KEY_PATTERN, AssetSpec
from workbench.core.versions import resolve, split_ref
from workbench.errors import DefinitionError, ProjectError, SelectionError, VersionRefError
from workbench.present import record_json
from workbench.project import find_project, load_project

T0 = datetime(2026, 11, 1, tzinfo=timezone.utc)
ODD_NAMES = ["and", "or", "not", "roots", "key", "a/b", "_", "x9/_y", "../x", "a b", "", "a//b", "x[y]", "名前", "/a",
             "a/", "1a", "a-b", "a.b", "a\n", "tag:x", "*", "+a", "a@b", "AND"]  # fmt: skip


# Selection: random text over graphs whose keys look like the language's own words.


def _fn() -> None: ...


@st.composite
def odd_graphs(draw: st.DrawFn) -> AssetGraph:
    keys = draw(st.lists(st.sampled_from([n for n in ODD_NAMES if KEY_PATTERN.fullmatch(n)] + ["n1", "n2"]),
                         min_size=1, max_size=6, unique=True))  # fmt: skip
    specs = [AssetSpec(key=k, fn=_fn, params=(), deps=tuple(d for d in keys[:i] if draw(st.booleans())))
             for i, k in enumerate(keys)]  # fmt: skip
    return AssetGraph.build(specs)


WORDS = st.sampled_from([*ODD_NAMES, " ", ",", "(", ")", "+", "*", "2+", "+3", "key:", "group:", "tag:", "kind:",
                         "roots(", "sinks(", '"', "'", "=", "n1", "n2", "and ", " or ", "not "])  # fmt: skip


@settings(max_examples=300, deadline=None)
@given(odd_graphs(), st.lists(WORDS, max_size=10).map("".join) | st.text(max_size=30))
def test_selection_gives_keys_in_order_or_a_selection_error(graph: AssetGraph, text: str) -> None:
    try:
        chosen = select(graph, text)
    except SelectionError as exc:
        assert str(exc)
        return
    assert list(chosen) == [k for k in graph.order if k in set(chosen)]  # real keys, topological, no repeats
    assert select(graph, text) == chosen


# The project loader: random definitions written as a module and imported.


@st.composite
def definitions(draw: st.DrawFn) -> list[tuple[str, list[str]]]:
    """(name, deps) per asset: names valid or odd, deps anything, so cycles and unknown deps happen."""
    names = draw(st.lists(st.sampled_from(["a", "b", "c", "d", "ns/e", "and"]) | st.sampled_from(ODD_NAMES),
                          min_size=1, max_size=5))  # fmt: skip
    pool = st.sampled_from([*names, "zz"])
    return [(name, draw(st.lists(pool, max_size=3))) for name in names]


def _module(defs: list[tuple[str, list[str]]]) -> str:
    lines = ["from workbench import asset", ""]
    for i, (name, deps) in enumerate(defs):
        lines += [f"@asset(name={name!r}, deps={deps!r})", f"def f{i}() -> dict:", "    return {}", ""]
    return "\n".join(lines)


def _expected_cycle(defs: list[tuple[str, list[str]]]) -> bool:
    parents = {name: set(deps) for name, deps in defs}
    state: dict[str, int] = {}

    def visit(n: str) -> bool:
        state[n] = 1
        for p in parents.get(n, ()):
            if state.get(p) == 1 or (p not in state and visit(p)):
                return True
        state[n] = 2
        return False

    return any(n not in state and visit(n) for n in parents)


_counter = itertools.count()


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(definitions())
def test_the_loader_builds_the_right_graph_or_names_the_problem(tmp_path_factory: Any, defs: list[tuple[str, list[str]]]) -> None:
    root = tmp_path_factory.getbasetemp() / "loader"
    root.mkdir(exist_ok=True)
    module = f"defs_{next(_counter)}"
    (root / f"{module}.py").write_text(_module(defs), encoding="utf-8")
    (root / "pyproject.toml").write_text(f'[tool.workbench]\nmodules = ["{module}"]\n')
    names = [n for n, _ in defs]
    bad = [n for n in names if not KEY_PATTERN.fullmatch(n)]
    duplicates = len(set(names)) != len(names)
    unknown = [d for _, deps in defs for d in deps if d not in names]
    try:
        graph = load_project(find_project(root)).graph
    except (DefinitionError, ProjectError) as exc:
        message = str(exc)
        assert bad or duplicates or unknown or _expected_cycle(defs), message
        if message.startswith("cycle: "):  # the message walks a real cycle, upstream first
            path = message.removeprefix("cycle: ").split(" (")[0].split(" -> ")
            assert path[0] == path[-1] and all(a in dict(defs)[b] for a, b in itertools.pairwise(path)), message
        else:
            assert bad or duplicates or unknown, message  # a cycle alone is reported as a cycle
            assert any(repr(x) in message for x in (*bad, *names, *unknown)), message
        return
    assert not (bad or duplicates or unknown or _expected_cycle(defs))
    assert {k: set(ps) for k, ps in graph.parents.items()} == {n: set(d) for n, d in defs}
    assert all(graph.order.index(p) < graph.order.index(k) for k in graph.order for p in graph.parents[k])


# Version references, against the in-memory store and against DuckDB.


def _history(store: Any) -> list[Materialization]:
    versions = ["ab12", "ab34", "cd56", "ab12"]  # ab12 twice: the same version rebuilt
    out = []
    for i, (v, status) in enumerate(zip(versions + ["", ""], [SUCCESS] * 4 + [FAILED, SUCCESS], strict=True)):
        data_version = (v * 8)[:32] if v else None
        m = Materialization(id=f"r{i}", asset_key="m", status=status, code_version="c", run_id="run", trigger="cli",
                            started_at=T0 + timedelta(seconds=i), ended_at=T0 + timedelta(seconds=i, milliseconds=5),
                            data_version=data_version if status == SUCCESS and v else ("ef" * 16 if status == SUCCESS else None))  # fmt: skip
        out.append(m)
    store.add_many(out)
    store.add(Materialization(id="other", asset_key="other", status=SUCCESS, code_version="c", run_id="run",
                              trigger="cli", started_at=T0, ended_at=T0, data_version="ab" * 16))  # fmt: skip
    store.add_alias_events([AliasEvent("e1", "m", "champion", out[2].data_version, "r2", "me", T0)])
    return out


REFS = st.sampled_from(["latest", "latest~1", "latest~3", "latest~9", "latest~", "latest~-1", "ab", "AB12", "cd",
                        "abab", "ef", "champion", "Champion", "x", "", " ", "../..", "' OR 1=1 --", "%", "_", "ab%",
                        "latest~99999999999999999999", "0" * 65]) | st.text(max_size=20)  # fmt: skip


def _resolve_and_judge(store: Any, history: list[Materialization], ref: str) -> None:
    try:
        found = resolve(store, "m", ref)
    except VersionRefError as exc:
        assert str(exc).startswith("m@")
        return
    newest_first = sorted((m for m in history if m.ok), key=lambda m: (m.ended_at, m.id), reverse=True)
    assert found.asset_key == "m" and found.ok  # never another asset's version, never a failed one
    text = ref.strip() if ref else "latest"  # no reference (None or "") means the latest version
    if match := re.fullmatch(r"latest(?:~(\d+))?", text):
        assert found.id == newest_first[int(match.group(1) or 0)].id
    elif text == "champion":
        assert found.data_version == history[2].data_version
    else:
        assert (found.data_version or "").startswith(text.lower())
        assert len({m.data_version for m in newest_first if (m.data_version or "").startswith(text.lower())}) == 1


@settings(max_examples=300, deadline=None)
@given(REFS)
def test_version_references_resolve_right_or_say_why(ref: str) -> None:
    store = InMemoryMetadataStore()
    history = _history(store)
    _resolve_and_judge(store, history, ref)
    key, parsed = split_ref(f"m@{ref}") if ref else ("m", None)
    assert key == "m" and parsed == (ref or None)


@pytest.fixture(scope="module")
def duckdb_history(tmp_path_factory: Any) -> tuple[DuckDBMetadataStore, list[Materialization]]:
    store = DuckDBMetadataStore(tmp_path_factory.mktemp("refs") / "metadata.duckdb")
    return store, _history(store)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(REFS)
def test_version_references_against_duckdb(duckdb_history: tuple[DuckDBMetadataStore, list[Materialization]], ref: str) -> None:
    _resolve_and_judge(*duckdb_history, ref)


# The JSON record reader.

JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3),
    max_leaves=8,
)
FIELDS = ["id", "asset_key", "status", "code_version", "run_id", "trigger", "started_at", "ended_at", "partition",
          "data_version", "input_versions", "artifact_uri", "serializer", "size", "rows", "error", "metadata",
          "metrics", "git_commit", "git_dirty", "log"]  # fmt: skip
GOOD: dict[str, Any] = {
    "id": "r1", "asset_key": "a", "status": "success", "code_version": "c", "run_id": "run", "trigger": "cli",
    "started_at": "2026-11-01T00:00:00+00:00", "ended_at": "2026-11-01T00:00:01+00:00", "data_version": "ab" * 16,
    "artifact_uri": "objects/ab/" + "ab" * 16 + ".bin", "serializer": "bytes", "size": 3,
}  # fmt: skip


WELL_TYPED: dict[str, st.SearchStrategy[Any]] = {  # optional fields, with values of their documented types
    "partition": st.text(max_size=8),
    "log": st.text(max_size=20),
    "error": st.none() | st.text(max_size=8),
    "git_commit": st.none() | st.text(max_size=40),
    "git_dirty": st.none() | st.booleans(),
    "rows": st.none() | st.integers(min_value=0, max_value=2**63 - 1),
    "input_versions": st.dictionaries(st.text(max_size=6), st.text(max_size=8), max_size=3),
    "metadata": st.dictionaries(st.text(max_size=6), JSON, max_size=3),
    "metrics": st.dictionaries(st.text(max_size=6), st.floats(allow_nan=False, allow_infinity=False), max_size=3),
}


@st.composite
def good_records(draw: st.DrawFn) -> str:
    """A good record whose optional fields are left out or hold any value of their type."""
    doc = dict(GOOD)
    for name in draw(st.lists(st.sampled_from(sorted(WELL_TYPED)), max_size=5, unique=True)):
        doc[name] = draw(WELL_TYPED[name])
    return json.dumps(doc)


@st.composite
def record_docs(draw: st.DrawFn) -> Any:
    """A good record, or one with some fields replaced by arbitrary JSON, or arbitrary JSON, or text."""
    kind = draw(st.sampled_from(["good", "mutated", "json", "text"]))
    if kind == "good":
        return draw(good_records())
    if kind == "text":
        return draw(st.text(max_size=60))
    if kind == "json":
        return json.dumps(draw(JSON))
    doc = dict(GOOD)
    for name in draw(st.lists(st.sampled_from(FIELDS), min_size=1, max_size=3)):
        if draw(st.booleans()):
            doc[name] = draw(JSON)
        else:
            doc.pop(name, None)
    return json.dumps(doc)


def _well_typed(m: Materialization) -> None:
    """What every reader of a record relies on."""
    for name in ("id", "asset_key", "status", "code_version", "run_id", "trigger", "partition", "log"):
        assert isinstance(getattr(m, name), str), name
    for name in ("data_version", "artifact_uri", "serializer", "error", "traceback", "git_commit"):
        assert getattr(m, name) is None or isinstance(getattr(m, name), str), name
    for name in ("size", "rows"):
        assert getattr(m, name) is None or (isinstance(getattr(m, name), int) and not isinstance(getattr(m, name), bool))
    assert m.git_dirty is None or isinstance(m.git_dirty, bool)
    assert all(isinstance(k, str) and isinstance(v, str) for k, v in m.input_versions.items())
    diff(m, m), record_json(m)  # what reads metrics and metadata copes with any JSON in them
    assert m.started_at.tzinfo is not None and m.ended_at.tzinfo is not None
    assert isinstance(m.metadata, dict) and isinstance(m.metrics, dict) and isinstance(m.input_versions, dict)
    json.loads(m.to_json())


def test_the_record_parser_accepts_well_typed_records_only() -> None:
    outcomes: Counter[str] = Counter()

    @settings(max_examples=400, deadline=None)
    @given(record_docs())
    def parse(text: str) -> None:
        try:
            m = Materialization.from_json(text)
        except ValueError:
            outcomes["rejected"] += 1
            return
        outcomes["parsed"] += 1
        _well_typed(m)

    parse()
    # Both branches ran, many times: a parser that rejects everything (or accepts everything) fails here.
    assert outcomes["parsed"] >= 20 and outcomes["rejected"] >= 20, outcomes


@settings(max_examples=200, deadline=None)
@given(good_records())
def test_the_record_parser_accepts_every_well_typed_record(text: str) -> None:
    m = Materialization.from_json(text)
    _well_typed(m)
    assert Materialization.from_json(m.to_json()) == m


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(record_docs(), min_size=1, max_size=5))
def test_the_store_reads_garbage_records_as_problems(tmp_path: Path, docs: list[str]) -> None:
    store = ArtifactStore(str(tmp_path / f"store{next(_counter)}"))
    for i, doc in enumerate(docs):
        path = Path(store.root) / "records" / "a" / f"2026-{i}.json"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(doc, encoding="utf-8")
    found = list(store.iter_records())
    assert len(found) == len(docs)
    for item in found:
        if not isinstance(item, RecordProblem):
            _well_typed(item)
    metadata = DuckDBMetadataStore(Path(store.root) / "metadata.duckdb")
    metadata.add_many([m for m in found if isinstance(m, Materialization)])  # the index takes whatever parsed


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(record_docs(), min_size=1, max_size=5), st.binary(max_size=40))
def test_the_store_reads_garbage_run_log_lines_as_problems(tmp_path: Path, docs: list[str], tail: bytes) -> None:
    """A run log of arbitrary lines (and an arbitrary cut-short last one): one record or one problem
    per line, never an exception, and the tail without its newline is not read."""
    store = ArtifactStore(str(tmp_path / f"store{next(_counter)}"))
    lines = [f'{{"materialization": {doc}}}'.replace("\n", " ") for doc in docs]
    path = Path(store.root) / "logs" / "20260101T000000000000-run.jsonl"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes("\n".join(lines).encode() + b"\n" + tail.replace(b"\n", b""))
    found = list(store.iter_records())
    assert len(found) == len(docs)
    for item, text in zip(found, lines, strict=True):
        if isinstance(item, RecordProblem):
            assert item.uri.startswith("logs/20260101T000000000000-run.jsonl:")
        else:
            _well_typed(item)
            assert item == Materialization.from_json(json.dumps(json.loads(text)["materialization"]))


@settings(max_examples=150, deadline=None)
@given(
    st.builds(
        Materialization,
        id=st.text(min_size=1, max_size=8), asset_key=st.sampled_from(["a", "ns/b"]), status=st.sampled_from([SUCCESS, FAILED]),
        code_version=st.text(max_size=8), run_id=st.text(max_size=8), trigger=st.sampled_from(["cli", "api"]),
        started_at=st.datetimes(timezones=st.just(timezone.utc)), ended_at=st.datetimes(timezones=st.just(timezone.utc)),
        partition=st.text(max_size=8), data_version=st.none() | st.text(max_size=8),
        input_versions=st.dictionaries(st.text(max_size=5), st.text(max_size=5), max_size=3),
        size=st.none() | st.integers(0, 2**62), rows=st.none() | st.integers(0, 2**62), error=st.none() | st.text(),
        metadata=st.dictionaries(st.text(max_size=5), JSON, max_size=3),
        metrics=st.dictionaries(st.text(max_size=5), st.floats(allow_nan=False), max_size=3),
        git_dirty=st.none() | st.booleans(),
    )
)  # fmt: skip
def test_records_round_trip_through_json(m: Materialization) -> None:
    assert Materialization.from_json(m.to_json()) == m
