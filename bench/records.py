"""Index figures: write rate into the DuckDB index, `wb status` with many records, and a lost
index rebuilt from the JSON records (docs/reliability.md quotes them).

    .venv/bin/python bench/records.py [--versions N]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from pathlib import Path

from signals import WB, project, wb  # bench/ is on the path when this script runs

REPO = Path(__file__).resolve().parent.parent


def timed(fn: Callable[[], object], repeat: int = 5) -> float:
    """Median wall time of `fn` in seconds."""
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def report(name: str, value: float, unit: str, target: str) -> None:
    print(f"{name:<58} {value:>9.3f} {unit:<4} (target {target})", flush=True)


def trivial_project(root: Path, n: int, width: int) -> Path:
    """n trivial assets in layers of `width`, each reading one asset of the layer above."""
    lines = ["from workbench import asset", ""]
    for i in range(n):
        parent = f"a{i - width}" if i >= width else ""
        lines += ["@asset", f"def a{i}({parent}) -> dict:", f"    return {{'i': {i}}}", ""]
    return project(root, "\n".join(lines))


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



def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--versions", type=int, default=100, help="records per asset (100 assets)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        bench_records(Path(tmp), args.versions)


if __name__ == "__main__":
    main()
