"""Ctrl+C on `wb materialize`: real SIGINTs to a real process, synchronised on its output and on
files the assets write, never on sleeps. The first press lets running assets finish, the second
stops them; every finished record is in the index when the process exits (130)."""

from __future__ import annotations

import json
import signal
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from workbench.storage.artifacts import ArtifactStore
from workbench.storage.metadata import DuckDBMetadataStore

from tests.conftest import TIMEOUT, WbProcess, run_wb, wait_for
from workbench.core.records import Materialization

PIPELINE = """
import time
from pathlib import Path
from workbench import asset

HERE = Path(__file__).parent


def hold(name: str) -> None:
    (HERE / f"{name}.started").touch()  # the test decides when the asset is done
    while not (HERE / f"{name}.release").exists():
        time.sleep(0.01)


@asset
def a() -> dict:
    return {"a": 1}


@asset
def slow(a: dict) -> bytes:
    hold("slow")
    return b"s" * 1_000_000


@asset
def quick(a: dict) -> dict:
    hold("quick")
    return {"quick": 1}


@asset
def after(slow: bytes) -> dict:
    return {"n": len(slow)}
"""


@pytest.fixture
def materialize(make_project) -> Iterator[Callable[[], tuple[Path, WbProcess]]]:  # type: ignore[no-untyped-def]
    started: list[WbProcess] = []

    def start() -> tuple[Path, WbProcess]:
        root = make_project({"pipeline.py": PIPELINE})
        started.append(WbProcess(root, "materialize", "--jobs", "2"))
        wait_for(root / "slow.started")
        wait_for(root / "quick.started")
        return root, started[-1]

    yield start
    for process in started:
        process.kill()


def indexed(root: Path) -> dict[str, int]:
    """Records per asset in the index itself, read before any other command could repair it."""
    store = DuckDBMetadataStore(root / ".workbench" / "metadata.duckdb")
    return {key: len(store.history(key)) for key in ("a", "slow", "quick", "after")}


def states(root: Path) -> dict[str, str]:
    out = run_wb(root, "status", "--json")
    assert out.returncode == 0 and out.stderr == "", out.stderr  # nothing was left to catch up on
    return {row["key"]: row["state"] for row in json.loads(out.stdout)}


def test_one_ctrl_c_lets_running_assets_finish_and_starts_nothing_new(materialize) -> None:  # type: ignore[no-untyped-def]
    root, run = materialize()
    run.proc.send_signal(signal.SIGINT)
    run.expect(r"^finishing 2 running asset\(s\); Ctrl\+C again to stop them$")
    (root / "quick.release").touch()
    run.expect(r"materialized\s+quick")
    (root / "slow.release").touch()
    run.expect(r"materialized\s+slow")
    assert run.proc.wait(timeout=TIMEOUT) == 130
    run.expect(r"^interrupted$")
    assert indexed(root) == {"a": 1, "slow": 1, "quick": 1, "after": 0}
    assert states(root) == {"a": "fresh", "slow": "fresh", "quick": "fresh", "after": "missing"}


def test_a_second_ctrl_c_stops_running_assets_and_indexes_every_finished_one(materialize) -> None:  # type: ignore[no-untyped-def]
    root, run = materialize()
    run.proc.send_signal(signal.SIGINT)
    run.expect(r"^finishing 2 running asset\(s\)")
    (root / "quick.release").touch()
    run.expect(r"materialized\s+quick")  # finished after the first press
    run.proc.send_signal(signal.SIGINT)  # `slow` never ends by itself
    run.expect(r"^stopped 1 running asset\(s\): slow; their partial outputs are discarded$")
    assert run.proc.wait(timeout=TIMEOUT) == 130
    assert indexed(root) == {"a": 1, "slow": 0, "quick": 1, "after": 0}  # indexed before the exit
    home = root / ".workbench"
    written = ArtifactStore(str(home / "artifacts")).iter_records()
    assert sorted(m.asset_key for m in written if isinstance(m, Materialization)) == ["a", "quick"]  # nothing for slow
    assert list((home / "artifacts" / "tmp").glob("*")) == []
    assert list((home / "journal").glob("*")) == []  # nothing left for the next command to index
    assert states(root) == {"a": "fresh", "slow": "missing", "quick": "fresh", "after": "missing"}
    history = json.loads(run_wb(root, "history", "quick", "--json").stdout)
    assert [h["status"] for h in history] == ["success"]
