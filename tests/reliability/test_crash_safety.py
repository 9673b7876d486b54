"""Crash safety: `wb materialize` killed with SIGKILL at random points, 21 times, loses and corrupts nothing.

The trials run in `crash_trials.py` (one launcher process that forks a child per command); this
test then checks the DuckDB index against the JSON records: the commands after each kill indexed
every record, and `wb doctor` finds nothing to repair. The project writes 2 MB of bytes, ~400 KB of JSON and ~1 MB of text per
run; it avoids polars, whose import costs more than the writes (Parquet goes through the same
scratch file and rename as every other serializer).
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest
from workbench.storage.metadata import DuckDBMetadataStore

from tests.conftest import run_wb
from workbench.core.hashing import file_digest
from workbench.core.records import Materialization

HERE = Path(__file__).resolve().parent
# 3 armed kills at each of 5 points, 6 from outside at random times: 21 trials (a random kill may come too late)
PLAN = ["asset", "artifact", "publish", "record", "index", "random"] * 3 + ["random"] * 3
SEED = 20261108

PIPELINE = """
import os
import time

from workbench import asset


@asset
def blob() -> bytes:
    time.sleep(0.02)
    return os.urandom(2_000_000)


@asset
def table() -> dict:
    time.sleep(0.02)
    return {"rows": [[i, os.urandom(8).hex()] for i in range(10_000)]}


@asset
def summary(table: dict, blob: bytes) -> dict:
    time.sleep(0.02)
    return {"rows": len(table["rows"]), "blob": len(blob), "x": sum(int(r[1], 16) for r in table["rows"]) % 1000}


@asset
def report(summary: dict) -> bytes:
    return repr(summary).encode() * 20_000
"""


@pytest.mark.slow
def test_kill_9_at_random_points_loses_and_corrupts_nothing(make_project, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    project = make_project({"pipeline.py": PIPELINE})
    done = subprocess.run(
        [sys.executable, str(HERE / "crash_trials.py"), str(project), str(SEED), ",".join(PLAN)],
        capture_output=True, text=True, timeout=600,
    )
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    trials = report["trials"]
    (tmp_path / "crash_report.json").write_text(json.dumps(report, indent=1))

    kills = Counter(t["point"] for t in trials if t["killed"])
    assert sum(kills.values()) >= 20, kills
    assert all(kills[p] >= 3 for p in ("asset", "artifact", "publish", "record", "index")), kills
    for t in trials:
        assert t["problems"] == [], t
        assert t["status"] == "ok", t  # `wb status` works right after the kill
        assert t["recover"] == "ok", t  # the next `wb materialize` succeeds ...
        assert t["status_after"] == "ok" and t["stale_after"] == [], t  # ... and leaves all fresh

    # The index never holds a record without its JSON file, nor one whose artifact is missing or partial.
    root = project / ".workbench" / "artifacts"
    on_disk = {m.id: m for m in (Materialization.from_json(p.read_text()) for p in root.glob("records/**/*.json"))}
    store = DuckDBMetadataStore(project / ".workbench" / "metadata.duckdb")
    indexed = {m.id: m for key in ("blob", "table", "summary", "report") for m in store.history(key)}
    assert set(indexed) <= set(on_disk)
    for m in indexed.values():
        if m.ok:
            assert file_digest(root / (m.artifact_uri or "")) == m.data_version
    # The journal names every record before it is written, so the next command indexed them all:
    # nothing is left for `wb doctor`, whatever the point of the kill.
    orphans = len(on_disk) - len(indexed)
    assert orphans == 0, f"{orphans} record(s) on disk that the index lacks"
    doctor = run_wb(project, "doctor")
    assert doctor.returncode == 0 and "repaired" not in doctor.stdout, doctor.stdout + doctor.stderr
    # Writes cut short left their partial files in scratch (`tmp/`), never at a final name.
    scratch = len(list((root / "tmp").iterdir()))
    assert scratch >= 1
    print(f"\ncrash trials: {dict(kills)}; {orphans} record(s) left unindexed; {scratch} scratch file(s) left")

