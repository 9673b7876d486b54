"""A project's Kubernetes settings: `[tool.workbench] timeout` and `[tool.workbench.kubernetes]`.

```toml
[tool.workbench]
timeout = "2h"                # default for assets without @asset(timeout=...)

[tool.workbench.kubernetes]
start_timeout = "10m"         # a pod that cannot start (image, Secret, no node) fails after this
include = ["conf/*.yaml"]     # extra files for the code package, besides *.py and source files
concurrency = { gpu = 2 }     # at most 2 Jobs at once of assets tagged `gpu` (or `key=value`)
service_account_annotations = { "eks.amazonaws.com/role-arn" = "arn:aws:iam::1234:role/wb" }

[tool.workbench.kubernetes.defaults]   # merged into every asset Job, before the asset's own k8s=
pod = { imagePullSecrets = [{ name = "regcred" }] }
container = { resources = { requests = { cpu = "250m", memory = "512Mi" } } }
```
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from workbench.core.spec import K8S_PARTS, parse_duration
from workbench.errors import DefinitionError, ProjectError
from workbench.project import workbench_table

START_TIMEOUT = 600


@dataclass(frozen=True, slots=True)
class KubeSettings:
    timeout: int | None = None
    start_timeout: int = START_TIMEOUT
    include: tuple[str, ...] = ()
    concurrency: Mapping[str, int] = field(default_factory=dict)
    service_account_annotations: Mapping[str, str] = field(default_factory=dict)
    defaults: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)


def read_settings(root: Path) -> KubeSettings:
    """The settings in `root/pyproject.toml` (defaults when there is none)."""
    where = root / "pyproject.toml"
    table = workbench_table(where) or {}
    kube = table.get("kubernetes", {})
    if not isinstance(kube, dict):
        raise ProjectError(f"{where}: [tool.workbench.kubernetes] must be a table")
    unknown = set(kube) - {"start_timeout", "include", "concurrency", "service_account_annotations", "defaults"}
    if unknown:
        raise ProjectError(f"{where}: unknown [tool.workbench.kubernetes] key(s): {', '.join(sorted(unknown))}")
    include = kube.get("include", [])
    concurrency = kube.get("concurrency", {})
    if not isinstance(include, list) or not all(isinstance(i, str) for i in include):
        raise ProjectError(f"{where}: [tool.workbench.kubernetes] include must be a list of glob patterns")
    if not isinstance(concurrency, dict) or not all(
        isinstance(v, int) and not isinstance(v, bool) and v > 0 for v in concurrency.values()
    ):
        raise ProjectError(f"{where}: [tool.workbench.kubernetes] concurrency maps tags to limits > 0")
    annotations = kube.get("service_account_annotations", {})
    if not isinstance(annotations, dict) or not all(isinstance(v, str) for v in annotations.values()):
        raise ProjectError(f"{where}: [tool.workbench.kubernetes] service_account_annotations maps names to strings")
    defaults = kube.get("defaults", {})
    if not isinstance(defaults, dict) or set(defaults) - K8S_PARTS or not all(isinstance(v, dict) for v in defaults.values()):
        raise ProjectError(f"{where}: [tool.workbench.kubernetes.defaults] has container, pod and job tables only")
    try:
        timeout = parse_duration(table["timeout"], f"{where}: timeout") if "timeout" in table else None
        start = parse_duration(kube["start_timeout"], f"{where}: start_timeout") if "start_timeout" in kube else None
    except DefinitionError as exc:
        raise ProjectError(str(exc)) from exc
    return KubeSettings(timeout, start or START_TIMEOUT, tuple(include), dict(concurrency), annotations, defaults)
