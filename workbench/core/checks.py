"""Asset checks: `@check(asset=...)` functions that judge a materialized value.

A check receives the asset's value (the parameter named after the asset) and returns a `bool`
or a `CheckResult`. Checks have their own code versions: editing a check reruns the check, not
the asset. A failing `blocking=True` check stops everything downstream of the asset.
"""

from __future__ import annotations

import inspect
import traceback
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, TypeVar

from workbench.core.records import CheckRecord, utcnow
from workbench.core.spec import check_key
from workbench.errors import DefinitionError
from workbench.run.capture import captured, tail

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


def run_check(
    spec: CheckSpec, value: Any, *, partition: str, data_version: str, code_version: str, run_id: str
) -> CheckRecord:
    """Run one check on a value; an exception is a failed check with the error recorded. What the
    check prints or logs is kept on the record, as an asset's is."""
    started: datetime = utcnow()
    error = trace = None
    metadata: dict[str, Any] = {}
    with captured() as log:
        try:
            outcome = spec.fn(value)
            if isinstance(outcome, CheckResult):
                passed, metadata = bool(outcome.passed), dict(outcome.metadata)
            else:
                passed = bool(outcome)
        except Exception as exc:
            passed = False
            error = "".join(traceback.format_exception_only(type(exc), exc)).strip()
            user_frames = exc.__traceback__.tb_next if exc.__traceback__ else None  # from the check's own frame on
            trace = "".join(traceback.format_exception(type(exc), exc, user_frames))
    return CheckRecord(
        id=uuid.uuid4().hex,
        check_key=spec.key,
        asset_key=spec.asset,
        partition=partition,
        passed=passed,
        blocking=spec.blocking,
        asset_data_version=data_version,
        code_version=code_version,
        run_id=run_id,
        started_at=started,
        ended_at=utcnow(),
        metadata=metadata,
        error=error,
        traceback=trace,
        log=tail(log.getvalue()),
    )
