"""Cache files signed with this user's key (`loader.user_key`): one planted in a project, written
for another key or format, or damaged, reads as absent.

A file is one JSON header line (`format`, `key`, `mac`) and a body. The `key` says what the body
was computed from, so a file kept for other inputs is turned down without hashing its body.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import tempfile
from pathlib import Path

from workbench.versioning.loader import user_key

__all__ = ["read", "write"]


def read(path: Path, format: str, key: str = "") -> bytes | None:
    """The body `write` kept at `path` for this `format` and `key`, if this user signed it."""
    secret = user_key()
    if secret is None:
        return None
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
        with os.fdopen(fd, "rb") as f:
            header, _, body = f.read().partition(b"\n")
        head = json.loads(header)
    except (OSError, ValueError):
        return None
    if not isinstance(head, dict) or head.get("format") != format or head.get("key") != key:
        return None
    return body if hmac.compare_digest(str(head.get("mac")), _mac(secret, body)) else None


def write(path: Path, format: str, body: bytes, key: str = "") -> None:
    """Keep `body` at `path`, atomically; nothing when this user has no key or the folder is read-only."""
    secret = user_key()
    if secret is None:
        return
    header = json.dumps({"format": format, "key": key, "mac": _mac(secret, body)}).encode()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name, suffix=".tmp")
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(header + b"\n" + body)
            os.replace(tmp, path)  # replaces a planted link itself, never its target
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
    except OSError:
        pass  # computed again next time


def _mac(secret: bytes, body: bytes) -> str:
    return hashlib.blake2b(body, key=secret, digest_size=32).hexdigest()
