"""Run logs: the records of one run on a local store, appended to one file.

A run writes each record it makes (a materialization, or a check result) as one line of
`logs/<UTC start>-<run id>.jsonl` in the artifact store, `{"materialization": {...}}` or
`{"check": {...}}`, in one `write` to a file opened for appending, instead of a file per record
(three fewer file-system entries per asset: the temporary file, its rename, the key's folder). A
line is as much the immutable truth as a record file: the index is rebuilt from both, and the
run's journal names its log until every line is indexed. The file is synced to disk once, when the
run ends. A kill can leave only the last line cut short (no line follows it: every run has a log of
its own), and readers skip a last line that lacks its newline; a write that fails is cut back off.
Object stores (`s3://`, `gs://`), which cannot append, keep a file per record.
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Iterator, Sequence
from pathlib import Path

from workbench.core.records import CheckRecord, Materialization, convert
from workbench.errors import StoreError

__all__ = ["KINDS", "RunLog", "line", "parse", "run_of"]

KINDS: dict[str, type[Materialization] | type[CheckRecord]] = {"materialization": Materialization, "check": CheckRecord}


class RunLog:
    """The log one run appends its records to (from any of its threads)."""

    def __init__(self, path: Path, uri: str) -> None:
        self.path, self.uri = path, uri
        self._lock = threading.Lock()
        self._fd: int | None = None
        self._size = 0

    def append(self, record: Materialization | None, checks: Sequence[CheckRecord] = ()) -> None:
        """Append the records of one job in one write (the file is made on the first)."""
        records: list[Materialization | CheckRecord] = [record] if record is not None else []
        self._write("".join(line(r) for r in (*records, *checks)).encode())

    def _write(self, data: bytes) -> None:
        with self._lock:
            if self._fd is None:
                self._fd = self._open()
            try:
                view = memoryview(data)
                while view:
                    view = view[os.write(self._fd, view) :]
            except OSError as exc:
                try:
                    os.ftruncate(self._fd, self._size)  # no cut-short line in the middle of the log
                except OSError:
                    pass
                raise StoreError(f"cannot append to the run log {self.path}: {exc}") from exc
            self._size += len(data)

    def close(self) -> None:
        """Sync the log to disk and close it (idempotent)."""
        with self._lock:
            fd, self._fd = self._fd, None
        if fd is None:
            return
        try:
            os.fsync(fd)
        finally:
            os.close(fd)

    def _open(self) -> int:
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_APPEND | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0)
        if self.path.parent.is_symlink():  # never write records through a link out of the store
            raise StoreError(f"{self.path.parent} is a symbolic link: refusing to write through it")
        try:
            try:
                fd = os.open(self.path, flags, 0o644)
            except FileNotFoundError:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                fd = os.open(self.path, flags, 0o644)
        except OSError as exc:
            raise StoreError(f"cannot create the run log {self.path}: {exc}") from exc
        return fd


def line(record: Materialization | CheckRecord) -> str:
    """A record's line in a log."""
    kind = "materialization" if isinstance(record, Materialization) else "check"
    return f'{{"{kind}": {record.to_json()}}}\n'


def run_of(uri: str) -> str:
    """The id of the run whose log `uri` is (`logs/<UTC start>-<run id>.jsonl`)."""
    return uri.rsplit("/", 1)[-1].removesuffix(".jsonl").rsplit("-", 1)[-1]


def parse(content: bytes) -> Iterator[tuple[int, Materialization | CheckRecord | str]]:
    """The log's records with their line numbers; a line that is not a valid record comes as the
    reason why. A last line without its newline (a write a kill cut short) is skipped."""
    lines = content.split(b"\n")
    lines.pop()  # what follows the last newline: nothing, or a line cut short
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            document = json.loads(line)
            if not isinstance(document, dict) or len(document) != 1:
                raise ValueError('a line holds {"materialization": {...}} or {"check": {...}}')
            ((kind, body),) = document.items()
            if kind not in KINDS:
                raise ValueError(f"unknown kind of record {kind!r}")
            yield number, convert(body, KINDS[kind], f"{kind} record")
        except (ValueError, TypeError) as exc:
            yield number, f"not a valid record: {exc}"
