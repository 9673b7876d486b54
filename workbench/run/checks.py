"""Running one check on a materialized value: its verdict, metadata, error and output become a `CheckRecord`."""

from __future__ import annotations

import traceback
from datetime import datetime
from typing import Any

from workbench.core.checks import CheckResult, CheckSpec
from workbench.core.records import CheckRecord, utcnow
from workbench.run.capture import captured, tail
from workbench.run.ids import new_id


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
        id=new_id(),
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
