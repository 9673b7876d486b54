"""TUI benchmark on a 1,000-asset project, in a real terminal (tmux). Run: `.venv/bin/python bench/tui_bench.py`.

- first screen: `wb tui` launched -> the graph drawn with its states (legend counts on screen);
- key response: an arrow/hjkl press -> the screen changed (the detail pane follows the cursor),
  polled with `tmux capture-pane` every ~2 ms, so the numbers include the terminal round trip.
"""

from __future__ import annotations

import argparse
import os
import random
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

WB = str(Path(sys.executable).with_name("wb"))
LOADED = re.compile(r"fresh (\d+) .*stale (\d+)")


def make_project(root: Path, n: int, layers: int, seed: int = 7) -> Path:
    """`n` trivial assets in `layers` layers, 1-3 parents each from the layers above, 10 groups."""
    rng = random.Random(seed)
    per = n // layers
    lines = ["from workbench import asset", ""]
    for i in range(n):
        layer = i // per
        pool = [f"a{j}" for j in range(max(0, (layer - 2) * per), layer * per)]
        parents = sorted(rng.sample(pool, min(len(pool), rng.randint(1, 3)))) if pool else []
        lines += [f"@asset(group='g{layer * 10 // layers}')", f"def a{i}({', '.join(parents)}) -> dict:", f"    return {{'i': {i}}}", ""]
    root.mkdir(parents=True)
    (root / "pyproject.toml").write_text('[tool.workbench]\nmodules = ["pipeline"]\n')
    (root / "pipeline.py").write_text("\n".join(lines))
    return root


class Terminal:
    """A detached tmux session running one command."""

    def __init__(self, command: str, cwd: Path, size: tuple[int, int] = (120, 40)) -> None:
        self.name = f"wb-tui-bench-{os.getpid()}"
        subprocess.run(["tmux", "new-session", "-d", "-s", self.name, "-x", str(size[0]), "-y", str(size[1]),
                        "-c", str(cwd), command], check=True)

    def screen(self) -> str:
        return subprocess.run(["tmux", "capture-pane", "-p", "-t", self.name], capture_output=True, text=True, check=True).stdout

    def wait(self, done: Callable[[str], bool], timeout: float = 30.0) -> str:
        deadline = time.perf_counter() + timeout
        while time.perf_counter() < deadline:
            text = self.screen()
            if done(text):
                return text
            time.sleep(0.002)
        raise TimeoutError(self.screen())

    def press(self, key: str) -> None:
        subprocess.run(["tmux", "send-keys", "-t", self.name, key], check=True)

    def cpu_seconds(self) -> float:
        """CPU time (user + system, all threads) of the program in the pane so far."""
        pid = subprocess.run(["tmux", "display", "-p", "-t", self.name, "#{pane_pid}"],
                             capture_output=True, text=True, check=True).stdout.strip()
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def close(self) -> None:
        subprocess.run(["tmux", "kill-session", "-t", self.name], capture_output=True, check=False)


def first_screen_and_keys(root: Path, presses: int = 40) -> tuple[float, float, list[float], float]:
    """Wall and CPU seconds to the first screen, the wall time of each key press, CPU per press."""
    t0 = time.perf_counter()
    term = Terminal(f"exec {WB} tui", root)
    try:
        term.wait(lambda text: (m := LOADED.search(text)) is not None and int(m[1]) + int(m[2]) > 0, timeout=120)
        first = time.perf_counter() - t0
        cpu = term.cpu_seconds()
        time.sleep(1.0)
        cpu_before = term.cpu_seconds()
        times = []
        for key in (["j", "l", "k", "l", "Down", "h"] * presses)[:presses]:
            before = term.screen()
            t = time.perf_counter()
            term.press(key)
            term.wait(lambda text, before=before: text != before, timeout=5)
            times.append(time.perf_counter() - t)
            time.sleep(0.05)
        return first, cpu, times, (term.cpu_seconds() - cpu_before) / len(times)
    finally:
        term.close()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--assets", type=int, default=1000)
    parser.add_argument("--layers", type=int, default=25)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = make_project(Path(tmp) / "big", args.assets, args.layers)
        t0 = time.perf_counter()
        subprocess.run([WB, "materialize", "--jobs", "2"], cwd=root, check=True, capture_output=True)
        print(f"setup: wb materialize of {args.assets} assets took {time.perf_counter() - t0:.1f} s; load average {os.getloadavg()[0]:.1f}")
        source = root / "pipeline.py"  # one changed asset near the top makes its descendants stale
        source.write_text(source.read_text().replace("return {'i': 50}", "return {'i': -50}"))
        if shutil.which("tmux") is None:
            sys.exit("tmux is needed to measure in a real terminal")
        for run in ("first open", "second open"):
            first, cpu, keys, per_key = first_screen_and_keys(root)
            keys.sort()
            print(
                f"{run}: first screen {first:.2f} s wall, {cpu:.2f} s CPU (target < 2 s); key press -> screen updated: "
                f"median {statistics.median(keys) * 1000:.0f} ms, p90 {keys[int(len(keys) * 0.9)] * 1000:.0f} ms; "
                f"{per_key * 1000:.0f} ms CPU per press (with the detail pane's reload); load average {os.getloadavg()[0]:.1f}"
            )


if __name__ == "__main__":
    main()
