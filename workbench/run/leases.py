"""Files held with `flock` for as long as their process lives: unit leases and run journals.

A lease is an exclusive, non-blocking `flock` on `<home>/locks/<digest of the unit>.lock`: two
processes never materialize the same asset (or partition) at the same time. The kernel drops it
when the holder's process dies, so a crash never leaves a stale lock behind. A process that finds a
unit leased tries again shortly and then judges the unit again, as early cutoff does. So that it
can judge on what the other process just produced, before the batched index has it, every holder
notes in the lock file the id and uri of the record it wrote. While an asset runs, its holder also
says there who it is (`Holder`: pid, trigger, run), so that `wb tui` can show runs of other processes.

A run journal, `<home>/journal/<run id>`, names the run's log (or the record files it wrote) while
the index may lack some of its records (the index is written in batches). A run killed in between leaves its journal unlocked; the
next command indexes those records (`recover`), so a kill loses no record from the index.

Platforms without `fcntl` (Windows) get neither: every acquire succeeds and nothing is journaled.
"""

from __future__ import annotations

import errno
import json
import os
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from workbench.core.hashing import digest
from workbench.core.records import CheckRecord, Materialization, utcnow
from workbench.errors import StoreError, WorkbenchError

if TYPE_CHECKING:
    from workbench.storage.artifacts import ArtifactStore
    from workbench.storage.base import MetadataStore

try:
    import fcntl
except ImportError:  # pragma: no cover - not POSIX
    fcntl = None  # type: ignore[assignment]

__all__ = ["Holder", "Lease", "Leases", "RunJournal", "recover"]


@dataclass(frozen=True, slots=True)
class Holder:
    """Who runs a unit now: another process, by its pid, trigger (`watch`, `cli`, `tui`) and run."""

    pid: int
    trigger: str
    run_id: str
    since: str  # ISO 8601, UTC

    def __str__(self) -> str:
        return f"pid {self.pid} ({self.trigger})"


class Lease:
    """A held lock on one unit; `release()` is idempotent (and implied when the process dies)."""

    def __init__(self, unit: str, fd: int | None) -> None:
        self.unit = unit
        self._fd = fd
        self._size = -1  # bytes in the file, when known
        self._kept: dict[str, str] | None = None  # the file without its holder, while `hold()` says who holds it

    def noted(self) -> tuple[str, str] | None:
        """(record id, record uri) of the last record a holder wrote, if any was noted legibly."""
        if self._fd is None:
            return None
        try:
            data = os.pread(self._fd, 4096, 0)
            self._size = len(data)
            doc = json.loads(data) if data else None
            if not (isinstance(doc, dict) and isinstance(doc.get("id"), str) and isinstance(doc.get("uri"), str)):
                return None
            return doc["id"], doc["uri"]
        except (OSError, ValueError):  # a holder killed mid-note: nothing to learn
            return None

    def hold(self, trigger: str, run_id: str) -> None:
        """Say who holds the lease (this process, for a run), keeping the previous holder's note."""
        if self._fd is None:
            return
        noted = self.noted()
        kept: dict[str, str] = {"unit": self.unit, **({"id": noted[0], "uri": noted[1]} if noted else {})}
        holder = {"pid": os.getpid(), "trigger": trigger, "run_id": run_id, "since": utcnow().isoformat()}
        try:
            self._write(self._fd, {**kept, "holder": holder})
            self._kept = kept
        except OSError:  # only a display for others: the run goes on without it
            pass

    def note(self, record_id: str, uri: str) -> None:
        """Tell the next holder which record this one wrote."""
        if self._fd is None:
            return
        self._kept = None
        self._write(self._fd, {"unit": self.unit, "id": record_id, "uri": uri})

    def _write(self, fd: int, doc: Mapping[str, object]) -> None:
        data = json.dumps(doc).encode()
        os.pwrite(fd, data, 0)
        if self._size != len(data):  # a shorter text leaves the old one's tail: cut it
            os.ftruncate(fd, len(data))
            self._size = len(data)

    def release(self) -> None:
        fd, self._fd = self._fd, None
        if fd is not None:
            try:
                if self._kept is not None:  # held and nothing noted: no one holds it any more
                    self._write(fd, self._kept)
            except OSError:  # a dead pid is not shown as a holder anyway
                pass
            finally:
                os.close(fd)  # closing the last descriptor drops the flock


class Leases:
    """The lock files of one workbench home."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self._folder_checked = False  # not a symbolic link: looked at once, not for every lease

    def path(self, unit: str) -> Path:
        return self.folder / f"{digest('lease', unit)[:32]}.lock"

    def acquire(self, unit: str) -> Lease | None:
        """The lease on `unit`, or None when another process (or another run here) holds it."""
        if fcntl is None:  # pragma: no cover
            return Lease(unit, None)
        path = self.path(unit)
        try:
            fd = _open_lock(path, os.O_RDWR | os.O_CREAT, folder_checked=self._folder_checked)
        except FileNotFoundError:
            self.folder.mkdir(parents=True, exist_ok=True)
            fd = _open_lock(path, os.O_RDWR | os.O_CREAT)
        self._folder_checked = True
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            return None
        except BaseException:
            os.close(fd)
            raise
        return Lease(unit, fd)

    def holder(self, unit: str) -> Holder | None:
        """Who runs `unit` now, when that is another process that is alive."""
        try:
            fd = os.open(self.path(unit), os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
        except OSError:
            return None
        try:
            doc = json.loads(os.pread(fd, 4096, 0) or b"null")
        except (OSError, ValueError):  # being rewritten: the next look sees it
            return None
        finally:
            os.close(fd)
        held = doc.get("holder") if isinstance(doc, dict) else None
        if not isinstance(held, dict):
            return None
        try:
            holder = Holder(int(held["pid"]), str(held["trigger"]), str(held["run_id"]), str(held["since"]))
        except (KeyError, TypeError, ValueError):
            return None
        return holder if holder.pid != os.getpid() and _alive(holder.pid) else None


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process
        return True
    return True


@contextmanager
def store_lock(folder: Path, *, exclusive: bool, on_wait: Callable[[], None] | None = None) -> Iterator[None]:
    """Runs hold the store shared while they write; `wb gc` holds it alone while it deletes.

    Artifacts are content-addressed: a run may be producing the very file an old version names,
    so gc must neither plan nor delete while a run is writing. Waits (polling, so that Ctrl+C
    works) and calls `on_wait` once if it has to.
    """
    if fcntl is None:  # pragma: no cover
        yield
        return
    folder.mkdir(parents=True, exist_ok=True)
    fd = _open_lock(folder / "store.lock", os.O_RDWR | os.O_CREAT)
    try:
        mode = (fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH) | fcntl.LOCK_NB
        waited = False
        while True:
            try:
                fcntl.flock(fd, mode)
                break
            except BlockingIOError:
                if not waited and on_wait is not None:
                    on_wait()
                waited = True
                time.sleep(_STORE_POLL)
        yield
    finally:
        os.close(fd)


_STORE_POLL = 0.05


def _open_lock(path: Path, flags: int, *, folder_checked: bool = False) -> int:
    """Open a lock or journal file, never through a symbolic link (nor in a linked folder, unless
    the caller looked at the folder already)."""
    if not folder_checked and path.parent.is_symlink():
        raise StoreError(f"{path.parent} is a symbolic link: refusing to write through it")
    try:
        return os.open(path, flags | getattr(os, "O_NOFOLLOW", 0), 0o644)
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise StoreError(f"{path} is a symbolic link: refusing to write through it") from exc
        raise


class RunJournal:
    """The JSON records one run wrote that the index may still lack; removed once all are indexed."""

    def __init__(self, folder: Path, run_id: str) -> None:
        self.path = folder / run_id
        self._lock = threading.Lock()
        self._unindexed: dict[str, None] = {}  # insertion-ordered set of uris
        self._size = 0
        self._fd: int | None = None
        if fcntl is not None:
            folder.mkdir(parents=True, exist_ok=True)
            self._fd = _open_lock(self.path, os.O_RDWR | os.O_CREAT | os.O_TRUNC)
            fcntl.flock(self._fd, fcntl.LOCK_EX)  # a new file: no one else holds it

    def wrote(self, uris: Iterable[str]) -> None:
        """Note JSON files just written (from any thread)."""
        uris = list(uris)
        data = "".join(f"{uri}\n" for uri in uris).encode()
        with self._lock:
            self._unindexed.update(dict.fromkeys(uris))
            if self._fd is not None and data:
                self._size += os.pwrite(self._fd, data, self._size)

    def indexed(self, uris: Iterable[str]) -> None:
        """Forget files now in the index; the journal is rewritten with the rest."""
        with self._lock:
            for uri in uris:
                self._unindexed.pop(uri, None)
            if self._fd is not None:
                data = "".join(f"{uri}\n" for uri in self._unindexed).encode()
                os.pwrite(self._fd, data, 0)  # a kill before the truncate leaves stale lines: re-indexing is harmless
                os.ftruncate(self._fd, len(data))
                self._size = len(data)

    def close(self) -> None:
        """Delete the journal if everything is indexed, else leave it for `recover`; release it."""
        with self._lock:
            fd, self._fd = self._fd, None
            if fd is None:
                return
            if not self._unindexed:
                self.path.unlink(missing_ok=True)
            os.close(fd)


def recover(folder: Path, artifacts: ArtifactStore, metadata: MetadataStore) -> int:
    """Index the records listed in the journals of runs that died; returns how many were indexed."""
    if fcntl is None or not folder.is_dir():
        return 0
    added = 0
    for path in folder.iterdir():
        try:
            fd = os.open(path, os.O_RDWR)
        except OSError:  # recovered and removed by another process meanwhile
            continue
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:  # its run is alive
            os.close(fd)
            continue
        try:
            uris = os.read(fd, 1 << 24).decode(errors="replace").split()
            records: list[Materialization] = []
            checks: list[CheckRecord] = []
            unread: list[str] = []
            for uri in uris:
                try:
                    if uri.startswith("records/"):
                        records.append(Materialization.from_json(artifacts.read_text(uri)))
                    elif uri.startswith("checks/"):
                        checks.append(CheckRecord.from_json(artifacts.read_text(uri)))
                    elif uri.startswith("logs/"):  # every whole line of a run's log; the index skips those it has
                        logged = artifacts.read_log(uri)
                        records += (r for r in logged if isinstance(r, Materialization))
                        checks += (r for r in logged if isinstance(r, CheckRecord))
                except (WorkbenchError, ValueError, TypeError, KeyError):
                    if not _gone(artifacts, uri):  # unreadable now (a store error, a damaged file): try again later
                        unread.append(uri)
            added += metadata.add_many(records) + metadata.add_check_results(checks)
            if unread:  # the journal stays, listing only what is still not indexed
                data = "".join(f"{uri}\n" for uri in unread).encode()
                os.pwrite(fd, data, 0)
                os.ftruncate(fd, len(data))
            else:
                path.unlink(missing_ok=True)
        finally:
            os.close(fd)
    return added


def _gone(artifacts: ArtifactStore, uri: str) -> bool:
    """Whether nothing is left to index: the file is absent, or the line names no file of the store
    (garbage); not when it is merely unreadable now."""
    try:
        return not artifacts.exists(uri)
    except WorkbenchError:  # not a uri inside the store
        return True
    except OSError:  # the store did not answer
        return False
