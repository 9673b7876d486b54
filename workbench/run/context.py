"""The running asset's context: what `context` parameters receive and what `log_metric` writes to."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

from workbench.errors import WorkbenchError

_local = threading.local()


@dataclass(frozen=True, slots=True)
class Upstream:
    """What a downstream asset knows of one input version: its partition, params and metrics."""

    partition: str
    data_version: str
    params: Mapping[str, Any]
    metrics: Mapping[str, float]


@dataclass
class AssetContext:
    """Handed to an asset that declares a `context` parameter; also reachable via `current()`."""

    key: str
    run_id: str
    partition: str = ""
    checkpoint_folder: Callable[[], Path | None] | None = field(default=None, repr=False)  # works out `checkpoint_root`
    params: Mapping[str, Any] = field(default_factory=dict)  # `@asset(params=)`, a grid cell's, `--param`
    upstream: Mapping[str, Mapping[str, Upstream]] = field(default_factory=dict)  # input -> partition -> facts
    metrics: dict[str, float] = field(default_factory=dict)
    series: dict[str, list[list[float]]] = field(default_factory=dict)  # metric -> [[step, value], ...]
    metadata: dict[str, Any] = field(default_factory=dict)
    checkpointed: bool = field(default=False, repr=False)  # `checkpoint_dir` was asked for

    @cached_property
    def checkpoint_root(self) -> Path | None:
        """Where this asset's checkpoints go (None: nowhere in this run), worked out when first asked."""
        return self.checkpoint_folder() if self.checkpoint_folder is not None else None

    @property
    def checkpoint_dir(self) -> Path:
        """A folder that survives a failed attempt of this asset with the same code and inputs.

        A long step saves progress here and, when rerun after a failure, resumes instead of
        starting over; the folder is removed once the asset succeeds.
        """
        if self.checkpoint_root is None:
            raise WorkbenchError(f"asset {self.key!r} has no checkpoint folder in this run")
        self.checkpoint_root.mkdir(parents=True, exist_ok=True)
        self.checkpointed = True
        return self.checkpoint_root

    def log_metric(self, name: str, value: float, step: int | None = None) -> None:
        """Record a metric; with `step=` the whole series is kept and the metric is its last value."""
        name, value = str(name), float(value)
        if step is not None:
            self.series.setdefault(name, []).append([int(step), value])
        self.metrics[name] = value

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
    ctx: AssetContext | None = getattr(_local, "ctx", None)
    if ctx is None:
        raise WorkbenchError("no asset is running in this thread (log_metric works inside an asset)")
    return ctx


def log_metric(name: str, value: float, step: int | None = None) -> None:
    """Record a metric on the running asset's materialization (`step=`: keep the series)."""
    current().log_metric(name, value, step)
