"""Selections through the real `wb`: `status:` filters read the project's states; bad text exits 2."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import run_wb
from tests.integration.test_cli_staleness import PIPELINE, edit, materialize, status

# PIPELINE: raw -> numbers -> doubled -> total; independent


@pytest.fixture
def project(make_project):  # type: ignore[no-untyped-def]
    return make_project({"pipeline.py": PIPELINE, "data/raw.txt": "1 2 3\n"})


def states(project: Path, *selection: str) -> dict[str, str]:
    out = run_wb(project, "status", "--json", *selection)
    assert out.returncode == 0, out.stderr
    return {row["key"]: row["state"] for row in json.loads(out.stdout)}


def test_materialize_status_failed_reruns_what_failed_and_everything_below(project: Path) -> None:
    assert materialize(project)[0] == 0
    pipeline = project / "pipeline.py"
    edit(pipeline, "return [helper(n) for n in numbers]", "raise ValueError('boom')")
    edit(pipeline, '{"ok": True}', '{"ok": False}')  # independent is now stale, and not failed
    assert materialize(project, "doubled")[0] == 1
    assert states(project) == {"raw": "fresh", "numbers": "fresh", "doubled": "failed", "total": "stale",
                               "independent": "stale"}  # fmt: skip
    edit(pipeline, "raise ValueError('boom')", "return [helper(n) + 1 for n in numbers]")

    assert states(project, "status:failed+") == {"doubled": "failed", "total": "stale"}
    assert states(project, "status:stale") == {"total": "stale", "independent": "stale"}
    out = run_wb(project, "materialize", "--dry-run", "--json", "status:failed+")
    assert [p["key"] for p in json.loads(out.stdout)["to_run"]] == ["doubled", "total"]
    code, done = materialize(project, "status:failed+")
    assert code == 0 and done["materialized"] == ["doubled", "total"] and done["failed"] == []
    assert {k: row["state"] for k, row in status(project).items()} == {
        "raw": "fresh", "numbers": "fresh", "doubled": "fresh", "total": "fresh", "independent": "stale"}  # fmt: skip
    assert states(project, "status:failed+") == {}


def test_path_between_two_assets(project: Path) -> None:
    assert list(states(project, "key:numbers+ and +key:total")) == ["numbers", "doubled", "total"]
    assert list(states(project, "+numbers+")) == ["raw", "numbers", "doubled"]  # legacy: one level


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
