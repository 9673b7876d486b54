"""The dirty flag means the user's uncommitted work, never Workbench's own store."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from tests.conftest import run_wb, write_files
from workbench.versioning.gitinfo import MAX_UNTRACKED, git_info, uncommitted_patch

PIPELINE = "from workbench import asset\n\n@asset\ndef a() -> dict:\n    return {'v': 1}\n"


def _git(root: Path, *args: str) -> None:
    subprocess.run(["git", "-c", "user.email=t@e", "-c", "user.name=t", *args], cwd=root, check=True, capture_output=True)


def _dirty(root: Path) -> bool:
    return json.loads(run_wb(root, "history", "a", "--json").stdout)[0]["git_dirty"]  # type: ignore[no-any-return]


def test_the_store_is_not_an_uncommitted_change(tmp_path: Path) -> None:
    root = tmp_path / "repo"
    write_files(root, {"pyproject.toml": '[tool.workbench]\nmodules = ["pipeline"]\n', "pipeline.py": PIPELINE})
    _git(root, "init", "-q")
    _git(root, "add", "-A")
    _git(root, "commit", "-qm", "init")
    assert run_wb(root, "materialize").returncode == 0
    assert _dirty(root) is False
    assert (root / ".workbench" / ".gitignore").read_text().strip().endswith("*")
    status = subprocess.run(["git", "status", "--porcelain"], cwd=root, capture_output=True, text=True, check=True)
    assert status.stdout == ""  # git does not list the store at all

    (root / ".workbench" / ".gitignore").unlink()  # even when git lists it, it is not the user's dirt
    (root / ".workbench" / "é \"q\"\n.txt").write_text("x")  # a name git quotes
    assert git_info(root, root / ".workbench").dirty is False
    assert git_info(root).dirty  # (without naming the store, it would count)
    assert git_info(root / ".workbench", root / ".workbench").commit == git_info(root).commit  # from a subfolder
    _git(root, "mv", "pipeline.py", "moved.py")  # a staged rename is a change
    assert git_info(root, root / ".workbench").dirty is True
    _git(root, "mv", "moved.py", "pipeline.py")
    assert git_info(tmp_path).commit is None  # not a repository
    (tmp_path / "empty").mkdir()
    _git(tmp_path / "empty", "init", "-q")
    assert git_info(tmp_path / "empty") == git_info(tmp_path)  # a repository without a commit: no commit to name

    (root / "notes.txt").write_text("an untracked file of the user's")
    (root / "pipeline.py").write_text(PIPELINE.replace("'v': 1", "'v': 3"))
    assert run_wb(root, "materialize").returncode == 0
    assert _dirty(root) is True
    (root / ".workbench" / ".gitignore").unlink()  # git lists the store again: the patch still leaves it out
    (root / "big.bin").write_bytes(b"x" * (MAX_UNTRACKED + 1))  # data, not code: left out
    (root / "a [b]*.py").write_text("X = 1\n")  # a name that would read as a glob
    patch = uncommitted_patch(root, root / ".workbench")  # the user's changes, never the store
    assert patch is not None and b"notes.txt" in patch and b"'v': 3" in patch and b"a [b]*.py" in patch
    assert b"big.bin" not in patch
    assert b".workbench" not in patch and b".workbench" in (uncommitted_patch(root) or b"")
