"""Unit leases and run journals (`workbench/run/leases.py`): held while their process lives, no longer."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest
from workbench.storage.artifacts import ArtifactStore, RecordProblem
from workbench.storage.memory import InMemoryMetadataStore
from workbench.storage.run_log import line

from workbench.core.records import SUCCESS, CheckRecord, Materialization, utcnow
from workbench.errors import StoreError
from workbench.run.leases import Leases, RunJournal, recover, store_lock

HOLD = """
import sys, time
from pathlib import Path
from workbench.run.leases import Leases
lease = Leases(Path(sys.argv[1])).acquire("a[eu]")
print("held" if lease else "busy", flush=True)
time.sleep(60)
"""


def record(id: str) -> Materialization:
    now = utcnow()
    return Materialization(id=id, asset_key="a", status=SUCCESS, code_version="c", run_id="r", trigger="cli",
                           started_at=now, ended_at=now, data_version="ab" * 16)  # fmt: skip


def check_record(id: str) -> CheckRecord:
    now = utcnow()
    return CheckRecord(id=id, check_key="a:positive", asset_key="a", partition="", passed=True, blocking=False,
                       asset_data_version="ab" * 16, code_version="c", run_id="r", started_at=now, ended_at=now)  # fmt: skip


def test_a_lease_excludes_everyone_else_until_its_process_dies(tmp_path: Path) -> None:
    holder = subprocess.Popen([sys.executable, "-c", HOLD, str(tmp_path)], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        leases = Leases(tmp_path)
        assert leases.acquire("a[eu]") is None
        assert leases.acquire("a[us]") is not None  # another unit is free
    finally:
        holder.kill()  # SIGKILL: no cleanup runs
        holder.wait()
    deadline = time.monotonic() + 5
    while (lease := Leases(tmp_path).acquire("a[eu]")) is None and time.monotonic() < deadline:
        time.sleep(0.01)
    assert lease is not None


def test_two_holders_in_one_process_exclude_each_other_and_release_is_idempotent(tmp_path: Path) -> None:
    first = Leases(tmp_path).acquire("a")
    assert first is not None and Leases(tmp_path).acquire("a") is None
    first.release()
    first.release()
    assert Leases(tmp_path).acquire("a") is not None


def test_the_next_holder_learns_the_record_and_garbage_teaches_nothing(tmp_path: Path) -> None:
    leases = Leases(tmp_path)
    lease = leases.acquire("a")
    assert lease is not None and lease.noted() is None
    lease.note("id-" + "x" * 40, "records/a/long.json")
    lease.release()
    lease = leases.acquire("a")
    assert lease is not None and lease.noted() == ("id-" + "x" * 40, "records/a/long.json")
    lease.note("id2", "records/a/b.json")  # shorter than the note it replaces
    lease.release()
    lease = leases.acquire("a")
    assert lease is not None and lease.noted() == ("id2", "records/a/b.json")
    lease.release()
    with open(tmp_path / "notes.jsonl", "ab") as f:  # garbage lines, and one cut short
        f.write(b'{"unit": "a", "id": 3, "uri": null}\n[1, 2]\n\x00\xff\n{"unit": "a", "id": "x", "uri": ')
    lease = Leases(tmp_path).acquire("a")  # another process's view, from the start of the file
    assert lease is not None and lease.noted() == ("id2", "records/a/b.json")
    lease.release()


def test_notes_are_followed_across_processes_and_forgotten_when_no_run_is_going_on(tmp_path: Path) -> None:
    mine, theirs = Leases(tmp_path), Leases(tmp_path)
    lease = theirs.acquire("a")
    assert lease is not None and mine.noted("a") is None
    lease.note("r1", "logs/x.jsonl")
    assert mine.noted("a") == ("r1", "logs/x.jsonl")  # read from where it last read
    lease.release()
    with store_lock(tmp_path, exclusive=False):  # a run is going on: its notes stay
        Leases(tmp_path).forget_if_alone()
        assert Leases(tmp_path).noted("a") == ("r1", "logs/x.jsonl")
    Leases(tmp_path).forget_if_alone()
    assert not (tmp_path / "notes.jsonl").exists() and mine.noted("a") is None


DIE_WITH_A_JOURNAL = """
import os, signal, sys
from pathlib import Path
from workbench.run.leases import RunJournal
from workbench.core.records import Materialization, utcnow
from workbench.storage.artifacts import ArtifactStore

def record(id):
    return Materialization(id=id, asset_key="a", status="success", code_version="c", run_id="r", trigger="cli",
                           started_at=utcnow(), ended_at=utcnow(), data_version="ab" * 16)

artifacts = ArtifactStore(sys.argv[1] + "/artifacts")
journal = RunJournal(Path(sys.argv[1]) / "journal", "dead")
journal.wrote([artifacts.write_record(record("r1")), artifacts.write_record(record("r2")), "records/a/gone.json"])
journal.indexed([])
os.kill(os.getpid(), signal.SIGKILL)  # before the index write
"""


def test_a_dead_runs_journal_is_indexed_and_a_live_one_is_left_alone(tmp_path: Path) -> None:
    artifacts = ArtifactStore(str(tmp_path / "artifacts"))
    metadata = InMemoryMetadataStore()
    folder = tmp_path / "journal"
    live = RunJournal(folder, "live")
    uri = artifacts.write_record(record("r-live"))
    live.wrote([uri])
    dead = subprocess.run([sys.executable, "-c", DIE_WITH_A_JOURNAL, str(tmp_path)], capture_output=True, text=True, timeout=60)
    assert dead.returncode == -9, dead.stderr

    assert recover(folder, artifacts, metadata) == 2  # the missing third record is skipped
    assert {m.id for m in metadata.history("a")} == {"r1", "r2"}
    assert sorted(p.name for p in folder.iterdir()) == ["live"]
    live.indexed([uri])
    live.close()
    assert list(folder.iterdir()) == []


def test_a_journal_stays_until_every_record_it_lists_is_indexed(tmp_path: Path) -> None:
    artifacts = ArtifactStore(str(tmp_path / "artifacts"))
    metadata = InMemoryMetadataStore()
    folder = tmp_path / "journal"
    journal = RunJournal(folder, "run")
    good, bad = artifacts.write_record(record("r1")), artifacts.write_record(record("r2"))
    journal.wrote([good, bad, "records/a/gone.json"])
    journal.close()  # nothing indexed: as a run whose index write failed leaves it
    text = artifacts.read_text(bad)
    (tmp_path / "artifacts" / bad).write_text(text[:20])  # unreadable for now: a torn copy, a flaky store

    assert recover(folder, artifacts, metadata) == 1
    assert (folder / "run").read_text().split() == [bad]  # kept, listing only what is not indexed yet
    (tmp_path / "artifacts" / bad).write_text(text)
    assert recover(folder, artifacts, metadata) == 1
    assert list(folder.iterdir()) == []
    assert {m.id for m in metadata.history("a")} == {"r1", "r2"}


def test_a_dead_runs_log_is_indexed_but_for_its_cut_short_last_line(tmp_path: Path) -> None:
    artifacts = ArtifactStore(str(tmp_path / "artifacts"))
    metadata = InMemoryMetadataStore()
    folder = tmp_path / "journal"
    journal = RunJournal(folder, "run")
    log = artifacts.open_log("run", utcnow())
    assert log is not None
    journal.wrote([log.uri, "logs/19700101T000000000000-gone.jsonl"])
    log.append(record("r1"))
    log.append(record("r2"), [check_record("c1")])
    log.close()
    with open(tmp_path / "artifacts" / log.uri, "ab") as f:
        f.write(line(record("r3")).encode()[:-30])  # killed while it appended r3
    journal.close()  # as a killed run leaves it: its log named, nothing indexed

    assert recover(folder, artifacts, metadata) == 3  # r1, r2 and the check result; the missing log is dropped
    assert {m.id for m in metadata.history("a")} == {"r1", "r2"}
    assert [c.id for c in metadata.check_history("a")] == ["c1"]
    assert list(folder.iterdir()) == []
    assert artifacts.read_record(log.uri, "r2").id == "r2"  # what a lease's next holder reads
    with pytest.raises(StoreError, match="not in the run log"):
        artifacts.read_record(log.uri, "r3")
    assert not [p for p in artifacts.iter_records() if isinstance(p, RecordProblem)]  # a cut-short last line is no problem


HOLDER = """
import sys
from pathlib import Path
from workbench.run.leases import Leases
lease = Leases(Path(sys.argv[1])).acquire("a[eu]")
lease.hold("watch", "run1")
print("holding", flush=True)
sys.stdin.readline()
lease.release()
print("released", flush=True)
sys.stdin.readline()
"""


def test_a_holder_says_who_runs_the_unit_until_it_releases_or_dies(tmp_path: Path) -> None:
    leases = Leases(tmp_path)
    first = leases.acquire("a[eu]")
    assert first is not None
    first.note("rec1", "records/a/rec1.json")
    first.release()

    other = subprocess.Popen([sys.executable, "-c", HOLDER, str(tmp_path)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    assert other.stdin is not None and other.stdout is not None
    try:
        assert other.stdout.readline().strip() == "holding"
        holder = leases.holders().get("a[eu]")
        assert holder is not None and (holder.pid, holder.trigger, holder.run_id) == (other.pid, "watch", "run1")
        assert str(holder) == f"pid {other.pid} (watch)" and list(leases.holders()) == ["a[eu]"]
        other.stdin.write("\n")
        other.stdin.flush()
        assert other.stdout.readline().strip() == "released"
        assert leases.holders() == {}  # released: no holder, while its process still lives
        lease = leases.acquire("a[eu]")
        assert lease is not None and lease.noted() == ("rec1", "records/a/rec1.json")  # the note survives holding
        lease.release()
    finally:
        other.kill()
        other.wait()


def test_a_holder_is_not_shown_once_its_process_died(tmp_path: Path) -> None:
    other = subprocess.Popen([sys.executable, "-c", HOLDER, str(tmp_path)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    assert other.stdout is not None
    assert other.stdout.readline().strip() == "holding"
    other.kill()  # SIGKILL: the holder's note stays in the file
    other.wait()
    assert Leases(tmp_path).holders() == {}
