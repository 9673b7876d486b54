"""Ctrl+C latency: an idle `wb watch` on a Polars project, and a second Ctrl+C on a run that never ends.

Run: `.venv/bin/python bench/signals.py`.
"""

from __future__ import annotations

import signal
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

WB = str(Path(sys.executable).with_name("wb"))


def wb(project: Path, *args: str) -> None:
    subprocess.run([WB, *args], cwd=project, check=True, capture_output=True)


def project(root: Path, body: str) -> Path:
    root.mkdir(parents=True)
    (root / "pyproject.toml").write_text('[tool.workbench]\nmodules = ["pipeline"]\n')
    (root / "pipeline.py").write_text(textwrap.dedent(body))
    return root


SIGNALS_PROJECT = """
import time
from pathlib import Path

import polars as pl
from workbench import asset


@asset
def table() -> pl.DataFrame:
    return pl.DataFrame({"a": [1, 2]})


@asset
def forever(table: pl.DataFrame) -> dict:
    Path("forever.started").touch()
    while True:
        time.sleep(0.01)
"""


def _stderr_until(proc: subprocess.Popen[str], text: str) -> None:
    assert proc.stderr is not None
    for line in proc.stderr:
        if text in line:
            return
    raise RuntimeError(f"{text!r} never came")


def bench_signals(tmp: Path) -> None:
    """Ctrl+C: an idle `wb watch` on a project that imports Polars, and a run whose asset never ends."""
    root = project(tmp / "signals", SIGNALS_PROJECT)
    wb(root, "materialize", "table")
    idle, stop = [], []
    for _ in range(5):
        watch = subprocess.Popen([WB, "watch", "table"], cwd=root, stderr=subprocess.PIPE, text=True)
        _stderr_until(watch, "pass 1 done")
        time.sleep(0.5)  # idle: blocked waiting for a file event
        t0 = time.perf_counter()
        watch.send_signal(signal.SIGINT)
        watch.wait(timeout=60)
        idle.append(time.perf_counter() - t0)
    for _ in range(3):
        (root / "forever.started").unlink(missing_ok=True)
        run = subprocess.Popen([WB, "materialize", "forever"], cwd=root, stderr=subprocess.PIPE, text=True)
        while not (root / "forever.started").exists():
            time.sleep(0.01)
        run.send_signal(signal.SIGINT)
        _stderr_until(run, "Ctrl+C again to stop them")
        t0 = time.perf_counter()
        run.send_signal(signal.SIGINT)
        run.wait(timeout=60)
        stop.append(time.perf_counter() - t0)
    print(f"Ctrl+C -> exit, idle wb watch on a Polars project: {statistics.median(idle):.3f} s (target < 1-2 s)")
    print(f"second Ctrl+C -> exit, wb materialize of a never-ending asset: {statistics.median(stop):.3f} s (target < 1-2 s)")


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="wb-bench-") as tmp:
        bench_signals(Path(tmp))


if __name__ == "__main__":
    main()
