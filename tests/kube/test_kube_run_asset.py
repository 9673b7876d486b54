"""`wb run-asset` (the pod entry point) and `wb sync`, without a cluster: a shared directory store."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

import pytest
from workbench.storage.artifacts import ArtifactStore

from tests.conftest import WB, run_wb
from workbench.core.records import CheckRecord, Materialization


@pytest.fixture
def shared(tmp_path: Path) -> Path:
    """A shared store that is a directory (what a ReadWriteMany volume looks like to a pod)."""
    path = tmp_path / "shared"
    path.mkdir()
    return path


def records(store: Path) -> dict[str, Materialization]:
    """The newest record of each asset in a store."""
    found = sorted(
        (r for r in ArtifactStore(str(store)).iter_records() if isinstance(r, Materialization)),
        key=lambda r: r.ended_at,
    )
    return {r.asset_key: r for r in found}


def test_run_asset_reads_its_inputs_from_the_shared_records(project: Path, shared: Path) -> None:
    (project / "data" / "raw.txt").write_text("10 20 30\n")  # a total the blocking check rejects
    done = run_wb(project, "run-asset", "numbers", "--store", str(shared), "--run-id", "r1")
    assert done.returncode == 0, done.stderr
    assert "parsing raw.txt" in done.stdout and "materialized numbers" in done.stderr

    missing = run_wb(project, "run-asset", "total", "--store", str(shared), "--run-id", "r1")
    assert missing.returncode == 1
    assert "error: asset total failed: InputError: input 'squares' has never been materialized" in missing.stderr

    for key in ("squares", "shares"):
        assert run_wb(project, "run-asset", key, "--store", str(shared), "--run-id", "r1").returncode == 0
    checked = run_wb(project, "run-asset", "total", "--store", str(shared), "--run-id", "r1")
    assert checked.returncode == 1  # materialized, but its downstream must not run
    assert "check total:small: FAILED (blocking)" in checked.stderr and "materialized total" in checked.stderr
    (result,) = [c for c in ArtifactStore(str(shared)).iter_run_records() if isinstance(c, CheckRecord)]
    assert not result.passed and result.blocking and result.run_id == "r1"
    found = records(shared)
    assert (found["numbers"].trigger, found["numbers"].run_id) == ("push", "r1")
    assert found["squares"].input_versions == {"numbers": found["numbers"].data_version}
    assert found["total"].ok and found["total"].input_versions.keys() == {"squares", "shares"}
    assert not (project / ".workbench" / "metadata.duckdb").exists()  # a pod has no DuckDB index


def test_run_asset_rejects_what_it_cannot_run(project: Path, shared: Path) -> None:
    for args, message in [
        (("nope",), "cannot run 'nope': unknown"),
        (("raw",), "cannot run 'raw': a source"),
        (("numbers", "--partition", "eu"), "cannot run 'numbers[eu]': 'numbers' is not partitioned"),
    ]:
        done = run_wb(project, "run-asset", *args, "--store", str(shared))
        assert done.returncode == 2 and message in done.stderr and "Traceback" not in done.stderr
    assert records(shared) == {}


def test_sync_imports_valid_records_only(project: Path, shared: Path) -> None:
    for key in ("numbers", "squares"):
        assert run_wb(project, "run-asset", key, "--store", str(shared)).returncode == 0
    numbers = records(shared)["numbers"]
    assert numbers.artifact_uri
    (shared / numbers.artifact_uri).write_bytes(b"tampered")
    (shared / "records" / "shares").mkdir()
    (shared / "records" / "shares" / "broken.json").write_text("{")

    done = run_wb(project, "sync", "--store", str(shared), "--json")
    assert done.returncode == 1
    report = json.loads(done.stdout)
    assert report["indexed"] == 1 and report["artifacts"] == 1
    problems = " ".join(report["problems"])
    assert "records/shares/broken.json" in problems and "does not match its data version" in problems
    local = records(project / ".workbench" / "artifacts")
    assert set(local) == {"squares"}  # never a record without its artifact
    history = json.loads(run_wb(project, "history", "squares", "--json").stdout)
    assert [h["trigger"] for h in history] == ["push"]


RESUMABLE = """
from workbench import asset


@asset
def trained(context) -> int:
    step = context.checkpoint_dir / "step"
    done = int(step.read_text()) if step.exists() else 0
    step.write_text(str(done + 1))
    if done == 0:
        raise RuntimeError("preempted after step 1")
    return done
"""


def test_checkpoints_outlive_the_pod_in_the_shared_store(make_project: Any, shared: Path, tmp_path: Path) -> None:
    project = make_project({"pipeline.py": RESUMABLE})

    def pod(name: str) -> subprocess.CompletedProcess[str]:  # each pod has its own, empty scratch folder
        env = {**os.environ, "WORKBENCH_HOME": str(tmp_path / name), "NO_COLOR": "1"}
        args = [WB, "run-asset", "trained", "--store", str(shared)]
        return subprocess.run(args, cwd=project, env=env, capture_output=True, text=True, timeout=60)

    assert pod("first").returncode == 1
    assert (shared / "checkpoints" / "trained").is_dir()
    second = pod("second")
    assert second.returncode == 0, second.stderr
    assert records(shared)["trained"].ok and not (shared / "checkpoints" / "trained").exists()


def test_sync_reads_only_what_was_written_since_the_last_one(project: Path, shared: Path) -> None:
    assert run_wb(project, "run-asset", "numbers", "--store", str(shared)).returncode == 0
    first = json.loads(run_wb(project, "sync", "--store", str(shared), "--json").stdout)
    assert first["indexed"] == 1
    folder = shared / "records" / "squares"
    folder.mkdir()
    (folder / "20200101T000000000000-old.json").write_text("{")  # older than the last sync: never read again
    assert run_wb(project, "run-asset", "squares", "--store", str(shared)).returncode == 0
    second = json.loads(run_wb(project, "sync", "--store", str(shared), "--json").stdout)
    assert (second["indexed"], second["problems"]) == (1, [])
    full = json.loads(run_wb(project, "sync", "--store", str(shared), "--json").stdout)  # same window: nothing new
    assert (full["indexed"], full["problems"]) == (0, [])
    (project / ".workbench" / "remote.json").unlink()  # no memory of earlier syncs: everything is read
    everything = json.loads(run_wb(project, "sync", "--store", str(shared), "--json").stdout)
    assert everything["indexed"] == 0 and "records/squares/20200101T000000000000-old.json" in everything["problems"][0]


def test_a_pod_restores_a_version_with_the_same_code_and_inputs(project: Path, shared: Path) -> None:
    for key in ("numbers", "squares"):
        assert run_wb(project, "run-asset", key, "--store", str(shared)).returncode == 0
    before = records(shared)
    source = project / "pipeline.py"  # new code for numbers, the same output
    edited = source.read_text().replace("[int(v) for v in raw.read_text().split()]", "list(map(int, raw.read_text().split()))")
    assert edited != source.read_text()
    source.write_text(edited)
    rerun = run_wb(project, "run-asset", "numbers", "--store", str(shared))
    assert rerun.returncode == 0 and "materialized numbers" in rerun.stderr  # new code: computed again
    assert records(shared)["numbers"].data_version == before["numbers"].data_version
    cut = run_wb(project, "run-asset", "squares", "--store", str(shared))  # its inputs did not change: early cutoff
    assert cut.returncode == 0 and "reused version" in cut.stderr
    assert records(shared)["squares"].reused_from == before["squares"].id
    forced = run_wb(project, "run-asset", "squares", "--store", str(shared), "--no-reuse")
    assert forced.returncode == 0 and "materialized squares" in forced.stderr
    assert records(shared)["squares"].reused_from is None


def test_sync_refuses_forged_records_and_an_unreachable_store(project: Path, shared: Path) -> None:
    from dataclasses import replace
    from datetime import timedelta

    for key in ("numbers", "squares"):
        assert run_wb(project, "run-asset", key, "--store", str(shared)).returncode == 0
    found = records(shared)
    store = ArtifactStore(str(shared))
    future = replace(found["numbers"], id="future", ended_at=found["numbers"].ended_at + timedelta(days=30000))
    borrowed = replace(found["squares"], id="borrowed", data_version="f" * 32)  # another object, a fake version
    store.write_record(future)
    store.write_record(borrowed)

    done = run_wb(project, "sync", "--store", str(shared), "--json")
    assert done.returncode == 1, done.stderr
    problems = " ".join(json.loads(done.stdout)["problems"])
    assert "record future of numbers" in problems and "in the future" in problems
    assert "record borrowed of squares" in problems and "not named by its data version" in problems
    ids = {h["id"] for key in ("numbers", "squares") for h in json.loads(run_wb(project, "history", key, "--json").stdout)}
    assert ids == {found["numbers"].id, found["squares"].id}  # the good ones only

    missing = run_wb(project, "sync", "--store", str(shared / "no-such-store"))
    assert missing.returncode == 3 and "cannot be reached or does not exist" in missing.stderr


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--namespace", "Bad_NS"], "invalid namespace"),
        (["--namespace", "ml\n"], "invalid namespace"),
        (["--secret", "../etc"], "invalid Secret name"),
        (["--store", "s3://AKIA:secret@bucket/p"], "carries credentials"),
    ],
)
def test_compile_refuses_names_the_api_server_would_reject(project: Path, args: list[str], message: str, tmp_path: Path) -> None:
    base = ["compile", "-o", str(tmp_path / "out"), "--image", "img:1"]
    if "--store" not in args:
        base += ["--store", "s3://bucket/prefix"]
    done = run_wb(project, *base, *args)
    assert done.returncode == 2 and message in done.stderr and "Traceback" not in done.stderr, done.stderr
    assert "secret@" not in done.stderr


def test_a_node_selector_that_is_not_a_label_is_refused() -> None:
    from workbench.kube.manifests import ManifestError, _node_selector

    assert _node_selector("a", {"cloud.google.com/gke-accelerator": "nvidia-l4"}) == {
        "cloud.google.com/gke-accelerator": "nvidia-l4"
    }
    for bad in ({"bad key": "x"}, {"k": "a b"}, {"UPPER.example/x": "y"}):
        with pytest.raises(ManifestError, match="not a valid label"):
            _node_selector("a", bad)
