"""The speed table of issue #15, timed around whole `wb` processes as a user runs them.

    .venv/bin/python bench/run.py                          # every row, full sizes
    .venv/bin/python bench/run.py --rows status history    # some rows
    .venv/bin/python bench/run.py --quick                  # small sizes, a smoke run
    .venv/bin/python bench/run.py --peer .peer-venv        # Dagster's per-asset figure in the same run

Projects come from the peer benchmark (`shared/peer-bench`: layered graphs of trivial 100-row
Polars bodies, width 10, fan-in <= 3; the 5M-row data path) or, for the 100,000-asset and
million-record stores, from `tests/scale.py` (an index filled by bulk insert). Each figure is
the minimum of interleaved runs (the machine is shared: minimums are the least noisy).
Dagster runs from its own venv (`python3 -m venv .peer-venv && .peer-venv/bin/pip install
'dagster==1.13.*' polars`).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
PEER = REPO.parent / "shared" / "peer-bench"


@dataclass(frozen=True)
class Run:
    seconds: float
    peak_mb: float


def timed(command: str, cwd: Path, env: dict[str, str] | None = None) -> Run:
    """Wall time and peak resident memory of one shell command (and its children)."""
    with tempfile.TemporaryFile() as err:  # a pipe would fill up with progress lines and block the command
        t0 = time.perf_counter()
        proc = subprocess.Popen(["sh", "-c", command], cwd=cwd, env={**os.environ, **(env or {})},
                                stdout=subprocess.DEVNULL, stderr=err)
        _, status, usage = os.wait4(proc.pid, 0)
        seconds = time.perf_counter() - t0
        proc.returncode = os.waitstatus_to_exitcode(status)
        if proc.returncode != 0:
            err.seek(0)
            raise RuntimeError(f"{command!r} in {cwd} exited {proc.returncode}: {err.read().decode()[-2000:]}")
    return Run(seconds, usage.ru_maxrss / 1024)


def best(runs: list[Run]) -> Run:
    return min(runs, key=lambda r: r.seconds)


def interleaved(commands: dict[str, str], cwd: Path, repeat: int, prep: Callable[[], None] | None = None) -> dict[str, Run]:
    """The fastest of `repeat` rounds of each command, rounds interleaved."""
    runs: dict[str, list[Run]] = {name: [] for name in commands}
    for _ in range(repeat):
        for name, command in commands.items():
            if prep:
                prep()
            runs[name].append(timed(command, cwd))
    return {name: best(found) for name, found in runs.items()}


class Table:
    def __init__(self) -> None:
        self.rows: list[tuple[str, str, str]] = []

    def add(self, measure: str, value: str, target: str) -> None:
        self.rows.append((measure, value, target))
        print(f"  {measure}: {value} (target {target})", flush=True)

    def markdown(self) -> str:
        lines = ["| measure | measured | target |", "| --- | --- | --- |"]
        return "\n".join(lines + [f"| {m} | {v} | {t} |" for m, v, t in self.rows])


def peer(python: str, *args: str, env: dict[str, str] | None = None) -> str:
    """Run the peer harness (`bench.py`) with `python`'s venv first on PATH."""
    path = f"{Path(python).parent}{os.pathsep}{os.environ['PATH']}"
    out = subprocess.run([python, str(PEER / "bench.py"), *args], check=True, capture_output=True, text=True,
                         env={**os.environ, "PATH": path, **(env or {})})
    return out.stdout


def setup(python: str, folder: Path, tool: str, *spec: str, opts: tuple[str, ...] = ()) -> Path:
    peer(python, "setup", str(folder), "--tool", tool, *(f"--opt={o}" for o in opts), "--", *spec)
    return folder


def wb_project(tmp: Path, name: str, *spec: str) -> Path:
    return setup(sys.executable, tmp / name, "wb", *spec)


def reset(folder: Path) -> Callable[[], None]:
    return lambda: shutil.rmtree(folder / ".workbench", ignore_errors=True)


WB = f"{BIN / 'wb'}"


def row_per_asset(tmp: Path, table: Table, args: argparse.Namespace) -> None:
    small, big = 10, args.per_asset
    projects = {n: wb_project(tmp, f"wb-n{n}", "layered", "--n", str(n)) for n in (small, big)}
    runs: dict[int, list[Run]] = {small: [], big: []}
    for _ in range(args.repeat):
        for n, folder in projects.items():
            reset(folder)()
            runs[n].append(timed(f"{WB} materialize", folder))
    ms = (best(runs[big]).seconds - best(runs[small]).seconds) / (big - small) * 1000
    value = f"{ms:.2f} ms (wb materialize: {best(runs[small]).seconds:.2f} s at {small}, {best(runs[big]).seconds:.2f} s at {big})"
    if args.peer:
        python = str(Path(args.peer).resolve() / "bin" / "python")
        dagster = {}
        for n in (small, big):
            folder = setup(python, tmp / f"dg-n{n}", "dagster", "layered", "--n", str(n), opts=("io=pickle", "executor=inprocess"))
            line = peer(python, "sh", str(folder), "materialize_all", "--prep", "reset").strip()
            path = f"{Path(python).parent}{os.pathsep}{os.environ['PATH']}"
            dagster[n] = best([timed(line, folder, {"PATH": path}) for _ in range(args.peer_repeat)]).seconds
        dg = (dagster[big] - dagster[small]) / (big - small) * 1000
        value += f"; Dagster 1.13 same run: {dg:.1f} ms ({dg / ms:.0f}x)"
    table.add(f"marginal cost per trivial asset, {big:,} assets, fresh store", value, "<= 1 ms")


def row_large(tmp: Path, table: Table, args: argparse.Namespace) -> None:
    n = args.large
    folder = wb_project(tmp, f"wb-n{n}", "layered", "--n", str(n))
    first = timed(f"{WB} materialize", folder)  # a new project: its code is compiled too (then cached per user)
    fresh = []
    for _ in range(max(1, args.repeat - 1)):  # into an empty store again, as the per-asset row measures
        reset(folder)()
        fresh.append(timed(f"{WB} materialize", folder))
    table.add(
        f"full materialize, {n:,} assets, fresh store",
        f"{best(fresh).seconds:.1f} s (the new project's first run, compiling its {n:,}-function module too: {first.seconds:.1f} s)",
        "< 10 s",
    )
    found = interleaved({"table": f"{WB} status", "json": f"{WB} status --json", "noop": f"{WB} materialize"}, folder, args.repeat)
    table.add(
        f"`wb status` table / `--json` / no-op `materialize`, {n:,} assets",
        " / ".join(f"{found[k].seconds:.3f} s" for k in ("table", "json", "noop")),
        "< 1 s each",
    )
    if args.tui:
        sys.path.insert(0, str(REPO / "bench"))
        from tui_bench import first_screen_and_keys

        try:
            first, _, keys, _ = first_screen_and_keys(folder, presses=10)
            value = f"{first:.2f} s / {sorted(keys)[len(keys) // 2] * 1000:.0f} ms (median)"
        except TimeoutError:
            value = "no first screen within 120 s"
        table.add(f"`wb tui` first screen / key press, {n:,} assets", value, "< 2 s / < 100 ms")


def scale_store(tmp: Path, name: str, assets: int, per_asset: int) -> Path:
    """A project of `assets` layered assets whose store holds `per_asset` records each (`tests/scale.py`),
    generated in a process of its own: a command forked from this one would inherit its peak memory."""
    folder = tmp / name
    script = (
        f"import runpy; scale = runpy.run_path({str(REPO / 'tests' / 'scale.py')!r}); "
        f"scale['layered_project'](__import__('pathlib').Path({str(folder)!r}), {assets}); "
        f"print(scale['fill_store']({str(folder)!r}, {per_asset}))"
    )
    t0 = time.perf_counter()
    records = int(subprocess.run([sys.executable, "-c", script], check=True, capture_output=True, text=True).stdout)
    print(f"  ({name}: {records:,} records generated in {time.perf_counter() - t0:.1f} s)", flush=True)
    return folder


def row_huge(tmp: Path, table: Table, args: argparse.Namespace) -> None:
    n = args.huge
    folder = scale_store(tmp, f"wb-huge-{n}", n, 1)
    found = interleaved({"table": f"{WB} status", "json": f"{WB} status --json"}, folder, max(1, args.repeat - 1))
    table.add(f"`wb status` table / `--json`, {n:,} assets", f"{found['table'].seconds:.2f} s / {found['json'].seconds:.2f} s", "< 5 s")
    table.add(f"peak memory, `wb status` table / `--json`, {n:,} assets", f"{found['table'].peak_mb:.0f} MB / {found['json'].peak_mb:.0f} MB", "< 1 GB")


def row_history(tmp: Path, table: Table, args: argparse.Namespace) -> None:
    assets, per_asset = 1000, args.records // 1000
    folder = scale_store(tmp, "wb-records", assets, per_asset)
    found = interleaved({"history": f"{WB} history a500", "status": f"{WB} status --json"}, folder, args.repeat)
    table.add(
        f"`wb history KEY` / `wb status --json`, {assets * per_asset:,} records ({assets:,} assets)",
        f"{found['history'].seconds:.3f} s / {found['status'].seconds:.3f} s",
        "< 1 s",
    )


def row_edit(tmp: Path, table: Table, args: argparse.Namespace) -> None:
    folder = wb_project(tmp, "wb-edit", "layered", "--n", "100")
    timed(f"{WB} materialize", folder)
    runs, counts = [], []
    for _ in range(args.repeat):
        peer(sys.executable, "edit", str(folder))
        runs.append(timed(f"{WB} materialize", folder, {"BENCH_RUNLOG": str(folder / "runlog.txt")}))
        counts.append(json.loads(peer(sys.executable, "count", str(folder))))
    ran = {f"{c['ran']} of {c['expected']}" for c in counts}
    table.add("incremental edit at 100 assets, whole command incl. start-up", f"{best(runs).seconds:.3f} s (ran {', '.join(ran)} in the edit's closure: early cutoff)", "< 0.5 s")


def row_data(tmp: Path, table: Table, args: argparse.Namespace) -> None:
    rows = str(args.data_rows)
    folder = wb_project(tmp, "wb-big", "bigdata", "--rows", rows)
    plain = tmp / "plain"
    found = interleaved(
        {"wb": f"rm -rf .workbench && {WB} materialize", "plain": f"{sys.executable} {PEER / 'plain_w5.py'} {plain} --rows {rows}"},
        folder,
        args.repeat,
    )
    ratio = found["wb"].seconds / found["plain"].seconds
    table.add(
        f"{args.data_rows / 1e6:g}M-row data path, whole process vs plain Polars",
        f"{ratio:.2f}x ({found['wb'].seconds:.2f} s vs {found['plain'].seconds:.2f} s)",
        "<= 1.2x",
    )


ROWS: dict[str, Callable[[Path, Table, argparse.Namespace], None]] = {
    "per-asset": row_per_asset,
    "large": row_large,
    "huge": row_huge,
    "history": row_history,
    "edit": row_edit,
    "data": row_data,
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", nargs="+", choices=ROWS, default=list(ROWS), help="rows to run (default: all)")
    parser.add_argument("--quick", action="store_true", help="small sizes, for a smoke run")
    parser.add_argument("--repeat", type=int, default=3, help="interleaved runs per figure (minimum taken)")
    parser.add_argument("--peer", help="a venv with dagster 1.13 and polars: adds Dagster's per-asset figure")
    parser.add_argument("--peer-repeat", type=int, default=1, help="runs per Dagster figure (~90 s each at 1,000 assets)")
    parser.add_argument("--no-tui", dest="tui", action="store_false", help="skip the TUI row (needs tmux)")
    args = parser.parse_args()
    sizes = (200, 1000, 10_000, 100_000, 500_000) if args.quick else (1000, 10_000, 100_000, 1_000_000, 5_000_000)
    args.per_asset, args.large, args.huge, args.records, args.data_rows = sizes
    args.tui = args.tui and shutil.which("tmux") is not None
    os.environ.pop("WORKBENCH_HOME", None)
    os.environ.pop("PYTHONDONTWRITEBYTECODE", None)  # timed as users run them: with Python's bytecode cache
    table = Table()
    with tempfile.TemporaryDirectory(prefix="wb-bench-") as name:
        for row in args.rows:
            print(f"{row} (load average {os.getloadavg()[0]:.1f})", flush=True)
            ROWS[row](Path(name), table, args)
    print()
    print(table.markdown())


if __name__ == "__main__":
    main()
