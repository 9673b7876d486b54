"""Schema evolution under crashes: a store of the old layout survives a kill in mid-migration.

The old layout is the fixture `tests/storage/fixtures/schema_v1.sql` (its plain migration is
`tests/storage/test_metadata_duckdb.py::test_a_version_1_store_is_migrated`). Here a process is
killed after every upgrade step ran but before the migration committed: the file must still be a
whole version-1 store, and the next command migrates it and shows the old record.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import duckdb
from workbench.storage.base import SCHEMA_VERSION

from tests.conftest import REPO, run_wb

FIXTURE = REPO / "tests" / "storage" / "fixtures" / "schema_v1.sql"
KILLED_MID_MIGRATION = """
import os, signal, sys
from workbench.storage import schema
from workbench.storage.metadata import DuckDBMetadataStore

last = schema.UPGRADES[-1]
def killed(conn):  # the last upgrade step runs, then the process dies before COMMIT
    last(conn)
    os.kill(os.getpid(), signal.SIGKILL)
schema.UPGRADES = (*schema.UPGRADES[:-1], killed)
DuckDBMetadataStore(sys.argv[1]).count()
"""


def version(path: Path) -> str:
    with duckdb.connect(str(path), read_only=True) as conn:
        row = conn.execute("SELECT value FROM schema_meta WHERE key = 'schema_version'").fetchone()
    return str(row[0]) if row else ""


def test_a_kill_during_migration_leaves_the_old_store_whole(make_project) -> None:  # type: ignore[no-untyped-def]
    project = make_project({"pipeline.py": "from workbench import asset\n\n@asset\ndef penguins() -> dict:\n    return {}\n"})
    db = project / ".workbench" / "metadata.duckdb"
    db.parent.mkdir()
    with duckdb.connect(str(db)) as conn:
        conn.execute(FIXTURE.read_text())

    killed = subprocess.run([sys.executable, "-c", KILLED_MID_MIGRATION, str(db)], capture_output=True, timeout=60)
    assert killed.returncode == -9, killed.stderr
    assert version(db) == "1"  # the migration's transaction never committed

    history = run_wb(project, "history", "penguins", "--json")  # the next command migrates
    assert history.returncode == 0, history.stderr
    assert "abcdef0123456789abcdef0123456789" in history.stdout and '"rows": 10.0' in history.stdout
    assert version(db) == str(SCHEMA_VERSION)
    status = run_wb(project, "status", "--json")
    assert status.returncode == 0 and '"artifact missing (objects/ab/' in status.stdout  # the fixture has no file
