"""Which installed distributions (and versions) the third-party modules an asset reaches come from.

`importlib.metadata.packages_distributions()` reads every installed distribution (~0.15-0.2 s), so
its answer is cached per Python environment in the user's cache folder (`user_cache_file`: a new
or deleted project store does not scan again), keyed by the modification times of the
`site-packages` folders: installing, upgrading or removing a distribution changes them.
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
import site
import sys
import tempfile
from collections.abc import Iterable, Mapping
from functools import cache
from pathlib import Path

__all__ = ["Libraries", "stamp", "user_cache_file", "user_cache_folder", "write_atomically"]

FORMAT = 1


class Libraries:
    """Distribution versions for top-level module names, cached per installed set."""

    def __init__(self, cache_file: Path | None) -> None:
        self.cache_file = cache_file
        self._table: dict[str, dict[str, str]] | None = None

    def versions(self, modules: Iterable[str]) -> dict[str, str]:
        """`{distribution: version}` for the modules given, plus `python`."""
        table = self._load()
        out = {"python": platform.python_version()}
        for module in modules:
            out.update(table.get(module, {}))
        return dict(sorted(out.items()))

    def _load(self) -> Mapping[str, dict[str, str]]:
        if self._table is not None:
            return self._table
        found = stamp()
        if self.cache_file is not None:
            try:
                data = json.loads(self.cache_file.read_text(encoding="utf-8"))
                if data.get("format") == FORMAT and data.get("stamp") == found and isinstance(data.get("table"), dict):
                    self._table = data["table"]
                    return self._table
            except (OSError, ValueError, AttributeError):
                pass
        self._table = _scan()
        if self.cache_file is not None:
            write_atomically(self.cache_file, {"format": FORMAT, "stamp": found, "table": self._table})
        return self._table


def user_cache_folder() -> Path | None:
    """Workbench's folder in the user's cache folder; None without a home folder."""
    try:
        return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "workbench"
    except (RuntimeError, KeyError):  # no HOME and no password entry
        return None


def user_cache_file() -> Path | None:
    """Where the table of this Python environment (its prefix and `site-packages` folders) is kept;
    None without a home folder (then every process scans)."""
    base = user_cache_folder()
    if base is None:
        return None
    where = json.dumps([sys.prefix, _folders()]).encode()
    return base / f"libraries-{hashlib.sha256(where).hexdigest()[:16]}.json"


def _folders() -> list[str]:
    return sorted({*site.getsitepackages(), site.getusersitepackages(), *(p for p in sys.path if p.endswith("-packages"))})


def stamp() -> list[object]:
    """What changes when a distribution is installed, upgraded or removed: the Python version and the
    modification times of the `site-packages` folders."""
    folders = _folders()
    out: list[object] = [sys.version]
    for folder in folders:
        try:
            out.append([folder, os.stat(folder).st_mtime_ns])
        except OSError:
            continue
    return out


@cache
def _scan() -> dict[str, dict[str, str]]:
    from importlib.metadata import packages_distributions, version

    table: dict[str, dict[str, str]] = {}
    for module, dists in packages_distributions().items():
        for dist in dists:
            try:
                table.setdefault(module, {})[dist] = version(dist)
            except Exception:  # a distribution without metadata: skip it
                continue
    return table


def write_atomically(path: Path, data: object) -> None:
    """Write `data` as JSON to `path` through a temporary file; a folder that cannot be written to
    is left alone (the next process computes it again)."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".tmp")
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            json.dump(data, f)
        os.replace(tmp, path)
    except OSError:
        pass
