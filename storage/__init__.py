"""Metadata store (DuckDB via SQLModel) and artifact store (fsspec).

The public names load lazily: importing DuckDB, pyarrow or fsspec is paid only by commands that
touch the stores.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if __name__ != "workbench.storage":  # pragma: no cover - guard against importing the folder directly
    raise ImportError("import this package as workbench.storage")

_EXPORTS = {
    "ArtifactStore": "workbench.storage.artifacts",
    "RecordProblem": "workbench.storage.artifacts",
    "MetadataStore": "workbench.storage.base",
    "InMemoryMetadataStore": "workbench.storage.memory",
    "DuckDBMetadataStore": "workbench.storage.metadata",
}

__all__ = ["ArtifactStore", "DuckDBMetadataStore", "InMemoryMetadataStore", "MetadataStore", "RecordProblem"]

if TYPE_CHECKING:
    from workbench.storage.artifacts import ArtifactStore, RecordProblem
    from workbench.storage.base import MetadataStore
    from workbench.storage.memory import InMemoryMetadataStore
    from workbench.storage.metadata import DuckDBMetadataStore


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'workbench.storage' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return __all__
