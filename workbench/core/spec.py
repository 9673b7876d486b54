"""The declaration API: `@asset`, `source(...)`, `Resources`, `Output`.

Decorators record a frozen spec on the function and return the function itself, so an
asset stays a plain callable that unit tests can call directly.
"""

from __future__ import annotations

import inspect
import json
import re
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import CodeType
from typing import Any, TypeVar

from workbench.core.automation import Schedule, as_schedule
from workbench.core.partitions import Grid, Mapping_, MultiPartitions, Partitions
from workbench.errors import DefinitionError

KEY_PATTERN = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(/[A-Za-z_][A-Za-z0-9_]*)*")  # used with fullmatch
ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")
SPEC_ATTR = "__workbench_asset__"
RESERVED_PARAMS = frozenset({"context", "partition"})
K8S_PARTS = frozenset({"container", "pod", "job"})
IO_NAMES = frozenset({"parquet", "json", "bytes", "pickle"})
_DURATION = re.compile(r"(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m(?!s))?(?:(\d+(?:\.\d+)?)s)?(?:(\d+)ms)?")
_SECONDS = (86400, 3600, 60, 1, 0.001)

F = TypeVar("F", bound=Callable[..., Any])


@dataclass(frozen=True, slots=True)
class Resources:
    """Compute an asset asks for; mapped to Kubernetes requests/limits by `wb push`."""

    cpu: float | None = None
    memory: str | None = None
    gpu: int = 0
    node_selector: Mapping[str, str] = field(default_factory=dict)
    tolerations: Sequence[Mapping[str, str]] = ()


@dataclass(frozen=True, slots=True)
class Output:
    """What an asset may return to attach metadata and metrics to its record."""

    value: Any
    metadata: Mapping[str, Any] = field(default_factory=dict)
    metrics: Mapping[str, float] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class AssetSpec:
    """Everything `@asset` recorded about one function."""

    key: str
    fn: Callable[..., Any]
    params: tuple[str, ...]
    group: str = "default"
    tags: Mapping[str, str] = field(default_factory=dict)
    deps: tuple[str, ...] = ()
    code_version: str | None = None
    io: str | None = None
    resources: Resources = field(default_factory=Resources)
    retries: int = 0
    retry_delay: float = 0.1  # seconds before the first retry; doubled before each next one
    metadata: Mapping[str, Any] = field(default_factory=dict)
    partitions: Partitions | None = None
    partition_mappings: Mapping[str, Mapping_] = field(default_factory=dict)  # by parent key or parameter
    env: tuple[str, ...] = ()  # environment variables the asset reads: their values enter its version
    timeout: int | None = None  # seconds a run may take (locally, and Kubernetes activeDeadlineSeconds)
    k8s: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)  # merged into its Job: container/pod/job
    hparams: Mapping[str, Any] = field(default_factory=dict)  # `params=`: hyperparameters, part of the version
    schedule: Schedule | None = None  # due at each cron tick (`wb watch`, CronJobs)
    freshness: float | None = None  # seconds: `overdue` when the newest materialization is older
    file: str = ""
    line: int = 0

    @property
    def kind(self) -> str:
        return "asset"

    @property
    def location(self) -> str:
        return f"{self.file}:{self.line}"


@dataclass(frozen=True, slots=True)
class SourceSpec:
    """An external file or folder (glob allowed) whose data version is its content hash; or an
    observed source: an fsspec `url` (versioned by its ETag, size and time) or an `observe`
    function returning a version string, looked at every `poll` seconds.

    A partitioned source has a path template (`data/orders/{date}.csv`): one file per partition."""

    key: str
    path: str
    partitions: Partitions | None = None
    group: str = "sources"
    tags: Mapping[str, str] = field(default_factory=dict)
    description: str = ""
    file: str = ""
    line: int = 0
    url: str = ""
    observe: Callable[[], str] | None = None
    poll: float = 60.0

    @property
    def observed(self) -> bool:
        return bool(self.url) or self.observe is not None

    @property
    def shown(self) -> str:
        """What the source stands for, in messages: its path, URL or function."""
        if self.observe is not None:
            return f"{getattr(self.observe, '__qualname__', 'function')}()"
        return self.url or self.path

    @property
    def kind(self) -> str:
        return "source"

    @property
    def location(self) -> str:
        return f"{self.file}:{self.line}"


NO_RESOURCES = Resources()  # shared: a frozen default costs a dataclass __init__ per asset otherwise


def check_key(key: str, where: str) -> str:
    """`key` if it is a valid asset key, else a `DefinitionError` naming `where`."""
    if not isinstance(key, str) or not KEY_PATTERN.fullmatch(key):
        raise DefinitionError(
            f"invalid asset key {key!r} at {where}: keys match [A-Za-z_][A-Za-z0-9_]*, "
            "optionally with a '/'-separated prefix"
        )
    return key


def seconds(value: object, what: str) -> float:
    """Seconds (>= 0) from a number of seconds or text like "500ms", "90s", "30m", "2h", "1h30m", "1d"."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        total = float(value)
    else:
        found = _DURATION.fullmatch(value.strip().replace(" ", "")) if isinstance(value, str) else None
        if found is None or not any(found.groups()):
            raise DefinitionError(f"{what}: {value!r} is not a duration (seconds, or text like 500ms, 90s, 30m, 2h, 1h30m)")
        total = sum(float(n or 0) * unit for n, unit in zip(found.groups(), _SECONDS, strict=True))
    if total < 0:
        raise DefinitionError(f"{what}: {value!r} is not a duration (it is negative)")
    return total


def parse_duration(value: object, what: str) -> int:
    """Whole seconds (at least 1) from a positive duration (see `seconds`)."""
    total = seconds(value, what)
    if not total > 0:
        raise DefinitionError(f"{what}: a duration must be > 0, not {value!r}")
    return max(1, round(total))


def check_params(params: Mapping[str, Any], where: str) -> dict[str, Any]:
    """`params` as a dict if its names are identifiers and its values JSON (they are recorded as JSON)."""
    if not isinstance(params, Mapping) or not all(isinstance(k, str) and ENV_NAME.match(k) for k in params):
        raise DefinitionError(f"{where}: params= takes a dict of names (identifiers) to values, got {params!r:.80}")
    try:
        text = json.dumps(dict(params), sort_keys=True, allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise DefinitionError(f"{where}: params= values must be JSON (numbers, text, booleans, lists, dicts): {exc}") from exc
    if json.loads(text) != dict(params):
        raise DefinitionError(f"{where}: params= values must be JSON (a tuple or a non-text key does not round-trip)")
    return dict(params)


def _named_parameters(func: Callable[..., Any]) -> tuple[str, ...]:
    """Parameter names, *args/**kwargs excluded; from the code object (inspect.signature: 50 us each)."""
    code: CodeType | None = getattr(func, "__code__", None)
    if code is None or hasattr(func, "__wrapped__"):
        return tuple(
            p.name for p in inspect.signature(func).parameters.values() if p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)
        )
    return code.co_varnames[: code.co_argcount + code.co_kwonlyargcount]


def _caller_location(depth: int = 2) -> tuple[str, int]:
    frame = sys._getframe(depth)  # inspect.stack() reads every frame's source: 50 ms
    return frame.f_code.co_filename, frame.f_lineno


def asset(
    fn: F | None = None,
    *,
    name: str | None = None,
    group: str = "default",
    tags: Mapping[str, str] | None = None,
    deps: Sequence[str] = (),
    code_version: str | None = None,
    io: str | None = None,
    resources: Resources | None = None,
    retries: int = 0,
    retry_delay: float | str = 0.1,
    metadata: Mapping[str, Any] | None = None,
    partitions: Partitions | None = None,
    partition_mappings: Mapping[str, Mapping_] | None = None,
    env: Sequence[str] = (),
    timeout: float | str | None = None,
    k8s: Mapping[str, Mapping[str, Any]] | None = None,
    params: Mapping[str, Any] | None = None,
    schedule: str | Schedule | None = None,
    freshness: float | str | None = None,
) -> Any:
    """Declare a function as an asset. Usable bare (`@asset`) or with options."""

    def decorate(func: F) -> F:
        code = func.__code__
        where = f"{code.co_filename}:{code.co_firstlineno}"
        key = check_key(func.__name__ if name is None else name, where)  # name='' is an error
        if io is not None and io not in IO_NAMES:
            raise DefinitionError(f"asset {key!r} at {where}: io={io!r} is not one of {sorted(IO_NAMES)}")
        if retries < 0:
            raise DefinitionError(f"asset {key!r} at {where}: retries must be >= 0")
        if env and (isinstance(env, str) or not all(isinstance(e, str) and ENV_NAME.match(e) for e in env)):
            raise DefinitionError(f"asset {key!r} at {where}: env= takes a list of variable names, got {env!r}")
        if k8s is not None and (
            not isinstance(k8s, Mapping) or set(k8s) - K8S_PARTS or not all(isinstance(v, Mapping) for v in k8s.values())
        ):
            raise DefinitionError(f"asset {key!r} at {where}: k8s= maps 'container', 'pod' or 'job' to a dict, got {k8s!r}")
        named = _named_parameters(func)
        arguments = named if RESERVED_PARAMS.isdisjoint(named) else tuple(p for p in named if p not in RESERVED_PARAMS)
        spec = AssetSpec(
            key=key,
            fn=func,
            params=arguments,
            group=group,
            tags=dict(tags) if tags else {},  # (an empty option costs no call: 100,000 assets import in a second)
            deps=tuple(deps) if deps else (),
            code_version=code_version,
            io=io,
            resources=resources or NO_RESOURCES,
            retries=retries,
            retry_delay=(
                float(retry_delay)
                if isinstance(retry_delay, (int, float)) and not isinstance(retry_delay, bool) and retry_delay >= 0
                else seconds(retry_delay, f"asset {key!r} at {where}: retry_delay=")
            ),
            metadata=dict(metadata) if metadata else {},
            partitions=partitions,
            partition_mappings=dict(partition_mappings) if partition_mappings else {},
            env=tuple(sorted(set(env))) if env else (),
            timeout=None if timeout is None else parse_duration(timeout, f"asset {key!r} at {where}: timeout="),
            k8s={part: dict(v) for part, v in k8s.items()} if k8s else {},
            hparams=check_params(params, f"asset {key!r} at {where}") if params else {},
            schedule=None if schedule is None else as_schedule(schedule, f"asset {key!r} at {where}"),
            freshness=None if freshness is None else parse_duration(freshness, f"asset {key!r} at {where}: freshness="),
            file=code.co_filename,
            line=code.co_firstlineno,
        )
        setattr(func, SPEC_ATTR, spec)
        return func

    return decorate(fn) if fn is not None else decorate


def source(
    name: str,
    path: str | Path | None = None,
    *,
    url: str | None = None,
    observe: Callable[[], str] | None = None,
    poll: float | str = 60,
    group: str = "sources",
    tags: Mapping[str, str] | None = None,
    description: str = "",
    partitions: Partitions | None = None,
) -> SourceSpec:
    """Declare an external file, folder or glob (relative to the project root), or an observed
    source: an fsspec `url` or an `observe` function, looked at every `poll` (default a minute).

    With `partitions=`, `path` is a template with one `{placeholder}` per dimension (named after
    the dimensions of a `MultiPartitions`): `data/orders/{date}.csv` is one file per partition."""
    file, line = _caller_location()
    key = check_key(name, f"{file}:{line}")
    if sum(x is not None for x in (path, url, observe)) != 1:
        raise DefinitionError(f"source {key!r} at {file}:{line}: give exactly one of path=, url= or observe=")
    if observe is not None and not callable(observe):
        raise DefinitionError(f"source {key!r} at {file}:{line}: observe= takes a function returning a version string")
    if url is not None and (not isinstance(url, str) or "://" not in url):
        raise DefinitionError(f"source {key!r} at {file}:{line}: url= takes an fsspec URL (s3://, gs://, https://, file://)")
    if partitions is not None:
        if path is None:
            raise DefinitionError(f"source {key!r} at {file}:{line}: a partitioned source needs a path template")
        check_template(str(path), partitions, f"source {key!r} at {file}:{line}")
    return SourceSpec(
        key=key,
        path="" if path is None else str(path),
        partitions=partitions,
        group=group,
        tags=dict(tags or {}),
        description=description,
        file=file,
        line=line,
        url=url or "",
        observe=observe,
        poll=float(parse_duration(poll, f"source {key!r} at {file}:{line}: poll=")),
    )


PLACEHOLDER = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)\}")


def check_template(path: str, partitions: Partitions, where: str) -> None:
    """A partitioned source's path names each dimension once (any one name for a one-dimensional set)."""
    names = PLACEHOLDER.findall(path)
    if isinstance(partitions, Grid):
        raise DefinitionError(f"{where}: a source cannot be partitioned by a Grid (a grid is a sweep of params)")
    wanted = list(partitions.names) if isinstance(partitions, MultiPartitions) else names[:1]
    if not names or sorted(names) != sorted(wanted):
        need = ", ".join("{" + n + "}" for n in wanted) if wanted else "one {placeholder}, e.g. {date}"
        raise DefinitionError(f"{where}: a partitioned source's path needs {need}, got {path!r}")


def spec_of(obj: object) -> AssetSpec | SourceSpec | None:
    """The spec an object carries, if it is a declared asset or a source."""
    if isinstance(obj, SourceSpec):
        return obj
    spec = getattr(obj, SPEC_ATTR, None) if callable(obj) else None
    return spec if isinstance(spec, AssetSpec) else None
