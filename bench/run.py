"""Workbench benchmarks against the DESIGN.md targets. Run: `.venv/bin/python bench/run.py [--quick]`.

Each section builds its own temp project, so the numbers are independent of the repo's store.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
WB = str(Path(sys.executable).with_name("wb"))


def timed(fn: Callable[[], object], repeat: int = 5) -> float:
    """Median wall time of `fn` in seconds."""
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def wb(project: Path, *args: str) -> None:
    subprocess.run([WB, *args], cwd=project, check=True, capture_output=True)


def project(root: Path, body: str) -> Path:
    root.mkdir(parents=True)
    (root / "pyproject.toml").write_text('[tool.workbench]\nmodules = ["pipeline"]\n')
    (root / "pipeline.py").write_text(textwrap.dedent(body))
    return root


def report(name: str, value: float, unit: str, target: str) -> None:
    print(f"{name:<58} {value:>9.3f} {unit:<4} (target {target})", flush=True)


def bench_startup(tmp: Path) -> None:
    report("wb --help", timed(lambda: wb(REPO, "--help")), "s", "< 0.3 s")
    default = tmp / "default"
    default.mkdir()
    shutil.copytree(REPO / "assets", default / "assets")
    shutil.copytree(REPO / "samples" / "data", default / "samples" / "data")
    wb(default, "materialize")
    report("wb status, default project", timed(lambda: wb(default, "status")), "s", "< 0.5 s")
    report("wb materialize (no-op), default project", timed(lambda: wb(default, "materialize")), "s", "-")


def trivial_project(root: Path, n: int, width: int) -> Path:
    """n trivial assets in layers of `width`, each reading one asset of the layer above."""
    lines = ["from workbench import asset", ""]
    for i in range(n):
        parent = f"a{i - width}" if i >= width else ""
        lines += ["@asset", f"def a{i}({parent}) -> dict:", f"    return {{'i': {i}}}", ""]
    return project(root, "\n".join(lines))


def bench_disk(tmp: Path) -> None:
    """The floor under every asset: one atomic small-file write (temp + rename) on this disk."""
    folder = tmp / "disk"
    folder.mkdir()
    t0 = time.perf_counter()
    for i in range(500):
        part = folder / f"{i}.tmp"
        part.write_text("x" * 300)
        os.replace(part, folder / f"{i}.json")
    report("atomic small-file write on this disk (2 per asset)", (time.perf_counter() - t0) / 500 * 1000, "ms", "-")


def bench_overhead(tmp: Path, n: int) -> None:
    sys.path.insert(0, str(REPO))
    from workbench.workspace import Workspace

    root = trivial_project(tmp / "overhead", n, width=50)
    ws = Workspace.open(root)
    t0 = time.perf_counter()
    result = ws.materialize(jobs=1)
    first = time.perf_counter() - t0
    assert len(result.materialized) == n, result
    report(f"framework overhead per trivial asset ({n} assets, jobs=1)", first / n * 1000, "ms", "<= 2 ms")
    t0 = time.perf_counter()
    ws = Workspace.open(root)
    result = ws.materialize(force=True, jobs=2)
    report("  same, --force, jobs=2", (time.perf_counter() - t0) / n * 1000, "ms", "<= 2 ms")


def bench_large(tmp: Path, n: int) -> None:
    root = trivial_project(tmp / "large", n, width=100)
    t0 = time.perf_counter()
    wb(root, "materialize", "--jobs", "2")
    report(f"wb materialize, {n} assets, first run", time.perf_counter() - t0, "s", "-")
    report(f"wb status --json, {n} assets, nothing stale", timed(lambda: wb(root, "status", "--json"), 3), "s", "< 1 s")
    report(f"wb status (table), {n} assets, nothing stale", timed(lambda: wb(root, "status"), 3), "s", "< 1 s")
    report(f"wb materialize (no-op), {n} assets", timed(lambda: wb(root, "materialize"), 3), "s", "< 1 s")
    index = root / ".workbench" / "metadata.duckdb"

    def lost_index_status() -> None:
        index.unlink()
        wb(root, "status", "--json")  # rebuilds the index from the JSON records first

    report(f"wb status after the index was deleted, {n} records", timed(lost_index_status, 3), "s", "-")


def bench_records(tmp: Path, versions: int) -> None:
    """`versions` records of each of 100 assets (layers of 10), consistent with the project so that
    every asset is fresh and `wb status` does its full work: write rates, sizes, and the queries."""
    sys.path.insert(0, str(REPO))
    import pyarrow  # noqa: F401 - the index's first insert imports it: not part of the rate
    from workbench.storage.artifacts import ArtifactStore
    from workbench.storage.metadata import DuckDBMetadataStore

    from workbench.core.hashing import digest
    from workbench.core.records import SUCCESS, Materialization
    from workbench.workspace import Workspace

    assets, width, t_0 = 100, 10, datetime(2026, 1, 1, tzinfo=timezone.utc)
    root = trivial_project(tmp / "records", assets, width)
    ws = Workspace.open(root)
    code = ws.code_versions
    empty_status = timed(lambda: wb(root, "status"), 3)

    def record(i: int, v: int) -> Materialization:
        key, t = f"a{i}", t_0 + timedelta(minutes=v, milliseconds=i)
        dv = digest(key, str(v))
        return Materialization(
            id=digest("id", key, str(v)), asset_key=key, status=SUCCESS, code_version=code[key], run_id=f"run{v}",
            trigger="cli", started_at=t - timedelta(milliseconds=3), ended_at=t, data_version=dv,
            input_versions={f"a{i - width}": digest(f"a{i - width}", str(v))} if i >= width else {},
            artifact_uri=f"objects/{dv[:2]}/{dv}.json", serializer="json", size=9,
            metadata={"schema": {"i": "Int64"}}, metrics={"score": v / versions}, git_commit="0" * 40, git_dirty=False,
        )  # fmt: skip

    records = [record(i, v) for v in range(versions) for i in range(assets)]
    store = DuckDBMetadataStore(ws.project.config.metadata_path)
    t0 = time.perf_counter()
    for start in range(0, len(records), 500):  # as a run's recorder does, in batches
        store.add_many(records[start : start + 500])
    report(f"index writes (add_many, batches of 500), {len(records):,} records", len(records) / (time.perf_counter() - t0), "/s", "-")
    artifacts = ArtifactStore(ws.project.config.artifacts_url)
    for m in records[-assets:]:  # the latest versions' artifacts (`wb status` checks that they exist)
        path = Path(artifacts.root) / (m.artifact_uri or "")
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text('{"i": 0}')
    t0 = time.perf_counter()
    uris = [artifacts.write_record(m) for m in records[:500]]
    report("JSON record writes", 500 / (time.perf_counter() - t0), "/s", "-")
    report("metadata.duckdb size per record", store.path.stat().st_size / store.count(), "B", "-")
    report("JSON record size", sum((Path(artifacts.root) / u).stat().st_size for u in uris) / len(uris), "B", "-")
    status = subprocess.run([WB, "status", "--json"], cwd=root, check=True, capture_output=True, text=True).stdout
    assert {row["state"] for row in json.loads(status)} == {"fresh"}  # so `wb status` does its full work
    report("latest_all()", timed(lambda: DuckDBMetadataStore(store.path).latest_all()) * 1000, "ms", "-")
    report("history(key, limit=50)", timed(lambda: store.history("a55", limit=50)) * 1000, "ms", "-")
    report(f"wb status, {assets} assets, {len(records):,} records", timed(lambda: wb(root, "status"), 3), "s", "-")
    report("  same project with an empty store", empty_status, "s", "-")
    report("wb history KEY", timed(lambda: wb(root, "history", "a55"), 3), "s", "-")
    report("wb history KEY -n 1000 --json", timed(lambda: wb(root, "history", "a55", "-n", "1000", "--json"), 3), "s", "-")


def bench_data_path(tmp: Path, rows: int) -> None:
    import polars as pl

    body = f"""
    import polars as pl
    from workbench import asset

    @asset
    def big() -> pl.DataFrame:
        return pl.DataFrame({{"a": pl.int_range({rows}, eager=True), "b": pl.int_range({rows}, eager=True) * 0.5}})

    @asset
    def total(big: pl.DataFrame) -> dict:
        return {{"sum": float(big["b"].sum())}}
    """
    root = project(tmp / "data", body)
    frame = pl.DataFrame({"a": pl.int_range(rows, eager=True), "b": pl.int_range(rows, eager=True) * 0.5})
    path = tmp / "plain.parquet"

    def plain() -> None:
        frame2 = pl.DataFrame({"a": pl.int_range(rows, eager=True), "b": pl.int_range(rows, eager=True) * 0.5})
        frame2.write_parquet(path)
        _ = {"sum": float(pl.read_parquet(path)["b"].sum())}

    base = timed(plain, 5)
    sys.path.insert(0, str(REPO))
    from workbench.workspace import Workspace

    ws = Workspace.open(root)
    wb_time = timed(lambda: ws.materialize(force=True, selection="big total", jobs=1), 5)
    del frame
    report(f"data path, {rows:,} rows: workbench / plain parquet", wb_time / base, "x", "<= 1.2x")
    print(f"{'':<4}plain write+read {base:.3f} s, workbench {wb_time:.3f} s")


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
    report("Ctrl+C -> exit, idle wb watch on a Polars project", statistics.median(idle), "s", "< 1-2 s")
    report("second Ctrl+C -> exit, wb materialize of a never-ending asset", statistics.median(stop), "s", "< 1-2 s")


SECTIONS: dict[str, Callable[..., None]] = {
    "startup": bench_startup,
    "disk": bench_disk,
    "overhead": bench_overhead,
    "large": bench_large,
    "records": bench_records,
    "data": bench_data_path,
    "signals": bench_signals,
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="smaller sizes, for a smoke run")
    parser.add_argument("--only", nargs="+", choices=SECTIONS, help="run only these sections")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="wb-bench-") as tmp_name:
        tmp = Path(tmp_name)
        os.environ.pop("WORKBENCH_HOME", None)
        sizes = {"overhead": 200 if args.quick else 1000, "large": 1000 if args.quick else 10_000}
        sizes["records"] = 10 if args.quick else 100  # versions of each of 100 assets
        sizes["data"] = 500_000 if args.quick else 5_000_000
        for name in args.only or SECTIONS:
            section = SECTIONS[name]
            section(tmp, sizes[name]) if name in sizes else section(tmp)  # type: ignore[call-arg]


if __name__ == "__main__":
    main()
