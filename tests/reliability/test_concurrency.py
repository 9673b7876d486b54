"""Three `wb materialize` processes on overlapping selections and a `wb status` loop, all at once.

Nothing is lost or indexed twice, no process dies of a lock, and no asset is materialized by two
processes at the same time: every asset holds an exclusive marker file while it runs and fails if
another run of it holds the marker.
"""

from __future__ import annotations

import json
import subprocess
import time
from collections import Counter
from itertools import combinations
from pathlib import Path

from workbench.storage.artifacts import ArtifactStore
from workbench.storage.metadata import DuckDBMetadataStore

from tests.conftest import WB, run_wb
from workbench.core.records import Materialization

KEYS = ("a", "b", "c", "d", "e", "f", "g", "h")
PIPELINE = """
import os
import time
from pathlib import Path

from workbench import asset

RUNNING = Path(__file__).resolve().parent / "running"


def work(key: str, *inputs: bytes) -> bytes:
    RUNNING.mkdir(exist_ok=True)
    try:
        fd = os.open(RUNNING / key, os.O_CREAT | os.O_EXCL | os.O_WRONLY)
    except FileExistsError:
        raise RuntimeError(f"{key} is being materialized twice at the same time") from None
    try:
        time.sleep(0.1)
        return key.encode() + b"".join(inputs)
    finally:
        os.close(fd)
        os.unlink(RUNNING / key)


@asset
def a() -> bytes:
    return work("a")


@asset
def b(a: bytes) -> bytes:
    return work("b", a)


@asset
def c(a: bytes) -> bytes:
    return work("c", a)


@asset
def d(b: bytes, c: bytes) -> bytes:
    return work("d", b, c)


@asset
def e(d: bytes) -> bytes:
    return work("e", d)


@asset
def f(c: bytes) -> bytes:
    return work("f", c)


@asset
def g(e: bytes, f: bytes) -> bytes:
    return work("g", e, f)


@asset
def h(g: bytes) -> bytes:
    return work("h", g)
"""


def wb(project: Path, *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen([WB, *args], cwd=project, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def race(project: Path, selections: list[list[str]]) -> tuple[list[dict[str, list[str]]], list[int]]:
    """Run the writers at once while `wb status` loops; returns their JSON results and the reader's exit codes."""
    writers = [wb(project, "materialize", "--json", *sel) for sel in selections]
    reads: list[int] = []
    results = []
    try:
        while any(w.poll() is None for w in writers) or not reads:
            reader = run_wb(project, "status", "--json")
            assert "Traceback" not in reader.stderr, reader.stderr
            reads.append(reader.returncode)
        for w in writers:
            out, err = w.communicate(timeout=120)
            assert w.returncode == 0, err
            for word in ("lock", "busy", "Traceback", "internal error", "twice"):
                assert word not in err, err
            results.append(json.loads(out))
    finally:
        for w in writers:
            w.kill()
            w.wait()
    return results, reads


def records(project: Path) -> tuple[list[Materialization], list[Materialization]]:
    """(indexed records, JSON records: run logs and record files) of every asset."""
    store = DuckDBMetadataStore(project / ".workbench" / "metadata.duckdb")
    indexed = [m for key in KEYS for m in store.history(key)]
    written = ArtifactStore(str(project / ".workbench" / "artifacts")).iter_records()
    return indexed, [m for m in written if isinstance(m, Materialization)]


def test_overlapping_writers_and_a_reader(make_project) -> None:  # type: ignore[no-untyped-def]
    project = make_project({"pipeline.py": PIPELINE})
    t0 = time.perf_counter()

    # Stale selections that overlap: every asset is built once, by whichever process gets to it first.
    results, reads = race(project, [["h"], ["+d"], ["f*"]])
    assert set(reads) == {0}
    built = Counter(k for r in results for k in r["materialized"])
    assert set(built) == set(KEYS) and set(built.values()) == {1}, built
    indexed, files = records(project)
    assert sorted(m.id for m in indexed) == sorted(m.id for m in files)  # nothing lost, nothing twice
    assert Counter(m.asset_key for m in indexed) == Counter(KEYS)

    # Forced and overlapping: an asset forced by several processes is rebuilt by each, one after the other.
    results, reads = race(project, [["--force", "*e"], ["--force", "c*"], ["--force", "a", "b", "c", "d"]])
    assert set(reads) == {0}
    indexed, files = records(project)
    assert sorted(m.id for m in indexed) == sorted(m.id for m in files)
    assert all(m.ok for m in indexed)
    by_key: dict[str, list[Materialization]] = {}
    for m in indexed:
        by_key.setdefault(m.asset_key, []).append(m)
    for key, ms in by_key.items():
        for x, y in combinations(ms, 2):
            assert x.ended_at <= y.started_at or y.ended_at <= x.started_at, f"{key} ran twice at once"
    assert len(by_key["c"]) >= 3  # forced by all three: the leases made them take turns
    final = json.loads(run_wb(project, "status", "--json").stdout)
    assert {row["state"] for row in final} == {"fresh"}
    print(f"\nconcurrency: {len(indexed)} records, {len(reads)} status reads, {time.perf_counter() - t0:.1f} s")


PEEKER = """
import sys
import time

from workbench import asset


@asset
def quick() -> dict:
    return {}


@asset
def peeker() -> dict:
    # what scikit-learn and polars do: look pyarrow up in sys.modules and use it if it is there
    end, seen = time.monotonic() + 1.5, 0
    while time.monotonic() < end:
        module = sys.modules.get("pyarrow")
        if module is not None:
            module.Table
            seen += 1
    return {"seen": seen}
"""


def test_assets_never_see_a_module_the_run_is_still_importing(make_project) -> None:  # type: ignore[no-untyped-def]
    """The index write imports pyarrow while assets run in other threads; found by the samples' tests."""
    project = make_project({"pipeline.py": PEEKER})
    done = run_wb(project, "materialize", "--json")
    assert done.returncode == 0, done.stdout + done.stderr
    assert json.loads(done.stdout)["failed"] == []
