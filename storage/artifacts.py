"""The artifact store: content-addressed artifacts and immutable JSON records on any fsspec URL.

Layout under the root: `objects/<2 hex>/<data_version>.<ext>`, `records/<asset_key>/<time>-<id>.json`
(and `checks/...` for check results), `logs/<time>-<run id>.jsonl` (a local run's records, one per
line: `storage/run_log.py`) and `tmp/` (scratch). URIs handed out are relative to the root, so a store can move. Local stores
write into `tmp/` and rename, which is atomic on one filesystem; remote object stores publish each
object whole.
"""

from __future__ import annotations

import errno
import os
import re
import shutil
import time
import uuid
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

import xxhash

from workbench.core.dynamic import PartitionEvent
from workbench.core.hashing import digest, file_digest
from workbench.core.records import AliasEvent, CheckRecord, Materialization, TickRecord
from workbench.errors import StoreError, WorkbenchError

if TYPE_CHECKING:
    import fsspec
    from workbench.storage.run_log import RunLog

__all__ = ["ArtifactStore", "RecordProblem", "present_files"]

_SEGMENT = r"[A-Za-z0-9_][A-Za-z0-9_.\-]*"  # never '.', '..' or hidden
_URI = re.compile(rf"{_SEGMENT}(/{_SEGMENT})*")
_READ_BATCH = 256
R = TypeVar("R")


@dataclass(frozen=True, slots=True)
class RecordProblem:
    """A record file that could not be read or parsed."""

    uri: str
    message: str


def _move(source: Path, dest: Path) -> None:
    """Rename `source` to `dest`, copying through a sibling temp file across filesystems."""
    try:
        os.replace(source, dest)
    except OSError as exc:
        if exc.errno != errno.EXDEV:
            raise
        temp = dest.with_name(f".{uuid.uuid4().hex}.tmp")
        try:
            shutil.copyfile(source, temp)
            os.replace(temp, dest)
        finally:
            temp.unlink(missing_ok=True)
        source.unlink()


_EXTRAS = {"s3": "s3", "s3a": "s3", "gs": "gcs", "gcs": "gcs"}  # protocol -> the workbench extra that adds it


def _local_folder(url: str) -> str | None:
    """The folder of a store at an absolute local path (`/…` or `file:///…`), as fsspec names it;
    None for any other URL."""
    path = url.removeprefix("file://")
    return path.rstrip("/") if path.startswith("/") and "::" not in path else None


def _filesystem(url: str) -> tuple[fsspec.AbstractFileSystem, str]:
    """The fsspec filesystem of `url` and the path inside it; a missing driver is bad input (exit 2)
    that names the extra to install."""
    import fsspec.core

    try:
        fs, path = fsspec.core.url_to_fs(url)
        return fs, str(path)
    except ImportError as exc:
        protocol = url.split("://", 1)[0]
        extra = _EXTRAS.get(protocol)
        fix = f'pip install "workbench[{extra}]"' if extra else f"install the fsspec driver for {protocol}://"
        raise WorkbenchError(f"the store {url} needs a package that is not installed ({exc}): {fix}") from exc
    except ValueError as exc:  # e.g. "Protocol not known"
        raise WorkbenchError(f"cannot open the store {url}: {exc}") from exc


def _parse(uri: str, content: bytes | Exception | None, parse: Callable[[str], R]) -> R | RecordProblem:
    if not isinstance(content, bytes):
        return RecordProblem(uri, f"cannot read: {content}")
    try:
        return parse(content.decode("utf-8"))
    except (ValueError, TypeError) as exc:
        return RecordProblem(uri, f"not a valid record: {exc}")


def _stamp(when: datetime) -> str:
    """The UTC time that starts a record file's name."""
    return f"{when.astimezone(timezone.utc) if when.tzinfo else when:%Y%m%dT%H%M%S%f}"


def _log_items(uri: str, content: bytes) -> Iterator[Materialization | CheckRecord | RecordProblem]:
    from workbench.storage.run_log import parse

    for number, item in parse(content):
        yield RecordProblem(f"{uri}:{number}", item) if isinstance(item, str) else item


_SCRATCH = re.compile(r"([0-9a-f]{12}-)?[0-9a-f]{32}(\.[A-Za-z0-9]+)?(\.tmp)?")  # [store object's prefix-]uuid


def _inside(path: Path, root: Path) -> Path:
    """`path` if it resolves inside `root` (following any links); else `StoreError`."""
    real, base = os.path.realpath(path), os.path.realpath(root)
    if not real.startswith(base + os.sep):
        raise StoreError(f"{path} leads outside the store ({real}): refusing to read it")
    return path


def _into(move: Callable[[Path, Path], None], source: Path, dest: Path) -> None:
    """`move(source, dest)`, making `dest`'s folder first when it is missing (tried first: most
    folders exist, and a folder `wb gc` emptied and removed between two runs is made again)."""
    try:
        move(source, dest)
    except FileNotFoundError:
        if not source.exists():
            raise
        dest.parent.mkdir(parents=True, exist_ok=True)
        move(source, dest)


class ArtifactStore:
    """Artifacts and records under one fsspec URL (a local path, `file://`, `memory://`, `s3://`...).

    A store in a local folder reads and writes it with `os` calls, so fsspec (~40 ms to import) is
    loaded only when a listing or another store needs it.
    """

    def __init__(self, url: str, *, cache_dir: Path | None = None) -> None:
        self.url = url
        self._fs: fsspec.AbstractFileSystem | None = None
        folder = _local_folder(url)
        if folder is None:
            from fsspec.implementations.local import LocalFileSystem

            self._fs, root = _filesystem(url)
            self.root, self.is_local = root.rstrip("/"), isinstance(self._fs, LocalFileSystem)
            where = str(self._fs.unstrip_protocol(self.root))
        else:
            self.root, self.is_local, where = folder, True, f"file://{folder}"
        home = Path(os.environ.get("XDG_CACHE_HOME") or "~/.cache").expanduser() / "workbench"
        self.cache_dir = cache_dir or home / digest(where)[:16]
        base = Path(self.root) if self.is_local else self.cache_dir
        self.scratch_dir = base / "tmp"
        self._scratch_prefix = uuid.uuid4().hex[:12]  # names the scratch files of this object
        self._scratch_made = False

    def __repr__(self) -> str:
        return f"ArtifactStore({self.url!r})"

    @property
    def fs(self) -> fsspec.AbstractFileSystem:
        """The store's fsspec filesystem (made at once for a store that is not a local folder)."""
        if self._fs is None:
            self._fs = _filesystem(self.url)[0]
        return self._fs

    def scratch_path(self, suffix: str) -> Path:
        """A fresh local path (not yet created) to serialize into before `put_file`."""
        if not self._scratch_made:  # nothing removes the folder itself (`clean_scratch` removes files)
            self.scratch_dir.mkdir(parents=True, exist_ok=True)
            self._scratch_made = True
        return self.scratch_dir / f"{self._scratch_prefix}-{uuid.uuid4().hex}{suffix}"

    def discard_scratch(self) -> int:
        """Delete the scratch files this object handed out that still exist (the partial outputs of
        stopped assets); returns how many."""
        removed = 0
        for path in self.scratch_dir.glob(f"{self._scratch_prefix}-*"):
            path.unlink(missing_ok=True)
            removed += 1
        return removed

    def put_file(self, local: Path, ext: str, digest: tuple[str, int] | None = None) -> tuple[str, str, int]:
        """Move `local` to its content address; returns (uri, data_version, size).

        `digest`: the file's (xxh3-128 hex digest, size) when the caller hashed its bytes as it wrote them."""
        data_version, size = digest or (file_digest(local), local.stat().st_size)
        return self._put(local, None, ext, data_version, size)

    def put_bytes(self, data: bytes | memoryview, ext: str, digest: tuple[str, int] | None = None) -> tuple[str, str, int]:
        """Store `data` at its content address, writing nothing when the store holds it already;
        returns (uri, data_version, size). `digest`: as `put_file`'s."""
        data_version, size = digest or (xxhash.xxh3_128_hexdigest(data), len(data))
        return self._put(None, data, ext, data_version, size)

    def _put(self, local: Path | None, data: bytes | memoryview | None, ext: str, data_version: str, size: int) -> tuple[str, str, int]:
        """Publish a file (`local`) or bytes not written yet (`data`) as the object `data_version`."""
        name = f"{data_version}.{ext.lstrip('.')}" if ext.strip(".") else data_version
        uri = self._check(f"objects/{data_version[:2]}/{name}")
        path = self._path(uri)
        if self.exists(uri):
            if local is not None:
                local.unlink()
            return uri, data_version, size
        if data is not None:
            self._write(uri, data, _move)
        elif local is not None and self.is_local:
            self._io(lambda: _into(_move, local, Path(path)), uri)
        elif local is not None:
            self._io(lambda: self.fs.put_file(str(local), path), uri)  # an object store publishes it whole
            local.unlink()
        return uri, data_version, size

    def local_path(self, uri: str) -> Path:
        """A local file holding the artifact: the file itself, or a cached download of a remote one.

        The path must resolve inside the store (or the download cache): a symbolic link anywhere on
        the way that leads out of it is refused, as is a uri that is not a plain relative path.
        """
        self._check(uri)
        if self.is_local:
            path = Path(self._path(uri))
            if not path.is_file():
                raise StoreError(f"artifact {uri} is missing from {self.url}")
            return _inside(path, Path(self.root))
        cached = self.cache_dir / uri
        if cached.is_file():
            _inside(cached, self.cache_dir)
        if not cached.is_file() or not uri.startswith("objects/"):  # only objects are immutable
            temp = self.scratch_path(cached.suffix)
            self._io(lambda: self.fs.get_file(self._path(uri), str(temp)), uri)
            _into(os.replace, temp, cached)
        return cached

    def reachable(self) -> bool:
        """Whether the store's root exists and can be listed (a wrong URL or bucket is not)."""
        try:
            return bool(self.fs.exists(self.root))
        except Exception:  # any fsspec backend error: credentials, network, no such bucket
            return False

    def exists(self, uri: str) -> bool:
        path = self._path(uri)
        return os.path.exists(path) if self.is_local else bool(self.fs.exists(path))

    def delete(self, uri: str) -> None:
        """Remove an artifact or record; a missing one is not an error."""
        if self.exists(uri):
            self._io(lambda: self.fs.rm_file(self._path(uri)), uri)

    def full_url(self, uri: str) -> str:
        return str(self.fs.unstrip_protocol(self._path(uri)))

    def record_uri(self, m: Materialization) -> str:
        """Where `write_record` puts the record (known before it is written, for the run's journal)."""
        return self._uri("records", m.asset_key, m.ended_at, m.id)

    def write_record(self, m: Materialization) -> str:
        """Write the record's JSON once (a record is immutable); returns its uri."""
        return self._write_once(self.record_uri(m), m.to_json)

    def open_log(self, run_id: str, started: datetime) -> RunLog | None:
        """The log a run appends its records to (made on its first record); None on a store that
        cannot append (an object store), where each record is a file of its own."""
        if not self.is_local:
            return None
        from workbench.storage.run_log import RunLog

        uri = self._uri("logs", "", started, run_id).removesuffix(".json") + ".jsonl"
        return RunLog(Path(self._path(uri)), uri)

    def read_log(self, uri: str) -> list[Materialization | CheckRecord | RecordProblem]:
        """The records in a run log; raises `StoreError` when it cannot be read."""
        if not uri.startswith("logs/") or not uri.endswith(".jsonl"):
            raise StoreError(f"{uri!r} does not name a run log")
        return list(_log_items(uri, self.read_bytes(uri)))

    def read_record(self, uri: str, id: str) -> Materialization:
        """The record `id`, from its file or from the run log that holds it; `StoreError` when it is
        not there, `ValueError` when it does not parse."""
        if not uri.endswith(".jsonl"):
            return Materialization.from_json(self.read_text(uri))
        found = next((r for r in self.read_log(uri) if isinstance(r, Materialization) and r.id == id), None)
        if found is None:
            raise StoreError(f"record {id} is not in the run log {uri}")
        return found

    def iter_records(self, key: str | None = None, since: str = "") -> Iterator[Materialization | RecordProblem]:
        """Every record in the store (or under `key`'s folder), files in path order, then the run
        logs'; unreadable ones come as `RecordProblem`. A key's folder also holds the folders of keys
        it prefixes (`a` holds `a/b`), and so does its part of the logs.
        `since`: only the records whose `<UTC end time>-<id>` (a file's name) sorts at or after it."""
        folder = "records" if key is None else self._check(f"records/{key}")
        yield from self._iter_json(folder, Materialization.from_json, since)
        for item in self._iter_logs(since):
            if isinstance(item, RecordProblem):
                yield item
            elif isinstance(item, Materialization) and (key is None or item.asset_key == key or item.asset_key.startswith(f"{key}/")):
                yield item

    def write_alias_event(self, event: AliasEvent) -> str:
        """Write an alias event's JSON once; the DuckDB alias table is rebuilt from these."""
        return self._write_once(self._uri("aliases", event.asset_key, event.set_at, event.id), event.to_json)

    def iter_alias_events(self) -> Iterator[AliasEvent | RecordProblem]:
        return self._iter_json("aliases", AliasEvent.from_json)

    def write_partition_event(self, event: PartitionEvent) -> str:
        """Write a dynamic partition event's JSON once; a set's keys are folded from these."""
        return self._write_once(self._uri("partitions", event.name, event.at, event.id), event.to_json)

    def iter_partition_events(self) -> Iterator[PartitionEvent | RecordProblem]:
        return self._iter_json("partitions", PartitionEvent.from_json)

    def write_tick(self, tick: TickRecord) -> str:
        """Write an ended automation tick's JSON once; the DuckDB tick table is rebuilt from these."""
        return self._write_once(self._uri("ticks", tick.key, tick.due_at, tick.id), tick.to_json)

    def iter_ticks(self) -> Iterator[TickRecord | RecordProblem]:
        return self._iter_json("ticks", TickRecord.from_json)

    def check_record_uri(self, result: CheckRecord) -> str:
        """Where `write_check_record` puts the result."""
        return self._uri("checks", result.asset_key, result.ended_at, result.id)

    def write_check_record(self, result: CheckRecord) -> str:
        """Write a check result's JSON once; the DuckDB check table is rebuilt from these."""
        return self._write_once(self.check_record_uri(result), result.to_json)

    def iter_run_records(self, since: str = "") -> Iterator[Materialization | CheckRecord | RecordProblem]:
        """Every record and check result: their files (in path order, records first), then each run
        log, read once for both; unreadable ones come as `RecordProblem`. `since`: as `iter_records`."""
        yield from self._iter_json("records", Materialization.from_json, since)
        yield from self._iter_json("checks", CheckRecord.from_json, since)
        yield from self._iter_logs(since)

    def _uri(self, folder: str, key: str, when: datetime, id: str) -> str:
        """`folder/<key>/<UTC time>-<id>.json` (`folder/<UTC time>-<id>.json` without a key)."""
        return self._check(f"{folder}/{f'{key}/' if key else ''}{_stamp(when)}-{id}.json")

    def _write_once(self, uri: str, text: Callable[[], str]) -> str:
        """Write `uri` atomically unless it exists (these files are immutable)."""
        if not self.exists(uri):
            self.write_text(uri, text())
        return uri

    def _iter_json(self, folder: str, parse: Callable[[str], R], since: str = "") -> Iterator[R | RecordProblem]:
        paths = sorted(p for p in self._find(folder) if p.endswith(".json") and p.rsplit("/", 1)[-1] >= since)
        for path, content in self._contents(paths):
            yield _parse(self._relative(path), content, parse)

    def _iter_logs(self, since: str = "") -> Iterator[Materialization | CheckRecord | RecordProblem]:
        """The records of every run log (those ending at or after `since`, as `iter_records`)."""
        paths = sorted(p for p in self._find("logs") if p.endswith(".jsonl"))
        for path, content in self._contents(paths):
            uri = self._relative(path)
            if not isinstance(content, bytes):
                yield RecordProblem(uri, f"cannot read: {content}")
                continue
            for item in _log_items(uri, content):
                if isinstance(item, RecordProblem) or not since or f"{_stamp(item.ended_at)}-{item.id}" >= since:
                    yield item

    def _find(self, folder: str) -> list[str]:
        """The files under `folder` (none when it does not exist), listed afresh."""
        if self.is_local and not os.path.isdir(f"{self.root}/{folder}"):  # a new store: fsspec not even imported
            return []
        if not self.is_local:
            self.fs.invalidate_cache()  # other processes write here: list afresh, not from a cached listing
        try:
            return list(self.fs.find(f"{self.root}/{folder}"))
        except FileNotFoundError:
            return []

    def _contents(self, paths: list[str]) -> Iterator[tuple[str, bytes | Exception | None]]:
        for start in range(0, len(paths), _READ_BATCH):
            batch = paths[start : start + _READ_BATCH]
            contents = self.fs.cat(batch, on_error="return")  # concurrent on async stores (s3, gcs)
            for path in batch:
                yield path, contents.get(path)

    def write_text(self, uri: str, text: str) -> None:
        """Write a small text file atomically, replacing any previous one."""
        self.write_bytes(uri, text.encode())

    def write_bytes(self, uri: str, data: bytes) -> None:
        """Write a file atomically (an object store publishes it whole), replacing any previous one."""
        self._write(uri, data, os.replace)

    def _write(self, uri: str, data: bytes | memoryview, move: Callable[[Path, Path], None]) -> None:
        """Write `data` at `uri`: a scratch file `move`d into place, or an object store's whole object."""
        path = self._path(uri)
        if not self.is_local:
            self._io(lambda: self.fs.pipe_file(path, bytes(data)), uri)
            return
        temp = self.scratch_path(".tmp")

        def publish() -> None:
            temp.write_bytes(data)
            _into(move, temp, Path(path))

        try:
            self._io(publish, uri)
        finally:
            temp.unlink(missing_ok=True)  # moved: nothing left to remove

    def read_text(self, uri: str) -> str:
        return self.read_bytes(uri).decode("utf-8")

    def read_bytes(self, uri: str) -> bytes:
        content = self._cat(self._path(uri))
        if isinstance(content, Exception):
            raise StoreError(f"cannot read {uri} from {self.url}: {content}") from content
        return content

    def clean_scratch(self, max_age: float = 3600.0) -> int:
        """Delete scratch files older than `max_age` seconds (left by crashes); returns how many.

        Only files this store names as scratch (`<uuid hex>.<ext>`), never through a link: the
        folder comes from configuration a checkout may choose.
        """
        if not self.scratch_dir.is_dir() or self.scratch_dir.is_symlink():
            return 0
        cutoff, removed = time.time() - max_age, 0
        for path in self.scratch_dir.iterdir():
            try:
                if not _SCRATCH.fullmatch(path.name) or path.is_symlink():
                    continue
                if path.is_file() and path.stat().st_mtime < cutoff:
                    path.unlink()
                    removed += 1
            except FileNotFoundError:
                continue  # another process cleaned or published it meanwhile
        return removed

    def _check(self, uri: str) -> str:
        """`uri` if it is a plain relative path that stays inside the root; else `StoreError`."""
        if not _URI.fullmatch(uri):  # no absolute paths, '.' or '..' segments, backslashes or schemes
            raise StoreError(f"artifact uri {uri!r} is not a plain relative path inside the store")
        return uri

    def _path(self, uri: str) -> str:
        return f"{self.root}/{self._check(uri)}"

    def _relative(self, path: str) -> str:
        return path[len(self.root) + 1 :] if path.startswith(f"{self.root}/") else path.lstrip("/")

    def _cat(self, path: str) -> bytes | Exception:
        try:
            return bytes(self.fs.cat_file(path))
        except (OSError, ValueError) as exc:
            return exc

    def _io(self, action: Callable[[], object], uri: str) -> None:
        """Run a filesystem action; its I/O errors become `StoreError` naming the uri."""
        try:
            action()
        except OSError as exc:
            raise StoreError(f"artifact store {self.url} failed on {uri}: {exc}") from exc


LISTED_FROM = 16  # wanted names in one folder: from this many, one listing is cheaper than a `stat` each


def present_files(root: str, uris: Iterable[str]) -> set[str]:
    """The `uris` that name a file inside `root` (relative, no `..`; links followed, as `isfile`).

    A folder holding many of them (content-addressed objects fan out into 256) is listed once
    instead of a `stat` per file: 100,000 artifacts cost 257 listings."""
    by_folder: dict[str, list[str]] = {}
    for uri in set(uris):
        folder, sep, name = uri.rpartition("/")
        if (name == ".." or "\\" in name) and _outside(uri):
            continue
        by_folder.setdefault(folder + sep, []).append(uri)
    found: set[str] = set()
    for folder, wanted in by_folder.items():
        if _outside(folder):
            continue
        if len(wanted) < LISTED_FROM:
            found.update(uri for uri in wanted if os.path.isfile(os.path.join(root, uri)))
            continue
        try:
            with os.scandir(os.path.join(root, folder)) as entries:
                files = {folder + entry.name for entry in entries if entry.is_file()}
        except OSError:  # gone, or not a folder
            continue
        found.update(files.intersection(wanted))
    return found


def _outside(uri: str) -> bool:
    """Whether a uri (or the folder part of one) is absolute or climbs out with `..`."""
    return os.path.isabs(uri) or ".." in uri.replace("\\", "/").split("/")
