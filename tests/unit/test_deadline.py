"""`workbench.run.deadline.within`: user code with a time limit, abandoned (not waited for) past it."""

from __future__ import annotations

import threading

import pytest

from workbench.run.capture import captured
from workbench.run.deadline import AssetTimeout, within


def test_the_result_or_the_error_of_code_that_ends_in_time() -> None:
    assert within(None, lambda: 1) == 1
    assert within(60, lambda: 2) == 2
    with pytest.raises(ZeroDivisionError):
        within(60, lambda: 1 / 0)


def test_code_past_its_limit_is_abandoned() -> None:
    release = threading.Event()
    with pytest.raises(AssetTimeout, match=r"^timed out after 0.2 s$"):
        within(0.2, release.wait)  # never set until the limit has passed
    release.set()


def test_prints_go_to_the_callers_capture() -> None:
    with captured() as log:
        within(60, lambda: print("from the timed thread"))
    assert log.getvalue() == "from the timed thread\n"


def test_asset_timeout_takes_seconds_or_duration_text() -> None:
    from workbench.core.spec import asset, spec_of
    from workbench.errors import DefinitionError

    def step() -> int:
        return 1

    assert [spec_of(asset(timeout=t)(step)).timeout for t in (90, 2.4, "90s", "30m", "2h", "1h30m")] == [  # type: ignore[union-attr]
        90, 2, 90, 1800, 7200, 5400,
    ]  # fmt: skip
    assert spec_of(asset(step)).timeout is None  # type: ignore[union-attr]
    for bad in ("90 minutes", 0, -1, True):
        with pytest.raises(DefinitionError, match="timeout="):
            asset(timeout=bad)(step)
