"""One error tree. The CLI turns a `WorkbenchError` into one line on stderr and its exit code."""

from __future__ import annotations


class WorkbenchError(Exception):
    """Base of every error the workbench raises on purpose."""

    exit_code: int = 2


class ProjectError(WorkbenchError):
    """The project cannot be found or imported."""


class DefinitionError(WorkbenchError):
    """Asset definitions are invalid: bad key, duplicate key, unknown dependency, cycle."""


class SelectionError(WorkbenchError):
    """A selection expression is malformed or names an unknown key."""


class VersionRefError(WorkbenchError):
    """A version reference (`KEY@REF`) does not resolve to exactly one version."""


class StoreError(WorkbenchError):
    """The metadata or artifact store is damaged or unreachable."""


class StoreBusyError(StoreError):
    """The DuckDB file stayed locked by another process past the retry budget."""


class SerializationError(WorkbenchError):
    """A value cannot be written or read with the chosen serializer."""


class AssetFailedError(WorkbenchError):
    """`materialize(..., raise_on_failure=True)`: an asset or a blocking check failed."""

    exit_code = 1
