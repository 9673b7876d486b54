"""The wall clock, and the one way tests move it.

`WORKBENCH_NOW` (set only by tests) fixes the time every part of Workbench sees: an ISO 8601
time, or the path of a file holding one, read at every look, so that a test can move the clock
of a running `wb watch` (a closed laptop lid, a jump) without sleeping.
"""

from __future__ import annotations

import os
from datetime import datetime, timezone

CLOCK_VARIABLE = "WORKBENCH_NOW"


def now() -> datetime:
    """The current time in UTC (or the time `WORKBENCH_NOW` names)."""
    fixed = os.environ.get(CLOCK_VARIABLE)
    if not fixed:
        return datetime.now(timezone.utc)
    if os.sep in fixed:
        with open(fixed, encoding="utf-8") as file:
            fixed = file.read().strip()
    when = datetime.fromisoformat(fixed)
    return (when if when.tzinfo else when.replace(tzinfo=timezone.utc)).astimezone(timezone.utc)
