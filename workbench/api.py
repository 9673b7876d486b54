"""The notebook entry points: `materialize` and `load`."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from workbench.errors import SelectionError, VersionRefError
from workbench.executor import Result
from workbench.loader import scoped
from workbench.workspace import Workspace

__all__ = ["Result", "load", "materialize"]


def materialize(
    selection: str | None = None,
    project: str | Path | None = None,
    *,
    force: bool = False,
    only: bool = False,
    jobs: int | None = None,
) -> Result:
    """Bring `selection` (default: everything) and its upstream up to date; returns what ran."""
    with scoped():
        return Workspace.open(project, fresh=False).materialize(selection, force=force, only=only, jobs=jobs, trigger="api")


def load(key: str, version: str | None = None, alias: str | None = None, project: str | Path | None = None) -> Any:
    """The value of an asset: its latest version, or the one a version reference names."""
    from workbench import serializers
    from workbench.graph import suggest
    from workbench.versions import resolve

    if alias is not None and version is not None:
        raise VersionRefError("pass version= or alias=, not both")
    with scoped():
        ws = Workspace.open(project, fresh=False)
        if key not in ws.graph or ws.graph.is_source(key):
            raise SelectionError(f"unknown asset {key!r}" + suggest(key, ws.graph.nodes))
        record = resolve(ws.metadata, key, alias or version)
        assert record.artifact_uri and record.serializer
        return serializers.read(ws.artifacts.local_path(record.artifact_uri), record.serializer)
