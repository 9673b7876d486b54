"""What the TUI reads, without Textual: loading, cheap change detection, and an asset's details.

Every function here does its I/O through `Workspace` (the store attaches DuckDB per operation),
so the app calls them from worker threads and never holds the store open.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

from workbench.core.records import Materialization
from workbench.core.staleness import Status
from workbench.errors import WorkbenchError
from workbench.project import ProjectConfig
from workbench.run.leases import Holder, Leases
from workbench.workspace import Workspace

PREVIEW_ROWS = 20
LINEAGE_LEVELS = 3  # a deep DAG's full version tree repeats shared ancestors: expand on demand
_IMPORTING = threading.Lock()  # project imports rewrite sys.modules: one at a time


@dataclass(frozen=True, slots=True)
class Loaded:
    """A project opened with its statuses, or the error that stopped it."""

    ws: Workspace | None
    statuses: dict[str, Status]
    error: str | None = None
    units: Mapping[str, Status] = field(default_factory=dict)  # by unit: each partition's own status


@dataclass(frozen=True, slots=True)
class Preview:
    """A table's schema and first rows, or the text of anything else."""

    schema: tuple[tuple[str, str], ...] = ()
    rows: tuple[tuple[str, ...], ...] = ()
    text: str = ""


def load(config: ProjectConfig) -> Loaded:
    """Import the project and judge every asset; a load or store error is returned, not raised."""
    try:
        with _IMPORTING:
            ws = Workspace.from_config(config).recover()
        units = ws.status()
        return Loaded(ws, by_asset(ws, units), units=units)
    except WorkbenchError as exc:
        return Loaded(None, {}, str(exc))


def refresh(ws: Workspace) -> Loaded:
    """New statuses with the already imported code (the store or a source changed)."""
    try:
        units = ws.status()
        return Loaded(ws, by_asset(ws, units), units=units)
    except WorkbenchError as exc:
        return Loaded(ws, {}, str(exc))


def by_asset(ws: Workspace, units: Mapping[str, Status]) -> dict[str, Status]:
    """One status per asset: a partitioned asset's sums up its partitions, as `wb status` does."""
    from workbench.core.units import units_of
    from workbench.present import asset_status

    out: dict[str, Status] = {}
    for key in ws.graph.order:
        parts = [units[u] for u in units_of(ws.partition_keys, key) if u in units]
        if parts:
            out[key] = asset_status(key, parts)
    return out


def partitions_of(ws: Workspace, key: str, units: Mapping[str, Status]) -> list[Status]:
    """The statuses of a partitioned asset's partitions, in order ([] when it is not partitioned)."""
    from workbench.core.units import units_of

    return [units[u] for u in units_of(ws.partition_keys, key) if u in units and units[u].partition]


def code_stamp(config: ProjectConfig) -> tuple[tuple[str, int], ...]:
    """(path, mtime) of pyproject.toml and every Python file of the project's modules."""
    files = [config.root / "pyproject.toml"]
    for top in dict.fromkeys(m.split(".", 1)[0] for m in config.modules):
        files.append(config.root / f"{top}.py")
        folder = config.root / top
        if folder.is_dir():
            files.extend(folder.rglob("*.py"))
    stamps = []
    for path in files:
        try:
            stamps.append((str(path), path.stat().st_mtime_ns))
        except OSError:
            continue
    return tuple(sorted(stamps))


def store_stamp(ws: Workspace) -> tuple[object, ...] | None:
    """Changes when any process records a materialization or a source file changes (~2 ms).

    None when the store cannot be read right now (e.g. locked past the retry budget).
    """
    try:
        sources = ws.observe_sources()
        return ws.metadata.count(), tuple(sorted((k, o.data_version) for k, o in sources.items()))
    except WorkbenchError:
        return None


def held(ws: Workspace) -> dict[str, Holder]:
    """The assets other processes are running now (one of its partitions, for a partitioned one), by who runs them.

    Read from the notes the unit leases' holders leave (`workbench.run.leases`), and only while a
    run is going on: every run keeps a journal (`RunJournal`) from before it takes a lease until it
    has released them all, so no journal means no holder.
    """
    from workbench.core.partitions import split_unit

    home = ws.project.config.home
    if not (home / "locks").is_dir() or not _any_entry(home / "journal"):
        return {}
    out: dict[str, Holder] = {}
    for unit, holder in _leases(home / "locks").holders().items():
        key = split_unit(unit)[0]
        if key in ws.graph.nodes and not ws.graph.is_source(key):
            out.setdefault(key, holder)
    return out


@cache
def _leases(folder: Path) -> Leases:
    """One reader of a store's notes per process, so each poll reads only what was appended since the last."""
    return Leases(folder)


def _any_entry(folder: Path) -> bool:
    try:
        with os.scandir(folder) as entries:
            return next(entries, None) is not None
    except OSError:
        return False


def preview_of(ws: Workspace, key: str, status: Status | None) -> Preview:
    """The preview of an asset's latest successful version, or of a source file."""
    if ws.graph.is_source(key):
        return source_preview(ws, key)
    if status is None or status.record is None:
        return Preview(text="never materialized")
    return preview(ws, status.record)


def lineage(ws: Workspace, key: str, version: str | None, levels: int = LINEAGE_LEVELS) -> dict[str, Any] | str | None:
    """The exact input versions behind one version, `levels` deep (deeper ones load on demand);
    None when there is no version yet, the error message when the lookup failed."""
    from workbench.ops.lineage import version_tree

    if not version:
        return None
    try:
        return version_tree(ws, key, version, levels=levels)
    except WorkbenchError as exc:
        return f"cannot show the lineage of {key}@{version[:12]}: {exc}"


def source_preview(ws: Workspace, key: str) -> Preview:
    obs = ws.observe_sources().get(key)
    path = getattr(ws.graph.nodes[key], "path", "")
    if obs is None or obs.data_version is None:
        return Preview(text=f"source file {path} is missing")
    from workbench.present import human_size

    return Preview(text=f"source {path}\ndata version {obs.data_version}\n{human_size(obs.size)}")


def preview(ws: Workspace, record: Materialization, rows: int = PREVIEW_ROWS) -> Preview:
    """First rows and schema of a table; JSON, text or repr of anything else (as `wb show`)."""
    if not record.artifact_uri or not record.serializer:
        return Preview(text="no artifact")
    try:
        path = ws.artifacts.local_path(record.artifact_uri)
        if record.serializer == "parquet":
            return _table(path, rows)
        from workbench.present import artifact_text
        from workbench.run import serializers

        return Preview(text=artifact_text(serializers.read(path, record.serializer), record.serializer))
    except (WorkbenchError, OSError, ValueError) as exc:
        return Preview(text=f"cannot read the artifact: {exc}")


def _table(path: Path, rows: int) -> Preview:
    import polars as pl

    frame = pl.read_parquet(path, n_rows=rows)
    cells = tuple(tuple("" if v is None else str(v) for v in row) for row in frame.iter_rows())
    return Preview(schema=tuple((k, str(v)) for k, v in frame.schema.items()), rows=cells)


def relative(path: str, root: Path) -> str:
    """`path` relative to the project root when it lies inside it."""
    try:
        return os.path.relpath(path, root) if Path(path).is_relative_to(root) else path
    except ValueError:
        return path
