"""`wb status` keeps its rows between commands; an edit, a new record, a source change or a lost
artifact is seen at once (the kept rows never make a stale asset look fresh)."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.conftest import WB, run_wb, wb_env

PIPELINE = """
import os
from workbench import asset, source

raw = source("raw", path="raw.txt")

@asset
def a(raw) -> str:
    return raw.read_text() + os.environ.get("WB_TEST_SUFFIX", "")

@asset
def b(a: str) -> str:
    return a.upper()
"""


def states(project: Path) -> dict[str, tuple[str, list[str]]]:
    out = run_wb(project, "status", "--json")
    assert out.returncode == 0, out.stderr
    return {row["key"]: (row["state"], row["reasons"]) for row in json.loads(out.stdout)}


def edit(project: Path) -> None:
    path = project / "pipeline.py"
    path.write_text(path.read_text().replace("a.upper()", "a.lower()"))


def new_record(project: Path) -> None:
    """A new record of `a` with other bytes, from the same code and source: only the index changes."""
    env = {**wb_env(), "WB_TEST_SUFFIX": "!"}
    done = subprocess.run([WB, "materialize", "a", "--only", "--force"], cwd=project, env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr


def change_source(project: Path) -> None:
    (project / "raw.txt").write_text("other bytes")


def lose_artifact(project: Path) -> None:
    version = json.loads(run_wb(project, "status", "--json").stdout)[2]["data_version"]
    found = (project / ".workbench" / "artifacts" / "objects").rglob(f"{version}.*")
    next(found).unlink()


CHANGES: dict[str, tuple[Callable[[Path], None], str, str]] = {
    "edit": (edit, "b", "code changed"),
    "new record": (new_record, "b", "upstream a changed"),
    "source change": (change_source, "a", "upstream raw changed"),
    "lost artifact": (lose_artifact, "b", "artifact missing"),
}


@pytest.mark.parametrize("change", CHANGES)
def test_kept_rows_are_reused_until_something_changes(make_project: Callable[..., Path], change: str) -> None:
    project = make_project({"pipeline.py": PIPELINE, "raw.txt": "bytes"})
    assert run_wb(project, "materialize").returncode == 0
    first = run_wb(project, "status", "--json").stdout
    kept = project / ".workbench" / "cache" / "status-rows.msgpack"
    stamp = kept.stat().st_mtime_ns

    assert run_wb(project, "status", "--json").stdout == first and kept.stat().st_mtime_ns == stamp  # reused

    apply, key, reason = CHANGES[change]
    apply(project)
    after = states(project)

    assert after[key][0] == "stale" and any(r.startswith(reason) for r in after[key][1]), after
    assert kept.stat().st_mtime_ns != stamp  # computed afresh, and kept under the new key


def test_rows_kept_by_someone_else_are_ignored(make_project: Callable[..., Path]) -> None:
    project = make_project({"pipeline.py": PIPELINE, "raw.txt": "bytes"})
    first = run_wb(project, "status", "--json").stdout
    kept = project / ".workbench" / "cache" / "status-rows.msgpack"
    kept.write_bytes(kept.read_bytes().replace(b"missing", b"fresh!!"))  # same key, not signed by this user

    assert run_wb(project, "status", "--json").stdout == first
