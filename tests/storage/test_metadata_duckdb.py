"""What only the DuckDB store does: schema and version, damaged files, locks held by other processes."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path

import duckdb
import pytest
from workbench.storage.base import SCHEMA_VERSION
from workbench.storage.metadata import DuckDBMetadataStore
from workbench.storage.rows import ALIAS_EVENTS, CHECKS, MATERIALIZATIONS, OBSERVATIONS, RUNS, TICKS
from workbench.storage.schema import TABLES, UPGRADES

from workbench.core.records import Materialization
from workbench.errors import StoreBusyError, StoreError

MakeRecord = Callable[..., Materialization]

HOLD_LOCK = """
import sys, time, duckdb
conn = duckdb.connect(sys.argv[1])
conn.execute("CHECKPOINT")
print("locked", flush=True)
time.sleep(float(sys.argv[2]))
conn.close()
"""


@contextmanager
def lock_held_elsewhere(path: Path, seconds: float) -> Iterator[subprocess.Popen[str]]:
    """Another process opens the file read-write (taking DuckDB's lock) for `seconds`."""
    proc = subprocess.Popen(
        [sys.executable, "-c", HOLD_LOCK, str(path), str(seconds)], stdout=subprocess.PIPE, text=True
    )
    try:
        assert proc.stdout is not None and proc.stdout.readline().strip() == "locked"
        yield proc
    finally:
        proc.kill()
        proc.wait()


def test_first_use_creates_folder_schema_and_version(tmp_path: Path) -> None:
    path = tmp_path / "deep" / "home" / "metadata.duckdb"
    assert DuckDBMetadataStore(path).count() == 0
    with duckdb.connect(str(path), read_only=True) as conn:  # the store keeps no lock between calls
        assert conn.execute("SELECT value FROM schema_meta WHERE key = 'schema_version'").fetchall() == [
            (str(SCHEMA_VERSION),)
        ]
        tables = {row[0] for row in conn.execute("SELECT table_name FROM duckdb_tables()").fetchall()}
    assert tables == {
        "materializations", "runs", "source_observations", "alias_events", "check_results", "ticks", "schema_meta"
    }


def test_sqlmodel_tables_match_the_domain_values() -> None:
    assert len(UPGRADES) == SCHEMA_VERSION - 1
    columns = {table.name: [column.name for column in table.columns] for table in TABLES}
    for codec in (MATERIALIZATIONS, RUNS, OBSERVATIONS, ALIAS_EVENTS, CHECKS, TICKS):
        assert sorted(columns[codec.table]) == sorted(codec.names)


def test_an_empty_duckdb_file_is_migrated(tmp_path: Path, make_record: MakeRecord) -> None:
    path = tmp_path / "metadata.duckdb"
    duckdb.connect(str(path)).close()
    store = DuckDBMetadataStore(path)
    store.add(make_record("r1"))
    assert store.count() == 1


def test_add_ignores_a_stored_id_and_raises_on_any_other_constraint(tmp_path: Path, make_record: MakeRecord) -> None:
    store = DuckDBMetadataStore(tmp_path / "metadata.duckdb")
    store.add(make_record("r1"))
    store.add(make_record("r1", key="other"))  # the same id again: the first record stays
    found = store.get("r1")
    assert found is not None and found.asset_key == make_record("r1").asset_key
    with pytest.raises(StoreError, match="rejected a value.*NOT NULL"):
        store.add(replace(make_record("r2"), asset_key=None))  # type: ignore[arg-type]
    assert store.count() == 1


def test_a_newer_schema_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "metadata.duckdb"
    DuckDBMetadataStore(path).count()
    with duckdb.connect(str(path)) as conn:
        conn.execute("UPDATE schema_meta SET value = '99' WHERE key = 'schema_version'")
    with pytest.raises(StoreError, match="schema version 99"):
        DuckDBMetadataStore(path).count()


@pytest.mark.parametrize("damage", ["garbage", "truncated"])
def test_a_damaged_file_points_at_doctor_rebuild(tmp_path: Path, make_record: MakeRecord, damage: str) -> None:
    path = tmp_path / "metadata.duckdb"
    if damage == "garbage":
        path.write_bytes(b"\x00not a database\xff" * 4096)
    else:
        store = DuckDBMetadataStore(path)
        store.add_many([make_record(f"r{i}") for i in range(100)])
        path.write_bytes(path.read_bytes()[:5000])
    with pytest.raises(StoreError, match=r"wb doctor --rebuild") as info:
        DuckDBMetadataStore(path).latest()
    assert str(path) in str(info.value) and not isinstance(info.value, StoreBusyError)


def test_damage_found_later_is_a_store_error_too(tmp_path: Path, make_record: MakeRecord) -> None:
    path = tmp_path / "metadata.duckdb"
    store = DuckDBMetadataStore(path)
    store.add(make_record("r1"))
    path.write_bytes(b"garbage" * 1000)
    for call in (store.count, store.latest, lambda: store.add(make_record("r2")), lambda: store.history("a")):
        with pytest.raises(StoreError, match="wb doctor --rebuild"):
            call()


def test_a_briefly_held_lock_is_waited_out(tmp_path: Path, make_record: MakeRecord) -> None:
    path = tmp_path / "metadata.duckdb"
    store = DuckDBMetadataStore(path)
    store.add(make_record("r1"))
    with lock_held_elsewhere(path, 1.0):
        started = time.monotonic()
        store.add(make_record("r2"))
        assert store.count() == 2
    assert time.monotonic() - started > 0.3


def test_a_lock_held_too_long_raises_store_busy(tmp_path: Path) -> None:
    path = tmp_path / "metadata.duckdb"
    store = DuckDBMetadataStore(path, busy_timeout=0.5)
    store.count()
    with lock_held_elsewhere(path, 30):
        started = time.monotonic()
        with pytest.raises(StoreBusyError, match="locked by another process"):
            store.latest()
        assert 0.4 < time.monotonic() - started < 5


def test_the_file_is_released_after_every_call(tmp_path: Path, make_record: MakeRecord) -> None:
    path = tmp_path / "metadata.duckdb"
    store = DuckDBMetadataStore(path)
    store.add(make_record("r1"))
    store.latest()
    with pytest.raises(StoreError):
        store.add_many([make_record("r2", started_at="not a time")])
    with duckdb.connect(str(path)) as conn:  # would fail if this process still held the file
        assert conn.execute("SELECT count(*) FROM materializations").fetchall() == [(1,)]


def test_a_version_1_store_is_migrated(tmp_path: Path) -> None:
    path = tmp_path / "metadata.duckdb"
    fixture = Path(__file__).with_name("fixtures") / "schema_v1.sql"
    with duckdb.connect(str(path)) as conn:
        conn.execute(fixture.read_text())
    store = DuckDBMetadataStore(path)
    old = store.get("old1")
    assert old is not None and old.input_versions == {"raw": "0011"} and old.metrics == {"rows": 10.0}
    assert store.aliases() == [] and store.latest_checks() == {}
    with duckdb.connect(str(path), read_only=True) as conn:
        assert conn.execute("SELECT value FROM schema_meta WHERE key = 'schema_version'").fetchone() == (
            str(SCHEMA_VERSION),
        )


def test_a_version_4_store_gets_the_check_log_columns(tmp_path: Path) -> None:
    path = tmp_path / "metadata.duckdb"
    DuckDBMetadataStore(path).count()
    with duckdb.connect(str(path)) as conn:  # back to the version-4 layout of check_results, with one old row
        conn.execute("DROP INDEX ix_check_results_asset")
        conn.execute("ALTER TABLE check_results DROP COLUMN log")
        conn.execute("ALTER TABLE check_results DROP COLUMN traceback")
        conn.execute("CREATE INDEX ix_check_results_asset ON check_results (asset_key)")
        conn.execute(
            "INSERT INTO check_results VALUES ('c1', 'a:ok', 'a', '', true, false, 'v1', 'code', 'run',"
            " '2026-01-01 00:00:00+00', '2026-01-01 00:00:01+00', '{}', NULL)"
        )
        conn.execute("UPDATE schema_meta SET value = '4' WHERE key = 'schema_version'")
    (found,) = DuckDBMetadataStore(path).latest_checks().values()
    assert (found.id, found.passed, found.log, found.traceback) == ("c1", True, "", None)


def test_a_long_query_prints_no_progress_bar(tmp_path: Path) -> None:
    """DuckDB draws a progress bar on stdout for a query past 2 s, over a command's `--json` output."""
    store = DuckDBMetadataStore(tmp_path / "metadata.duckdb")
    with store._session() as conn:  # noqa: SLF001 - the session every store operation runs in
        row = conn.execute("SELECT current_setting('enable_progress_bar')").fetchone()
    assert row is not None and row[0] is False
