"""Shared fixtures of the reliability suite."""

from __future__ import annotations

import pytest
from wbcall import Wb, in_process


@pytest.fixture
def wb(capsys: pytest.CaptureFixture[str]) -> Wb:
    return in_process(capsys)
