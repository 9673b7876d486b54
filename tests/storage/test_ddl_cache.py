"""A new store's DDL is compiled by SQLModel once per code and environment, then read from the cache."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest
from workbench.storage import ddl
from workbench.storage.metadata import DuckDBMetadataStore
from workbench.storage.schema import ddl as compile_ddl


def _columns(path: Path) -> list[tuple[object, ...]]:
    with duckdb.connect(str(path), read_only=True) as conn:
        tables = conn.execute(
            "SELECT table_name, column_name, data_type, is_nullable, column_default FROM duckdb_columns()"
            " ORDER BY table_name, column_index"
        ).fetchall()
        indexes = conn.execute("SELECT index_name, table_name, sql FROM duckdb_indexes() ORDER BY index_name").fetchall()
        constraints = conn.execute(
            "SELECT table_name, constraint_type, constraint_column_names FROM duckdb_constraints() ORDER BY ALL"
        ).fetchall()
    return [*tables, *indexes, *constraints]


def test_the_cache_holds_what_sqlmodel_compiles_and_is_read_back(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    assert ddl.statements() == compile_ddl()
    (kept,) = (tmp_path / "cache" / "workbench").glob("schema-*.json")
    assert json.loads(kept.read_text()) == compile_ddl()

    def refuse() -> list[str]:
        raise AssertionError("compiled again although the cache matches")

    monkeypatch.setattr("workbench.storage.schema.ddl", refuse)
    assert ddl.statements() == json.loads(kept.read_text())


@pytest.mark.parametrize("content", ["not json", "[]", '{"a": 1}', '["DROP TABLE materializations"]'])
def test_a_damaged_or_foreign_cache_file_is_compiled_again(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, content: str) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    ddl.statements()
    (kept,) = (tmp_path / "cache" / "workbench").glob("schema-*.json")
    kept.write_text(content)
    assert ddl.statements() == compile_ddl()
    assert json.loads(kept.read_text()) == compile_ddl()


def test_a_store_made_from_the_cache_is_the_store_sqlmodel_makes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The second store is made in a process that must not import SQLModel, and ends up identical."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    first, second = tmp_path / "first.duckdb", tmp_path / "second.duckdb"
    DuckDBMetadataStore(first).count()  # compiles and keeps the DDL
    script = (
        "import sys; from pathlib import Path; from workbench.storage.metadata import DuckDBMetadataStore; "
        f"DuckDBMetadataStore(Path({str(second)!r})).count(); "
        "print(sorted(m for m in ('sqlmodel', 'sqlalchemy', 'duckdb_engine') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True,
                         env={"XDG_CACHE_HOME": str(tmp_path / "cache"), "PATH": "/usr/bin:/bin"})  # fmt: skip
    assert out.stdout.strip() == "[]"
    assert _columns(first) == _columns(second)
    assert len(_columns(second)) > 50
