"""A small run stays light: it imports no library it does not use (start-up is most of its time)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from tests.conftest import wb_env, write_files

PIPELINE = """
from workbench import asset


@asset
def a() -> dict:
    return {"x": 1}


@asset
def b(a: dict) -> dict:
    return {"y": a["x"] + 1}
"""

# pyarrow: only a large index write; sqlalchemy/sqlmodel: only creating or migrating the index;
# fsspec: only stores that are not a local folder; rich: only a terminal; gitpython: only in a git work tree; the
# selection language (15 dataclasses): only a selection to parse.
HEAVY = (
    "pyarrow", "sqlalchemy", "sqlmodel", "fsspec", "rich", "git", "textual", "kubernetes", "polars", "asyncio",
    "workbench.core.selection",
)  # fmt: skip

RUN = f"""
import json, sys
from workbench.cli import main
sys.argv = ["wb", *sys.argv[1:]]
try:
    main()
except SystemExit as exit:
    assert not exit.code, exit.code
print(json.dumps(sorted(name for name in {HEAVY!r} if name in sys.modules)))
"""


def _run(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    out = subprocess.run([sys.executable, "-c", RUN, *args], cwd=root, env=wb_env(), capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    return out


def test_a_small_run_imports_no_heavy_library_it_does_not_use(tmp_path: Path) -> None:
    write_files(tmp_path, {"pyproject.toml": '[tool.workbench]\nmodules = ["pipeline"]\n', "pipeline.py": PIPELINE})
    first = _run(tmp_path, "materialize")  # a new index: created through SQLModel
    assert "materialized 2" in first.stderr and "pyarrow" not in json.loads(first.stdout.splitlines()[-1])
    (tmp_path / "pipeline.py").write_text(PIPELINE.replace('"x": 1', '"x": 2'))  # an edit: both rerun

    edit = _run(tmp_path, "materialize")

    assert "materialized 2" in edit.stderr
    assert json.loads(edit.stdout.splitlines()[-1]) == []
    status = _run(tmp_path, "status", "--json")  # the JSON of a command needs no rendering library either
    assert [row["state"] for row in json.loads(status.stdout.splitlines()[0])] == ["fresh", "fresh"]
    assert json.loads(status.stdout.splitlines()[-1]) == []
    for args in (["history", "a"], ["lineage", "b"], ["why", "a"], ["alias", "list"]):
        out = _run(tmp_path, *args, "--json")
        assert json.loads(out.stdout.splitlines()[0]) is not None
        assert set(json.loads(out.stdout.splitlines()[-1])) <= {"workbench.core.selection"}, args  # `a` is parsed
