"""Two writer processes and a TUI-like reader share one DuckDB file: nothing is lost, nobody dies."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from workbench.storage.metadata import DuckDBMetadataStore

PER_WRITER = 150
KEYS = 10

WORKER = """
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path

from workbench.core.records import Materialization
from workbench.storage.metadata import DuckDBMetadataStore

path, role, count, keys = Path(sys.argv[1]), sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
store = DuckDBMetadataStore(path)
t0 = datetime(2026, 11, 1, tzinfo=timezone.utc)
if role == "reader":
    reads = 0
    while not path.with_suffix(".stop").exists() or reads == 0:
        store.latest()
        store.history("asset_0", limit=5)
        reads += 1
    print(reads)
else:
    for i in range(count):
        store.add(Materialization(
            id=f"{role}-{i}", asset_key=f"asset_{i % keys}", status="success", code_version="c", run_id=role,
            trigger="cli", started_at=t0, ended_at=t0 + timedelta(seconds=i), data_version=f"{role}-{i}",
        ))
    print(count)
"""


def start(path: Path, role: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-c", WORKER, str(path), role, str(PER_WRITER), str(KEYS)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def test_two_writers_and_a_reader_lose_nothing(tmp_path: Path) -> None:
    path = tmp_path / "metadata.duckdb"  # no process creates it beforehand: they race to create it
    reader = start(path, "reader")
    writers = [start(path, "w1"), start(path, "w2")]
    try:
        outputs = [w.communicate(timeout=60) for w in writers]
        path.with_suffix(".stop").touch()
        reader_out, reader_err = reader.communicate(timeout=30)
    finally:
        for proc in (reader, *writers):
            proc.kill()
    for proc, (out, err) in zip(writers, outputs, strict=True):
        assert proc.returncode == 0, err
        assert out.strip() == str(PER_WRITER)
    assert reader.returncode == 0, reader_err
    assert int(reader_out) >= 1

    store = DuckDBMetadataStore(path)
    assert store.count() == 2 * PER_WRITER
    ids = [m.id for key in range(KEYS) for m in store.history(f"asset_{key}")]
    assert sorted(ids) == sorted(f"{w}-{i}" for w in ("w1", "w2") for i in range(PER_WRITER))
