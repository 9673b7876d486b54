"""Asset checks: `@check(asset=...)` functions that judge a materialized value.

A check receives the asset's value (the parameter named after the asset) and returns a `bool`
or a `CheckResult`. Checks have their own code versions: editing a check reruns the check, not
the asset. A failing `blocking=True` check stops everything downstream of the asset.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar

from workbench.core.spec import check_key
from workbench.errors import DefinitionError

CHECK_ATTR = "__workbench_check__"
F = TypeVar("F", bound=Callable[..., Any])


@dataclass(frozen=True, slots=True)
class CheckResult:
    """What a check may return instead of a bare bool."""

    passed: bool
    metadata: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class CheckSpec:
    """Everything `@check` recorded about one function."""

    asset: str
    name: str
    fn: Callable[..., Any]
    blocking: bool = False
    code_version: str | None = None
    file: str = ""
    line: int = 0

    @property
    def key(self) -> str:
        return f"{self.asset}:{self.name}"

    @property
    def location(self) -> str:
        return f"{self.file}:{self.line}"


def check(
    fn: F | None = None,
    *,
    asset: str,
    name: str | None = None,
    blocking: bool = False,
    code_version: str | None = None,
) -> Any:
    """Declare a check of `asset`; the function gets the asset's value as its one parameter."""

    def decorate(func: F) -> F:
        code = func.__code__
        where = f"{code.co_filename}:{code.co_firstlineno}"
        check_key(asset, where)
        params = list(inspect.signature(func).parameters)
        if len(params) != 1:
            raise DefinitionError(f"check {func.__name__!r} at {where} must take exactly one parameter (the asset value)")
        spec = CheckSpec(asset, name or func.__name__, func, blocking, code_version, code.co_filename, code.co_firstlineno)
        setattr(func, CHECK_ATTR, spec)
        return func

    return decorate(fn) if fn is not None else decorate


def check_of(obj: object) -> CheckSpec | None:
    spec = getattr(obj, CHECK_ATTR, None) if callable(obj) else None
    return spec if isinstance(spec, CheckSpec) else None
