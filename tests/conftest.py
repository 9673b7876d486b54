"""Shared fixtures: temp projects on disk and a runner for the real `wb` command."""

from __future__ import annotations

import os
import queue
import re
import shutil
import signal
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
WB = str(Path(sys.executable).with_name("wb"))
TIMEOUT = 60.0  # generous: a loaded 2-core machine


def write_files(root: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text).lstrip("\n"))


def wb_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("WORKBENCH_DEBUG", "WORKBENCH_HOME")}
    env["NO_COLOR"] = "1"
    env["COLUMNS"] = "200"
    return env


def run_wb(project: Path, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run([WB, *args], cwd=project, env=wb_env(), capture_output=True, text=True, timeout=timeout)


class WbProcess:
    """A running `wb` command whose stderr is read line by line in a thread (for signals and waits)."""

    def __init__(self, root: Path, *args: str) -> None:
        self.proc = subprocess.Popen(
            [WB, *args], cwd=root, env=wb_env(), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True
        )
        self.lines: queue.Queue[str] = queue.Queue()
        self.seen: list[str] = []
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.proc.stderr is not None
        for line in self.proc.stderr:
            self.lines.put(line.rstrip("\n"))

    def expect(self, pattern: str, timeout: float = TIMEOUT) -> re.Match[str]:
        """The first line from now on that matches `pattern` (a regex)."""
        deadline = time.monotonic() + timeout
        while (left := deadline - time.monotonic()) > 0:
            try:
                line = self.lines.get(timeout=left)
            except queue.Empty:
                break
            self.seen.append(line)
            if match := re.search(pattern, line):
                return match
        raise AssertionError(f"no line matching {pattern!r} in {timeout}s; output so far:\n" + "\n".join(self.seen))

    def quiet(self, seconds: float) -> list[str]:
        """Lines that arrive within `seconds` (to check that nothing happens)."""
        deadline, got = time.monotonic() + seconds, []
        while (left := deadline - time.monotonic()) > 0:
            try:
                got.append(self.lines.get(timeout=left))
            except queue.Empty:
                break
        self.seen += got
        return got

    def stop(self, sig: int = signal.SIGTERM) -> int:
        self.proc.send_signal(sig)
        return self.proc.wait(timeout=TIMEOUT)

    def kill(self) -> None:
        """End it if it still runs (a test's cleanup)."""
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=TIMEOUT)


def wait_for(path: Path) -> None:
    """Until `path` exists (an asset's body says it is running)."""
    deadline = time.monotonic() + TIMEOUT
    while not path.exists():
        assert time.monotonic() < deadline, f"{path} did not appear"
        time.sleep(0.02)


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
