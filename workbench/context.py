"""The running asset's context: what `context` parameters receive and what `log_metric` writes to."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from workbench.errors import WorkbenchError

_local = threading.local()


@dataclass
class AssetContext:
    """Handed to an asset that declares a `context` parameter; also reachable via `current()`."""

    key: str
    run_id: str
    partition: str = ""
    metrics: dict[str, float] = field(default_factory=dict)
    metadata: dict[str, Any] = field(default_factory=dict)

    def log_metric(self, name: str, value: float) -> None:
        self.metrics[str(name)] = float(value)

    def add_metadata(self, **values: Any) -> None:
        self.metadata.update(values)


@contextmanager
def running(ctx: AssetContext) -> Iterator[AssetContext]:
    previous = getattr(_local, "ctx", None)
    _local.ctx = ctx
    try:
        yield ctx
    finally:
        _local.ctx = previous


def current() -> AssetContext:
    """The context of the asset running in this thread."""
    ctx = getattr(_local, "ctx", None)
    if ctx is None:
        raise WorkbenchError("no asset is running in this thread (log_metric works inside an asset)")
    return ctx


def log_metric(name: str, value: float) -> None:
    """Record a metric on the running asset's materialization."""
    current().log_metric(name, value)
