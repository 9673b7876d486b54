"""A damaged store: a clear message that names the problem and the fix, never a traceback; `wb doctor` repairs.

Most commands run in-process through the CLI's own `main()` (`wbcall.py`); `run_wb` checks the
real console script where it matters.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from tests.conftest import run_wb
from wbcall import Wb

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


def test_a_corrupt_json_record_is_rewritten_from_the_index(project: Path, wb: Wb) -> None:
    (record,) = (home(project) / "artifacts" / "records" / "b").glob("*.json")
    record.write_text('{"id": "x", "asset_key": ')
    code, out, _ = wb(project, "doctor")
    assert code == 0 and "rewrote the unreadable record records/b/" in out
    assert record.read_text().startswith("{") and '"asset_key": "b"' in record.read_text()
    assert wb(project, "doctor")[1].count("repaired") == 0


def test_a_corrupt_record_the_index_lacks_is_named_with_the_fix(project: Path, wb: Wb) -> None:
    (record,) = (home(project) / "artifacts" / "records" / "b").glob("*.json")
    record.write_bytes(b"\x00\xff garbage")
    (home(project) / "metadata.duckdb").write_bytes(b"not a database")
    code, out, _ = wb(project, "doctor", "--rebuild")
    assert code == 1
    assert f"unreadable record records/b/{record.name}" in out and "delete it, or put back a copy" in out
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
    assert any(p.suffix == ".pyc" for p in caches)  # the hash-checked bytecode is garbled too
    for cache in caches:
        cache.write_bytes(os.urandom(100))
    assert states(wb, project) == {"a": "fresh", "b": "fresh", "c": "fresh"}
    assert not (journals / "deadbeef").exists()  # read (nothing usable), then removed
    assert wb(project, "materialize", "--force")[0] == 0
    assert wb(project, "doctor")[0] == 0
