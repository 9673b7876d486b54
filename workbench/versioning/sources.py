"""Observing source files: a cheap size + mtime + ctime check first, then a content hash."""

from __future__ import annotations

import glob
from collections.abc import Mapping
from datetime import datetime
from pathlib import Path

from workbench.core.hashing import digest, file_digest
from workbench.core.records import SourceObservation, utcnow
from workbench.core.spec import SourceSpec

GLOB_CHARS = frozenset("*?[")
RACY_NS = 2_000_000_000  # file-system clocks tick coarsely: trust only stamps older than this


def source_files(spec: SourceSpec, root: Path) -> list[Path]:
    """The files a source stands for: one file, every file under a folder, or a glob's matches
    (none for an observed source)."""
    if spec.observed:
        return []
    path = root / spec.path
    if any(c in spec.path for c in GLOB_CHARS):
        return sorted(Path(p) for p in glob.glob(str(path), recursive=True) if Path(p).is_file())
    if path.is_dir():
        return sorted(p for p in path.rglob("*") if p.is_file())
    return [path] if path.is_file() else []


def source_location(spec: SourceSpec, root: Path) -> Path:
    return root / spec.path


def observe(spec: SourceSpec, root: Path, previous: SourceObservation | None) -> SourceObservation:
    """Observe one source, reusing the previous hash when its stat stamp is unchanged.

    The stamp is the newest of every file's (and folder's) mtime and ctime: a copy that keeps an
    old mtime (`cp -p`, `rsync -t`, `tar x`) still gets a new ctime, which no tool sets back. A
    stamp within `RACY_NS` of the moment it was hashed is not trusted (a write in the same clock
    tick keeps it), so such a source is hashed again until its stamp is old enough.
    """
    if spec.observed:
        from workbench.versioning.observed import observe_observed

        return observe_observed(spec, previous)
    files = source_files(spec, root)
    if not files:
        return SourceObservation(spec.key, spec.path, None, 0, 0, utcnow())
    single = len(files) == 1 and files[0] == root / spec.path
    stats = [f.stat() for f in files]
    size = sum(s.st_size for s in stats)
    # A folder's mtime moves when an entry is added, removed or renamed: count it too.
    folders = [d.stat() for d in ({f.parent for f in files} if not single else ())]
    stamp = max(max(s.st_mtime_ns, s.st_ctime_ns) for s in [*stats, *folders])
    if (
        previous
        and previous.data_version
        and previous.size == size
        and previous.mtime_ns == stamp
        and stamp < _ns(previous.observed_at) - RACY_NS
    ):
        return previous
    if single:
        version = file_digest(files[0])
    else:
        version = digest(*(part for f in files for part in (str(f.relative_to(root)), file_digest(f))))
    return SourceObservation(spec.key, spec.path, version, size, stamp, utcnow())


def _ns(when: datetime) -> int:
    return int(when.timestamp() * 1_000_000_000)


def observe_all(
    specs: list[SourceSpec], root: Path, previous: Mapping[str, SourceObservation]
) -> dict[str, SourceObservation]:
    return {s.key: observe(s, root, previous.get(s.key)) for s in specs}
