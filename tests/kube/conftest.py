"""Fixtures for the Kubernetes backend: a 5-asset project, an S3 store, and the API-server double.

The shared store is S3 (moto's server on loopback, one bucket per test): the laptop reaches it with
its own credentials, the pods only with those of the `workbench-store` Secret. The image is an
empty directory: pods get the project's code from the code package `wb push` puts in the store.
"""

from __future__ import annotations

import base64
import itertools
import logging
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
import os

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


@asset(resources=GPU, retries=1, timeout="2h")
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


@asset(env=["SCALE"])
def report(total: dict) -> dict:
    return {"line": f"total={total['total']}", "scale": os.environ.get("SCALE", "1")}
"""
KEYS = ("numbers", "squares", "shares", "total", "report")


@pytest.fixture
def project(make_project: Callable[..., Path]) -> Path:
    return make_project({"pipeline.py": PIPELINE, "data/raw.txt": "1 2 3\n"})


def set_kubernetes(project: Path, text: str) -> None:
    """Append settings (e.g. `start_timeout = 1` under [tool.workbench.kubernetes]) to the project's pyproject."""
    path = project / "pyproject.toml"
    path.write_text(path.read_text() + text)


_BUCKETS = itertools.count()
CREDENTIALS = {"AWS_ACCESS_KEY_ID": "key-from-secret", "AWS_SECRET_ACCESS_KEY": "secret-from-secret",
               "AWS_DEFAULT_REGION": "us-east-1"}
NODE_LABELS = {"kubernetes.io/os": "linux", "pool": "gpu", "cloud.google.com/gke-nodepool": "cpu-pool",
               "cloud.google.com/gke-accelerator": "nvidia-tesla-t4"}


@pytest.fixture(scope="session")
def s3_endpoint() -> Iterator[str]:
    """moto's S3 server on loopback, for the whole session."""
    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # one line per request otherwise
    server = pytest.importorskip("moto.server").ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    try:
        host, port = server.get_host_and_port()
        yield f"http://{host}:{port}"
    finally:
        server.stop()


@pytest.fixture
def s3_env(s3_endpoint: str, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """The laptop's credentials for the S3 server (the pods get theirs from a Secret)."""
    env = {**CREDENTIALS, "AWS_ENDPOINT_URL": s3_endpoint}
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return env


@pytest.fixture
def shared(s3_env: dict[str, str]) -> str:
    """The shared artifact store: a fresh bucket."""
    import boto3

    bucket = f"store-{next(_BUCKETS)}"
    boto3.client("s3").create_bucket(Bucket=bucket)
    return f"s3://{bucket}/workbench"


@dataclass
class Cluster:
    server: ApiServer
    kubeconfig: Path
    image_dir: Path

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
def cluster(tmp_path: Path, s3_env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> Iterator[Cluster]:
    """The API-server double with an image of workbench alone (IMAGE), and the store's Secret."""
    image_dir = tmp_path / "image"
    image_dir.mkdir()
    scratch = tmp_path / "pods"
    scratch.mkdir()
    server = ApiServer({IMAGE: image_dir}, Path(sys.executable).parent, scratch).start()
    server.node_labels = dict(NODE_LABELS)
    try:
        kubeconfig = server.kubeconfig(tmp_path / "kubeconfig")
        monkeypatch.setenv("KUBECONFIG", str(kubeconfig))
        monkeypatch.delenv("KUBERNETES_SERVICE_HOST", raising=False)
        data = {k: base64.b64encode(v.encode()).decode() for k, v in s3_env.items()}
        server.create("secrets", "default", {"metadata": {"name": "workbench-store"}, "data": data})
        yield Cluster(server, kubeconfig, image_dir)
    finally:
        server.stop()
