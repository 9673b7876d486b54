"""Worker processes: a run of many assets runs them in forked children of `wb` (one per worker
thread), with the outcome a run in threads has; a child that dies fails its asset only; Ctrl+C and
a killed `wb` leave no child behind; a process whose native thread pools run keeps its threads."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.conftest import TIMEOUT, WbProcess, run_wb, wait_for
from workbench.run.processes import MANY

pytestmark = pytest.mark.skipif(sys.platform != "linux", reason="worker processes are forked on Linux only")

HEAD = """
import os
import time
from pathlib import Path

from workbench import asset

HERE = Path(__file__).parent


def note() -> None:
    with open(HERE / "pids.txt", "a") as f:  # one short append per asset: lines never mix
        f.write(f"{os.getpid()} {os.getppid()}\\n")


@asset
def root() -> dict:
    note()
    return {"root": 1}
"""

ASSET = """

@asset
def a{i:02d}(root: dict) -> dict:
    note()
    return {{"n": {i}, "root": root["root"]}}
"""


def pipeline(extra: str = "", head: str = HEAD) -> str:
    return head + "".join(ASSET.format(i=i) for i in range(MANY)) + extra


def pids(root: Path) -> list[tuple[int, int]]:
    """(pid, parent pid) of the process each asset ran in."""
    lines = (root / "pids.txt").read_text().split()
    return [(int(p), int(pp)) for p, pp in zip(lines[::2], lines[1::2], strict=True)]


def data_versions(root: Path) -> dict[str, str]:
    out = run_wb(root, "status", "--json")
    assert out.returncode == 0, out.stderr
    return {row["key"]: row["data_version"] for row in json.loads(out.stdout)}


def gone(pid: int, timeout: float = TIMEOUT) -> bool:
    """Whether process `pid` ends (or is a zombie nobody reaps yet) within `timeout`."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except (FileNotFoundError, ProcessLookupError):
            return True
        if state == "Z":
            return True
        time.sleep(0.02)
    return False


def test_a_run_of_many_assets_runs_them_in_worker_processes_with_the_same_outcome(make_project, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    root = make_project({"pipeline.py": pipeline()})
    done = run_wb(root, "materialize", "--jobs", "2", "--json")
    assert done.returncode == 0, done.stderr
    assert len(json.loads(done.stdout)["materialized"]) == MANY + 1
    ran = pids(root)
    assert len({pid for pid, _ in ran}) == 2  # two workers, one process each
    assert len({parent for _, parent in ran}) == 1 and ran[0][1] != os.getpid()  # children of `wb`, not of this test

    threads = tmp_path / "threads"
    threads.mkdir()
    (threads / "pipeline.py").write_text(pipeline())
    (threads / "pyproject.toml").write_text('[tool.workbench]\nmodules = ["pipeline"]\nprocesses = false\n')
    assert run_wb(threads, "materialize", "--jobs", "2").returncode == 0
    assert {pid for pid, _ in pids(threads)} == {pids(threads)[0][0]}  # in `wb` itself
    assert pids(threads)[0][1] == os.getpid()
    assert data_versions(threads) == data_versions(root)  # the same bytes, whichever ran them

    again = run_wb(root, "materialize", "--json")  # and the same staleness: nothing to redo
    assert again.returncode == 0 and json.loads(again.stdout)["materialized"] == []


def test_a_worker_process_that_dies_fails_its_asset_only(make_project) -> None:  # type: ignore[no-untyped-def]
    boom = """

@asset
def boom(root: dict) -> dict:
    os._exit(3)  # the process ends under the asset: no exception, no record of its own


@asset
def after_boom(boom: dict) -> dict:
    return boom
"""
    root = make_project({"pipeline.py": pipeline(boom)})
    done = run_wb(root, "materialize", "--jobs", "2", "--json")
    assert done.returncode != 0
    result = json.loads(done.stdout)
    assert result["failed"] == ["boom"]
    assert "exited with code 3 while it ran this asset" in result["errors"]["boom"]
    assert len(result["materialized"]) == MANY + 1  # every other asset, after the loss too
    states = {row["key"]: row["state"] for row in json.loads(run_wb(root, "status", "--json").stdout)}
    assert states["boom"] == "failed" and states["after_boom"] == "missing"
    assert all(states[f"a{i:02d}"] == "fresh" for i in range(MANY))


def test_a_worker_process_that_closes_its_pipe_and_goes_on_is_killed(make_project) -> None:  # type: ignore[no-untyped-def]
    hangs = """

@asset
def deaf(root: dict) -> dict:
    (HERE / f"deaf.{os.getpid()}").touch()
    os.closerange(3, 65536)  # the pipe to `wb` too: it can answer no more
    time.sleep(600)
    return {}
"""
    root = make_project({"pipeline.py": pipeline(hangs)})
    done = run_wb(root, "materialize", "--jobs", "2", "--json", timeout=TIMEOUT)
    result = json.loads(done.stdout)
    assert result["failed"] == ["deaf"], result
    assert "closed its pipe and was killed" in result["errors"]["deaf"], result["errors"]
    assert len(result["materialized"]) == MANY + 1
    (pid,) = (int(p.suffix[1:]) for p in root.glob("deaf.*"))
    assert gone(pid, timeout=1)


def test_a_worker_that_dies_is_seen_at_once_though_a_process_it_started_holds_its_pipe(make_project) -> None:  # type: ignore[no-untyped-def]
    orphan = """

import multiprocessing


def linger() -> None:
    for fd in (1, 2):  # not the test's pipes: it reads them to their end
        os.dup2(os.open(os.devnull, os.O_WRONLY), fd)
    while not (HERE / "release").exists():
        time.sleep(0.05)


@asset
def boom(root: dict) -> dict:
    multiprocessing.get_context("fork").Process(target=linger).start()  # inherits the worker's end of the pipe
    os._exit(3)
"""
    root = make_project({"pipeline.py": pipeline(orphan)})
    try:
        done = run_wb(root, "materialize", "--jobs", "2", "--json", timeout=TIMEOUT)  # waiting for `linger` would time out
        result = json.loads(done.stdout)
        assert result["failed"] == ["boom"] and "exited with code 3" in result["errors"]["boom"]
        assert len(result["materialized"]) == MANY + 1
    finally:
        (root / "release").touch()


def test_a_crashed_attempt_is_retried_in_another_worker_process(make_project) -> None:  # type: ignore[no-untyped-def]
    flaky = """

@asset(retries=1)
def flaky(root: dict) -> dict:
    note()
    if not (HERE / "crashed").exists():
        (HERE / "crashed").touch()
        os._exit(3)  # the first attempt takes its worker down
    return {"ok": 1}
"""
    root = make_project({"pipeline.py": pipeline(flaky)})
    done = run_wb(root, "materialize", "--jobs", "2", "--json")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "flaky" in json.loads(done.stdout)["materialized"]
    ran = pids(root)
    assert len({parent for _, parent in ran}) == 1 and ran[0][1] != os.getpid()  # every attempt in a worker, none in `wb`


def test_an_unpicklable_record_comes_back_as_its_file_holds_it(make_project) -> None:  # type: ignore[no-untyped-def]
    from workbench.storage.metadata import DuckDBMetadataStore

    locked = """

import threading

from workbench import Output


@asset
def locked(root: dict) -> dict:
    return Output({"x": 1}, metadata={"lock": threading.Lock()})  # pickle refuses a lock; the record file holds its str


@asset
def after_locked(locked: dict) -> dict:
    return locked
"""
    root = make_project({"pipeline.py": pipeline(locked)})
    done = run_wb(root, "materialize", "--jobs", "2", "--json")
    assert done.returncode == 0, done.stdout + done.stderr
    assert {"locked", "after_locked"} <= set(json.loads(done.stdout)["materialized"])
    (record,) = DuckDBMetadataStore(root / ".workbench" / "metadata.duckdb").history("locked")
    assert str(record.metadata["lock"]).startswith("<unlocked _thread.lock")


def test_a_worker_ends_the_processes_its_assets_started(make_project) -> None:  # type: ignore[no-untyped-def]
    daemon = """

import multiprocessing


def forever() -> None:
    while True:
        time.sleep(0.05)


@asset
def starter(root: dict) -> dict:
    helper = multiprocessing.get_context("fork").Process(target=forever, daemon=True)
    helper.start()
    (HERE / f"helper.{helper.pid}").touch()
    return {"started": 1}
"""
    root = make_project({"pipeline.py": pipeline(daemon)})
    assert run_wb(root, "materialize", "--jobs", "2").returncode == 0
    (helper,) = (int(p.suffix[1:]) for p in root.glob("helper.*"))
    assert gone(helper, timeout=5)  # terminated as Python's exit would (a daemonic process), not left holding the store


def test_a_process_running_a_native_thread_pool_keeps_its_threads(make_project) -> None:  # type: ignore[no-untyped-def]
    pooled = HEAD.replace("from workbench import asset", "import polars as pl\n\nfrom workbench import asset\n\npl.DataFrame({'x': list(range(10_000))}).sum()  # starts Polars' thread pool")
    root = make_project({"pipeline.py": pipeline(head=pooled)})
    assert run_wb(root, "materialize", "--jobs", "2").returncode == 0
    ran = pids(root)
    assert len({pid for pid, _ in ran}) == 1 and ran[0][1] == os.getpid()  # no fork: in `wb`'s threads


@pytest.mark.parametrize(
    ("setup", "reason"),
    [
        ("", ""),
        ("import duckdb; c = duckdb.connect(); c.execute('SELECT 1')", "native thread"),
        ("import duckdb; c = duckdb.connect(); c.execute('SELECT 1'); c.close()", ""),
        ("import polars as pl; pl.DataFrame({'x': list(range(10_000))}).sum()", "native thread"),
        ("import threading, time; threading.Thread(target=time.sleep, args=(5,), daemon=True).start()", ""),
    ],
    ids=["nothing", "duckdb open", "duckdb closed", "polars pool", "a python thread"],
)
def test_forking_is_refused_while_a_native_thread_pool_runs(setup: str, reason: str) -> None:
    code = f"import polars\n{setup}\nfrom workbench.run.processes import unsafe_to_fork\nprint(repr(unsafe_to_fork()))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=TIMEOUT)
    assert out.returncode == 0, out.stderr
    assert (reason in out.stdout) if reason else out.stdout.strip() == "''", out.stdout


HOLD = f"""

@asset(retries=2)
def slow(root: dict, {", ".join(f"a{i:02d}: dict" for i in range(MANY))}) -> dict:  # after all the others
    (HERE / f"slow.{{os.getpid()}}").touch()
    while True:  # ended by the test
        time.sleep(0.01)
"""


@pytest.fixture
def running(make_project) -> Callable[[], tuple[Path, WbProcess, int]]:  # type: ignore[no-untyped-def]
    started: list[WbProcess] = []

    def start() -> tuple[Path, WbProcess, int]:
        root = make_project({"pipeline.py": pipeline(HOLD)})
        started.append(WbProcess(root, "materialize", "--jobs", "2"))
        deadline = time.monotonic() + TIMEOUT
        while not (found := list(root.glob("slow.*"))):
            assert time.monotonic() < deadline, "slow did not start"
            time.sleep(0.02)
        return root, started[-1], int(found[0].suffix[1:])

    yield start
    for process in started:
        process.kill()


def test_a_second_ctrl_c_kills_the_worker_processes_and_leaves_none(running) -> None:  # type: ignore[no-untyped-def]
    root, run, worker = running()
    assert worker != run.proc.pid
    run.proc.send_signal(signal.SIGINT)
    run.expect(r"^finishing 1 running asset\(s\)")
    run.proc.send_signal(signal.SIGINT)
    run.expect(r"^stopped 1 running asset\(s\): slow")
    assert run.proc.wait(timeout=TIMEOUT) == 130
    assert not [line for line in run.seen + run.quiet(0.5) if "retry" in line]  # a stopped asset is not retried
    assert gone(worker, timeout=1)  # killed, and reaped by `wb` before it exited
    states = {row["key"]: row["state"] for row in json.loads(run_wb(root, "status", "--json").stdout)}
    assert states["slow"] == "missing" and states["root"] == "fresh"
    assert list((root / ".workbench" / "journal").glob("*")) == []


def test_a_killed_wb_takes_its_worker_processes_with_it(running) -> None:  # type: ignore[no-untyped-def]
    root, run, worker = running()
    run.proc.kill()
    run.proc.wait(timeout=TIMEOUT)
    assert gone(worker)  # the kernel ends it with its parent (PR_SET_PDEATHSIG)
    wait_for(root / "pids.txt")


def test_a_worker_process_records_what_its_assets_print_and_raise(make_project) -> None:  # type: ignore[no-untyped-def]
    from workbench.storage.metadata import DuckDBMetadataStore

    more = """

@asset
def talker(root: dict) -> dict:
    print("hello from", os.getpid())
    return {"said": 1}


@asset
def raiser(root: dict) -> dict:
    raise ValueError("no such thing")
"""
    root = make_project({"pipeline.py": pipeline(more)})
    done = run_wb(root, "materialize", "--jobs", "2", "--json")
    assert json.loads(done.stdout)["failed"] == ["raiser"]
    store = DuckDBMetadataStore(root / ".workbench" / "metadata.duckdb")
    said = store.history("talker")[0].log
    assert said.startswith("hello from ") and int(said.split()[-1]) in {pid for pid, _ in pids(root)}
    failed = store.history("raiser")[0]
    assert failed.error == "ValueError: no such thing"
    assert failed.traceback is not None and 'raise ValueError("no such thing")' in failed.traceback


def test_processes_must_be_true_or_false(make_project) -> None:  # type: ignore[no-untyped-def]
    root = make_project({"pipeline.py": pipeline()})
    (root / "pyproject.toml").write_text('[tool.workbench]\nmodules = ["pipeline"]\nprocesses = "no"\n')
    out = run_wb(root, "materialize")
    assert out.returncode == 2 and "processes must be true or false" in out.stderr and "Traceback" not in out.stderr
