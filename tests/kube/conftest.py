"""Fixtures for the Kubernetes backend: a 5-asset project, its "image", and the API-server double."""

from __future__ import annotations

import shutil
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.kube.apiserver import ApiServer

IMAGE = "registry.example/workbench-demo:1"

PIPELINE = """
from workbench import Resources, asset, check, source

raw = source("raw", path="data/raw.txt")
GPU = Resources(
    cpu=2,
    memory="1Gi",
    gpu=1,
    node_selector={"pool": "gpu"},
    tolerations=[{"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"}],
)


@asset(resources=Resources(cpu=0.5, memory="256Mi"))
def numbers(raw) -> list:
    print("parsing", raw.name)
    return [int(v) for v in raw.read_text().split()]


@asset(resources=GPU)
def squares(numbers: list) -> list:
    return [n * n for n in numbers]


@asset
def shares(numbers: list) -> list:
    return [120 // n for n in numbers]  # a 0 in the data makes this asset fail


@asset
def total(squares: list, shares: list) -> dict:
    return {"total": sum(squares) + sum(shares)}


@check(asset="total", blocking=True)
def small(total: dict) -> bool:
    return total["total"] < 1000


@asset
def report(total: dict) -> dict:
    return {"line": f"total={total['total']}"}
"""
KEYS = ("numbers", "squares", "shares", "total", "report")


@pytest.fixture
def project(make_project: Callable[..., Path]) -> Path:
    return make_project({"pipeline.py": PIPELINE, "data/raw.txt": "1 2 3\n"})


@pytest.fixture
def shared(tmp_path: Path) -> Path:
    """The shared artifact store: a directory every "node" (local process) sees."""
    path = tmp_path / "shared"
    path.mkdir()
    return path


@dataclass
class Cluster:
    server: ApiServer
    kubeconfig: Path
    image_dir: Path

    def bake(self, project: Path) -> None:
        """Build the image: the project as the Dockerfile copies it (no local store)."""
        if self.image_dir.exists():
            shutil.rmtree(self.image_dir)
        shutil.copytree(project, self.image_dir, ignore=shutil.ignore_patterns(".workbench", "__pycache__"))

    def wait_for(self, name: str, timeout: float = 60) -> dict[str, Any]:
        """The Job `name` once it has a Complete or Failed condition."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            job = self.server.get("jobs", "default", name)
            if job and any(c["status"] == "True" for c in job.get("status", {}).get("conditions", [])):
                return job
            time.sleep(0.1)
        raise AssertionError(f"Job {name} did not finish in {timeout}s")


@pytest.fixture
def cluster(tmp_path: Path, project: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Cluster]:
    """The API-server double with the project baked as IMAGE; `wb` subprocesses talk to it."""
    image_dir = tmp_path / "image"
    scratch = tmp_path / "pods"
    scratch.mkdir()
    server = ApiServer({IMAGE: image_dir}, Path(sys.executable).parent, scratch).start()
    try:
        kubeconfig = server.kubeconfig(tmp_path / "kubeconfig")
        monkeypatch.setenv("KUBECONFIG", str(kubeconfig))
        monkeypatch.delenv("KUBERNETES_SERVICE_HOST", raising=False)
        handle = Cluster(server, kubeconfig, image_dir)
        handle.bake(project)
        yield handle
    finally:
        server.stop()
