"""Schedules, freshness and observed sources through the real `wb watch` and CLI, on a test clock.

`WORKBENCH_NOW` names a file holding the time every `wb` process sees; a test moves the clock by
rewriting it (a closed lid is a jump of hours) and waits on the watcher's lines, never on sleeps.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.conftest import TIMEOUT, WbProcess, run_wb, write_files

PIPELINE = """
from workbench import DailyPartitions, Schedule, asset, source

bucket = source("bucket", url="file://{root}/data/drop.csv", poll="1m")


def feed_version() -> str:
    return open("{root}/data/feed_version.txt").read()


feed = source("feed", observe=feed_version, poll="1m")


@asset(schedule="0 6 * * *")
def orders() -> dict:
    return {{"rows": 3}}


@asset(schedule=Schedule("0 * * * *"))
def hourly() -> dict:
    return {{"ok": True}}


@asset(freshness="2h")
def report(orders: dict) -> dict:
    return orders


@asset(schedule="10 0 * * *", partitions=DailyPartitions(start="2026-11-18"))
def daily(partition: str) -> dict:
    return {{"day": partition}}


@asset
def from_bucket(bucket: str) -> dict:
    return {{"url": bucket}}


@asset
def from_feed(feed: str) -> dict:
    return {{"version": feed}}
"""


class Clock:
    """The time the project's `wb` processes see, moved by the test."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def set(self, iso: str) -> None:
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(iso)
        tmp.replace(self.path)  # a reader never sees a half-written time


@pytest.fixture
def clock(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Clock:
    found = Clock(tmp_path / "now.txt")
    found.set("2026-11-20T05:00:00+00:00")
    monkeypatch.setenv("WORKBENCH_NOW", str(found.path))
    return found


@pytest.fixture
def project(tmp_path: Path, clock: Clock) -> Path:
    root = tmp_path / "proj"
    write_files(root, {
        "pyproject.toml": '[tool.workbench]\nmodules = ["pipeline"]\n',
        "pipeline.py": PIPELINE.format(root=root),
        "data/drop.csv": "a,b\n1,2\n",
        "data/feed_version.txt": "v1",
    })  # fmt: skip
    return root


@pytest.fixture
def watch(project: Path) -> Iterator[Callable[[], WbProcess]]:
    started: list[WbProcess] = []

    def start() -> WbProcess:
        proc = WbProcess(project, "watch")
        started.append(proc)
        proc.expect(r"pass 1 done")
        proc.expect(r"next: ")  # the first look at the schedules is over
        return proc

    yield start
    for proc in started:
        if proc.proc.poll() is None:
            proc.proc.terminate()
            proc.proc.wait(timeout=TIMEOUT)


def records(project: Path, key: str) -> list[dict[str, object]]:
    found = run_wb(project, "history", key, "--json")
    assert found.returncode == 0, found.stderr
    return list(json.loads(found.stdout))


def ticks(project: Path) -> list[dict[str, object]]:
    found = run_wb(project, "history", "--automation", "--json")
    assert found.returncode == 0, found.stderr
    return list(json.loads(found.stdout))


def status(project: Path) -> dict[str, dict[str, object]]:
    found = run_wb(project, "status", "--json")
    assert found.returncode == 0, found.stderr
    return {row["key"]: row for row in json.loads(found.stdout)}


def test_a_cron_tick_runs_the_asset_once(project: Path, clock: Clock, watch: Callable[[], WbProcess]) -> None:
    w = watch()
    assert len(records(project, "orders")) == 1  # the first pass made it
    clock.set("2026-11-20T06:00:30+00:00")
    w.expect(r"scheduled 06:00: running orders")
    w.expect(r"scheduled 06:00: success")
    w.expect(r"next: ")  # looked again: nothing more is due
    assert len(records(project, "orders")) == 2
    [tick] = [t for t in ticks(project) if t["key"] == "orders"]
    assert tick["outcome"] == "success" and tick["due_at"] == "2026-11-20T06:00:00+00:00" and tick["run_id"]
    assert records(project, "orders")[0]["run_id"] == tick["run_id"]
    assert sum("running orders" in line for line in w.seen) == 1


def test_a_closed_lid_runs_the_missed_ticks_once(project: Path, clock: Clock, watch: Callable[[], WbProcess]) -> None:
    w = watch()
    clock.set("2026-11-20T06:00:01+00:00")  # hourly ticks once at 06:00
    w.expect(r"scheduled 06:00: success")
    w.expect(r"next: ")
    before = len(records(project, "hourly"))
    clock.set("2026-11-20T11:30:00+00:00")  # the lid was closed over five hourly ticks
    w.expect(r"scheduled 11:00: running hourly")
    w.expect(r"next: ")
    assert len(records(project, "hourly")) == before + 1
    assert [t["due_at"] for t in ticks(project) if t["key"] == "hourly"] == [
        "2026-11-20T11:00:00+00:00", "2026-11-20T06:00:00+00:00"
    ]
    assert not any(f"scheduled {h:02d}:00" in line for line in w.seen for h in (7, 8, 9, 10))


def test_freshness_turns_overdue_then_fresh_after_a_run(project: Path, clock: Clock) -> None:
    assert run_wb(project, "materialize", "report").returncode == 0
    assert status(project)["report"]["overdue"] is False
    clock.set("2026-11-20T07:12:00+00:00")
    late = status(project)["report"]
    assert late["overdue"] is True and late["overdue_by"] == 12 * 60 and late["state"] == "fresh"
    text = run_wb(project, "status", "report")
    assert "overdue by 12m" in text.stdout
    w = WbProcess(project, "watch", "report")
    try:
        w.expect(r"overdue by 12m: running report")
        w.expect(r"overdue by 12m: success")
    finally:
        w.proc.terminate()
        w.proc.wait(timeout=TIMEOUT)
    assert status(project)["report"]["overdue"] is False
    [tick] = ticks(project)
    assert (tick["kind"], tick["reason"], tick["outcome"]) == ("freshness", "overdue by 12m", "success")
    assert run_wb(project, "doctor", "--rebuild").returncode == 0
    assert ticks(project) == [tick]  # the tick history is rebuilt from its JSON files too


def test_a_daily_schedule_targets_the_partition_that_just_closed(
    project: Path, clock: Clock, watch: Callable[[], WbProcess]
) -> None:
    clock.set("2026-11-21T00:05:00+00:00")
    w = watch()
    clock.set("2026-11-21T00:10:00+00:00")
    w.expect(r"scheduled 00:10 for 2026-11-20: running daily\[2026-11-20\]")
    w.expect(r"next: ")
    [tick] = [t for t in ticks(project) if t["key"] == "daily"]
    assert tick["partition"] == "2026-11-20" and tick["outcome"] == "success"
    made = [r for r in records(project, "daily") if r["run_id"] == tick["run_id"]]
    assert [r["partition"] for r in made] == ["2026-11-20"]


def test_observed_sources_trigger_exactly_their_downstream(
    project: Path, clock: Clock, watch: Callable[[], WbProcess]
) -> None:
    w = watch()
    counts = {key: len(records(project, key)) for key in ("from_bucket", "from_feed", "orders")}
    (project / "data" / "drop.csv").write_text("a,b\n1,2\n3,4\n")
    clock.set("2026-11-20T05:01:30+00:00")  # past the poll interval
    w.expect(rf"source file://{project}/data/drop.csv changed: success")
    w.expect(r"next: ")
    assert len(records(project, "from_bucket")) == counts["from_bucket"] + 1
    assert len(records(project, "from_feed")) == counts["from_feed"]
    (project / "data" / "feed_version.txt").write_text("v2")
    clock.set("2026-11-20T05:03:00+00:00")
    status(project)  # a look by another command may store v2 before the watcher looks: it must still run
    w.expect(r"source feed changed: running what reads feed")
    w.expect(r"source feed changed: success")
    assert len(records(project, "from_feed")) == counts["from_feed"] + 1
    assert len(records(project, "from_bucket")) == counts["from_bucket"] + 1
    assert len(records(project, "orders")) == counts["orders"]
    assert records(project, "from_feed")[0]["run_id"] == ticks(project)[0]["run_id"]


def test_two_watchers_never_run_one_tick_twice(project: Path, clock: Clock, watch: Callable[[], WbProcess]) -> None:
    first, second = watch(), watch()
    before = len(records(project, "orders"))
    clock.set("2026-11-20T06:00:30+00:00")
    for w in (first, second):
        w.expect(r"next: .*2026-11-20 07:00")  # both have looked past the tick
        w.proc.terminate()  # a running asset finishes and is recorded first
        assert w.proc.wait(timeout=TIMEOUT) == 0
    assert len(records(project, "orders")) == before + 1
    assert sum("running orders" in line for w in (first, second) for line in w.seen) == 1
    assert len([t for t in ticks(project) if t["key"] == "orders"]) == 1


def test_an_observed_source_that_fails_is_one_line_and_exit_3(tmp_path: Path, clock: Clock) -> None:
    root = tmp_path / "broken"
    write_files(root, {
        "pyproject.toml": '[tool.workbench]\nmodules = ["pipeline"]\n',
        "pipeline.py": """
            from workbench import asset, source

            def version() -> str:
                raise ConnectionError("api down")

            feed = source("feed", observe=version)

            @asset
            def use(feed: str) -> str:
                return feed
        """,
    })  # fmt: skip
    done = run_wb(root, "status")
    assert done.returncode == 3
    assert done.stderr.strip() == "error: source 'feed': version() raised ConnectionError: api down"
