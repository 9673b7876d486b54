"""Save-to-start latency of `wb watch` (target: median < 0.5 s).

Run: `.venv/bin/python bench/watch_latency.py [--saves N]`. A temp project has one asset that reads
a source; each save edits either the asset's code (written in place, or atomically: temp file +
rename, as many editors do) or the source's bytes. The asset appends `time.time()` to a file when
its body starts, so a latency is the wall time from just before the save to the asset running.
"""

from __future__ import annotations

import argparse
import os
import queue
import statistics
import subprocess
import sys
import tempfile
import textwrap
import threading
import time
from collections.abc import Callable
from pathlib import Path

WB = str(Path(sys.executable).with_name("wb"))

PIPELINE = """
import time
from workbench import asset, source

raw = source("raw", path="data/raw.txt")
VALUE = {value}


@asset
def leaf(raw) -> dict:
    with open({starts!r}, "a") as f:
        f.write(f"{{time.time()}}\\n")
    return {{"value": VALUE, "raw": raw.read_text()}}
"""


class Watch:
    """A running `wb watch` whose stderr lines are read by a thread."""

    def __init__(self, root: Path) -> None:
        env = {**os.environ, "NO_COLOR": "1"}
        self.proc = subprocess.Popen([WB, "watch"], cwd=root, env=env, stderr=subprocess.PIPE, text=True)
        self.lines: queue.Queue[str] = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.proc.stderr is not None
        for line in self.proc.stderr:
            self.lines.put(line)

    def expect(self, needle: str, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while (left := deadline - time.monotonic()) > 0:
            try:
                if needle in self.lines.get(timeout=left):
                    return
            except queue.Empty:
                break
        raise TimeoutError(f"no line with {needle!r} within {timeout}s")

    def close(self) -> None:
        self.proc.terminate()
        self.proc.wait(timeout=30)


def measure(root: Path, starts: Path, saves: int) -> dict[str, list[float]]:
    code, data = root / "pipeline.py", root / "data" / "raw.txt"

    def in_place(i: int) -> None:
        code.write_text(PIPELINE.format(value=i, starts=str(starts)))

    def atomic(i: int) -> None:
        tmp = code.with_name(".pipeline.py.tmp")
        tmp.write_text(PIPELINE.format(value=i, starts=str(starts)))
        os.replace(tmp, code)

    def source(i: int) -> None:
        data.write_text(f"{i}\n")

    kinds: dict[str, Callable[[int], None]] = {"code, in place": in_place, "code, atomic": atomic, "source": source}
    out: dict[str, list[float]] = {name: [] for name in kinds}
    watch = Watch(root)
    try:
        watch.expect("pass 1 done")
        for i in range(saves):
            name = list(kinds)[i % len(kinds)]
            seen = len(starts.read_text().split())
            t0 = time.time()
            kinds[name](i + 1)
            watch.expect(f"pass {i + 2} done")
            stamps = starts.read_text().split()
            assert len(stamps) == seen + 1, f"save {i}: expected one run, saw {len(stamps) - seen}"
            out[name].append(float(stamps[-1]) - t0)
            time.sleep(0.3)  # a user does not save twice within a pass
    finally:
        watch.close()
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--saves", type=int, default=30)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root, starts = Path(tmp) / "proj", Path(tmp) / "starts.txt"
        (root / "data").mkdir(parents=True)
        (root / "pyproject.toml").write_text('[tool.workbench]\nmodules = ["pipeline"]\n')
        (root / "pipeline.py").write_text(textwrap.dedent(PIPELINE.format(value=0, starts=str(starts))))
        (root / "data" / "raw.txt").write_text("0\n")
        starts.write_text("")
        results = measure(root, starts, args.saves)
    every = [t for times in results.values() for t in times]
    for name, times in {**results, "all saves": every}.items():
        p90 = statistics.quantiles(times, n=10)[-1] if len(times) > 1 else times[0]
        print(f"save -> start, {name:<15} median {statistics.median(times):.3f} s  p90 {p90:.3f} s  (n={len(times)})")
    print("target: median < 0.5 s")


if __name__ == "__main__":
    main()
