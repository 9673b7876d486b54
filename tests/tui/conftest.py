"""Fixtures for the TUI tests: small projects and a way to let the app's workers settle."""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest
from textual.pilot import Pilot

PIPELINE = '''
from workbench import asset


@asset(group="prep")
def raw() -> dict:
    return {"n": 3}


@asset(group="prep")
def clean(raw: dict) -> dict:
    print("cleaning", raw["n"])
    return {"n": raw["n"] - 1}


@asset(group="ml")
def model(clean: dict) -> dict:
    return {"w": clean["n"] * 2}


@asset(group="ml")
def report(model: dict, clean: dict) -> bytes:
    return b"report"
'''

TABLE = '''

@asset(group="prep")
def table(raw: dict):
    import polars as pl

    return pl.DataFrame({"x": [1, 2, 3], "name": ["[b]a", "b", "c"]})
'''

BOOM = '''

@asset(group="ml")
def boom(clean: dict) -> dict:
    print("about to fail")
    raise ValueError("[red]bad[/] value")
'''


@pytest.hookimpl(tryfirst=True)
def pytest_pyfunc_call(pyfuncitem: pytest.Function) -> bool | None:
    """Run `async def` tests in a fresh event loop (no asyncio plugin needed)."""
    if not inspect.iscoroutinefunction(pyfuncitem.obj):
        return None
    names = pyfuncitem._fixtureinfo.argnames
    asyncio.run(pyfuncitem.obj(**{name: pyfuncitem.funcargs[name] for name in names}))
    return True


@pytest.fixture
def pipeline(make_project: Callable[..., Path]) -> Path:
    """raw -> clean -> model -> report (report also reads clean); groups prep and ml."""
    return make_project({"pipeline.py": PIPELINE})


@pytest.fixture
def settle() -> Callable[[Pilot[None]], Awaitable[None]]:
    """Wait until the app's workers (loads, details, runs) are done and the screen caught up."""

    async def wait(pilot: Pilot[None]) -> None:
        quiet = 0
        while quiet < 3:  # three idle looks 0.05 s apart: past the detail pane's 0.12 s debounce
            await pilot.pause(0.05)
            busy = any(worker.is_running for worker in pilot.app.workers)
            await pilot.app.workers.wait_for_complete()
            quiet = 0 if busy else quiet + 1

    return wait
