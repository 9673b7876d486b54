"""SQLModel tables of the metadata store and the schema migrations.

The tables mirror the domain values in `workbench.core.records` column for column (mappings as JSON
text, `partition` '' when unpartitioned). Keys are text or UUID strings: DuckDB needs an explicit
Sequence for integer autoincrement, so there is none. The DDL is compiled from these models with
the duckdb_engine dialect and run on a raw DuckDB connection; this module is imported only when a
file needs creating or migrating, so the hot path never pays for importing SQLModel.

A new file gets the current schema from these models. An older file is upgraded by `UPGRADES`,
one step per version, in one transaction. DuckDB cannot drop, rename or retype a column of a table
with a secondary index, so a step that changes a column copies and swaps: create `<table>_new`,
`INSERT INTO ... SELECT` the converted rows, drop the old table, rename the new one, recreate its
indexes. Bump `SCHEMA_VERSION` (in `base.py`) with each step.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

import duckdb
import duckdb_engine
from sqlalchemy import BigInteger, Column, DateTime, Index, Table, Text
from sqlalchemy.schema import CreateIndex, CreateTable
from sqlmodel import Field, SQLModel
from workbench.storage.base import SCHEMA_VERSION

Step = Callable[[duckdb.DuckDBPyConnection], None]


class MaterializationRow(SQLModel, table=True):
    """One `Materialization`."""

    __tablename__ = "materializations"
    __table_args__ = (Index("ix_materializations_key_partition", "asset_key", "partition"),)

    id: str = Field(primary_key=True)
    asset_key: str
    status: str
    code_version: str
    run_id: str
    trigger: str
    started_at: datetime = Field(sa_type=DateTime(timezone=True))
    ended_at: datetime = Field(sa_type=DateTime(timezone=True))
    partition: str = ""
    data_version: str | None = None
    input_versions: str = "{}"
    artifact_uri: str | None = None
    serializer: str | None = None
    size: int | None = Field(default=None, sa_type=BigInteger)
    rows: int | None = Field(default=None, sa_type=BigInteger)
    error: str | None = None
    traceback: str | None = None
    log: str = ""
    meta: str = Field(default="{}", sa_column=Column("metadata", Text, nullable=False))
    metrics: str = "{}"
    git_commit: str | None = None
    git_dirty: bool | None = None
    libraries: str = "{}"
    reused_from: str | None = None
    params: str = "{}"
    series: str = "{}"


class RunRow(SQLModel, table=True):
    """One `Run`."""

    __tablename__ = "runs"

    run_id: str = Field(primary_key=True)
    trigger: str
    selection: str
    started_at: datetime = Field(sa_type=DateTime(timezone=True))
    ended_at: datetime | None = Field(default=None, sa_type=DateTime(timezone=True))
    status: str = "running"
    materialized: int = 0
    failed: int = 0
    skipped: int = 0


class SourceObservationRow(SQLModel, table=True):
    """One `SourceObservation`."""

    __tablename__ = "source_observations"

    key: str = Field(primary_key=True)
    path: str
    data_version: str | None = None
    size: int = Field(sa_type=BigInteger)
    mtime_ns: int = Field(sa_type=BigInteger)
    observed_at: datetime = Field(sa_type=DateTime(timezone=True))


class AliasEventRow(SQLModel, table=True):
    """One `AliasEvent` (schema version 2)."""

    __tablename__ = "alias_events"

    id: str = Field(primary_key=True)
    asset_key: str
    name: str
    data_version: str | None = None
    record_id: str | None = None
    set_by: str
    set_at: datetime = Field(sa_type=DateTime(timezone=True))


class CheckResultRow(SQLModel, table=True):
    """One `CheckRecord` (schema version 3)."""

    __tablename__ = "check_results"
    __table_args__ = (Index("ix_check_results_asset", "asset_key"),)

    id: str = Field(primary_key=True)
    check_key: str
    asset_key: str
    partition: str = ""
    passed: bool
    blocking: bool
    asset_data_version: str
    code_version: str
    run_id: str
    started_at: datetime = Field(sa_type=DateTime(timezone=True))
    ended_at: datetime = Field(sa_type=DateTime(timezone=True))
    meta: str = Field(default="{}", sa_column=Column("metadata", Text, nullable=False))
    error: str | None = None
    traceback: str | None = None
    log: str = ""


class SchemaMetaRow(SQLModel, table=True):
    """Key/value facts about the file itself, e.g. `schema_version`."""

    __tablename__ = "schema_meta"

    key: str = Field(primary_key=True)
    value: str


def _table(model: type[SQLModel]) -> Table:
    """The table of a `table=True` model."""
    return SQLModel.metadata.tables[str(model.__tablename__)]


TABLES: tuple[Table, ...] = tuple(
    _table(model)
    for model in (MaterializationRow, RunRow, SourceObservationRow, AliasEventRow, CheckResultRow, SchemaMetaRow)
)


def ddl(tables: tuple[Table, ...] = TABLES) -> list[str]:
    """CREATE TABLE and CREATE INDEX statements for `tables`, in DuckDB's dialect."""
    dialect = duckdb_engine.Dialect()
    statements: list[str] = []
    for table in tables:
        statements.append(str(CreateTable(table).compile(dialect=dialect)))
        statements.extend(str(CreateIndex(index).compile(dialect=dialect)) for index in table.indexes)
    return statements


def _add_alias_events(conn: duckdb.DuckDBPyConnection) -> None:
    """1 -> 2: model aliases (`wb alias`)."""
    for statement in ddl((_table(AliasEventRow),)):
        conn.execute(statement)


def _add_check_results(conn: duckdb.DuckDBPyConnection) -> None:
    """2 -> 3: asset check results."""
    for statement in ddl((_table(CheckResultRow),)):
        conn.execute(statement)


def _add_libraries_and_reuse(conn: duckdb.DuckDBPyConnection) -> None:
    """3 -> 4: library versions per materialization, and the record a reused version came from."""
    conn.execute("ALTER TABLE materializations ADD COLUMN libraries VARCHAR DEFAULT '{}'")
    conn.execute("UPDATE materializations SET libraries = '{}' WHERE libraries IS NULL")
    conn.execute("ALTER TABLE materializations ADD COLUMN reused_from VARCHAR")


def _add_check_logs(conn: duckdb.DuckDBPyConnection) -> None:
    """4 -> 5: a check's traceback and captured output (adding a column works despite the index).

    A version-2 file already has them: step 2 -> 3 creates the table from the current model."""
    conn.execute("ALTER TABLE check_results ADD COLUMN IF NOT EXISTS traceback VARCHAR")
    conn.execute("ALTER TABLE check_results ADD COLUMN IF NOT EXISTS log VARCHAR DEFAULT ''")


def _add_params_and_series(conn: duckdb.DuckDBPyConnection) -> None:
    """5 -> 6: the params a version ran with and its step metrics (tolerant: safe to run twice)."""
    for column in ("params", "series"):
        conn.execute(f"ALTER TABLE materializations ADD COLUMN IF NOT EXISTS {column} VARCHAR DEFAULT '{{}}'")
        conn.execute(f"UPDATE materializations SET {column} = '{{}}' WHERE {column} IS NULL")


# UPGRADES[i] turns a version-(i + 1) file into version i + 2; a new file gets `ddl()` directly.
UPGRADES: tuple[Step, ...] = (
    _add_alias_events, _add_check_results, _add_libraries_and_reuse, _add_check_logs, _add_params_and_series
)


def migrate(conn: duckdb.DuckDBPyConnection, catalog: str, current: int) -> None:
    """Bring the attached `catalog` from version `current` (0: empty) to `SCHEMA_VERSION`, atomically."""
    conn.execute("BEGIN TRANSACTION")
    conn.execute(f"USE {catalog}")
    try:
        if current == 0:
            for statement in ddl():
                conn.execute(statement)
        else:
            for step in UPGRADES[current - 1 :]:
                step(conn)
        conn.execute(
            "INSERT OR REPLACE INTO schema_meta (key, value) VALUES ('schema_version', ?)", [str(SCHEMA_VERSION)]
        )
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    finally:
        conn.execute("USE memory")
