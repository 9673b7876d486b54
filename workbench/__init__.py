"""Workbench: declare versioned data and model assets as Python functions; rerun only what is stale.

The public names load lazily so that `import workbench` (and `wb --help`) stays cheap.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

_EXPORTS = {
    "asset": "workbench.core.spec",
    "source": "workbench.core.spec",
    "Resources": "workbench.core.spec",
    "Output": "workbench.core.spec",
    "AssetSpec": "workbench.core.spec",
    "SourceSpec": "workbench.core.spec",
    "AssetGraph": "workbench.core.graph",
    "check": "workbench.core.checks",
    "CheckResult": "workbench.core.checks",
    "DailyPartitions": "workbench.core.partitions",
    "StaticPartitions": "workbench.core.partitions",
    "Grid": "workbench.core.partitions",
    "AllPartitions": "workbench.core.partitions",
    "SamePartition": "workbench.core.partitions",
    "Window": "workbench.core.partitions",
    "WorkbenchError": "workbench.errors",
    "log_metric": "workbench.run.context",
    "AssetContext": "workbench.run.context",
    "materialize": "workbench.api",
    "load": "workbench.api",
    "Result": "workbench.api",
    "history": "workbench.api",
    "Upstream": "workbench.run.context",
}

__all__ = sorted([*_EXPORTS, "__version__"])

if TYPE_CHECKING:
    from workbench.api import Result, history, load, materialize
    from workbench.core.checks import CheckResult, check
    from workbench.core.graph import AssetGraph
    from workbench.core.partitions import AllPartitions, DailyPartitions, Grid, SamePartition, StaticPartitions, Window
    from workbench.core.spec import AssetSpec, Output, Resources, SourceSpec, asset, source
    from workbench.errors import WorkbenchError
    from workbench.run.context import AssetContext, Upstream, log_metric


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'workbench' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return __all__
