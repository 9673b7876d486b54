"""A damaged store: a clear message that names the problem and the fix, never a traceback; `wb doctor` repairs.

Most commands run in-process through the CLI's own `main()` (`wbcall.py`); `run_wb` checks the
real console script where it matters.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from wbcall import Wb
from workbench.storage.artifacts import ArtifactStore, RecordProblem

from tests.conftest import run_wb
from workbench.core.records import Materialization

PIPELINE = """
from workbench import asset


@asset
def a() -> bytes:
    return b"a" * 1000


@asset
def b(a: bytes) -> dict:
    return {"n": len(a)}


@asset
def c(b: dict) -> bytes:
    return str(b).encode()
"""

@pytest.fixture
def project(make_project, wb: Wb) -> Path:  # type: ignore[no-untyped-def]
    root = make_project({"pipeline.py": PIPELINE})
    assert wb(root, "materialize")[0] == 0
    return root


def home(project: Path) -> Path:
    return project / ".workbench"


def one_line_error(err: str, *words: str) -> None:
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), err
    for word in words:
        assert word in lines[0], err


def states(wb: Wb, project: Path) -> dict[str, str]:
    code, out, _ = wb(project, "status", "--json")
    assert code == 0
    return {row["key"]: row["state"] for row in json.loads(out)}


@pytest.mark.parametrize("damage", ["truncated", "garbage"])
def test_a_damaged_index_names_the_fix_and_rebuild_restores_it(project: Path, wb: Wb, damage: str) -> None:
    db = home(project) / "metadata.duckdb"
    if damage == "truncated":
        os.truncate(db, db.stat().st_size // 3)
    else:
        db.write_bytes(os.urandom(64 * 1024))

    real = run_wb(project, "status")  # the console script itself: one line, exit 3 (the store)
    assert real.returncode == 3
    one_line_error(real.stderr, "metadata.duckdb", "damaged", "wb doctor --rebuild")
    for args in (["history", "a"], ["materialize"], ["show", "b"]):
        code, _, err = wb(project, *args)
        assert code == 3
        one_line_error(err, "wb doctor --rebuild")
    code, out, _ = wb(project, "doctor")
    assert code == 1 and "wb doctor --rebuild" in out

    code, out, _ = wb(project, "doctor", "--rebuild")
    assert code == 0 and "rebuilt metadata.duckdb: 3 record(s)" in out and "store is healthy" in out
    assert states(wb, project) == {"a": "fresh", "b": "fresh", "c": "fresh"}
    assert "success" in wb(project, "history", "a")[1]


def test_a_garbage_write_ahead_log_is_ignored(project: Path, wb: Wb) -> None:
    (home(project) / "metadata.duckdb.wal").write_bytes(os.urandom(4096))
    assert states(wb, project) == {"a": "fresh", "b": "fresh", "c": "fresh"}
    assert wb(project, "doctor")[0] == 0


def log_line(project: Path, key: str) -> tuple[Path, int]:
    """The run log (one run made a, b and c) and the number of the line holding `key`'s record."""
    (log,) = (home(project) / "artifacts" / "logs").glob("*.jsonl")
    lines = log.read_bytes().split(b"\n")
    return log, next(n for n, text in enumerate(lines, 1) if text and json.loads(text)["materialization"]["asset_key"] == key)


def damage_line(project: Path, key: str, garbage: bytes) -> str:
    """Replace `key`'s line of the log; returns the uri doctor names it by."""
    log, number = log_line(project, key)
    lines = log.read_bytes().split(b"\n")
    lines[number - 1] = garbage
    log.write_bytes(b"\n".join(lines))
    return f"logs/{log.name}:{number}"


def as_record_file(project: Path, key: str) -> Path:
    """Move `key`'s record out of the run log into a record file of its own (as pods and sync write)."""
    log, number = log_line(project, key)
    lines = log.read_bytes().split(b"\n")
    record = Materialization.from_json(json.dumps(json.loads(lines.pop(number - 1))["materialization"]))
    log.write_bytes(b"\n".join(lines))
    uri = ArtifactStore(str(home(project) / "artifacts")).write_record(record)
    return home(project) / "artifacts" / uri


def test_a_corrupt_json_record_is_rewritten_from_the_index(project: Path, wb: Wb) -> None:
    record = as_record_file(project, "b")
    record.write_text('{"id": "x", "asset_key": ')
    code, out, _ = wb(project, "doctor")
    assert code == 0 and "rewrote the unreadable record records/b/" in out
    assert json.loads(record.read_text())["asset_key"] == "b"
    assert wb(project, "doctor")[1].count("repaired") == 0


def test_a_corrupt_run_log_line_is_rewritten_from_the_index(project: Path, wb: Wb) -> None:
    uri = damage_line(project, "b", b'{"materialization": {"id": "x", "asset_key": ')
    code, out, _ = wb(project, "doctor")
    assert code == 0 and f"rewrote 1 unreadable record(s) of {uri.rsplit(':', 1)[0]} from the index" in out
    store = ArtifactStore(str(home(project) / "artifacts"))
    assert sorted(r.asset_key for r in store.iter_records() if isinstance(r, Materialization)) == ["a", "b", "c"]
    assert not [r for r in store.iter_records() if isinstance(r, RecordProblem)]
    assert wb(project, "doctor")[1].count("repaired") == 0
    (home(project) / "metadata.duckdb").unlink()  # the log alone rebuilds the index, b included
    assert states(wb, project) == {"a": "fresh", "b": "fresh", "c": "fresh"}


@pytest.mark.parametrize("where", ["log", "file"])
def test_a_corrupt_record_the_index_lacks_is_named_with_the_fix(project: Path, wb: Wb, where: str) -> None:
    if where == "file":
        record = as_record_file(project, "b")
        record.write_bytes(b"\x00\xff garbage")
        uri = f"records/b/{record.name}"
    else:
        uri = damage_line(project, "b", b"\x00\xff garbage")
    (home(project) / "metadata.duckdb").write_bytes(b"not a database")
    code, out, _ = wb(project, "doctor", "--rebuild")
    assert code == 1
    assert f"unreadable record {uri}" in out and "delete it, or put back a copy" in out
    assert "rebuilt metadata.duckdb: 2 record(s)" in out
    assert states(wb, project) == {"a": "fresh", "b": "missing", "c": "stale"}
    assert wb(project, "materialize")[0] == 0  # the lost version is simply built again
    assert states(wb, project) == {"a": "fresh", "b": "fresh", "c": "fresh"}


def test_a_missing_artifact_is_stale_named_and_rebuilt(project: Path, wb: Wb) -> None:
    version = json.loads(wb(project, "status", "a", "--json")[1])[0]["data_version"]
    (home(project) / "artifacts" / "objects" / version[:2] / f"{version}.bin").unlink()
    code, out, _ = wb(project, "status", "--json")
    reasons = {row["key"]: row["reasons"] for row in json.loads(out)}
    assert code == 0 and reasons["a"] == [f"artifact missing (objects/{version[:2]}/{version}.bin)"]
    assert reasons["b"] == ["upstream a stale"]
    code, _, err = wb(project, "show", "a")
    assert code == 3
    one_line_error(err, "artifact objects/", "is missing", "wb doctor", "wb materialize a")
    code, out, _ = wb(project, "doctor")
    assert code == 1 and "is missing (rerun: wb materialize a --force)" in out
    code, _, err = wb(project, "materialize")  # rebuilds `a`; b and c are cut off (identical bytes)
    assert code == 0 and "materialized 1" in err
    assert wb(project, "doctor")[0] == 0
    assert states(wb, project) == {"a": "fresh", "b": "fresh", "c": "fresh"}


def test_garbage_in_lock_journal_and_cache_files_is_harmless(project: Path, wb: Wb) -> None:
    for lock in (home(project) / "locks").iterdir():
        lock.write_bytes(os.urandom(100))
    journals = home(project) / "journal"
    journals.mkdir(exist_ok=True)
    (journals / "deadbeef").write_text("records/../../etc/passwd\nnot a uri\n\x00\xff\n")
    caches = [p for p in (home(project) / "cache").rglob("*") if p.is_file()]
    assert caches  # code versions, kept status rows (the signed bytecode lives in the user's cache folder)
    for cache in caches:
        cache.write_bytes(os.urandom(100))
    assert states(wb, project) == {"a": "fresh", "b": "fresh", "c": "fresh"}
    assert not (journals / "deadbeef").exists()  # read (nothing usable), then removed
    assert wb(project, "materialize", "--force")[0] == 0
    assert wb(project, "doctor")[0] == 0


RICH = """
from workbench import StaticPartitions, asset, check


@asset
def a() -> dict:
    return {"a": 1}


@asset(partitions=StaticPartitions(["eu", "us"]))
def b(a: dict, partition: str) -> dict:
    return {"b": partition}


@check(asset="a", blocking=True)
def positive(a: dict) -> bool:
    return a["a"] > 0
"""


@pytest.mark.parametrize("loss", ["deleted", "replaced by an empty one"])
def test_a_lost_index_is_rebuilt_from_the_records_by_the_next_command(make_project, loss: str) -> None:  # type: ignore[no-untyped-def]
    from workbench.storage.metadata import DuckDBMetadataStore

    root = make_project({"pipeline.py": RICH})
    assert run_wb(root, "materialize").returncode == 0
    assert run_wb(root, "alias", "set", "a@latest", "champion").returncode == 0
    db = home(root) / "metadata.duckdb"
    db.unlink()
    if loss != "deleted":
        assert DuckDBMetadataStore(db).count() == 0  # e.g. a tool opened the path and made a new file

    status = run_wb(root, "status", "--json")
    assert status.returncode == 0, status.stderr
    assert "was missing or behind the JSON records; indexed 3 record(s), 1 check result(s) and 1 alias event(s)" in status.stderr
    rows = {row["key"]: row for row in json.loads(status.stdout)}
    assert {k: r["state"] for k, r in rows.items()} == {"a": "fresh", "b": "fresh"}
    assert rows["a"]["checks"] == [{"name": "positive", "state": "passed", "blocking": True}]
    again = run_wb(root, "materialize", "--json")
    assert json.loads(again.stdout)["materialized"] == [] and again.stderr == ""  # said once, then nothing to do
    assert len(json.loads(run_wb(root, "history", "b", "--json").stdout)) == 2
    assert [a["name"] for a in json.loads(run_wb(root, "alias", "list", "--json").stdout)] == ["champion"]
    doctor = run_wb(root, "doctor")
    assert doctor.returncode == 0 and "repaired" not in doctor.stdout, doctor.stdout


def test_doctor_counts_what_it_indexed_consistently(make_project) -> None:  # type: ignore[no-untyped-def]
    root = make_project({"pipeline.py": RICH})
    assert run_wb(root, "materialize").returncode == 0
    assert run_wb(root, "alias", "set", "a@latest", "champion").returncode == 0
    (home(root) / "metadata.duckdb").unlink()
    doctor = run_wb(root, "doctor")  # doctor does the indexing itself, and says so once
    assert doctor.returncode == 0, doctor.stdout
    lines = [" ".join(line.split()) for line in doctor.stdout.splitlines()]
    assert lines[:3] == [
        "ok 3 JSON record(s) read from " + str(home(root) / "artifacts"),
        "repaired indexed 3 record(s), 1 check result(s) and 1 alias event(s) that the index was missing",
        f"ok the metadata index {home(root) / 'metadata.duckdb'} holds 3 record(s)",
    ]
    again = run_wb(root, "doctor")
    assert "repaired" not in again.stdout and "holds 3 record(s)" in " ".join(again.stdout.split())
    help = " ".join(run_wb(root, "doctor", "--help").stdout.split())
    assert "Plain `doctor` indexes the JSON records" in help and "`--rebuild` is for a damaged index file" in help
