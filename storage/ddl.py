"""Creating a metadata store file: the DDL compiled by `schema.py`, kept between processes.

Compiling the tables imports SQLModel, SQLAlchemy and duckdb_engine (~0.3 s), which every new store
would pay: a project's first run, a deleted `.workbench`, every temporary project. The statements
they compile are kept in the user's cache folder, in a file named by everything they follow from:
the schema version, the source of the modules that define the tables (`storage/schema.py` and
`core/records.py`) and the installed environment (`libraries.stamp`, which an upgrade of any of
those libraries changes). A missing, unreadable or malformed file is compiled again; nothing else
is read from it.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from pathlib import Path

import duckdb
import xxhash
from workbench.storage.base import SCHEMA_VERSION

from workbench.core import records
from workbench.versioning.libraries import stamp, user_cache_folder, write_atomically

__all__ = ["create", "in_transaction", "statements"]


def statements() -> list[str]:
    """The CREATE statements of a new store, from the cache when it was compiled for this code."""
    key, folder = _key(), user_cache_folder()
    path = folder / f"schema-{key}.json" if folder is not None and key is not None else None
    if path is not None:
        try:
            found = json.loads(path.read_text(encoding="utf-8"))
            if isinstance(found, list) and found and all(isinstance(s, str) and s.lstrip().startswith("CREATE ") for s in found):
                return found
        except (OSError, ValueError):
            pass
    from workbench.storage.schema import ddl

    compiled = ddl()
    if path is not None:
        write_atomically(path, compiled)
    return compiled


def create(conn: duckdb.DuckDBPyConnection, catalog: str) -> None:
    """Give the empty attached `catalog` the current schema, atomically."""

    def run(conn: duckdb.DuckDBPyConnection) -> None:
        for statement in statements():
            conn.execute(statement)

    in_transaction(conn, catalog, run)


def in_transaction(conn: duckdb.DuckDBPyConnection, catalog: str, steps: Callable[[duckdb.DuckDBPyConnection], None]) -> None:
    """Run `steps` on `catalog` and mark it with `SCHEMA_VERSION`, in one transaction."""
    conn.execute("BEGIN TRANSACTION")
    conn.execute(f"USE {catalog}")
    try:
        steps(conn)
        conn.execute("INSERT OR REPLACE INTO schema_meta (key, value) VALUES ('schema_version', ?)", [str(SCHEMA_VERSION)])
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    finally:
        conn.execute("USE memory")


def _key() -> str | None:
    """The cache file's name for this code and environment; None without the sources to hash."""
    sources: Sequence[Path] = (Path(__file__).with_name("schema.py"), Path(records.__file__))
    h = xxhash.xxh3_128()
    h.update(json.dumps([SCHEMA_VERSION, duckdb.__version__, stamp()]).encode())
    for source in sources:
        try:
            h.update(source.read_bytes())
        except OSError:  # compiled modules only: nothing to compare the cache with, compile every time
            return None
    return h.hexdigest()
