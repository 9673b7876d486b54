"""The foundation's acceptance, through the real `wb` command in temp projects."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import run_wb

PIPELINE = """
from workbench import asset, source

raw = source("raw", path="data/raw.txt")
SCALE = 2


def helper(x):
    return x * SCALE


@asset(group="prep")
def numbers(raw):
    return [int(v) for v in raw.read_text().split()]


@asset(group="prep")
def doubled(numbers: list) -> list:
    return [helper(n) for n in numbers]


@asset(group="report")
def total(doubled: list) -> dict:
    return {"total": sum(doubled)}


@asset
def independent() -> dict:
    return {"ok": True}
"""


@pytest.fixture
def project(make_project):  # type: ignore[no-untyped-def]
    return make_project({"pipeline.py": PIPELINE, "data/raw.txt": "1 2 3\n"})


def status(project: Path) -> dict[str, dict]:  # type: ignore[type-arg]
    out = run_wb(project, "status", "--json")
    assert out.returncode == 0, out.stderr
    return {row["key"]: row for row in json.loads(out.stdout)}


def materialize(project: Path, *args: str) -> tuple[int, dict]:  # type: ignore[type-arg]
    out = run_wb(project, "materialize", "--json", *args)
    return out.returncode, json.loads(out.stdout)


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new))


def test_materialize_then_everything_fresh(project: Path) -> None:
    code, doc = materialize(project)
    assert code == 0
    assert sorted(doc["materialized"]) == ["doubled", "independent", "numbers", "total"]
    code, doc = materialize(project)
    assert code == 0 and doc["materialized"] == [] and doc["failed"] == []
    assert sorted(doc["skipped"]) == ["doubled", "independent", "numbers", "total"]
    rows = status(project)
    assert {r["state"] for r in rows.values()} == {"fresh"}
    for key in ("numbers", "total"):
        assert rows[key]["data_version"] and rows[key]["code_version"] and rows[key]["materialized_at"]
    human = run_wb(project, "materialize")
    assert "everything is fresh" in human.stderr


def test_logic_edit_reruns_exactly_downstream(project: Path) -> None:
    materialize(project)
    edit(project / "pipeline.py", "return [helper(n) for n in numbers]", "return [helper(n) + 1 for n in numbers]")
    rows = status(project)
    assert rows["doubled"]["reasons"] == ["code changed"]
    assert rows["total"]["state"] == "stale" and rows["total"]["reasons"] == ["upstream doubled stale"]
    assert rows["numbers"]["state"] == "fresh" and rows["independent"]["state"] == "fresh"
    code, doc = materialize(project)
    assert code == 0 and doc["materialized"] == ["doubled", "total"]


def test_comment_and_docstring_edits_change_nothing(project: Path) -> None:
    materialize(project)
    edit(project / "pipeline.py", "def doubled(numbers: list) -> list:\n", 'def doubled(numbers: list) -> list:\n    """Twice."""\n    # a comment\n\n')
    assert {r["state"] for r in status(project).values()} == {"fresh"}


def test_helper_and_constant_edits_make_callers_stale(project: Path) -> None:
    materialize(project)
    edit(project / "pipeline.py", "return x * SCALE", "return x * SCALE * 1")
    assert status(project)["doubled"]["reasons"] == ["code changed"]
    materialize(project)
    edit(project / "pipeline.py", "SCALE = 2", "SCALE = 3")
    rows = status(project)
    assert rows["doubled"]["reasons"] == ["code changed"] and rows["numbers"]["state"] == "fresh"


def test_source_touch_and_change(project: Path) -> None:
    materialize(project)
    raw = project / "data" / "raw.txt"
    raw.write_text(raw.read_text())  # same bytes, new mtime
    assert {r["state"] for r in status(project).values()} == {"fresh"}
    raw.write_text("1 2 4\n")
    rows = status(project)
    assert rows["numbers"]["reasons"] == ["upstream raw changed"]
    assert rows["total"]["reasons"] == ["upstream doubled stale"]
    code, doc = materialize(project)
    assert doc["materialized"] == ["numbers", "doubled", "total"]


def test_early_cutoff_identical_bytes(project: Path) -> None:
    materialize(project)
    raw = project / "data" / "raw.txt"
    raw.write_text("1 2 3\n\n")  # different bytes, same parsed numbers
    code, doc = materialize(project)
    assert code == 0
    assert doc["materialized"] == ["numbers"]
    assert "doubled" in doc["skipped"] and "total" in doc["skipped"]
    assert {r["state"] for r in status(project).values()} == {"fresh"}


def test_failure_blocks_downstream_only(project: Path) -> None:
    materialize(project)
    edit(project / "pipeline.py", "return [helper(n) for n in numbers]", "return [helper(n) / 0 for n in numbers]")
    edit(project / "pipeline.py", 'return {"ok": True}', 'return {"ok": 1}')
    code, doc = materialize(project)
    assert code == 1
    assert doc["failed"] == ["doubled"] and doc["blocked"] == {"total": "doubled"}
    assert "independent" in doc["materialized"] and "total" in doc["skipped"]
    rows = status(project)
    assert rows["doubled"]["state"] == "failed" and "ZeroDivisionError" in rows["doubled"]["error"]
    assert rows["total"]["reasons"] == ["upstream doubled stale"]
    hist = run_wb(project, "history", "doubled")
    assert hist.returncode == 0 and "ZeroDivisionError" in hist.stdout and "pipeline.py" in hist.stdout
    history = json.loads(run_wb(project, "history", "doubled", "--json").stdout)
    assert history[0]["status"] == "failed" and "Traceback" in history[0]["traceback"]
    edit(project / "pipeline.py", "return [helper(n) / 0 for n in numbers]", "return [helper(n) for n in numbers]")
    code, doc = materialize(project)
    assert code == 0 and doc["materialized"] == ["doubled"]  # identical bytes: total cut off
    assert "total" in doc["skipped"]


@pytest.mark.parametrize(
    ("source_text", "needle"),
    [
        ("from workbench import asset\n@asset\ndef a(b):\n    return b\n@asset\ndef b(a):\n    return a\n", "cycle: a -> b -> a"),
        ("from workbench import asset\n@asset\ndef a(nubmers):\n    return 1\n@asset\ndef numbers():\n    return 1\n", "did you mean 'numbers'"),
        ("from workbench import asset\n@asset\ndef a():\n    return 1\n@asset(name='a')\ndef b():\n    return 2\n", "duplicate asset key 'a'"),
        ("from workbench import asset\n@asset\ndef a(:\n", "syntax error"),
    ],
)
def test_bad_project_exits_2(make_project, source_text: str, needle: str) -> None:  # type: ignore[no-untyped-def]
    root = make_project({"pipeline.py": source_text})
    for command in (["status"], ["materialize"]):
        out = run_wb(root, *command)
        assert out.returncode == 2, out.stderr
        assert needle in out.stderr
        assert "Traceback" not in out.stderr and len(out.stderr.strip().splitlines()) == 1


def test_bad_selection_exits_2(project: Path) -> None:
    out = run_wb(project, "materialize", "totl")
    assert out.returncode == 2 and "total" in out.stderr and "Traceback" not in out.stderr
    out = run_wb(project, "status", "group:prep and (")
    assert out.returncode == 2 and "Traceback" not in out.stderr


def test_doctor_rebuild_restores_history(project: Path) -> None:
    materialize(project)
    edit(project / "pipeline.py", "return [helper(n) for n in numbers]", "return [helper(n) + 1 for n in numbers]")
    materialize(project)
    before = json.loads(run_wb(project, "history", "doubled", "--json").stdout)
    assert len(before) == 2
    (project / ".workbench" / "metadata.duckdb").unlink()
    out = run_wb(project, "doctor", "--rebuild")
    assert out.returncode == 0, out.stdout + out.stderr
    after = json.loads(run_wb(project, "history", "doubled", "--json").stdout)
    assert [r["id"] for r in after] == [r["id"] for r in before]
    assert {r["state"] for r in status(project).values()} == {"fresh"}


def test_dry_run_and_selection(project: Path) -> None:
    out = run_wb(project, "materialize", "--dry-run", "--json", "total")
    plan = json.loads(out.stdout)
    assert [p["key"] for p in plan["to_run"]] == ["numbers", "doubled", "total"]
    code, doc = materialize(project, "--only", "independent")
    assert doc["materialized"] == ["independent"]
    assert status(project)["total"]["state"] == "missing"
