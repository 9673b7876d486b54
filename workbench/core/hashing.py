"""Canonical hashing: xxh3-128 over length-prefixed parts, so ("ab", "c") != ("a", "bc")."""

from __future__ import annotations

from pathlib import Path

import xxhash

CHUNK = 1 << 20


def digest(*parts: str | bytes) -> str:
    """Hex xxh3-128 of the parts, each prefixed by its length."""
    h = xxhash.xxh3_128()
    for part in parts:
        data = part.encode() if isinstance(part, str) else part
        h.update(len(data).to_bytes(8, "little"))
        h.update(data)
    return h.hexdigest()


def file_digest(path: str | Path) -> str:
    """Hex xxh3-128 of a file's bytes, read in chunks."""
    h = xxhash.xxh3_128()
    with open(path, "rb") as f:
        while chunk := f.read(CHUNK):
            h.update(chunk)
    return h.hexdigest()
