"""The pure automation core: cron ticks, catch-up, the partition a tick targets, freshness."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from workbench import DailyPartitions, Schedule, StaticPartitions, asset, source
from workbench.core.automation import (
    FRESHNESS,
    SCHEDULE,
    automation_of,
    closed_partition,
    next_tick,
    overdue_by,
    schedule_ticks,
    span,
    ticks_between,
)  # fmt: skip
from workbench.core.records import Materialization
from workbench.core.staleness import FRESH, Status
from workbench.errors import DefinitionError

UTC = timezone.utc


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def test_ticks_between_are_the_cron_times_in_the_interval() -> None:
    hourly = Schedule("0 * * * *")
    assert ticks_between(hourly, at("2026-11-20 05:00"), at("2026-11-20 08:00")) == [
        at("2026-11-20 06:00"), at("2026-11-20 07:00"), at("2026-11-20 08:00")
    ]
    assert ticks_between(hourly, at("2026-11-20 08:00"), at("2026-11-20 05:00")) == []  # the clock went back
    assert next_tick(hourly, at("2026-11-20 08:00")) == at("2026-11-20 09:00")


def test_a_schedule_ticks_in_its_time_zone() -> None:
    paris = Schedule("0 6 * * *", timezone="Europe/Paris")
    assert next_tick(paris, at("2026-11-20 00:00")) == at("2026-11-20 05:00")  # 06:00 CET
    assert next_tick(paris, at("2026-07-20 00:00")) == at("2026-07-20 04:00")  # 06:00 CEST


def test_bad_declarations_are_definition_errors() -> None:
    with pytest.raises(DefinitionError, match="not a cron expression"):
        Schedule("every day")
    with pytest.raises(DefinitionError, match="unknown time zone"):
        Schedule("0 6 * * *", timezone="Mars/Base")
    with pytest.raises(DefinitionError, match="catch_up"):
        Schedule("0 6 * * *", catch_up="some")
    with pytest.raises(DefinitionError, match="asset 'x'.*not a cron"):
        asset(name="x", schedule="nope")(lambda: 1)
    with pytest.raises(DefinitionError, match="freshness="):
        asset(name="y", freshness="soon")(lambda: 1)
    with pytest.raises(DefinitionError, match="exactly one of path=, url= or observe="):
        source("s", path="a.csv", url="s3://b/a.csv")
    with pytest.raises(DefinitionError, match="fsspec URL"):
        source("s", url="bucket/a.csv")


def test_catch_up_latest_runs_one_of_the_missed_ticks_and_all_runs_each() -> None:
    now, handled = at("2026-11-20 11:30"), at("2026-11-20 06:00")
    latest = schedule_ticks("a", Schedule("0 * * * *"), None, (), handled, {}, now)
    assert [(t.at, t.partition) for t in latest] == [(at("2026-11-20 11:00"), "")]
    every = schedule_ticks("a", Schedule("0 * * * *", catch_up="all"), None, (), handled, {}, now)
    assert [t.at.hour for t in every] == [7, 8, 9, 10, 11]
    assert len({t.id for t in every}) == 5 and every[0].kind == SCHEDULE


def test_a_tick_is_done_when_its_target_ran_after_it() -> None:
    daily = Schedule("0 6 * * *")
    ran_after = {"": at("2026-11-20 07:00")}
    assert schedule_ticks("a", daily, None, (), None, ran_after, at("2026-11-20 09:00")) == ()
    ran_before = {"": at("2026-11-20 05:00")}
    assert len(schedule_ticks("a", daily, None, (), None, ran_before, at("2026-11-20 09:00"))) == 1


def test_without_a_recorded_tick_only_the_newest_counts() -> None:
    found = schedule_ticks("a", Schedule("0 * * * *", catch_up="all"), None, (), None, {}, at("2026-11-20 11:30"))
    assert [t.at for t in found] == [at("2026-11-20 11:00")]


def test_a_daily_tick_targets_the_partition_that_just_closed() -> None:
    days = DailyPartitions(start="2026-11-01", end="2026-11-30")
    keys = days.keys()
    assert closed_partition(days, keys, at("2026-11-21 00:10")) == ["2026-11-20"]
    assert closed_partition(days, keys, at("2026-11-01 00:10")) == []  # before the first day
    assert closed_partition(StaticPartitions(["eu", "us"]), ("eu", "us"), at("2026-11-21 00:10")) == ["eu", "us"]
    assert closed_partition(None, (), at("2026-11-21 00:10")) == [""]
    every = schedule_ticks("d", Schedule("10 0 * * *", catch_up="all"), days, keys, at("2026-11-18 00:10"), {},
                           at("2026-11-21 00:20"))  # fmt: skip
    assert [t.partition for t in every] == ["2026-11-18", "2026-11-19", "2026-11-20"]
    assert every[-1].reason == "scheduled 00:10 for 2026-11-20"


def test_overdue_by_is_the_time_past_the_limit() -> None:
    made = at("2026-11-20 05:00")
    assert overdue_by(7200, made, at("2026-11-20 06:59")) is None
    assert overdue_by(7200, made, at("2026-11-20 07:12")) == 12 * 60
    assert overdue_by(7200, None, at("2026-11-20 07:12")) is None  # never made: it is missing, not overdue
    assert [span(s) for s in (40, 720, 7500, 93600)] == ["40s", "12m", "2h05m", "1d2h"]


def _record(key: str, ended: datetime, partition: str = "") -> Materialization:
    return Materialization(f"id-{key}-{partition}", key, "success", "c", "run", "watch", ended, ended, partition)


def test_automation_of_says_what_is_due_overdue_and_next() -> None:
    @asset(schedule="0 6 * * *", freshness="2h")
    def orders() -> dict[str, int]:
        return {}

    @asset
    def plain() -> int:
        return 1

    spec, other = orders.__workbench_asset__, plain.__workbench_asset__  # type: ignore[attr-defined]
    made = _record("orders", at("2026-11-20 05:00"))
    status = {"orders": Status("orders", FRESH, (), "c", "d", made, made), "plain": Status("plain", FRESH, (), "c", "d")}
    found = automation_of([spec, other], status, {}, {}, at("2026-11-20 07:12"))
    assert set(found) == {"orders"}
    a = found["orders"]
    assert [t.kind for t in a.due] == [SCHEDULE, FRESHNESS]
    assert a.overdue_by == 12 * 60 and a.next_tick == at("2026-11-21 06:00")
    handled = {("orders", SCHEDULE): at("2026-11-20 06:00")}
    again = automation_of([spec], status, {}, handled, at("2026-11-20 07:12") + timedelta(minutes=1))["orders"]
    assert [t.kind for t in again.due] == [FRESHNESS]


def test_the_tui_overview_shows_the_schedule_due_overdue_and_next_tick(monkeypatch: pytest.MonkeyPatch) -> None:
    from workbench.tui.describe import overview

    from workbench.core.graph import AssetGraph

    @asset(schedule="0 6 * * *", freshness="2h")
    def orders() -> dict[str, int]:
        return {}

    spec = orders.__workbench_asset__  # type: ignore[attr-defined]
    graph = AssetGraph.build([spec])
    made = _record("orders", at("2026-11-20 05:00"))
    monkeypatch.setenv("WORKBENCH_NOW", "2026-11-20T07:12:00+00:00")
    text = overview(graph, Path("/"), "orders", Status("orders", FRESH, (), "c", "d", made, made)).plain
    next_tick = at("2026-11-21 06:00").astimezone().strftime("%Y-%m-%d %H:%M")  # shown in local time
    assert f"schedule   0 6 * * *  due: scheduled 06:00  next {next_tick}" in text
    assert "freshness  2h  overdue by 12m" in text
