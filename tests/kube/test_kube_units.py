"""The pure parts of the Kubernetes backend: pod states, start timeouts, limits, code packages, settings."""

from __future__ import annotations

import gzip
import hashlib
import io
import tarfile
from pathlib import Path
from typing import Any

import pytest
from workbench.storage.artifacts import ArtifactStore

from tests.conftest import write_files
from workbench.core.spec import AssetSpec, SourceSpec, asset, spec_of
from workbench.errors import DefinitionError, ProjectError, StoreError
from workbench.kube.codepackage import fetch, git_of, pack, project_files, upload
from workbench.kube.driver import StartWatch, allowed, pod_failure, pod_waiting
from workbench.kube.remote import environment_mismatch
from workbench.kube.settings import read_settings
from workbench.versioning.gitinfo import GitInfo


def pending(containers: list[dict[str, Any]] | None = None, **condition: str) -> dict[str, Any]:
    status: dict[str, Any] = {"phase": "Pending", "conditions": [{"type": "PodScheduled", **condition}]}
    if containers is not None:
        status["containerStatuses"] = containers
    return {"metadata": {"name": "p", "labels": {"job-name": "j"}}, "status": status}


def waiting(reason: str, message: str = "") -> list[dict[str, Any]]:
    return [{"name": "asset", "state": {"waiting": {"reason": reason, "message": message}}}]


def test_pods_that_cannot_start_and_why() -> None:
    unschedulable = pending(status="False", reason="Unschedulable", message="0/3 nodes are available")
    assert pod_waiting(unschedulable) == ("Unschedulable", "0/3 nodes are available")
    assert pod_waiting(pending(waiting("ImagePullBackOff", "Back-off"), status="True")) == ("ImagePullBackOff", "Back-off")
    assert pod_waiting(pending(waiting("CreateContainerConfigError"), status="True")) == ("CreateContainerConfigError", "")
    assert pod_waiting(pending(waiting("ContainerCreating"), status="True")) is None  # on its way
    assert pod_waiting({"status": {"phase": "Running"}}) is None


def test_why_a_pod_ended() -> None:
    oom = {"status": {"phase": "Failed", "containerStatuses": [{"state": {"terminated": {"exitCode": 137, "reason": "OOMKilled"}}}]}}
    assert pod_failure(oom) == ("OOMKilled: the container exceeded its memory limit, exit code 137", 137)
    evicted = {"status": {"phase": "Failed", "reason": "Evicted", "message": "The node was low on resource: memory."}}
    assert pod_failure(evicted) == ("Evicted: The node was low on resource: memory.", None)
    crashed = {"status": {"containerStatuses": [{"state": {"terminated": {"exitCode": 1, "reason": "Error"}}}]}}
    assert pod_failure(crashed) == ("Error: exit code 1", 1)
    assert pod_failure({"status": {"phase": "Running"}}) == ("", None)


def test_a_start_timeout_counts_from_the_first_look() -> None:
    watch = StartWatch(limit=10)
    stuck = [pending(waiting("ErrImagePull", "no such image"), status="True")]
    assert watch.stuck(["j"], stuck, now=100) == {}
    assert watch.stuck(["j"], stuck, now=109) == {}
    assert watch.stuck(["j"], stuck, now=110) == {"j": "ErrImagePull: no such image (not started after 10s)"}
    assert watch.stuck(["k"], [], now=100) == {}
    assert watch.stuck(["k"], [], now=111)["k"].startswith("NoPod: no pod was created for Job k")
    running = [{"metadata": {"labels": {"job-name": "j"}}, "status": {"phase": "Running"}}]
    assert watch.stuck(["j"], running, now=200) == {} and "j" not in watch.since


def test_parallelism_and_tag_limits() -> None:
    gpu, cpu = {"gpu": "t4"}, {"team": "ml"}
    assert allowed(gpu, [cpu, cpu], 0, {})
    assert not allowed(cpu, [cpu, cpu], 2, {})
    assert not allowed(gpu, [gpu, cpu], 0, {"gpu": 1}) and allowed(cpu, [gpu, cpu], 0, {"gpu": 1})
    assert allowed(gpu, [gpu], 0, {"gpu=a100": 1})  # only gpu=a100 is limited
    assert not allowed({"team": "ml"}, [cpu], 0, {"team=ml": 1})


def test_environment_mismatch_names_each_difference() -> None:
    laptop = {"python": "3.12.4", "polars": "1.31.0", "workbench": "0.2.0"}
    assert environment_mismatch(laptop, dict(laptop)) == ""
    image = {"python": "3.11.9", "workbench": "0.2.0"}
    assert environment_mismatch(laptop, image) == (
        "polars 1.31.0 on the laptop, not installed in the image; python 3.12.4 on the laptop, 3.11.9 in the image"
    )


def test_a_code_package_is_deterministic_and_verified(tmp_path: Path) -> None:
    root = tmp_path / "proj"
    write_files(
        root,
        {
            "pyproject.toml": "[tool.workbench]\n",
            "pipeline.py": "X = 1\n",
            "lib/util.py": "Y = 2\n",
            "data/raw.csv": "a\n1\n",
            "data/other.csv": "not read by the plan\n",
            ".venv/lib/site.py": "",
            ".workbench/cache/x.py": "",
        },
    )
    (root / "env").mkdir()
    (root / "env" / "pyvenv.cfg").write_text("")
    (root / "env" / "inside.py").write_text("")
    raw = SourceSpec("raw", "data/raw.csv")
    files = project_files(root, [raw])
    assert sorted(files) == ["data/raw.csv", "lib/util.py", "pipeline.py", "pyproject.toml"]
    git = GitInfo("abc123", False)
    sha, archive = pack(files, git)
    assert pack(files, git) == (sha, archive) and sha == hashlib.sha256(archive).hexdigest()
    assert pack({**files, "pipeline.py": b"X = 2\n"}, git)[0] != sha

    store = ArtifactStore(str(tmp_path / "store"))
    assert upload(store, sha, archive) and not upload(store, sha, archive)
    unpacked = fetch(store, sha, tmp_path / "code")
    assert (unpacked / "lib" / "util.py").read_text() == "Y = 2\n" and git_of(unpacked) == git

    store.write_bytes(f"code/{'0' * 64}.tar.gz", archive)  # bytes that do not hash to the name
    with pytest.raises(StoreError, match="does not match its hash"):
        fetch(store, "0" * 64, tmp_path / "code")


def test_a_code_package_with_an_unsafe_entry_is_refused(tmp_path: Path) -> None:
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w") as tar:
        info = tarfile.TarInfo("../escape.py")
        info.size = 1
        tar.addfile(info, io.BytesIO(b"x"))
    archive = gzip.compress(raw.getvalue())
    sha = hashlib.sha256(archive).hexdigest()
    store = ArtifactStore(str(tmp_path / "store"))
    upload(store, sha, archive)
    with pytest.raises(StoreError, match="unsafe entry"):
        fetch(store, sha, tmp_path / "code")
    assert not (tmp_path / "escape.py").exists() and not (tmp_path / "code" / sha).exists()


def test_timeouts_from_the_decorator_and_the_project(tmp_path: Path) -> None:
    def two_hours() -> int:
        return 1

    spec = spec_of(asset(timeout="1h30m")(two_hours))
    assert isinstance(spec, AssetSpec) and spec.timeout == 5400
    with pytest.raises(DefinitionError, match="timeout=: '90 minutes' is not a duration"):
        asset(timeout="90 minutes")(two_hours)
    write_files(tmp_path, {"pyproject.toml": '[tool.workbench]\ntimeout = "2h"\n[tool.workbench.kubernetes]\nstart_timeout = 30\n'})
    settings = read_settings(tmp_path)
    assert (settings.timeout, settings.start_timeout) == (7200, 30)
    (tmp_path / "pyproject.toml").write_text("[tool.workbench.kubernetes]\nstart_timout = 30\n")
    with pytest.raises(ProjectError, match="unknown .* key\\(s\\): start_timout"):
        read_settings(tmp_path)
