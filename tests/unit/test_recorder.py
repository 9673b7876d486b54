"""The run's recorder: records queued by jobs while the scheduling thread writes the index are
indexed by the next flush, never dropped (jobs settle in their own threads)."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from pathlib import Path
from types import SimpleNamespace

import pytest
from workbench.storage.artifacts import ArtifactStore
from workbench.storage.memory import InMemoryMetadataStore

from workbench.core.records import SUCCESS, Materialization, Run, utcnow
from workbench.run.executor import Done, _Recorder
from workbench.run.leases import RunJournal


class Index(InMemoryMetadataStore):
    """An index whose next write first runs `during` (a job queueing a record meanwhile)."""

    def __init__(self) -> None:
        super().__init__()
        self.during: list[Callable[[], None]] = []
        self.fail = False

    def add_many(self, ms: Sequence[Materialization]) -> int:
        while self.during:
            self.during.pop()()
        if self.fail:
            raise OSError("index busy")
        return super().add_many(ms)


def record(rid: str) -> Materialization:
    now = utcnow()
    return Materialization(id=rid, asset_key=rid, status=SUCCESS, code_version="c", run_id="r1", trigger="cli", started_at=now, ended_at=now)


@pytest.mark.parametrize("local", [True, False], ids=["run log", "file per record"])
def test_a_record_queued_while_the_index_is_written_is_indexed_next(tmp_path: Path, local: bool) -> None:
    index = Index()
    artifacts = ArtifactStore(str(tmp_path / "artifacts") if local else "memory://recorder-test")
    recorder = _Recorder(SimpleNamespace(artifacts=artifacts, metadata=index), RunJournal(tmp_path / "journal", "r1"), Run("r1", "cli", "", utcnow()))  # type: ignore[arg-type]

    def job(rid: str) -> None:
        recorder.add(recorder.write(Done(record(rid))))

    job("first")
    index.during.append(lambda: job("second"))
    recorder.flush()
    assert [m.id for m in index.history("first")] == ["first"] and index.history("second") == []
    recorder.flush()
    assert [m.id for m in index.history("second")] == ["second"]
    recorder.close()
    assert not (tmp_path / "journal" / "r1").exists()  # every record indexed: nothing left to recover


def test_a_failed_index_write_keeps_the_records_for_the_next_flush(tmp_path: Path) -> None:
    index = Index()
    recorder = _Recorder(SimpleNamespace(artifacts=ArtifactStore(str(tmp_path / "artifacts")), metadata=index), RunJournal(tmp_path / "journal", "r1"), Run("r1", "cli", "", utcnow()))  # type: ignore[arg-type]
    recorder.add(recorder.write(Done(record("kept"))))
    index.fail = True
    with pytest.raises(OSError):
        recorder.flush()
    index.fail = False
    recorder.flush()
    assert [m.id for m in index.history("kept")] == ["kept"]


def test_a_slow_index_write_is_made_less_often(tmp_path: Path) -> None:
    """Records wait `interval` for the index, or longer once a write took long: writing the index
    takes at most `COST_SHARE` of the run (a big store's checkpoint, while many jobs run)."""
    index = Index()
    recorder = _Recorder(SimpleNamespace(artifacts=ArtifactStore(str(tmp_path / "artifacts")), metadata=index), RunJournal(tmp_path / "journal", "r1"), Run("r1", "cli", "", utcnow()), interval=0.05)  # type: ignore[arg-type]
    recorder.add(recorder.write(Done(record("fast"))))
    time.sleep(0.06)
    recorder.flush(due_only=True)  # a quick write: due after the interval
    assert [m.id for m in index.history("fast")] == ["fast"]
    recorder.add(recorder.write(Done(record("slow"))))
    index.during.append(lambda: time.sleep(0.1))
    time.sleep(0.06)
    recorder.flush(due_only=True)  # written, in 0.1 s: the next is due 0.1 / COST_SHARE = 2 s after its oldest record
    assert [m.id for m in index.history("slow")] == ["slow"]
    recorder.add(recorder.write(Done(record("waits"))))
    time.sleep(0.2)
    recorder.flush(due_only=True)
    assert index.history("waits") == []
    recorder.flush()  # the end of the run writes what is queued, due or not
    assert [m.id for m in index.history("waits")] == ["waits"]
    recorder.close()


def test_a_record_waits_ten_seconds_at_most_for_the_index(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """However long the last write took (it may have waited for another process's lock), the next
    is due `_INDEX_WAIT` after its oldest record at the latest: other processes see the run."""
    import workbench.run.executor as executor

    monkeypatch.setattr(executor, "_INDEX_WAIT", 0.1)
    index = Index()
    recorder = _Recorder(SimpleNamespace(artifacts=ArtifactStore(str(tmp_path / "artifacts")), metadata=index), RunJournal(tmp_path / "journal", "r1"), Run("r1", "cli", "", utcnow()), interval=0.05)  # type: ignore[arg-type]
    recorder.took = 60.0  # a write that waited a minute: 1,200 s by the cost rule alone
    recorder.add(recorder.write(Done(record("capped"))))
    time.sleep(0.15)
    recorder.flush(due_only=True)
    assert [m.id for m in index.history("capped")] == ["capped"]
    recorder.close()
