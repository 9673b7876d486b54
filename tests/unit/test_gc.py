"""`plan_gc` is a pure function: per unit (asset or partition) the newest N versions and every aliased one stay."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from workbench.core.records import FAILED, SUCCESS, AliasEvent, Materialization
from workbench.ops.gc import plan_gc

T0 = datetime(2026, 1, 1, tzinfo=timezone.utc)


def rec(n: int, key: str, version: str, partition: str = "", status: str = SUCCESS) -> Materialization:
    return Materialization(
        id=f"id{n}", asset_key=key, status=status, code_version="c", run_id="r", trigger="cli",
        started_at=T0 + timedelta(minutes=n), ended_at=T0 + timedelta(minutes=n), partition=partition,
        data_version=version if status == SUCCESS else None,
        artifact_uri=f"objects/{version}.json" if status == SUCCESS else None,
    )


def test_every_partition_keeps_its_current_version() -> None:
    # eu was built first, us last: grouping by key alone kept only us's newest version
    records = [rec(1, "sales", "eu1", "eu"), rec(2, "sales", "us1", "us"), rec(3, "sales", "eu2", "eu"), rec(4, "sales", "us2", "us")]
    plan = plan_gc(records, [], keep=1)
    assert plan.delete == ("objects/eu1.json", "objects/us1.json")
    assert (plan.kept, plan.dropped) == (2, 2)


def test_keep_n_per_unit_skips_failures_and_repeats_and_honours_aliases() -> None:
    records = [
        rec(1, "m", "v1"), rec(2, "m", "v2"), rec(3, "m", "v3"), rec(4, "m", "v2"),  # v2 again: one version
        rec(5, "m", "", status=FAILED), rec(6, "t", "t1"),
    ]
    alias = AliasEvent("a1", "m", "champion", "v1", "id1", "me", T0)
    plan = plan_gc(reversed(records), [alias], keep=2)  # the input order does not matter
    assert plan.delete == ()  # newest two versions of m are v2 and v3; v1 is aliased
    plan = plan_gc(records, [], keep=1)
    assert plan.delete == ("objects/v1.json", "objects/v3.json")  # m's current version is v2 (rebuilt last)


def test_a_uri_shared_with_a_kept_version_is_never_deleted() -> None:
    same = rec(1, "a", "x")
    other = rec(2, "b", "y")
    moved = rec(3, "b", "x")  # b went back to the bytes a still has: one artifact for both
    plan = plan_gc([same, other, moved, rec(4, "b", "z")], [], keep=1)
    assert plan.delete == ("objects/y.json",)
