"""Selections through the real `wb`: `status:` filters read the project's states; bad text exits 2."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import run_wb

PIPELINE = """
from workbench import asset, source

raw = source("raw", path="data/raw.txt")


@asset(group="prep")
def numbers(raw) -> list:
    return [int(v) for v in raw.read_text().split()]


@asset(group="prep")
def checked(numbers: list) -> list:
    return numbers


@asset(group="report")
def total(checked: list) -> dict:
    return {"total": sum(checked)}


@asset(group="report")
def count(numbers: list) -> dict:
    return {"count": len(numbers)}


@asset
def independent() -> dict:
    return {"ok": True}
"""


@pytest.fixture
def project(make_project):  # type: ignore[no-untyped-def]
    return make_project({"pipeline.py": PIPELINE, "data/raw.txt": "1 2 3\n"})


def wb_json(project: Path, *args: str) -> object:
    out = run_wb(project, *args, "--json")
    assert out.returncode in (0, 1), out.stderr
    return json.loads(out.stdout)


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new))


def states(project: Path, *selection: str) -> dict[str, str]:
    rows = wb_json(project, "status", *selection)
    assert isinstance(rows, list)
    return {row["key"]: row["state"] for row in rows}


def test_materialize_status_failed_reruns_what_failed_and_everything_below(project: Path) -> None:
    assert run_wb(project, "materialize").returncode == 0
    pipeline = project / "pipeline.py"
    edit(pipeline, "    return numbers\n", "    raise ValueError('boom')\n")
    edit(pipeline, '{"ok": True}', '{"ok": False}')  # independent is now stale, and not failed
    assert run_wb(project, "materialize", "checked").returncode == 1
    assert states(project) == {"raw": "fresh", "numbers": "fresh", "checked": "failed", "total": "stale",
                               "count": "fresh", "independent": "stale"}  # fmt: skip
    edit(pipeline, "    raise ValueError('boom')\n", "    return numbers + [10]\n")

    assert states(project, "status:failed+") == {"checked": "failed", "total": "stale"}
    assert states(project, "status:stale") == {"total": "stale", "independent": "stale"}
    plan = wb_json(project, "materialize", "--dry-run", "status:failed+")
    assert isinstance(plan, dict) and [p["key"] for p in plan["to_run"]] == ["checked", "total"]
    done = wb_json(project, "materialize", "status:failed+")
    assert isinstance(done, dict) and done["materialized"] == ["checked", "total"] and done["failed"] == []
    assert states(project) == {"raw": "fresh", "numbers": "fresh", "checked": "fresh", "total": "fresh",
                               "count": "fresh", "independent": "stale"}  # fmt: skip
    assert states(project, "status:failed+") == {}


def test_path_between_two_assets(project: Path) -> None:
    assert list(states(project, "key:numbers+ and +key:total")) == ["numbers", "checked", "total"]
    assert list(states(project, "+numbers+")) == ["raw", "numbers", "checked", "count"]  # legacy: one level


@pytest.mark.parametrize(
    ("selection", "needle"),
    [
        ("status:bogus", "unknown status 'bogus' (expected fresh, stale, missing or failed)"),
        ("*+", "'*' (every asset) takes no '+' or '*'"),
        ("++key:total", "'++' works on a bare key only; write '2+' here"),
        ("(" * 200 + "total" + ")" * 200, "more than 100 levels of nesting"),
        ("not " * 200 + "total", "more than 100 levels of nesting"),
    ],
    ids=["status", "star-plus", "plus-plus", "parentheses", "nots"],
)
def test_bad_selection_is_one_line_and_exit_2(project: Path, selection: str, needle: str) -> None:
    for command in ("status", "materialize"):
        out = run_wb(project, command, selection)
        assert out.returncode == 2, out.stderr
        assert needle in out.stderr and "Traceback" not in out.stderr
        assert len(out.stderr.strip().splitlines()) == 1
