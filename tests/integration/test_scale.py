"""Correct at scale: 100,000 assets, and a million records in the store (slow; stores built by bulk insert)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO, WB, run_wb, wb_env
from tests.scale import fill_store, layered_project

pytestmark = pytest.mark.slow


def run_measured(project: Path, *args: str) -> tuple[str, float]:
    """stdout and peak resident memory (MB) of one `wb` command."""
    out_file = project / "out.txt"
    with out_file.open("w") as out:
        proc = subprocess.Popen([WB, *args], cwd=project, env=wb_env(), stdout=out, stderr=subprocess.PIPE)
        _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    assert proc.stderr is not None
    assert proc.returncode == 0, proc.stderr.read()
    proc.stderr.close()
    return out_file.read_text(), usage.ru_maxrss / 1024


def test_status_of_100000_assets_is_complete_and_fresh(tmp_path: Path) -> None:
    n = 100_000
    root = layered_project(tmp_path / "p", n)
    filled = f"from tests.scale import fill_store; print(fill_store({str(root)!r}))"
    # in a process of its own: a child inherits the peak memory of the process it is forked from
    assert subprocess.run([sys.executable, "-c", filled], cwd=REPO, capture_output=True, text=True, check=True).stdout == f"{n}\n"

    out, peak_mb = run_measured(root, "status", "--json")
    kept, kept_peak_mb = run_measured(root, "status", "--json")  # the rows kept by the first look

    assert peak_mb < 1024 and kept_peak_mb < 1024
    rows = json.loads(out)
    assert len(rows) == n and {row["state"] for row in rows} == {"fresh"}
    assert rows[-1]["key"] == f"a{n - 1}" and rows[-1]["data_version"] == f"a{n - 1}-v0"
    assert kept == out


def test_history_and_status_with_a_million_records(tmp_path: Path) -> None:
    root = layered_project(tmp_path / "p", 1000)
    assert fill_store(root, per_asset=1000) == 1_000_000

    history = run_wb(root, "history", "a500", "--json", "--limit", "3")
    status = run_wb(root, "status", "--json")

    assert history.returncode == 0, history.stderr
    assert [r["id"] for r in json.loads(history.stdout)] == ["a500-0", "a500-1", "a500-2"]
    assert status.returncode == 0, status.stderr
    rows = json.loads(status.stdout)
    assert len(rows) == 1000 and all(r["state"] == "fresh" and r["data_version"] == f"{r['key']}-v0" for r in rows)
