"""Locks held for as long as their process lives: unit leases and run journals.

A lease is an exclusive, non-blocking lock on one unit: two processes never materialize the same
asset (or partition) at the same time. On Linux it is an open-file-description lock (`F_OFD_SETLK`)
on one byte of `<home>/locks/units.lock`, at an offset drawn from the unit's digest (the file stays
empty: a lock may lie past its end), so a lease makes no file; elsewhere it is a `flock` on a file of
its own, `<home>/locks/<digest of the unit>.lock`. Either way the kernel drops it when the holder's
process dies, so a crash never leaves a stale lock behind. A process that finds a unit leased tries
again shortly and then judges the unit again, as early cutoff does.

So that it can judge on what the other process just produced, before the batched index has it,
every holder notes the id and uri of the record it wrote in `<home>/locks/notes.jsonl`, one
appended line per event; once an asset has run for a moment (0.2 s: the executor's `_ANNOUNCE`),
its holder also says there who it is (`Holder`: pid, trigger, run), so that `wb tui` can show runs of
other processes. Readers follow the file from
where they last read. A run that finds no other run going on (it gets the store lock alone) removes
the file: every note in it is indexed by then.

A run journal, `<home>/journal/<run id>`, names the run's log (or the record files it wrote) while
the index may lack some of its records (the index is written in batches). A run killed in between
leaves its journal unlocked; the next command indexes those records (`recover`), so a kill loses no
record from the index.

Platforms without `fcntl` (Windows) get neither: every acquire succeeds and nothing is journaled.
"""

from __future__ import annotations

import errno
import json
import os
import struct
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

    def __init__(self, unit: str, fd: int | None, leases: Leases) -> None:
        self.unit = unit
        self._fd = fd
        self._leases = leases
        self._lock = threading.Lock()  # `hold` (the scheduler) and `note`/`release` (the job) may race
        self._holding = False  # `hold()` said who holds it, and nothing was noted since
        self._ended = False  # noted or released: no one is to be said to hold it any more

    def noted(self, *, follow: bool = True) -> tuple[str, str] | None:
        """(record id, record uri) of the last record a holder of this unit noted, if any (`follow`:
        reading the notes first; else as `Leases.follow` last read them)."""
        return self._leases.noted(self.unit, follow=follow)

    def hold(self, trigger: str, run_id: str) -> None:
        """Say who holds the lease (this process, for a run), unless its job has ended already."""
        holder = {"pid": os.getpid(), "trigger": trigger, "run_id": run_id, "since": utcnow().isoformat()}
        with self._lock:
            if self._ended:
                return
            try:
                self._leases.tell({"unit": self.unit, "holder": holder})
                self._holding = True
            except OSError:  # only a display for others: the run goes on without it
                pass

    def note(self, record_id: str, uri: str) -> None:
        """Tell the next holder which record this one wrote."""
        with self._lock:
            self._ended, self._holding = True, False
            self._leases.tell({"unit": self.unit, "id": record_id, "uri": uri})

    def release(self) -> None:
        with self._lock:
            fd, self._fd = self._fd, None
            self._ended = True
            try:
                if self._holding:  # held and nothing noted: no one holds it any more
                    self._holding = False
                    self._leases.tell({"unit": self.unit})
            except OSError:  # a dead pid is not shown as a holder anyway
                pass
            finally:
                self._leases.unlock(self.unit, fd)


class Leases:
    """The unit locks of one workbench home, and the notes their holders leave."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self._notes_file = str(folder / NOTES)  # looked at on every pass of a run: made once
        self._folder_checked = False  # not a symbolic link: looked at once, not for every lease
        self._lock = threading.Lock()  # what was read and learnt
        self._writing = threading.Lock()  # the notes file, opened for appending
        self._out: int | None = None
        self._read: tuple[int, int] | None = None  # (device, inode) of the notes file read so far
        self._offset = 0
        self._mine = 0  # bytes this object appended since it last read the file
        self._notes: dict[str, tuple[str, str]] = {}  # unit -> (record id, uri), the last noted
        self._holders: dict[str, Holder] = {}  # unit -> who said it holds it, not released since
        self._locking = threading.Lock()  # `units.lock` and the units this object holds there
        self._units: int | None = None
        self._held: dict[str, int] = {}  # unit -> its byte of `units.lock`
        self._closing = False

    def path(self, unit: str) -> Path:
        """The lock file of `unit` where a lease is a `flock` on a file of its own."""
        return self.folder / f"{digest('lease', unit)[:32]}.lock"

    def acquire(self, unit: str) -> Lease | None:
        """The lease on `unit`, or None when another process (or another run here) holds it.

        With range locks, the leases of one `Leases` (one run) share one open file description of
        `units.lock`: a lease costs one `fcntl` to take and one to give back, and another `Leases`
        (another run, here or in another process) has a description of its own, which they exclude."""
        if fcntl is None:  # pragma: no cover
            return Lease(unit, None, self)
        if _OFD_SETLK is None:
            return self._flock(unit)
        with self._locking:
            if unit in self._held:  # this run holds it already
                return None
            if self._units is None:
                self._units = self._open(self.folder / UNITS)
            offset = _offset(unit)
            try:
                fcntl.fcntl(self._units, _OFD_SETLK, _range(fcntl.F_WRLCK, offset))
            except OSError as exc:
                if exc.errno in (errno.EAGAIN, errno.EACCES, errno.EWOULDBLOCK):
                    return None
                raise
            self._held[unit] = offset
        return Lease(unit, None, self)

    def unlock(self, unit: str, fd: int | None) -> None:
        """Give back a lease: close its own lock file, or unlock its byte of `units.lock`."""
        if fd is not None:
            os.close(fd)  # closing the descriptor drops the lock
            return
        with self._locking:
            if unit not in self._held or self._units is None or _OFD_SETLK is None:
                return
            offset = self._held.pop(unit)
            try:
                fcntl.fcntl(self._units, _OFD_SETLK, _range(fcntl.F_UNLCK, offset))
            finally:
                if self._closing and not self._held:
                    self._close_units()

    def _flock(self, unit: str) -> Lease | None:
        """A lease as an exclusive `flock` on a file of the unit's own."""
        fd = self._open(self.path(unit))
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            return None
        except BaseException:
            os.close(fd)
            raise
        return Lease(unit, fd, self)

    def _open(self, path: Path, flags: int = os.O_RDWR | os.O_CREAT) -> int:
        """A file of the locks folder, never through a link; the folder is made when missing."""
        try:
            fd = _open_lock(path, flags, folder_checked=self._folder_checked)
        except FileNotFoundError:
            self.folder.mkdir(parents=True, exist_ok=True)
            fd = _open_lock(path, flags)
        self._folder_checked = True
        return fd

    def _close_units(self) -> None:
        fd, self._units = self._units, None
        if fd is not None:
            os.close(fd)

    def tell(self, note: Mapping[str, object]) -> None:
        """Append one line to the notes file (in one write: lines of several threads and processes never mix)."""
        data = (json.dumps(note) + "\n").encode()
        with self._writing:  # not `_lock`: a reader in another thread does not wait for the disk
            if self._out is None:
                self._out = self._open(self.folder / NOTES, os.O_WRONLY | os.O_CREAT | os.O_APPEND)
            os.write(self._out, data)
        with self._lock:
            self._mine += len(data)
            self._learn(note)  # what reading the line back would teach

    def noted(self, unit: str, *, follow: bool = True) -> tuple[str, str] | None:
        """(record id, record uri) of the last record a holder of `unit` noted, if any was noted legibly."""
        with self._lock:
            if follow:
                self._follow()
            return self._notes.get(unit)

    def follow(self) -> None:
        """Read what other processes noted since the last look."""
        with self._lock:
            self._follow()

    def holders(self) -> dict[str, Holder]:
        """Who runs each unit now, for the units other processes that are alive hold."""
        with self._lock:
            self._follow()
            held = dict(self._holders)
        return {u: h for u, h in held.items() if h.pid != os.getpid() and _alive(h.pid)}

    def close(self) -> None:
        """Close the notes file, and `units.lock` once no lease of this object is held (a job a
        second Ctrl+C stopped may still hold one; it closes it as it gives it back)."""
        with self._writing:
            fd, self._out = self._out, None
        if fd is not None:
            os.close(fd)
        with self._locking:
            self._closing = True
            if not self._held:
                self._close_units()

    def forget_if_alone(self) -> None:
        """Remove the notes when no run is going on (the store lock is free): all they say is indexed."""
        if fcntl is None:  # pragma: no cover
            return
        try:
            fd = _open_lock(self.folder / "store.lock", os.O_RDWR | os.O_CREAT)
        except OSError:  # no locks folder yet: no notes either
            return
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            (self.folder / NOTES).unlink(missing_ok=True)
        except BlockingIOError:  # a run (or gc) holds the store: its notes stay
            pass
        finally:
            os.close(fd)

    def _follow(self) -> None:
        """Read what others appended to the notes file since the last look (all of it, if it was
        replaced); this object's own lines were learnt as they were written, and are skipped."""
        try:
            info = os.stat(self._notes_file, follow_symlinks=False)
        except OSError:  # none yet, or removed: nothing is noted
            self._reset(None)
            return
        if self._read != (info.st_dev, info.st_ino) or info.st_size < self._offset:
            self._reset((info.st_dev, info.st_ino))
        if info.st_size - self._offset == self._mine:  # nothing but this object's own lines
            self._offset, self._mine = info.st_size, 0
            return
        try:
            fd = os.open(self._notes_file, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
        except OSError:
            return
        try:
            data = os.pread(fd, info.st_size - self._offset, self._offset)
        finally:
            os.close(fd)
        whole = data[: data.rfind(b"\n") + 1]  # a line still being written is read next time
        self._offset, self._mine = self._offset + len(whole), 0
        for line in whole.splitlines():
            self._take(line)

    def _reset(self, file: tuple[int, int] | None) -> None:
        self._read, self._offset, self._mine = file, 0, 0
        self._notes.clear()
        self._holders.clear()

    def _take(self, line: bytes) -> None:
        try:
            doc = json.loads(line)
        except ValueError:  # garbage: nothing to learn
            return
        if isinstance(doc, dict):
            self._learn(doc)

    def _learn(self, doc: Mapping[str, object]) -> None:
        unit = doc.get("unit")
        if not isinstance(unit, str):
            return
        self._holders.pop(unit, None)
        record_id, uri, held = doc.get("id"), doc.get("uri"), doc.get("holder")
        if isinstance(record_id, str) and isinstance(uri, str):
            self._notes[unit] = (record_id, uri)
        if isinstance(held, dict):
            try:
                self._holders[unit] = Holder(int(held["pid"]), str(held["trigger"]), str(held["run_id"]), str(held["since"]))
            except (KeyError, TypeError, ValueError):
                pass


UNITS = "units.lock"  # the file the unit leases lock a byte of (Linux)
NOTES = "notes.jsonl"
_OFD_SETLK: int | None = getattr(fcntl, "F_OFD_SETLK", None) if fcntl is not None else None


def _range(kind: int, offset: int) -> bytes:
    """The `struct flock` of a unit's byte (`_offset`): `kind` (F_WRLCK or F_UNLCK), one byte, l_pid 0."""
    return struct.pack("hhqqi4x", kind, os.SEEK_SET, offset, 1, 0)


def _offset(unit: str) -> int:
    """The byte of `units.lock` that stands for `unit`: 62 bits of its digest (two units share one
    with odds of 1 in 4.6e18; then one waits for the other)."""
    return int(digest("lease", unit)[:16], 16) >> 2


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
