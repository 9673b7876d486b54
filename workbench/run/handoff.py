"""Tables handed from an asset to the assets below it in the same run, in memory.

A Polars DataFrame stored as Parquet is also kept here (within a byte budget, the least recently
used dropped first), so a downstream asset of the same run gets a copy of it instead of reading
back the file just written. Only a frame that reading the file would give back exactly is kept:
the file's schema equals the frame's, and no column holds Categorical or Object values (the file
does not keep a categorical's physical codes, which orderings can see). A copy (`clone`) shares
the buffers, and an asset that changes its input in place changes its own copy only.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from pathlib import Path
from typing import Any

__all__ = ["Handoff"]

BUDGET = 512 << 20  # bytes of frames kept at most


class Handoff:
    """The frames of this run's Parquet artifacts, by artifact uri."""

    def __init__(self, budget: int = BUDGET) -> None:
        self.budget = budget
        self._frames: OrderedDict[str, tuple[Any, int]] = OrderedDict()
        self._size = 0
        self._lock = threading.Lock()
        self._read_back: dict[tuple[tuple[str, Any], ...], bool] = {}  # frame schema -> the file gives it back

    def exact(self, value: Any, written: Path | bytes | memoryview) -> Any | None:
        """A copy of `value`, just serialized (to a file, or to these bytes), if it is a frame that
        reading them gives back exactly."""
        import polars as pl

        if not isinstance(value, pl.DataFrame) or value.estimated_size() > self.budget:
            return None
        schema = tuple(value.schema.items())
        same = self._read_back.get(schema)
        if same is None:  # the same schema is always written (and read back) alike: looked at once a run
            source = bytes(written) if isinstance(written, memoryview) else written
            same = self._read_back[schema] = _exact(schema) and tuple(pl.read_parquet_schema(source).items()) == schema
        return value.clone() if same else None

    def keep(self, uri: str, frame: Any) -> None:
        """Keep `frame` (from `exact`) as the value of artifact `uri`."""
        size = int(frame.estimated_size())
        with self._lock:
            if uri in self._frames:
                return
            self._frames[uri] = (frame, size)
            self._size += size
            while self._size > self.budget:
                _, (_, dropped) = self._frames.popitem(last=False)
                self._size -= dropped

    def take(self, uri: str) -> Any | None:
        """A copy of the frame of artifact `uri`, if kept."""
        with self._lock:
            found = self._frames.get(uri)
            if found is None:
                return None
            self._frames.move_to_end(uri)
        return found[0].clone()


def _exact(schema: tuple[tuple[str, Any], ...]) -> bool:
    """Whether Parquet stores every column's values exactly as Polars holds them."""
    import polars as pl

    def plain(dtype: Any) -> bool:
        if isinstance(dtype, (pl.Categorical, pl.Object)) or dtype in (pl.Categorical, pl.Object):
            return False
        if isinstance(dtype, (pl.List, pl.Array)):
            return plain(dtype.inner)
        if isinstance(dtype, pl.Struct):
            return all(plain(field.dtype) for field in dtype.fields)
        return True

    return all(plain(dtype) for _, dtype in schema)
