"""The notebook entry points: `materialize` and `load`."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from workbench.errors import AssetFailedError, SelectionError, VersionRefError
from workbench.run.executor import Result
from workbench.versioning.loader import scoped
from workbench.workspace import Workspace

if TYPE_CHECKING:
    import polars as pl

__all__ = ["Result", "add_partitions", "history", "load", "materialize"]


def materialize(
    selection: str | None = None,
    project: str | Path | None = None,
    *,
    force: bool = False,
    only: bool = False,
    jobs: int | None = None,
    params: dict[str, Any] | None = None,
    raise_on_failure: bool = False,
    progress: bool | None = None,
) -> Result:
    """Bring `selection` (default: everything) and its upstream up to date; returns what ran.

    `params`: run the selected assets with these params (a one-off variant, as `--param`).
    `raise_on_failure`: raise `AssetFailedError` (naming each failure) instead of returning a failed result.
    `progress`: show a progress bar and a line per asset (default: in a notebook or on a terminal).
    """
    from workbench.core.spec import check_params
    from workbench.run.reporting import progress_reporter

    with scoped():
        ws = Workspace.open(project, fresh=False).recover()
        if params:
            ws.vary(selection, check_params(params, "params"))
        reporter = progress_reporter(progress)
        result = ws.materialize(selection, force=force, only=only, jobs=jobs, trigger="api", reporter=reporter)
    if raise_on_failure and not result.ok:
        failures = [f"{unit}: {result.errors.get(unit, 'failed')}" for unit in result.failed]
        failures += [f"check {name} failed" for name in result.failed_blocking_checks]
        failures += [f"{unit}: skipped, upstream {cause} failed" for unit, cause in result.blocked.items()]
        raise AssetFailedError("materialize failed: " + "; ".join(failures))
    return result


def history(selection: str | None = None, project: str | Path | None = None, *, limit: int | None = None) -> pl.DataFrame:
    """Every version of every selected asset (partition) as a Polars DataFrame, newest first.

    Columns: key, partition, data_version, code_version, status, materialized_at, git_commit, then
    `params.<name>` and `metrics.<name>`. `limit`: at most this many versions per asset.
    """
    from workbench.ops import search

    with scoped():
        ws = Workspace.open(project, fresh=False).recover()
        return search.frame(search.rows(versions(ws, selection, limit)))


def versions(ws: Workspace, selection: str | None, limit: int | None = None) -> list[Any]:
    """The records of the assets `selection` names (sources left out), newest first; of the
    partitions a `KEY[PARTITIONS]` term names, for those assets."""
    from workbench.core.partitions import select_partitions
    from workbench.core.unitref import split_selection

    named = split_selection(selection)[1]
    keys = [k for k in ws.select(selection) if not ws.graph.is_source(k)]
    records: list[Any] = []
    for key in keys:
        if key not in named:
            records += ws.metadata.history(key, limit=limit)
            continue
        if not ws.partition_keys.get(key):
            raise SelectionError(f"{key} is not partitioned: name it without [{named[key]}]")
        chosen = set(select_partitions(ws.partition_keys[key], named[key]))
        records += [r for r in ws.metadata.history(key) if r.partition in chosen][:limit]
    return sorted(records, key=lambda r: r.ended_at, reverse=True)


def load(
    key: str,
    version: str | None = None,
    alias: str | None = None,
    project: str | Path | None = None,
    *,
    partition: str | None = None,
) -> Any:
    """The value of an asset: its latest version, or the one a version reference names; of one
    partition with `partition=` (or `key` as `KEY[PARTITION]`)."""
    from workbench.core.graph import suggest
    from workbench.core.unitref import check_partition, parse_unit
    from workbench.core.versions import resolve
    from workbench.run import serializers

    if alias is not None and version is not None:
        raise VersionRefError("pass version= or alias=, not both")
    unit = parse_unit(key)
    if unit.ref is not None:
        raise VersionRefError(f"pass the version as version=, not in the key {key!r}")
    if partition is not None and unit.partition is not None and partition != unit.partition:
        raise SelectionError(f"{key!r} names partition {unit.partition!r} and partition= {partition!r}: name one")
    with scoped():
        ws = Workspace.open(project, fresh=False).recover()
        if unit.key not in ws.graph or ws.graph.is_source(unit.key):
            raise SelectionError(f"unknown asset {unit.key!r}" + suggest(unit.key, ws.graph.nodes))
        unit = check_partition(ws.partition_keys, replace(unit, partition=partition or unit.partition))
        record = resolve(ws.metadata, unit.key, alias or version, unit.partition)
        assert record.artifact_uri and record.serializer
        return serializers.read(ws.artifacts.local_path(record.artifact_uri), record.serializer)


def add_partitions(name: str, keys: list[str], project: str | Path | None = None) -> list[str]:
    """Add `keys` to the dynamic partition set `name` (`DynamicPartitions(name)`), e.g. from an asset
    that discovers new customers; returns the keys that were not there yet."""
    from workbench.ops.partitions import change_partitions

    with scoped():
        return change_partitions(Workspace.open(project, fresh=False), name, keys, add=True)
