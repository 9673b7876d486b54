"""The DuckDB metadata store: the fast, rebuildable index over materialization records.

DuckDB locks its file per process, so no connection to the file outlives one operation: the
process keeps one in-memory DuckDB connection that ATTACHes the file, runs the operation and
DETACHes it (~1-3 ms). A lock held by another process is retried with backoff and jitter; a
damaged file becomes a `StoreError` that points at `wb doctor --rebuild`.
"""

from __future__ import annotations

import os
import random
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path

import duckdb
from workbench.storage.base import SCHEMA_VERSION
from workbench.storage.memory import current_aliases
from workbench.storage.record_cache import RecordCache
from workbench.storage.rows import ALIAS_EVENTS, CHECKS, ISO, MATERIALIZATIONS, OBSERVATIONS, RUNS, TICKS, Codec, T, paused_gc

from workbench.core.records import SUCCESS, AliasEvent, CheckRecord, Latest, Materialization, Run, SourceObservation, TickRecord
from workbench.errors import StoreBusyError, StoreError

__all__ = ["DuckDBMetadataStore"]

_DB = "wb"
_LOCK_MESSAGES = ("Could not set lock", "Conflicting lock", "Unique file handle conflict")
_BAD_INPUT = (
    duckdb.ConversionException,
    duckdb.ConstraintException,
    duckdb.InvalidInputException,
    duckdb.OutOfRangeException,
    duckdb.TypeMismatchException,
)
_COMPLETE = "complete"  # schema_meta key: the index holds every record of its store
_FIRST_DELAY, _MAX_DELAY = 0.002, 0.05  # seconds; a short cap keeps readers from starving behind writers
_NEWEST = "ended_at DESC, id DESC"
_MAT = f"SELECT {MATERIALIZATIONS.projection} FROM {_DB}.materializations"
CACHED_FROM = 1000  # newest records: from this many, a `cache` file keeps them (fewer read in < 50 ms)
_NEWEST_KEY = "(ended_at, id)"  # the order of _NEWEST as one value, for arg_max
# One hash aggregate, not a window over sorted rows: 6x faster on a million records.
_PICK_LATEST = f"""
SELECT arg_max(id, {_NEWEST_KEY}), arg_max(id, {_NEWEST_KEY}) FILTER (WHERE status = '{SUCCESS}')
FROM {_DB}.materializations WHERE ? IS NULL OR "partition" = ? GROUP BY asset_key, "partition"
"""


class _Engine:
    """The process's one in-memory DuckDB connection, used under a process-wide lock."""

    def __init__(self) -> None:
        self.lock = threading.RLock()
        self._conn: duckdb.DuckDBPyConnection | None = None
        self._pid = 0

    def connection(self) -> duckdb.DuckDBPyConnection:
        if self._conn is None or self._pid != os.getpid():
            self._conn = duckdb.connect(":memory:")
            self._conn.execute("SET TimeZone = 'UTC'")
            try:  # a query past 2 s drew a progress bar on stdout, over `--json` output
                self._conn.execute("SET enable_progress_bar = false")
            except duckdb.InvalidInputException:  # in Jupyter without ipywidgets it cannot be changed (nor drawn)
                pass
            self._pid = os.getpid()
        return self._conn

    def detach(self) -> None:
        """Release the attached file; if DuckDB refuses, drop the connection (which releases it too)."""
        if self._conn is None:
            return
        try:
            self._conn.execute(f"DETACH DATABASE IF EXISTS {_DB}")
        except duckdb.Error:
            self.reset()

    def reset(self) -> None:
        """Drop the connection, e.g. after an error that may have left DuckDB in a bad state."""
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def after_fork(self) -> None:
        self.lock = threading.RLock()
        self._conn = None


_ENGINE = _Engine()
os.register_at_fork(after_in_child=_ENGINE.after_fork)


class DuckDBMetadataStore:
    """Metadata store in one DuckDB file, created with its schema on first use."""

    def __init__(self, path: Path, *, busy_timeout: float = 15.0, cache: Path | None = None) -> None:
        """`cache`: a file that keeps the newest records between processes (`RecordCache`)."""
        self.path = Path(path).expanduser().absolute()
        self.busy_timeout = busy_timeout
        self._ready = False
        self._complete = False  # the file's `complete` mark, read with its schema version
        self._seen: dict[str, Materialization] = {}  # the records the last `latest()` returned, by id
        self._cache = None if cache is None else RecordCache(cache)

    def __repr__(self) -> str:
        return f"DuckDBMetadataStore({str(self.path)!r})"

    def add(self, m: Materialization) -> None:
        self._insert_new(MATERIALIZATIONS, m)

    def _insert_new(self, codec: Codec[T], value: T) -> bool:
        """Insert one row; False when its id is stored already.

        A plain INSERT is ~3 ms faster than INSERT OR IGNORE; a stored id means nothing to do, any
        other constraint (NOT NULL, a type) is a bad value and raised."""
        with self._session(write=True) as conn:
            try:
                conn.execute(_insert("", codec), codec.to_row(value))
            except duckdb.ConstraintException as exc:
                if not _duplicate_key(exc):
                    raise
                return False
            return True

    def add_many(self, ms: Sequence[Materialization]) -> int:
        unique = {m.id: m for m in reversed(ms)}  # the first record of an id wins
        if not unique:
            return 0
        with self._session(write=True) as conn:
            return _insert_many(conn, "OR IGNORE", MATERIALIZATIONS, list(unique.values()))

    def latest(self, partition: str = "") -> dict[str, Latest]:
        return {key: found for (key, _), found in self._latest(partition).items()}

    def latest_all(self) -> dict[tuple[str, str], Latest]:
        return self._latest(None)

    def _latest(self, partition: str | None) -> dict[tuple[str, str], Latest]:
        """One aggregate query picks the ids; only records not seen before are read as rows.

        Records are immutable, so a refresh loop (TUI, watch) skips rebuilding them: ~3x cheaper;
        with a `cache` file, a new process skips it too once many are wanted."""
        with self._session() as conn, paused_gc():
            picks = conn.execute(_PICK_LATEST, [partition, partition]).fetchall()
            wanted = {rid for pair in picks for rid in pair if rid is not None}
            seen = self._seen
            cache = self._cache if partition is None and len(wanted) >= CACHED_FROM else None
            if cache is not None and not seen:
                seen = cache.load()
            missing = [rid for rid in wanted if rid not in seen]
            if missing:
                found = _read(conn, MATERIALIZATIONS, f"{_MAT} WHERE id IN (SELECT unnest(?::VARCHAR[]))", [missing])
                seen = {**seen, **{m.id: m for m in found}}
            changed = missing or len(seen) != len(wanted)
            self._seen = {rid: seen[rid] for rid in wanted}
            out: dict[tuple[str, str], Latest] = {}
            for last_id, success_id in picks:
                last = self._seen[last_id]
                success = self._seen[success_id] if success_id is not None else None
                out[(last.asset_key, last.partition)] = Latest(success=success, last=last)
        if cache is not None and changed:
            cache.save(self._seen)
        return out

    def newest_ids(self) -> dict[tuple[str, str], tuple[str, str | None]]:
        sql = _PICK_LATEST.replace("SELECT ", 'SELECT asset_key, "partition", ', 1)
        with self._session() as conn:
            return {(key, partition): (last, success) for key, partition, last, success in conn.execute(sql, [None, None]).fetchall()}

    def history(self, key: str, partition: str | None = None, limit: int | None = None) -> list[Materialization]:
        sql, params = f"{_MAT} WHERE asset_key = ?", [key]
        if partition is not None:
            sql, params = sql + ' AND "partition" = ?', [*params, partition]
        sql += f" ORDER BY {_NEWEST}"
        if limit is not None:
            sql += f" LIMIT {max(int(limit), 0)}"
        return self._materializations(sql, params)

    def get(self, id: str) -> Materialization | None:
        found = self._materializations(f"{_MAT} WHERE id = ?", [id])
        return found[0] if found else None

    def of_run(self, run_id: str) -> list[Materialization]:
        """The records of one run, oldest first."""
        return self._materializations(f"{_MAT} WHERE run_id = ? ORDER BY ended_at, id", [run_id])

    def find_versions(self, key: str, prefix: str) -> list[Materialization]:
        sql = f"{_MAT} WHERE asset_key = ? AND status = '{SUCCESS}' AND starts_with(data_version, ?) ORDER BY {_NEWEST}"
        return self._materializations(sql, [key, prefix])

    def with_code(self, codes: Mapping[str, str]) -> list[Materialization]:
        if not codes:
            return []
        wanted = "SELECT unnest(?::VARCHAR[]) AS k, unnest(?::VARCHAR[]) AS c"
        sql = (
            f"{_MAT} WHERE status = '{SUCCESS}' AND (asset_key, code_version) IN (SELECT (k, c) FROM ({wanted})) "
            f"ORDER BY {_NEWEST}"
        )
        return self._materializations(sql, [list(codes), list(codes.values())])

    def record_run(self, run: Run) -> None:
        with self._session(write=True) as conn:
            conn.execute(_insert("OR REPLACE", RUNS), RUNS.to_row(run))

    def runs(self, limit: int = 20) -> list[Run]:
        order = f"ORDER BY started_at DESC, run_id DESC LIMIT {max(int(limit), 0)}"
        sql = f"SELECT {RUNS.projection} FROM {_DB}.runs {order}"
        with self._session() as conn:
            return _read(conn, RUNS, sql)

    def observations(self) -> dict[str, SourceObservation]:
        with self._session() as conn:
            found = _read(conn, OBSERVATIONS, f"SELECT {OBSERVATIONS.projection} FROM {_DB}.source_observations")
        return {o.key: o for o in found}

    def observe(self, obs: Sequence[SourceObservation]) -> None:
        unique = {o.key: o for o in obs}  # the last observation of a key wins
        if unique:
            with self._session(write=True) as conn:
                _insert_many(conn, "OR REPLACE", OBSERVATIONS, list(unique.values()))

    @property
    def complete(self) -> bool:
        """Whether the index is known to hold every record of its store: marked by a full indexing
        (`wb doctor`, or the catch-up any command does). A new file (the old one was deleted) or
        one made before the mark existed is not; its opener indexes the JSON records first."""
        with _ENGINE.lock:
            if not self._ready or not self.path.exists():
                self._prepare()
        return self._complete

    def mark_complete(self) -> None:
        with self._session(write=True) as conn:
            conn.execute(f"INSERT OR REPLACE INTO {_DB}.schema_meta (key, value) VALUES ('{_COMPLETE}', '1')")
        self._complete = True

    def count(self) -> int:
        with self._session() as conn:
            row = conn.execute(f"SELECT count(*) FROM {_DB}.materializations").fetchone()
        return int(row[0]) if row else 0

    def add_alias_events(self, events: Sequence[AliasEvent]) -> int:
        unique = {e.id: e for e in events}
        if not unique:
            return 0
        with self._session(write=True) as conn:
            return _insert_many(conn, "OR IGNORE", ALIAS_EVENTS, list(unique.values()))

    def aliases(self, key: str | None = None) -> list[AliasEvent]:
        sql = f"SELECT {ALIAS_EVENTS.projection} FROM {_DB}.alias_events"
        with self._session() as conn:
            if key is None:
                return current_aliases(_read(conn, ALIAS_EVENTS, sql))
            return current_aliases(_read(conn, ALIAS_EVENTS, sql + " WHERE asset_key = ?", [key]))

    def add_check_results(self, results: Sequence[CheckRecord]) -> int:
        unique = {r.id: r for r in results}
        if not unique:
            return 0
        with self._session(write=True) as conn:
            return _insert_many(conn, "OR IGNORE", CHECKS, list(unique.values()))

    def latest_checks(self) -> dict[tuple[str, str], CheckRecord]:
        sql = (
            f"SELECT {CHECKS.projection} FROM {_DB}.check_results QUALIFY row_number() OVER "
            '(PARTITION BY check_key, "partition" ORDER BY ended_at DESC, id DESC) = 1'
        )
        with self._session() as conn:
            return {(r.check_key, r.partition): r for r in _read(conn, CHECKS, sql)}

    def check_history(self, asset_key: str, limit: int = 20) -> list[CheckRecord]:
        sql = f"SELECT {CHECKS.projection} FROM {_DB}.check_results WHERE asset_key = ? ORDER BY ended_at DESC, id DESC"
        with self._session() as conn:
            return _read(conn, CHECKS, f"{sql} LIMIT {max(int(limit), 0)}", [asset_key])

    def claim_tick(self, tick: TickRecord) -> bool:
        return self._insert_new(TICKS, tick)

    def end_tick(self, tick: TickRecord) -> None:
        with self._session(write=True) as conn:
            conn.execute(_insert("OR REPLACE", TICKS), TICKS.to_row(tick))

    def ticks(self, key: str | None = None, limit: int = 50) -> list[TickRecord]:
        sql = f"SELECT {TICKS.projection} FROM {_DB}.ticks WHERE ? IS NULL OR key = ? ORDER BY due_at DESC, id DESC"
        with self._session() as conn:
            return _read(conn, TICKS, f"{sql} LIMIT {max(int(limit), 0)}", [key, key])

    def newest_ticks(self) -> dict[tuple[str, str], datetime]:
        sql = f"SELECT key, kind, strftime(max(due_at), '{ISO}') FROM {_DB}.ticks GROUP BY key, kind"
        with self._session() as conn:
            return {(key, kind): datetime.fromisoformat(at) for key, kind, at in conn.execute(sql).fetchall()}

    def release(self) -> None:
        """Close the process's DuckDB connection: its worker threads end (a fork may copy no
        thread pool); the next operation opens another."""
        with _ENGINE.lock:
            _ENGINE.reset()

    def _materializations(self, sql: str, params: Sequence[object]) -> list[Materialization]:
        with self._session() as conn:
            return _read(conn, MATERIALIZATIONS, sql, params)

    @contextmanager
    def _session(self, write: bool = False) -> Iterator[duckdb.DuckDBPyConnection]:
        """The file attached as `wb` for one operation; DuckDB errors become `StoreError`."""
        with _ENGINE.lock:
            if not self._ready or not self.path.exists():
                self._prepare()
            conn = _ENGINE.connection()
            self._attach(conn, write)
            try:
                yield conn
            except duckdb.Error as exc:
                raise self._error(exc) from exc
            finally:
                _ENGINE.detach()

    def _prepare(self) -> None:
        """Check the schema version, read-only if the file exists; create or migrate it if needed."""
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StoreError(f"cannot create the metadata store folder {self.path.parent}: {exc}") from exc
        if self._check_schema(write=not self.path.exists()) < SCHEMA_VERSION:
            self._check_schema(write=True)
        self._ready = True

    def _check_schema(self, write: bool) -> int:
        """The file's schema version (and its `complete` mark); with `write`, an older schema is migrated first."""
        conn = _ENGINE.connection()
        self._attach(conn, write)
        try:
            version, self._complete = _schema_version(conn)
            if version > SCHEMA_VERSION:
                raise StoreError(
                    f"metadata store {self.path} has schema version {version}, newer than this workbench"
                    f" understands ({SCHEMA_VERSION}); upgrade workbench"
                )
            if version == 0 and write:
                from workbench.storage.ddl import create

                create(conn, _DB)
            elif version < SCHEMA_VERSION and write:
                from workbench.storage.schema import migrate

                migrate(conn, _DB, version)
        except duckdb.Error as exc:
            raise self._error(exc) from exc
        finally:
            _ENGINE.detach()
        return version

    def _attach(self, conn: duckdb.DuckDBPyConnection, write: bool) -> None:
        """ATTACH the file, retrying while another process holds its lock."""
        path = str(self.path).replace("'", "''")
        sql = f"ATTACH '{path}' AS {_DB}" + ("" if write else " (READ_ONLY)")
        deadline = time.monotonic() + self.busy_timeout
        delay = _FIRST_DELAY
        while True:
            try:
                conn.execute(sql)
                return
            except duckdb.Error as exc:
                if not any(text in str(exc) for text in _LOCK_MESSAGES):
                    raise self._error(exc) from exc
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise StoreBusyError(
                        f"metadata store {self.path} stayed locked by another process for"
                        f" {self.busy_timeout:g} s; wait for it to finish and retry ({exc})"
                    ) from exc
            time.sleep(min(random.uniform(delay / 2, delay), remaining))
            delay = min(delay * 2, _MAX_DELAY)

    def _error(self, exc: duckdb.Error) -> StoreError:
        """The `StoreError` for a DuckDB error; the connection is dropped in case DuckDB is unwell."""
        _ENGINE.reset()
        if isinstance(exc, _BAD_INPUT):
            return StoreError(f"metadata store {self.path} rejected a value: {exc}")
        return StoreError(
            f"metadata store {self.path} is damaged or unreadable ({exc});"
            " run `wb doctor --rebuild` to rebuild it from the JSON records"
        )


def _duplicate_key(exc: duckdb.ConstraintException) -> bool:
    """Whether DuckDB refused a row because its primary key is already stored (and nothing else)."""
    return str(exc).startswith("Constraint Error: Duplicate key") and "primary key" in str(exc)


def _schema_version(conn: duckdb.DuckDBPyConnection) -> tuple[int, bool]:
    """The version stamped in the attached file (0 for a new, empty file) and its `complete` mark."""
    exists = conn.execute(
        "SELECT count(*) FROM duckdb_tables() WHERE database_name = ? AND table_name = 'schema_meta'", [_DB]
    ).fetchone()
    if not exists or not exists[0]:
        return 0, False
    meta = dict(conn.execute(f"SELECT key, value FROM {_DB}.schema_meta").fetchall())
    return int(meta.get("schema_version", 0)), meta.get(_COMPLETE) == "1"


def _read(conn: duckdb.DuckDBPyConnection, codec: Codec[T], sql: str, params: Sequence[object] = ()) -> list[T]:
    with paused_gc():
        return codec.from_rows(conn.execute(sql, params).fetchall())


def _insert(verb: str, codec: Codec[T]) -> str:
    return f"INSERT {verb} INTO {_DB}.{codec.table} ({codec.columns}) VALUES ({codec.placeholders})"


def _insert_many(conn: duckdb.DuckDBPyConnection, verb: str, codec: Codec[T], values: Sequence[T]) -> int:
    """Insert `values` in one statement: each column is one list parameter, unnested by DuckDB, or
    one value when every row has the same (a run's id, its commit, an empty mapping): turning Python
    values into DuckDB's is most of the cost, and holds the GIL.

    1,000 records take ~40 ms. A multi-row VALUES statement costs ~1 ms a row, and a pyarrow table
    first imports pyarrow (~0.25 s, and in the middle of a run, while assets import modules too)."""
    columns = [list(column) for column in zip(*(codec.to_row(value) for value in values), strict=True)]
    params: list[object] = []
    select: list[str] = []
    for i, (name, column) in enumerate(zip(codec.names, columns, strict=True), start=1):
        same = i > 1 and column.count(column[0]) == len(column)  # the first column is unnested: it makes the rows
        params.append(column[0] if same else column)
        select.append(f'${i} AS "{name}"' if same else f'unnest(${i}) AS "{name}"')
    sql = f"INSERT {verb} INTO {_DB}.{codec.table} ({codec.columns}) SELECT {codec.columns} FROM (SELECT {', '.join(select)})"
    row = conn.execute(sql, params).fetchone()
    return int(row[0]) if row else 0
