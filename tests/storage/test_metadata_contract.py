"""One contract suite, run over the in-memory fake and the DuckDB store."""

from __future__ import annotations

import inspect
import subprocess
import sys
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from workbench.storage.base import MetadataStore
from workbench.storage.memory import InMemoryMetadataStore
from workbench.storage.metadata import DuckDBMetadataStore

from workbench.core.records import FAILED, SUCCESS, AliasEvent, CheckRecord, Latest, Materialization, Run, SourceObservation, TickRecord

T0 = datetime(2026, 11, 1, 12, 0, tzinfo=timezone.utc)
MakeRecord = Callable[..., Materialization]


@pytest.fixture(params=["memory", "duckdb"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> MetadataStore:
    if request.param == "memory":
        return InMemoryMetadataStore()
    return DuckDBMetadataStore(tmp_path / "metadata.duckdb")


def test_both_stores_have_the_protocol_signatures() -> None:
    names = [n for n in vars(MetadataStore) if not n.startswith("_")]
    assert len(names) == 24
    for cls in (InMemoryMetadataStore, DuckDBMetadataStore):
        for name in names:
            assert inspect.signature(getattr(cls, name)) == inspect.signature(getattr(MetadataStore, name)), name


def test_add_then_get_round_trips_every_field(store: MetadataStore, make_record: MakeRecord) -> None:
    m = make_record(
        "r1",
        key="ns/model",
        partition="2026-11-01",
        input_versions={"raw": "v1", "prep": "v2"},
        artifact_uri="objects/ab/abc.parquet",
        serializer="parquet",
        size=5_000_000_000,
        rows=42,
        log="line 1\nline 2 'quoted'",
        metadata={"schema": ["a", "b"], "nested": {"x": 1}},
        metrics={"auc": 0.93},
        git_commit="deadbeef",
        git_dirty=True,
    )
    store.add(m)
    assert store.get("r1") == m
    assert store.get("missing") is None


def test_failed_record_round_trips(store: MetadataStore, make_record: MakeRecord) -> None:
    m = make_record("f1", status=FAILED, data_version=None, error="boom", traceback="Traceback ...")
    store.add(m)
    assert store.get("f1") == m


def test_a_batch_of_mixed_records_round_trips(store: MetadataStore, make_record: MakeRecord) -> None:
    """`add_many` sends each column as one list: optional fields set in some rows and not others,
    and times in several zones, come back as they went in."""
    local = timezone(timedelta(hours=-5))
    batch = [
        make_record("full", size=5_000_000_000, rows=42, metadata={"n": [1, 2.5]}, metrics={"auc": 0.9, "n": 3}, git_dirty=True),
        make_record("failed", status=FAILED, data_version=None, artifact_uri=None, error="boom 'quoted'", git_dirty=None),
        make_record("zoned", started_at=T0.astimezone(local), ended_at=(T0 + timedelta(seconds=1)).astimezone(local), log="é\n✓"),
        *(make_record(f"r{i}", partition=f"p{i}", rows=None if i % 2 else i) for i in range(70)),
    ]
    assert store.add_many(batch) == len(batch)
    for m in batch:
        assert store.get(m.id) == m
    assert store.add_many(batch) == 0  # ids it has are skipped


def test_times_in_other_zones_keep_their_instant(store: MetadataStore, make_record: MakeRecord) -> None:
    local = timezone(timedelta(hours=2))
    store.add(make_record("z1", started_at=T0.astimezone(local), ended_at=T0.astimezone(local)))
    got = store.get("z1")
    assert got is not None and got.ended_at == T0 and got.ended_at.utcoffset() is not None


def test_add_is_idempotent_on_id(store: MetadataStore, make_record: MakeRecord) -> None:
    store.add(make_record("r1"))
    store.add(make_record("r1"))
    store.add(make_record("r1", code_version="other"))
    assert store.count() == 1
    got = store.get("r1")
    assert got is not None and got.code_version == "code1"


def test_add_many_skips_stored_ids(store: MetadataStore, make_record: MakeRecord) -> None:
    store.add(make_record("r1"))
    added = store.add_many([make_record("r1"), make_record("r2"), make_record("r2"), make_record("r3", key="b")])
    assert added == 2
    assert store.count() == 3
    assert store.add_many([]) == 0
    assert store.add_many([make_record("r3")]) == 0


def test_latest_tells_success_from_last(store: MetadataStore, make_record: MakeRecord) -> None:
    ok_then_failed = [make_record("a1", key="a", second=1), make_record("a2", key="a", second=2, status=FAILED)]
    only_failed = [make_record("b1", key="b", second=1, status=FAILED)]
    failed_then_ok = [make_record("c1", key="c", second=1, status=FAILED), make_record("c2", key="c", second=2)]
    store.add_many([*ok_then_failed, *only_failed, *failed_then_ok])
    latest = store.latest()
    assert latest == {
        "a": Latest(success=ok_then_failed[0], last=ok_then_failed[1]),
        "b": Latest(success=None, last=only_failed[0]),
        "c": Latest(success=failed_then_ok[1], last=failed_then_ok[1]),
    }


def test_newest_ids_are_the_ids_latest_all_returns(store: MetadataStore, make_record: MakeRecord) -> None:
    store.add_many([
        make_record("a1", key="a", second=1), make_record("a2", key="a", second=2, status=FAILED),
        make_record("b1", key="b", second=1, status=FAILED), make_record("d1", key="d", partition="x"),
    ])  # fmt: skip
    assert store.newest_ids() == {("a", ""): ("a2", "a1"), ("b", ""): ("b1", None), ("d", "x"): ("d1", "d1")}
    store.add(make_record("b2", key="b", second=2))
    assert store.newest_ids() == {("a", ""): ("a2", "a1"), ("b", ""): ("b2", "b2"), ("d", "x"): ("d1", "d1")}


def test_latest_follows_new_records_between_calls(store: MetadataStore, make_record: MakeRecord) -> None:
    store.add_many([make_record("a1", key="a", second=1), make_record("b1", key="b", second=1)])
    assert {k: v.last.id for k, v in store.latest().items() if v.last} == {"a": "a1", "b": "b1"}
    store.add(make_record("a2", key="a", second=2, status=FAILED))
    store.add(make_record("c1", key="c", second=2))
    latest = store.latest()
    assert {k: v.last.id for k, v in latest.items() if v.last} == {"a": "a2", "b": "b1", "c": "c1"}
    assert latest["a"].success == make_record("a1", key="a", second=1)


def test_latest_breaks_ties_by_id_and_ignores_insertion_order(store: MetadataStore, make_record: MakeRecord) -> None:
    store.add(make_record("x9", second=5))
    store.add(make_record("x2", second=5))
    store.add(make_record("x7", second=3))
    latest = store.latest()["a"]
    assert latest.last is not None and latest.last.id == "x9"
    assert latest.success is not None and latest.success.id == "x9"


def test_latest_is_per_partition(store: MetadataStore, make_record: MakeRecord) -> None:
    store.add(make_record("u1", key="plain"))
    store.add(make_record("p1", key="daily", partition="2026-11-01"))
    store.add(make_record("p2", key="daily", partition="2026-11-02", second=9))
    assert set(store.latest()) == {"plain"}
    day1 = store.latest("2026-11-01")
    assert set(day1) == {"daily"} and day1["daily"].last is not None and day1["daily"].last.id == "p1"
    assert store.latest("2027-01-01") == {}


def test_history_is_newest_first_with_limit_and_partition(store: MetadataStore, make_record: MakeRecord) -> None:
    store.add_many(
        [
            make_record("h1", second=1),
            make_record("h3", second=3, status=FAILED),
            make_record("h2", second=2, partition="eu"),
            make_record("other", key="b", second=4),
        ]
    )
    assert [m.id for m in store.history("a")] == ["h3", "h2", "h1"]
    assert [m.id for m in store.history("a", limit=2)] == ["h3", "h2"]
    assert [m.id for m in store.history("a", partition="")] == ["h3", "h1"]
    assert [m.id for m in store.history("a", partition="eu")] == ["h2"]
    assert store.history("a", limit=0) == []
    assert store.history("nope") == []


def test_find_versions_matches_prefix_of_successful_records(store: MetadataStore, make_record: MakeRecord) -> None:
    store.add_many(
        [
            make_record("v1", second=1, data_version="abc111"),
            make_record("v2", second=2, data_version="abc222"),
            make_record("v3", second=3, data_version="abd333"),
            make_record("v4", second=4, data_version="abc444", status=FAILED),
            make_record("v5", key="b", second=5, data_version="abc555"),
            make_record("v6", second=6, data_version=None, status=FAILED),
        ]
    )
    assert [m.id for m in store.find_versions("a", "abc")] == ["v2", "v1"]
    assert [m.id for m in store.find_versions("a", "abd3")] == ["v3"]
    assert [m.id for m in store.find_versions("a", "")] == ["v3", "v2", "v1"]
    assert store.find_versions("a", "zzz") == []
    assert store.find_versions("a", "ab%") == []


def test_with_code_finds_successful_records_of_one_unit_by_code_version(
    store: MetadataStore, make_record: MakeRecord
) -> None:
    store.add_many(
        [
            make_record("c1", second=1, code_version="A", libraries={"polars": "1.0"}, reused_from=None),
            make_record("c2", second=2, code_version="B"),
            make_record("c3", second=3, code_version="A", reused_from="c1"),
            make_record("c4", second=4, code_version="A", status=FAILED, data_version=None),
            make_record("c5", second=5, code_version="A", partition="2026-01-01"),
            make_record("c6", key="b", second=6, code_version="A"),
        ]
    )
    found = store.with_code({"a": "A"})
    assert [m.id for m in found] == ["c5", "c3", "c1"]
    assert found[1].reused_from == "c1" and found[2].libraries == {"polars": "1.0"}
    assert [m.id for m in store.with_code({"a": "B", "b": "A"})] == ["c6", "c2"]
    assert store.with_code({"a": "Z"}) == [] and store.with_code({}) == []


def test_record_run_upserts_and_runs_are_newest_first(store: MetadataStore) -> None:
    first = Run(run_id="run-1", trigger="cli", selection="*", started_at=T0)
    second = Run(run_id="run-2", trigger="watch", selection="a+", started_at=T0 + timedelta(minutes=1))
    store.record_run(first)
    store.record_run(second)
    done = Run(
        run_id="run-1",
        trigger="cli",
        selection="*",
        started_at=T0,
        ended_at=T0 + timedelta(seconds=3),
        status="success",
        materialized=3,
        failed=1,
        skipped=2,
    )
    store.record_run(done)
    assert store.runs() == [second, done]
    assert store.runs(limit=1) == [second]


def test_observe_upserts_by_key(store: MetadataStore) -> None:
    raw = SourceObservation("raw", "data/raw.csv", "v1", size=10, mtime_ns=1_700_000_000_123_456_789, observed_at=T0)
    gone = SourceObservation("gone", "data/gone.csv", None, size=0, mtime_ns=0, observed_at=T0)
    store.observe([raw, gone])
    newer = SourceObservation("raw", "data/raw.csv", "v2", size=12, mtime_ns=1_800_000_000_000_000_001, observed_at=T0)
    store.observe([newer])
    store.observe([])
    assert store.observations() == {"raw": newer, "gone": gone}


def test_count_counts_records(store: MetadataStore, make_record: MakeRecord) -> None:
    assert store.count() == 0
    store.add_many([make_record(f"r{i}", key=f"k{i % 3}") for i in range(7)])
    assert store.count() == 7


def test_the_storage_package_exports_its_stores_lazily() -> None:
    import workbench.storage as storage

    assert storage.__all__ == sorted(storage._EXPORTS)
    for name in storage.__all__:
        assert getattr(storage, name).__name__ == name
    code = "import sys, workbench.storage; assert 'duckdb' not in sys.modules and 'fsspec' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True)


def test_alias_events_newest_wins_and_removal(store: MetadataStore) -> None:
    def event(id: str, name: str, version: str | None, minute: int, key: str = "model") -> AliasEvent:
        return AliasEvent(id, key, name, version, None, "ann", T0.replace(minute=minute))

    assert store.add_alias_events([event("1", "champion", "v1", 0), event("2", "challenger", "v2", 1)]) == 2
    assert store.add_alias_events([event("1", "champion", "v1", 0)]) == 0
    store.add_alias_events([event("3", "champion", "v2", 2), event("4", "challenger", None, 3)])
    store.add_alias_events([event("5", "champion", "x9", 4, key="other")])
    current = store.aliases("model")
    assert [(e.name, e.data_version) for e in current] == [("champion", "v2")]
    assert [(e.asset_key, e.name) for e in store.aliases()] == [("model", "champion"), ("other", "champion")]


def _check(id: str, check: str = "a:positive", second: int = 0, **changes: object) -> CheckRecord:
    values: dict[str, object] = {
        "id": id, "check_key": check, "asset_key": check.split(":")[0], "partition": "", "passed": True,
        "blocking": False, "asset_data_version": "dv1", "code_version": "c1", "run_id": "run1",
        "started_at": T0 + timedelta(seconds=second) - timedelta(milliseconds=5), "ended_at": T0 + timedelta(seconds=second),
    }  # fmt: skip
    values.update(changes)
    return CheckRecord(**values)  # type: ignore[arg-type]


def test_check_results_round_trip_every_field_and_skip_stored_ids(store: MetadataStore) -> None:
    failed = _check("c1", passed=False, blocking=True, metadata={"rows": 3, "note": "x"}, error="E: no",
                    traceback="Traceback...", log="printed\n", partition="2026-11-01")  # fmt: skip
    assert store.add_check_results([failed, failed]) == 1
    assert store.add_check_results([failed, _check("c2", second=1)]) == 1
    assert store.check_history("a") == [_check("c2", second=1), failed]


def test_latest_checks_is_the_newest_per_check_and_partition(store: MetadataStore) -> None:
    store.add_check_results([
        _check("c1", second=0), _check("c3", second=2, passed=False), _check("c2", second=1),
        _check("p1", second=5, partition="x"), _check("o1", check="a:other", second=1),
        _check("t2", check="b:positive", second=3), _check("t1", check="b:positive", second=3),  # a tie: the larger id
    ])  # fmt: skip
    latest = store.latest_checks()
    assert {k: r.id for k, r in latest.items()} == {
        ("a:positive", ""): "c3", ("a:positive", "x"): "p1", ("a:other", ""): "o1", ("b:positive", ""): "t2",
    }  # fmt: skip
    assert latest[("a:positive", "")].passed is False


def test_check_history_is_one_assets_newest_first_with_limit(store: MetadataStore) -> None:
    store.add_check_results([_check(f"c{i}", second=i) for i in range(5)] + [_check("b1", check="b:ok", second=9)])
    assert [r.id for r in store.check_history("a", limit=3)] == ["c4", "c3", "c2"]
    assert [r.id for r in store.check_history("b")] == ["b1"]
    assert store.check_history("a", limit=0) == [] and store.check_history("nope") == []


def test_a_tick_is_claimed_once_and_ended_with_its_run(store: MetadataStore) -> None:
    tick = TickRecord("t1", "orders", "", "schedule", T0, "scheduled 12:00", T0, "pid 1 (watch)")
    assert store.claim_tick(tick) is True
    assert store.claim_tick(TickRecord("t1", "orders", "", "schedule", T0, "again", T0, "pid 2 (watch)")) is False
    assert store.ticks() == [tick]
    ended = TickRecord("t1", "orders", "", "schedule", T0, "scheduled 12:00", T0, "pid 1 (watch)", "run9", SUCCESS,
                       T0 + timedelta(seconds=3))  # fmt: skip
    store.end_tick(ended)
    later = TickRecord("t2", "daily", "2026-11-01", "schedule", T0 + timedelta(days=1), "s", T0, "pid 1 (watch)")
    store.claim_tick(later)
    assert store.ticks() == [later, ended]
    assert store.ticks("orders") == [ended]
    assert store.ticks(limit=1) == [later]
    assert store.newest_ticks() == {("orders", "schedule"): T0, ("daily", "schedule"): T0 + timedelta(days=1)}


def test_a_released_store_opens_again_on_its_next_operation(store: MetadataStore, make_record: MakeRecord) -> None:
    """`release` (before a run forks its worker processes) closes what is open, and loses nothing."""
    store.add(make_record("before"))
    store.release()
    store.add(make_record("after"))
    assert {m.id for m in store.history("a")} == {"before", "after"}
