"""Factories for the storage tests: materialization records with readable defaults."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest

from workbench.core.records import SUCCESS, Materialization

T0 = datetime(2026, 11, 1, 12, 0, tzinfo=timezone.utc)


def record(id: str, key: str = "a", second: int = 0, **changes: Any) -> Materialization:
    """A record of `key` that ended `second` seconds after T0."""
    values: dict[str, Any] = {
        "id": id,
        "asset_key": key,
        "status": SUCCESS,
        "code_version": "code1",
        "run_id": "run1",
        "trigger": "cli",
        "started_at": T0 + timedelta(seconds=second) - timedelta(milliseconds=5),
        "ended_at": T0 + timedelta(seconds=second),
        "data_version": f"dv{id}",
    }
    values.update(changes)
    return Materialization(**values)


@pytest.fixture
def make_record() -> Callable[..., Materialization]:
    return record
