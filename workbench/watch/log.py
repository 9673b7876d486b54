"""What `wb watch` says: dated lines on stderr, and with `--log FILE` one JSON object per event.

Every event has a kind (`pass`, `stale`, `done`, `error`, `importing`, ...) and a message; the
JSON line adds the time (ISO 8601 with the offset) and the event's fields. `--quiet` keeps only
what a long session needs on the terminal: pass results, errors, warnings and hangs.
"""

from __future__ import annotations

import json
import sys
from datetime import datetime
from typing import Any, TextIO

__all__ = ["DATED", "WatchLog"]

DATED = "%Y-%m-%d %H:%M:%S"
CHATTY = frozenset({"watching", "pass", "stale", "queued", "next"})  # left out of the terminal by --quiet
FILE_ONLY = frozenset({"asset"})  # the run's reporter already shows these on the terminal


class WatchLog:
    """Callable as `log(kind, message, **fields)` from any thread."""

    def __init__(self, *, quiet: bool = False, file: TextIO | None = None, stream: TextIO | None = None) -> None:
        self.quiet = quiet
        self.stream = stream or sys.stderr
        self.file = file  # opened for appending; closed by `close()`

    def __call__(self, kind: str, message: str, **fields: Any) -> None:
        now = datetime.now().astimezone()
        if self.file is not None:  # first: a Ctrl-C may land between the two writes, and the file is the record
            event = {"time": now.isoformat(timespec="milliseconds"), "event": kind, "message": message, **fields}
            self.file.write(json.dumps(event, default=str) + "\n")
            self.file.flush()
        if kind not in FILE_ONLY and not (self.quiet and kind in CHATTY):
            self.stream.write(f"{now.strftime(DATED)} {message}\n")
            self.stream.flush()

    def close(self) -> None:
        if self.file is not None:
            self.file.close()
            self.file = None
