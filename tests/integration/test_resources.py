"""`Resources(cpu=...)` is respected locally: declared CPUs that exceed the budget do not run together."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from tests.conftest import run_wb
from workbench.run.budget import CpuBudget

PIPELINE = """
from workbench import Resources, asset

@asset(resources=Resources(cpu=2))
def big_a() -> int:
    return 1

@asset(resources=Resources(cpu=2))
def big_b() -> int:
    return 2

@asset(resources=Resources(cpu=1))
def small() -> int:
    return 3

@asset
def light() -> int:
    return 4
"""


def _events(stderr: str) -> list[tuple[str, str]]:
    """(event, unit) for each progress line `HH:MM:SS start  key` / `HH:MM:SS materialized key (...)`."""
    words = [line.split()[1:3] for line in stderr.splitlines() if len(line.split()) >= 3]
    return [(w[0], w[1]) for w in words if w[0] in ("start", "materialized")]


def test_declared_cpus_over_the_budget_do_not_run_at_once(make_project: Callable[..., Path]) -> None:
    project = make_project({"pipeline.py": PIPELINE})
    (project / "pyproject.toml").write_text('[tool.workbench]\nmodules = ["pipeline"]\ncpus = 3\n')
    out = run_wb(project, "materialize", "--jobs", "4")
    assert out.returncode == 0, out.stderr
    events = _events(out.stderr)
    running: dict[str, int] = {}
    for event, unit in events:  # the CPUs declared by the units running at each moment
        if event == "start":
            running[unit] = {"big_a": 2, "big_b": 2, "small": 1}.get(unit, 0)
            assert sum(running.values()) <= 3, events
        else:
            running.pop(unit)
    assert sorted(unit for event, unit in events if event == "start") == ["big_a", "big_b", "light", "small"]
    first_done = next(i for i, (event, _) in enumerate(events) if event == "materialized")
    assert ("start", "light") in events[:first_done]  # an asset that declares no CPU is not held back


def test_the_budget_must_be_a_positive_number(make_project: Callable[..., Path]) -> None:
    project = make_project({"pipeline.py": PIPELINE})
    (project / "pyproject.toml").write_text('[tool.workbench]\nmodules = ["pipeline"]\ncpus = 0\n')
    out = run_wb(project, "status")
    assert out.returncode == 2 and "cpus must be a positive number" in out.stderr


def test_a_unit_over_the_whole_budget_runs_alone() -> None:
    budget = CpuBudget(4)
    assert budget.fits(8)  # nothing running: it may start, or it would wait forever
    budget.take("huge", 8)
    assert not budget.fits(1) and budget.fits(0)  # undeclared units are bounded by --jobs only
    budget.release("huge")
    budget.take("a", 3)
    assert budget.fits(1) and not budget.fits(1.5)
