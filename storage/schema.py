"""SQLModel tables of the metadata store and the schema migrations.

The record tables are made from the dataclasses in `workbench.core.records`, the one definition of
each record (`_table`: column for column, mappings as JSON text, `partition` '' when
unpartitioned); a new field there is a new column here, added to older files by a numbered step. Keys are text or UUID strings: DuckDB needs an explicit
Sequence for integer autoincrement, so there is none. The DDL is compiled from these models with
the duckdb_engine dialect and run on a raw DuckDB connection; this module is imported only when a
file needs migrating or its DDL compiling (`storage/ddl.py` keeps the compiled statements), so the
hot path never pays for importing SQLModel.

A new file gets the current schema from these models. An older file is upgraded by `UPGRADES`,
one step per version, in one transaction. DuckDB cannot drop, rename or retype a column of a table
with a secondary index, so a step that changes a column copies and swaps: create `<table>_new`,
`INSERT INTO ... SELECT` the converted rows, drop the old table, rename the new one, recreate its
indexes. Bump `SCHEMA_VERSION` (in `base.py`) with each step.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import fields
from datetime import datetime
from types import UnionType
from typing import Any, Union, cast, get_args, get_origin, get_type_hints

import duckdb
import duckdb_engine
from sqlalchemy import BigInteger, Boolean, Column, DateTime, Index, Integer, Table
from sqlalchemy.schema import CreateIndex, CreateTable
from sqlmodel import AutoString, Field, SQLModel
from workbench.storage.ddl import in_transaction

from workbench.core.records import AliasEvent, BigInt, CheckRecord, Materialization, Run, SourceObservation, TickRecord, is_mapping

Step = Callable[[duckdb.DuckDBPyConnection], None]


def _table(record: type, table: str, key: str, indexes: Mapping[str, tuple[str, ...]] | None = None) -> Table:
    """The table of a record dataclass, through a SQLModel model made from it: column for column and in its order: text, integers
    (`BigInt` ones as BIGINT), booleans, TIMESTAMPTZ, and mappings as JSON text ('{}' when empty).
    A field without `None` in its type is NOT NULL. SQLModel reserves `metadata`: its attribute is `meta`."""
    hints = get_type_hints(record, include_extras=True)
    namespace: dict[str, Any] = {"__tablename__": table, "__annotations__": {}}
    namespace["__table_args__"] = tuple(Index(name, *columns) for name, columns in (indexes or {}).items())
    for f in fields(record):
        optional = "None" in str(f.type)
        python: type
        if is_mapping(f):
            column, python = Column(f.name, AutoString, nullable=False), str
        else:
            sql, python = _sql_type(_without_none(hints[f.name]))
            column = Column(f.name, sql, nullable=optional, primary_key=f.name == key)
        attr = "meta" if f.name == "metadata" else f.name
        namespace["__annotations__"][attr] = python | None if optional else python
        namespace[attr] = Field(default="{}" if is_mapping(f) else None, sa_column=column)
    model = type(f"{record.__name__}Row", (SQLModel,), namespace, table=True)
    return cast(Table, model.__table__)  # type: ignore[attr-defined]  # SQLModel adds it to table models


def _without_none(hint: Any) -> Any:
    """`X | None` -> X."""
    if get_origin(hint) in (Union, UnionType):
        return next(a for a in get_args(hint) if a is not type(None))
    return hint


def _sql_type(hint: Any) -> tuple[Any, type]:
    if hint == BigInt:
        return BigInteger, int
    kind = get_origin(hint) and get_args(hint)[0] or hint  # Annotated[str, Meta(...)] is a str
    return {str: (AutoString, str), int: (Integer, int), bool: (Boolean, bool), datetime: (DateTime(timezone=True), datetime)}[kind]


MATERIALIZATIONS = _table(
    Materialization, "materializations", "id", {"ix_materializations_key_partition": ("asset_key", "partition")}
)
RUNS = _table(Run, "runs", "run_id")
SOURCE_OBSERVATIONS = _table(SourceObservation, "source_observations", "key")
ALIAS_EVENTS = _table(AliasEvent, "alias_events", "id")  # schema version 2
CHECK_RESULTS = _table(CheckRecord, "check_results", "id", {"ix_check_results_asset": ("asset_key",)})  # version 3
TICKS = _table(TickRecord, "ticks", "id", {"ix_ticks_key": ("key",)})  # version 7


class SchemaMetaRow(SQLModel, table=True):
    """Key/value facts about the file itself, e.g. `schema_version`."""

    __tablename__ = "schema_meta"

    key: str = Field(primary_key=True)
    value: str


TABLES: tuple[Table, ...] = (
    MATERIALIZATIONS, RUNS, SOURCE_OBSERVATIONS, ALIAS_EVENTS, CHECK_RESULTS, TICKS,
    cast(Table, SchemaMetaRow.__table__),  # type: ignore[attr-defined]
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
    for statement in ddl((ALIAS_EVENTS,)):
        conn.execute(statement)


def _add_check_results(conn: duckdb.DuckDBPyConnection) -> None:
    """2 -> 3: asset check results."""
    for statement in ddl((CHECK_RESULTS,)):
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


def _add_git_patch(conn: duckdb.DuckDBPyConnection) -> None:
    """6 -> 7: the stored patch of a dirty version's uncommitted changes."""
    conn.execute("ALTER TABLE materializations ADD COLUMN IF NOT EXISTS git_patch VARCHAR")


def _add_ticks(conn: duckdb.DuckDBPyConnection) -> None:
    """7 -> 8: automation tick history (`wb history --automation`); tolerant: safe to run twice."""
    found = conn.execute(
        "SELECT count(*) FROM duckdb_tables() WHERE database_name = current_database() AND table_name = 'ticks'"
    ).fetchone()
    if found and found[0]:
        return
    for statement in ddl((TICKS,)):
        conn.execute(statement)


# UPGRADES[i] turns a version-(i + 1) file into version i + 2; a new file gets `ddl()` directly.
UPGRADES: tuple[Step, ...] = (
    _add_alias_events, _add_check_results, _add_libraries_and_reuse, _add_check_logs, _add_params_and_series,
    _add_git_patch,
    _add_ticks,
)


def migrate(conn: duckdb.DuckDBPyConnection, catalog: str, current: int) -> None:
    """Bring the attached `catalog` from version `current` (>= 1) to `SCHEMA_VERSION`, atomically
    (an empty file is given the current schema by `ddl.create`)."""

    def upgrade(conn: duckdb.DuckDBPyConnection) -> None:
        for step in UPGRADES[current - 1 :]:
            step(conn)

    in_transaction(conn, catalog, upgrade)
