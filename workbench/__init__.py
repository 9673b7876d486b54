"""Workbench: declare versioned data and model assets as Python functions; rerun only what is stale.

The public names load lazily so that `import workbench` (and `wb --help`) stays cheap.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

_EXPORTS = {
    "asset": "workbench.spec",
    "source": "workbench.spec",
    "Resources": "workbench.spec",
    "Output": "workbench.spec",
    "AssetSpec": "workbench.spec",
    "SourceSpec": "workbench.spec",
    "AssetGraph": "workbench.graph",
    "check": "workbench.checks",
    "CheckResult": "workbench.checks",
    "DailyPartitions": "workbench.partitions",
    "StaticPartitions": "workbench.partitions",
    "Grid": "workbench.partitions",
    "AllPartitions": "workbench.partitions",
    "SamePartition": "workbench.partitions",
    "Window": "workbench.partitions",
    "WorkbenchError": "workbench.errors",
    "log_metric": "workbench.context",
    "AssetContext": "workbench.context",
    "materialize": "workbench.api",
    "load": "workbench.api",
    "Result": "workbench.api",
    "history": "workbench.api",
    "Upstream": "workbench.context",
}

__all__ = sorted([*_EXPORTS, "__version__"])

if TYPE_CHECKING:
    from workbench.api import Result, history, load, materialize
    from workbench.context import AssetContext, Upstream, log_metric
    from workbench.errors import WorkbenchError
    from workbench.checks import CheckResult, check
    from workbench.graph import AssetGraph
    from workbench.partitions import AllPartitions, DailyPartitions, Grid, SamePartition, StaticPartitions, Window
    from workbench.spec import AssetSpec, Output, Resources, SourceSpec, asset, source


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'workbench' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return __all__
