"""One error tree. The CLI turns a `WorkbenchError` into one line on stderr and its exit code.

Exit codes (README "Exit codes"): 0 success; 1 an asset or a blocking check failed; 2 bad input or
usage; 3 the store (a damaged or unreadable index, a missing artifact, an unreachable store, a
lock held past the retry budget); 4 an internal error (a bug: `--debug` shows the traceback);
130 interrupted (Ctrl+C).
"""

from __future__ import annotations

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_STORE, EXIT_INTERNAL, EXIT_INTERRUPTED = 0, 1, 2, 3, 4, 130


class WorkbenchError(Exception):
    """Base of every error the workbench raises on purpose; bad input unless a subclass says otherwise."""

    exit_code: int = EXIT_USAGE


class ProjectError(WorkbenchError):
    """The project cannot be found or imported."""


class DefinitionError(WorkbenchError):
    """Asset definitions are invalid: bad key, duplicate key, unknown dependency, cycle."""


class SelectionError(WorkbenchError):
    """A selection expression is malformed, names an unknown key, or matches no asset."""


class VersionRefError(WorkbenchError):
    """A version reference (`KEY@REF`) does not resolve to exactly one version."""


class StoreError(WorkbenchError):
    """The metadata or artifact store is damaged, unreachable or locked."""

    exit_code = EXIT_STORE


class StoreBusyError(StoreError):
    """The DuckDB file stayed locked by another process past the retry budget."""


class SerializationError(WorkbenchError):
    """A value cannot be written or read with the chosen serializer."""


class AssetFailedError(WorkbenchError):
    """`materialize(..., raise_on_failure=True)`: an asset or a blocking check failed."""

    exit_code = 1


class InputError(WorkbenchError):
    """An input cannot be loaded (never materialized, or its artifact is gone)."""


class ManifestError(WorkbenchError):
    """A run option or an asset's resources cannot be expressed as a Kubernetes manifest."""


TRANSIENT = frozenset({429, 500, 502, 503, 504})  # HTTP statuses worth retrying


class KubeError(WorkbenchError):
    """The Kubernetes API refused a call or cannot be reached (`status`: the HTTP status, if any)."""

    exit_code = 1

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status

    @property
    def transient(self) -> bool:
        """Worth trying again later: throttled, a server error, or no answer at all."""
        return self.status is None or self.status in TRANSIENT


class KubeConfigError(WorkbenchError):
    """No usable kubeconfig or context (bad input: exit 2)."""


class RunAborted(KubeError):
    """The driver stopped the run: the API refused a call for good (403, 422...)."""


class Cancelled(KubeError):
    """The user interrupted `wb push --wait`; the run's Jobs were deleted."""

    exit_code = 130
