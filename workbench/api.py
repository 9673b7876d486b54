"""The notebook entry points: `materialize` and `load`."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from workbench.errors import AssetFailedError, SelectionError, VersionRefError
from workbench.run.executor import Result
from workbench.versioning.loader import scoped
from workbench.workspace import Workspace

if TYPE_CHECKING:
    import polars as pl

__all__ = ["Result", "history", "load", "materialize"]


def materialize(
    selection: str | None = None,
    project: str | Path | None = None,
    *,
    force: bool = False,
    only: bool = False,
    jobs: int | None = None,
    params: dict[str, Any] | None = None,
    raise_on_failure: bool = False,
) -> Result:
    """Bring `selection` (default: everything) and its upstream up to date; returns what ran.

    `params`: run the selected assets with these params (a one-off variant, as `--param`).
    `raise_on_failure`: raise `AssetFailedError` (naming each failure) instead of returning a failed result.
    """
    from workbench.core.spec import check_params

    with scoped():
        ws = Workspace.open(project, fresh=False).recover()
        if params:
            ws.vary(selection, check_params(params, "params"))
        result = ws.materialize(selection, force=force, only=only, jobs=jobs, trigger="api")
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
    """The records of the assets `selection` names (sources left out), newest first."""
    keys = [k for k in ws.select(selection) if not ws.graph.is_source(k)]
    records = [r for k in keys for r in ws.metadata.history(k, limit=limit)]
    return sorted(records, key=lambda r: r.ended_at, reverse=True)


def load(key: str, version: str | None = None, alias: str | None = None, project: str | Path | None = None) -> Any:
    """The value of an asset: its latest version, or the one a version reference names."""
    from workbench.core.graph import suggest
    from workbench.core.versions import resolve
    from workbench.run import serializers

    if alias is not None and version is not None:
        raise VersionRefError("pass version= or alias=, not both")
    with scoped():
        ws = Workspace.open(project, fresh=False).recover()
        if key not in ws.graph or ws.graph.is_source(key):
            raise SelectionError(f"unknown asset {key!r}" + suggest(key, ws.graph.nodes))
        record = resolve(ws.metadata, key, alias or version)
        assert record.artifact_uri and record.serializer
        return serializers.read(ws.artifacts.local_path(record.artifact_uri), record.serializer)
