"""Staleness is a pure function: every state and every reason, transitively, in one pass."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from workbench.core.graph import AssetGraph
from workbench.core.plan import make_plan
from workbench.core.records import FAILED, SUCCESS, Latest, Materialization
from workbench.core.spec import asset, source, spec_of
from workbench.core.staleness import Status, asset_states, compute_status, overall_state

T0 = datetime(2026, 1, 1, tzinfo=timezone.utc)
raw = source("raw", path="raw.csv")


@asset
def clean(raw):  # type: ignore[no-untyped-def]
    return raw


@asset
def feats(clean):  # type: ignore[no-untyped-def]
    return clean


@asset
def model(feats):  # type: ignore[no-untyped-def]
    return feats


@asset
def other():  # type: ignore[no-untyped-def]
    return 1


GRAPH = AssetGraph.build([spec_of(f) for f in (raw, clean, feats, model, other)])
CODE = {"clean": "c1", "feats": "f1", "model": "m1", "other": "o1"}


def rec(key: str, dv: str, inputs: dict[str, str], code: str | None = None, status: str = SUCCESS, t: int = 0) -> Materialization:
    return Materialization(
        id=f"{key}-{dv}-{t}",
        asset_key=key,
        status=status,
        code_version=code or CODE[key],
        run_id="r",
        trigger="cli",
        started_at=T0 + timedelta(seconds=t),
        ended_at=T0 + timedelta(seconds=t),
        data_version=dv if status == SUCCESS else None,
        input_versions=inputs,
        error="boom" if status == FAILED else None,
    )


def fresh_latest() -> dict[str, Latest]:
    recs = {
        "clean": rec("clean", "C", {"raw": "R"}),
        "feats": rec("feats", "F", {"clean": "C"}),
        "model": rec("model", "M", {"feats": "F"}),
        "other": rec("other", "O", {}),
    }
    return {k: Latest(r, r) for k, r in recs.items()}


def reasons(st):  # type: ignore[no-untyped-def]
    return [str(r) for r in st.reasons]


def test_all_fresh() -> None:
    st = compute_status(GRAPH, CODE, fresh_latest(), {"raw": "R"})
    assert {k: s.state for k, s in st.items()} == dict.fromkeys(GRAPH.order, "fresh")


def test_missing_everything() -> None:
    st = compute_status(GRAPH, CODE, {}, {"raw": "R"})
    assert st["clean"].state == "missing" and reasons(st["clean"]) == ["missing"]
    assert st["model"].state == "missing" and "upstream feats stale" in reasons(st["model"])


def test_code_change_is_transitive() -> None:
    st = compute_status(GRAPH, {**CODE, "clean": "c2"}, fresh_latest(), {"raw": "R"})
    assert reasons(st["clean"]) == ["code changed"]
    assert reasons(st["feats"]) == ["upstream clean stale"]
    assert reasons(st["model"]) == ["upstream feats stale"]
    assert st["other"].fresh


def test_source_change() -> None:
    st = compute_status(GRAPH, CODE, fresh_latest(), {"raw": "R2"})
    assert reasons(st["clean"]) == ["upstream raw changed"]
    assert st["model"].state == "stale"


def test_missing_source() -> None:
    st = compute_status(GRAPH, CODE, fresh_latest(), {"raw": None})
    assert st["raw"].state == "missing"
    assert reasons(st["clean"]) == ["upstream raw stale"]


def test_upstream_data_changed_since() -> None:
    latest = fresh_latest()
    newer = rec("feats", "F2", {"clean": "C"}, t=5)
    latest["feats"] = Latest(newer, newer)
    st = compute_status(GRAPH, CODE, latest, {"raw": "R"})
    assert st["feats"].fresh
    assert reasons(st["model"]) == ["upstream feats changed"]


def test_failed_after_success() -> None:
    latest = fresh_latest()
    failed = rec("feats", "", {"clean": "C"}, status=FAILED, t=9)
    latest["feats"] = Latest(latest["feats"].success, failed)
    st = compute_status(GRAPH, CODE, latest, {"raw": "R"})
    assert st["feats"].state == "failed" and reasons(st["feats"]) == ["failed (boom)"]
    assert reasons(st["model"]) == ["upstream feats stale"]


def test_dependency_added() -> None:
    latest = fresh_latest()
    old = rec("feats", "F", {})  # recorded before `clean` became an input of `feats`
    latest["feats"] = Latest(old, old)
    st = compute_status(GRAPH, CODE, latest, {"raw": "R"})
    assert st["feats"].state == "stale"
    assert reasons(st["feats"]) == ["dependencies changed (added clean)"]
    assert reasons(st["model"]) == ["upstream feats stale"]


def test_dependency_removed() -> None:
    latest = fresh_latest()
    old = rec("feats", "F", {"clean": "C", "gone": "G"})
    latest["feats"] = Latest(old, old)
    st = compute_status(GRAPH, CODE, latest, {"raw": "R"})
    assert st["feats"].state == "stale"
    assert reasons(st["feats"]) == ["dependencies changed (removed gone)"]


def test_dependencies_added_and_removed_at_once() -> None:
    latest = fresh_latest()
    old = rec("feats", "F", {"gone": "G"})
    latest["feats"] = Latest(old, old)
    st = compute_status(GRAPH, CODE, latest, {"raw": "R"})
    assert reasons(st["feats"]) == ["dependencies changed (added clean; removed gone)"]


def test_plan_includes_upstream_unless_only() -> None:
    st = compute_status(GRAPH, {**CODE, "clean": "c2"}, fresh_latest(), {"raw": "R"})
    plan = make_plan(GRAPH, st, ["model"])
    assert plan.to_run == ("clean", "feats", "model")
    only = make_plan(GRAPH, st, ["model"], only=True)
    assert only.to_run == ("model",)
    forced = make_plan(GRAPH, compute_status(GRAPH, CODE, fresh_latest(), {"raw": "R"}), ["other"], force=True)
    assert forced.to_run == ("other",) and [str(r) for r in forced.reasons["other"]] == ["forced"]


def test_an_assets_state_sums_up_its_units() -> None:
    assert overall_state(["fresh", "fresh"]) == overall_state([]) == "fresh"
    assert overall_state(["fresh", "missing", "failed"]) == "failed"
    assert overall_state(["missing", "missing"]) == "missing"
    assert overall_state(["fresh", "missing"]) == overall_state(["stale", "missing"]) == "stale"
    found = {"a": "fresh", "p[1]": "fresh", "p[2]": "missing", "q[1]": "missing", "q[2]": "missing"}
    units = {unit: Status(unit, state, (), None, None) for unit, state in found.items()}
    assert asset_states(units, {"a": (), "p": ("1", "2"), "q": ("1", "2")}) == {"a": "fresh", "p": "stale", "q": "missing"}
