"""The store is a trust boundary: attacks that worked before, each refused now (issue: security).

Each test plants what an untrusted checkout or shared store could hold, runs the real command,
and checks that nothing outside the store was written, deleted or unpickled.
"""

from __future__ import annotations

import os
import pickle
import time
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from workbench.storage.artifacts import ArtifactStore

import workbench
from tests.conftest import run_wb, write_files
from workbench.core.partitions import SamePartition, Window, parent_partitions
from workbench.core.spec import check_key
from workbench.errors import DefinitionError, StoreError

PIPELINE = """
from workbench import asset

@asset
def model() -> object:
    return {1, 2, 3}  # a set: pickled
"""


class Boom:
    """Unpickling this writes a marker file: proof that a pickle was loaded."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple[object, tuple[str, str]]:
        return (open, (str(self.marker), "w"))


@pytest.fixture
def project(tmp_path: Path) -> Path:
    root = tmp_path / "proj"
    write_files(root, {"pyproject.toml": '[tool.workbench]\nmodules = ["pipeline"]\n', "pipeline.py": PIPELINE})
    assert run_wb(root, "materialize").returncode == 0
    return root


def _artifact(root: Path) -> Path:
    (path,) = [p for p in (root / ".workbench" / "artifacts" / "objects").rglob("*.pkl")]
    return path


def test_a_remote_stores_cache_is_never_read_outside_itself(tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    (cache / "objects").mkdir(parents=True)
    outside = tmp_path / "x.pkl"
    outside.write_bytes(pickle.dumps(Boom(tmp_path / "pwned")))
    store = ArtifactStore("memory://shared/prefix", cache_dir=cache)
    with pytest.raises(StoreError, match="not a plain relative path"):
        store.local_path("objects/../../x.pkl")
    assert not (tmp_path / "pwned").exists()


def test_a_replaced_artifact_is_refused_before_unpickling(project: Path) -> None:
    marker = project.parent / "pwned"
    _artifact(project).write_bytes(pickle.dumps(Boom(marker)))
    shown = run_wb(project, "show", "model")
    assert shown.returncode != 0 and "does not match its content hash" in shown.stderr, shown.stderr
    with pytest.raises(StoreError, match="does not match its content hash"):
        workbench.load("model", project=project)
    assert not marker.exists()


def test_a_symlinked_object_folder_is_refused(project: Path, tmp_path: Path) -> None:
    real = _artifact(project)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    os.replace(real, elsewhere / real.name)  # the same bytes, but outside the store
    real.parent.rmdir()
    real.parent.symlink_to(elsewhere, target_is_directory=True)
    shown = run_wb(project, "show", "model")
    assert shown.returncode != 0 and "leads outside the store" in shown.stderr, shown.stderr


def test_a_symlinked_lock_file_is_not_followed(project: Path, tmp_path: Path) -> None:
    victim = tmp_path / "victim.txt"
    victim.write_text("precious")
    locks = project / ".workbench" / "locks"
    for lock in [*locks.glob("*.lock"), locks / "notes.jsonl"]:
        lock.unlink()
        lock.symlink_to(victim)
    (project / "pipeline.py").write_text(PIPELINE.replace("{1, 2, 3}", "{1, 2}"))
    ran = run_wb(project, "materialize")
    assert ran.returncode != 0 and "symbolic link" in ran.stderr, ran.stdout + ran.stderr
    assert victim.read_text() == "precious"


def test_a_symlinked_run_log_folder_is_not_written_through(project: Path, tmp_path: Path) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    logs = project / ".workbench" / "artifacts" / "logs"
    for log in logs.iterdir():
        os.replace(log, elsewhere / log.name)
    logs.rmdir()
    logs.symlink_to(elsewhere, target_is_directory=True)
    (project / "pipeline.py").write_text(PIPELINE.replace("{1, 2, 3}", "{1, 2}"))
    before = sorted(p.name for p in elsewhere.iterdir())
    ran = run_wb(project, "materialize")
    assert ran.returncode == 3 and "symbolic link" in ran.stderr, ran.stdout + ran.stderr
    assert sorted(p.name for p in elsewhere.iterdir()) == before


def test_doctor_cleans_only_its_own_scratch_files(tmp_path: Path) -> None:
    outside = tmp_path / "mine"
    (outside / "tmp").mkdir(parents=True)
    keep = [outside / "tmp" / "notes.txt", outside / "tmp" / "report.pdf"]
    old = time.time() - 7200
    for path in keep:
        path.write_text("user data")
        os.utime(path, (old, old))
    scratch = outside / "tmp" / f"{'a' * 32}.pkl"
    scratch.write_text("left by a crash")
    os.utime(scratch, (old, old))
    root = tmp_path / "checkout"  # an untrusted checkout points its artifacts at the user's folder
    write_files(root, {
        "pyproject.toml": f'[tool.workbench]\nmodules = ["pipeline"]\nartifacts = "{outside}"\n',
        "pipeline.py": PIPELINE,
    })
    run_wb(root, "doctor")
    assert all(p.exists() for p in keep)
    assert not scratch.exists()

    linked = tmp_path / "linked"
    write_files(linked, {"pyproject.toml": '[tool.workbench]\nmodules = ["pipeline"]\n', "pipeline.py": PIPELINE})
    (linked / ".workbench" / "artifacts").mkdir(parents=True)
    (linked / ".workbench" / "artifacts" / "tmp").symlink_to(outside / "tmp", target_is_directory=True)
    scratch.write_text("again")
    os.utime(scratch, (old, old))
    run_wb(linked, "doctor")
    assert scratch.exists()  # never through a link


@pytest.mark.parametrize("key", ["a\n", "a/\n", "ok\nbad"])
def test_keys_with_a_newline_are_refused(key: str) -> None:
    with pytest.raises(DefinitionError):
        check_key(key, "here")


@given(st.lists(st.dates().map(str), unique=True, min_size=1, max_size=40), st.dates().map(str), st.integers(1, 10))
def test_partition_lookup_matches_the_definition(keys: list[str], child: str, size: int) -> None:
    for ordered in (sorted(keys), keys):  # daily keys are sorted; static ones may not be
        parents = tuple(ordered)
        assert parent_partitions(SamePartition(), child, parents) == ([child] if child in parents else [])
        naive = [k for k in parents if k <= child][-size:]
        assert parent_partitions(Window(size), child, parents) == naive


ESCAPES = """
from workbench import Output, asset

@asset
def loud() -> dict:
    print("\\x1b]0;owned\\x07log")
    return Output({"v": 1}, metrics={"m\\x1b[2J": 1.0})

@asset
def crash(loud: dict) -> dict:
    raise ValueError("\\x1b[31mred\\x1b]8;;https://evil.example\\x07click")
"""


def test_terminal_escapes_from_user_code_are_printed_visibly(tmp_path: Path) -> None:
    root = tmp_path / "esc"
    write_files(root, {"pyproject.toml": '[tool.workbench]\nmodules = ["pipeline"]\n', "pipeline.py": ESCAPES})
    outputs = [run_wb(root, "materialize")]
    outputs += [run_wb(root, *args) for args in (["status"], ["show", "loud"], ["history", "loud"], ["show", "crash"])]
    for out in outputs:
        assert "\x1b" not in out.stdout + out.stderr, out.stdout + out.stderr
    assert "\\x1b[31mred" in outputs[0].stdout + outputs[0].stderr


SLOW = """
import time
from pathlib import Path
from workbench import asset

@asset
def value() -> dict:
    marker = Path(__file__).parent / "release"
    if (Path(__file__).parent / "block").exists():
        (Path(__file__).parent / "started").touch()
        while not marker.exists():
            time.sleep(0.01)
    return {"v": int((Path(__file__).parent / "v.txt").read_text())}
"""


def test_gc_waits_for_a_run_that_is_writing_a_version_it_would_delete(tmp_path: Path) -> None:
    import subprocess

    from tests.conftest import WB

    root = tmp_path / "race"
    write_files(root, {"pyproject.toml": '[tool.workbench]\nmodules = ["pipeline"]\n', "pipeline.py": SLOW, "v.txt": "1"})
    for v in ("1", "2"):  # version 1, then version 2: version 1 is old
        (root / "v.txt").write_text(v)
        assert run_wb(root, "materialize", "--force", "--no-reuse").returncode == 0
    (root / "v.txt").write_text("1")  # the run below makes version 1's bytes again
    (root / "block").touch()
    run = subprocess.Popen([WB, "materialize", "--force", "--no-reuse"], cwd=root, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 60
    while not (root / "started").exists():
        assert time.monotonic() < deadline and run.poll() is None
        time.sleep(0.01)
    gc = subprocess.Popen([WB, "gc", "--keep", "1"], cwd=root, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert gc.stderr is not None
    assert "waiting for running materializations" in gc.stderr.readline()  # it waits: it deletes nothing yet
    (root / "release").touch()
    assert run.wait(timeout=60) == 0 and gc.wait(timeout=60) == 0
    status = run_wb(root, "status", "--json")
    assert '"state": "fresh"' in status.stdout and "artifact missing" not in status.stdout, status.stdout
    assert workbench.load("value", project=root) == {"v": 1}


def test_doctor_verify_names_a_replaced_artifact(project: Path) -> None:
    assert run_wb(project, "doctor", "--verify").returncode == 0
    _artifact(project).write_bytes(pickle.dumps({1, 2}))
    plain = run_wb(project, "doctor")
    assert plain.returncode == 0  # existence only
    verified = run_wb(project, "doctor", "--verify")
    assert verified.returncode == 1 and "does not match its content hash" in verified.stdout + verified.stderr
