"""Shared fixtures: temp projects on disk and a runner for the real `wb` command."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import textwrap
from collections.abc import Callable
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
WB = str(Path(sys.executable).with_name("wb"))


def write_files(root: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text).lstrip("\n"))


def run_wb(project: Path, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("WORKBENCH_DEBUG", "WORKBENCH_HOME")}
    env["NO_COLOR"] = "1"
    env["COLUMNS"] = "200"
    return subprocess.run([WB, *args], cwd=project, env=env, capture_output=True, text=True, timeout=timeout)


@pytest.fixture
def make_project(tmp_path: Path) -> Callable[[dict[str, str]], Path]:
    """A project whose definitions live in `pipeline.py` (and any other files given)."""

    def make(files: dict[str, str], modules: tuple[str, ...] = ("pipeline",)) -> Path:
        root = tmp_path / "proj"
        root.mkdir(exist_ok=True)
        listed = ", ".join(f'"{m}"' for m in modules)
        write_files(root, {"pyproject.toml": f"[tool.workbench]\nmodules = [{listed}]\n", **files})
        return root

    return make


@pytest.fixture
def default_project(tmp_path: Path) -> Path:
    """A copy of the repo's default project (assets/ and its data) in a temp directory."""
    root = tmp_path / "default"
    root.mkdir()
    shutil.copytree(REPO / "assets", root / "assets", ignore=shutil.ignore_patterns("__pycache__"))
    (root / "samples" / "data").mkdir(parents=True)
    shutil.copy(REPO / "samples" / "data" / "penguins.csv", root / "samples" / "data" / "penguins.csv")
    return root
