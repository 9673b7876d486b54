"""Crash safety: `wb materialize` killed with SIGKILL at chosen points, 21 times, loses and corrupts nothing.

The trials run in `crash_trials.py` (one launcher process that forks a child per command); every
child kills itself exactly at its trial's point, never by timing, so each trial is the kill it
claims. This test then checks the DuckDB index against the JSON records: the commands after each
kill indexed every record, and `wb doctor` finds nothing to repair. The project writes 2 MB of
bytes, ~400 KB of JSON and ~1 MB of text per run; it avoids polars, whose import costs more than
the writes (Parquet goes through the same scratch file and rename as every other serializer).
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest
from workbench.storage.artifacts import ArtifactStore
from workbench.storage.metadata import DuckDBMetadataStore

from tests.conftest import run_wb
from workbench.core.hashing import file_digest
from workbench.core.records import Materialization

HERE = Path(__file__).resolve().parent
# 3 kills at each of the 5 armed points, 6 at a line of workbench code drawn by the seed: 21 trials
PLAN = ["asset", "artifact", "publish", "record", "index", "line"] * 3 + ["line"] * 3
SEED = 20261108

PIPELINE = """
import os
import signal

from workbench import asset


def halfway(key: str) -> None:
    \"\"\"The crash trials' kill inside an asset's body: the launcher names the asset.\"\"\"
    if os.environ.get("CRASH_TRIAL_KILL_IN") == key:
        os.kill(os.getpid(), signal.SIGKILL)


@asset
def blob() -> bytes:
    data = os.urandom(2_000_000)
    halfway("blob")
    return data


@asset
def table() -> dict:
    rows = [[i, os.urandom(8).hex()] for i in range(10_000)]
    halfway("table")
    return {"rows": rows}


@asset
def summary(table: dict, blob: bytes) -> dict:
    halfway("summary")
    return {"rows": len(table["rows"]), "blob": len(blob), "x": sum(int(r[1], 16) for r in table["rows"])}  # never an earlier run's: each run publishes 4 objects


@asset
def report(summary: dict) -> bytes:
    halfway("report")
    return repr(summary).encode() * 20_000
"""


@pytest.mark.slow
def test_kill_9_at_21_armed_points_loses_and_corrupts_nothing(make_project, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
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
    assert kills == Counter(PLAN), kills  # every trial died at its point
    for t in trials:
        assert t["point"] != "line" or t["where"], t  # a line kill says where it landed
        assert t["point"] != "artifact" or t["scratch_left"] >= 1, t  # the cut-short file stays in scratch
        assert t["problems"] == [], t
        assert t["status"] == "ok", t  # `wb status` works right after the kill
        assert t["recover"] == "ok", t  # the next `wb materialize` succeeds ...
        assert t["status_after"] == "ok" and t["stale_after"] == [], t  # ... and leaves all fresh

    # The index never holds a record without its JSON (a run log's line), nor one whose artifact is missing or partial.
    root = project / ".workbench" / "artifacts"
    on_disk = {m.id: m for m in ArtifactStore(str(root)).iter_records() if isinstance(m, Materialization)}
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
    scratch = len(list((root / "tmp").iterdir()))
    lines = [t["where"] for t in trials if t["point"] == "line"]
    print(f"\ncrash trials: {dict(kills)}; {orphans} record(s) left unindexed; {scratch} scratch file(s) left;"
          f" line kills at {lines}")  # fmt: skip

