"""Observing source files: a cheap size + mtime + ctime check first, then a content hash."""

from __future__ import annotations

import glob
import re
from collections.abc import Mapping, Sequence
from datetime import datetime
from pathlib import Path

from workbench.core.hashing import digest, file_digest
from workbench.core.partitions import SEP, MultiPartitions, unit_id
from workbench.core.records import SourceObservation, utcnow
from workbench.core.spec import PLACEHOLDER, SourceSpec
from workbench.core.units import PartitionKeys

GLOB_CHARS = frozenset("*?[")
RACY_NS = 2_000_000_000  # file-system clocks tick coarsely: trust only stamps older than this


def source_files(spec: SourceSpec, root: Path) -> list[Path]:
    """The files a source stands for: one file, every file under a folder, or a glob's matches (a
    partitioned source's template is a glob with `*` for each placeholder; none for an observed source)."""
    if spec.observed:
        return []
    pattern = source_pattern(spec)
    path = root / pattern
    if any(c in pattern for c in GLOB_CHARS):
        return sorted(Path(p) for p in glob.glob(str(path), recursive=True) if Path(p).is_file())
    if path.is_dir():
        return sorted(p for p in path.rglob("*") if p.is_file())
    return [path] if path.is_file() else []


def source_pattern(spec: SourceSpec) -> str:
    """The path a source watches: its path, or its template with each placeholder as `*`."""
    return PLACEHOLDER.sub("*", spec.path) if spec.partitions is not None else spec.path


def source_location(spec: SourceSpec, root: Path, partition: str = "") -> Path:
    """Where a source is; for a partition of a partitioned source, that partition's file."""
    if not partition:
        return root / spec.path
    values = partition.split(SEP)
    names = spec.partitions.names if isinstance(spec.partitions, MultiPartitions) else PLACEHOLDER.findall(spec.path)[:1]
    by_name = dict(zip(names, values, strict=True))
    return root / PLACEHOLDER.sub(lambda m: by_name[m.group(1)], spec.path)


def partition_files(spec: SourceSpec, root: Path, keys: Sequence[str]) -> tuple[dict[str, Path], list[Path]]:
    """A partitioned source's files by partition key, and the files its template matches that name
    no partition (a day outside the range, a misspelt region)."""
    pattern = _template_regex(spec)
    known = set(keys)
    found: dict[str, Path] = {}
    unmatched: list[Path] = []
    for path in sorted(Path(p) for p in glob.glob(str(root / source_pattern(spec))) if Path(p).is_file()):
        match = pattern.fullmatch(path.relative_to(root).as_posix())
        key = _key_of(spec, match) if match else None
        if key is not None and key in known:
            found[key] = path
        else:
            unmatched.append(path)
    return found, unmatched


def _template_regex(spec: SourceSpec) -> re.Pattern[str]:
    parts = PLACEHOLDER.split(spec.path)  # literal, name, literal, name, ..., literal
    text = "".join(re.escape(p) if i % 2 == 0 else f"(?P<{p}>[^/]+)" for i, p in enumerate(parts))
    return re.compile(text)


def _key_of(spec: SourceSpec, match: re.Match[str]) -> str | None:
    values = match.groupdict()
    if isinstance(spec.partitions, MultiPartitions):
        return SEP.join(values[name] for name in spec.partitions.names)
    first = next(iter(values.values()), None)
    return first if first is not None and all(v == first for v in values.values()) else None


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
    return _observe_files(spec.key, spec.path, source_files(spec, root), root, previous)


def _observe_files(
    key: str, path: str, files: list[Path], root: Path, previous: SourceObservation | None
) -> SourceObservation:
    if not files:
        return SourceObservation(key, path, None, 0, 0, utcnow())
    single = len(files) == 1 and files[0] == root / path
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
    return SourceObservation(key, path, version, size, stamp, utcnow())


def _ns(when: datetime) -> int:
    return int(when.timestamp() * 1_000_000_000)


def observe_unit(spec: SourceSpec, root: Path, partition: str) -> SourceObservation:
    """One unit of a source, hashed afresh: the whole source, or one partition's file."""
    if not partition:
        return observe(spec, root, None)
    file = source_location(spec, root, partition)
    files = [file] if file.is_file() else []
    return _observe_files(unit_id(spec.key, partition), file.relative_to(root).as_posix(), files, root, None)


def observe_partitions(
    spec: SourceSpec, root: Path, keys: Sequence[str], previous: Mapping[str, SourceObservation]
) -> tuple[dict[str, SourceObservation], list[Path]]:
    """One observation per partition (by unit id) of a partitioned source, and its unmatched files."""
    found, unmatched = partition_files(spec, root, keys)
    out = {}
    for key in keys:
        unit = unit_id(spec.key, key)
        file = found.get(key)
        path = (file or source_location(spec, root, key)).relative_to(root).as_posix()
        out[unit] = _observe_files(unit, path, [file] if file else [], root, previous.get(unit))
    return out, unmatched


def observe_all(
    specs: list[SourceSpec], root: Path, previous: Mapping[str, SourceObservation], keys: PartitionKeys | None = None
) -> tuple[dict[str, SourceObservation], dict[str, list[Path]]]:
    """Observations by unit id (a partitioned source has one per partition), and each partitioned
    source's files that match no partition."""
    out: dict[str, SourceObservation] = {}
    unmatched: dict[str, list[Path]] = {}
    for spec in specs:
        if spec.partitions is None:
            out[spec.key] = observe(spec, root, previous.get(spec.key))
            continue
        found, stray = observe_partitions(spec, root, (keys or {}).get(spec.key, ()), previous)
        out.update(found)
        if stray:
            unmatched[spec.key] = stray
    return out, unmatched
