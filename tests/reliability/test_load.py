"""Load: 10,000 materializations recorded, then queried with `wb status` and `wb history`.

Figures only (printed; run with `-s`), no timing assertions: targets are the benchmark's business.
The records are consistent with the project (every asset is fresh), so `wb status` does its
full work: 100 assets in layers of 10, 100 versions each.
"""

from __future__ import annotations

import json
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from workbench.storage.artifacts import ArtifactStore
from workbench.storage.metadata import DuckDBMetadataStore

from tests.conftest import run_wb
from workbench.core.hashing import digest
from workbench.core.records import SUCCESS, Materialization
from workbench.workspace import Workspace

ASSETS, VERSIONS, WIDTH, BATCH = 100, 100, 10, 500
T0 = datetime(2026, 1, 1, tzinfo=timezone.utc)


def pipeline() -> str:
    lines = ["from workbench import asset", ""]
    for i in range(ASSETS):
        parent = f"a{i - WIDTH}" if i >= WIDTH else ""
        lines += ["@asset", f"def a{i}({parent}) -> dict:", f"    return {{'i': {i}}}", ""]
    return "\n".join(lines)


def records(code: dict[str, str]) -> list[Materialization]:
    out = []
    for v in range(VERSIONS):
        for i in range(ASSETS):
            key, t = f"a{i}", T0 + timedelta(minutes=v, milliseconds=i)
            parents = {f"a{i - WIDTH}": digest(f"a{i - WIDTH}", str(v))} if i >= WIDTH else {}
            dv = digest(key, str(v))
            out.append(Materialization(
                id=digest("id", key, str(v)), asset_key=key, status=SUCCESS, code_version=code[key], run_id=f"run{v}",
                trigger="cli", started_at=t - timedelta(milliseconds=3), ended_at=t, data_version=dv,
                input_versions=parents, artifact_uri=f"objects/{dv[:2]}/{dv}.json", serializer="json", size=9,
                metadata={"schema": {"i": "Int64"}}, metrics={"score": v / VERSIONS}, git_commit="0" * 40, git_dirty=False,
            ))  # fmt: skip
    return out


def timed(fn, repeat: int = 2) -> float:  # type: ignore[no-untyped-def]
    """The best of `repeat` wall times (the machine may be shared)."""
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


@pytest.mark.slow
def test_ten_thousand_records_are_recorded_and_queried(make_project) -> None:  # type: ignore[no-untyped-def]
    project = make_project({"pipeline.py": pipeline()})
    ws = Workspace.open(project)
    all_records = records(ws.code_versions)
    store = DuckDBMetadataStore(ws.project.config.metadata_path)
    status_empty_s = timed(lambda: run_wb(project, "status"))  # the same project before any record
    import pyarrow  # noqa: F401 - imported by the first insert: not part of the rate

    t0 = time.perf_counter()
    for start in range(0, len(all_records), BATCH):  # as a run's recorder does, in batches
        store.add_many(all_records[start : start + BATCH])
    index_rate = len(all_records) / (time.perf_counter() - t0)
    assert store.count() == ASSETS * VERSIONS

    artifacts = ArtifactStore(ws.project.config.artifacts_url)
    for m in all_records[-ASSETS:]:  # the latest versions' artifacts (`wb status` checks that they exist)
        path = Path(artifacts.root) / (m.artifact_uri or "")
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text('{"i": 0}')
    sample = all_records[:500]
    t0 = time.perf_counter()
    uris = [artifacts.write_record(m) for m in sample]
    json_rate = len(sample) / (time.perf_counter() - t0)
    json_bytes = sum((Path(artifacts.root) / u).stat().st_size for u in uris) / len(uris)

    latest_s = timed(lambda: DuckDBMetadataStore(store.path).latest_all())
    history_s = timed(lambda: store.history("a55", limit=50))
    status_cli = run_wb(project, "status", "--json")
    assert status_cli.returncode == 0, status_cli.stderr
    assert {row["state"] for row in json.loads(status_cli.stdout)} == {"fresh"}
    status_s = timed(lambda: run_wb(project, "status"))
    history_cli = run_wb(project, "history", "a55")
    rows = history_cli.stdout.count("success") + history_cli.stdout.count("collected")  # synthetic: no artifacts
    assert history_cli.returncode == 0 and rows == 50
    history_cli_s = timed(lambda: run_wb(project, "history", "a55"))
    history_all_s = timed(lambda: run_wb(project, "history", "a55", "-n", "1000", "--json"), repeat=1)

    figures = {
        "records": store.count(),
        "index_records_per_s": round(index_rate),
        "json_records_per_s": round(json_rate),
        "duckdb_bytes_per_record": round(store.path.stat().st_size / store.count()),
        "json_bytes_per_record": round(json_bytes),
        "latest_all_ms": round(latest_s * 1000, 1),
        "history_query_ms": round(history_s * 1000, 1),
        "wb_status_empty_store_s": round(status_empty_s, 3),
        "wb_status_s": round(status_s, 3),
        "wb_history_s": round(history_cli_s, 3),
        "wb_history_all_versions_json_s": round(history_all_s, 3),
    }
    print("\nload:", json.dumps(figures))
