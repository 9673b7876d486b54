"""Fixtures for the TUI tests: small projects and a way to let the app's workers settle.

`async def` tests run under pytest-asyncio (`asyncio_mode = "auto"` in pyproject.toml).
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest
from textual.pilot import Pilot
from workbench.tui.detail import AssetDetail

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


@pytest.fixture
def pipeline(make_project: Callable[..., Path]) -> Path:
    """raw -> clean -> model -> report (report also reads clean); groups prep and ml."""
    return make_project({"pipeline.py": PIPELINE})


def busy(pilot: Pilot[None]) -> bool:
    """A worker runs, the detail pane waits to load its tab, or a run's repaint is due."""
    app = pilot.app
    pending = any(d.pending for d in app.query(AssetDetail))
    return pending or getattr(app, "repaint_due", False) or any(w.is_running for w in app.workers)


async def settled(pilot: Pilot[None]) -> None:
    """Wait until the app's workers (loads, details, runs) are done and the screen caught up."""
    while True:
        await pilot.app.workers.wait_for_complete()
        await pilot.pause()  # deliver what the workers posted; fire the timers that are due
        if not busy(pilot):
            return


async def press_on(pilot: Pilot[None], key: str, *keys: str) -> None:
    """Put the graph's cursor on asset `key`, press `keys`, and let the app settle."""
    from workbench.tui.graph_view import GraphView

    pilot.app.query_one(GraphView).cursor = key
    await pilot.press(*keys)
    await settled(pilot)


async def until(pilot: Pilot[None], condition: Callable[[], bool], timeout: float = 30.0) -> None:
    """Wait for something another process does (the app sees it at its next poll), then settle."""
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out waiting for the condition"
        await pilot.pause(0.05)
    await settled(pilot)


@pytest.fixture
def settle() -> Callable[[Pilot[None]], Awaitable[None]]:
    return settled
