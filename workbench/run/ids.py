"""Record ids: 128 bits from the operating system's CSPRNG, as 32 hex digits.

Unpredictable, so that no one who can write to a shared store can plant a record under an id a
run is about to use (the index keeps the first record of an id). Drawn in blocks: one `getrandom`
call per 256 ids, not one per record; in a run of many small assets every system call also hands
the GIL to another thread and waits to get it back. A forked child draws a block of its own.
"""

from __future__ import annotations

import os

_BLOCK = 256
_pool: list[str] = []


def new_id() -> str:
    """A fresh random id (thread-safe: `list.pop` is atomic, and a refill only adds fresh ids)."""
    try:
        return _pool.pop()
    except IndexError:
        text = os.urandom(16 * _BLOCK).hex()
        _pool.extend(text[i : i + 32] for i in range(32, len(text), 32))
        return text[:32]


os.register_at_fork(after_in_child=_pool.clear)
