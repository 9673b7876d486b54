"""`wb push` end to end: the real `kubernetes` client, over HTTP, against the API-server double.

Pods are local processes that share an S3 store (moto on loopback); the laptop's store is the
project's own. The image holds no project code: pods run the code package the push stored.
"""

from __future__ import annotations

import base64
import json
import os
import re
import signal
import socket
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest
from workbench.storage.artifacts import ArtifactStore

from tests.conftest import WB, run_wb
from tests.kube.conftest import IMAGE, KEYS, Cluster, set_kubernetes
from workbench.kube.manifests import driver_name
from workbench.records import Materialization

EDGES = [("numbers", "squares"), ("numbers", "shares"), ("squares", "total"), ("shares", "total"), ("total", "report")]


def push(project: Path, shared: str, *args: str) -> subprocess.CompletedProcess[str]:
    return run_wb(project, "push", "--image", IMAGE, "--store", shared, *args)


def states(project: Path) -> dict[str, str]:
    done = run_wb(project, "status", "--json")
    assert done.returncode == 0, done.stderr
    return {row["key"]: row["state"] for row in json.loads(done.stdout) if row["kind"] == "asset"}


def shared_records(url: str) -> list[Materialization]:
    return [r for r in ArtifactStore(url).iter_records() if isinstance(r, Materialization)]


def asset_of(job: dict[str, Any]) -> str:
    return str(job["metadata"]["labels"].get("workbench.dev/asset", "driver"))


def revisions(cluster: Cluster) -> tuple[dict[str, int], dict[str, int]]:
    """Per asset: the resource version at which its Job was created, and at which it completed."""
    created: dict[str, int] = {}
    completed: dict[str, int] = {}
    for version, resource, _, kind, obj in cluster.server.events:
        if resource != "jobs":
            continue
        if kind == "ADDED":
            created[asset_of(obj)] = version
        conditions = obj.get("status", {}).get("conditions", [])
        if any(c["type"] == "Complete" for c in conditions):
            completed.setdefault(asset_of(obj), version)
    return created, completed


def assert_nothing_recorded(cluster: Cluster, project: Path, shared: str) -> None:
    """No Job, and neither the shared nor the local store holds a record or an artifact."""
    assert cluster.server.jobs() == []
    for url in (shared, str(project / ".workbench" / "artifacts")):
        store = ArtifactStore(url)
        assert shared_records(url) == []
        assert not store.fs.exists(f"{store.root}/objects")


def test_push_then_sync_shows_remote_runs_as_fresh(project: Path, cluster: Cluster, shared: str) -> None:
    done = push(project, shared)
    assert done.returncode == 0, done.stderr
    run_id = re.search(r"submitted run (\w+)", done.stderr)[1]  # type: ignore[index]
    driver = cluster.wait_for(driver_name(run_id))
    assert driver["status"]["conditions"][0]["type"] == "Complete", driver_log(cluster)

    created, completed = revisions(cluster)
    assert set(created) == {"driver", *KEYS}
    for parent, child in EDGES:  # each Job is created only after its parents' Jobs succeeded
        assert completed[parent] < created[child], (parent, child)
    jobs = {asset_of(j): j for j in cluster.server.jobs()}
    limits = jobs["squares"]["spec"]["template"]["spec"]["containers"][0]["resources"]["limits"]
    assert limits == {"cpu": "2", "memory": "1Gi", "nvidia.com/gpu": "1"}
    assert jobs["numbers"]["metadata"]["labels"]["workbench.dev/run-id"] == run_id

    records = shared_records(shared)
    assert sorted(r.asset_key for r in records) == sorted(KEYS)
    assert all(r.ok and r.trigger == "push" and r.run_id == run_id for r in records)
    assert set(states(project).values()) == {"missing"}  # nothing local until a sync

    synced = run_wb(project, "sync")  # the store the push used is remembered
    assert synced.returncode == 0, synced.stderr
    assert "imported 5 record(s), 1 check result(s) and 5 artifact(s)" in synced.stderr
    assert states(project) == {key: "fresh" for key in KEYS}
    history = json.loads(run_wb(project, "history", "total", "--json").stdout)
    assert [(h["trigger"], h["run_id"]) for h in history] == [("push", run_id)]
    shown = run_wb(project, "show", "report")
    assert shown.returncode == 0 and "total=" in shown.stdout

    assert json.loads(run_wb(project, "sync", "--json").stdout)["indexed"] == 0
    again = push(project, shared)
    assert again.returncode == 0 and "nothing to push" in again.stderr


def test_wait_streams_logs_and_a_repush_attaches(project: Path, cluster: Cluster, shared: str) -> None:
    done = push(project, shared, "--wait", "--run-id", "demo1")
    assert done.returncode == 0, done.stderr
    assert "numbers | parsing raw.txt" in done.stderr
    assert re.search(r"materialized +report", done.stderr)
    assert "synced 5 record(s)" in done.stderr
    assert states(project) == {key: "fresh" for key in KEYS}

    before = cluster.server.created("jobs")
    again = push(project, shared, "--wait", "--run-id", "demo1")
    assert again.returncode == 0, again.stderr
    assert "run demo1 exists: attaching" in again.stderr
    assert "materialized 5, skipped 0, failed 0" in again.stderr
    assert cluster.server.created("jobs") == before  # nothing duplicated


def test_an_image_without_the_plan_fails_the_driver(project: Path, cluster: Cluster, shared: str) -> None:
    image_code = cluster.image_dir / "pipeline.py"
    image_code.write_text(image_code.read_text().split("@asset\ndef report")[0])  # an outdated image
    done = push(project, shared, "--wait")
    assert done.returncode == 1
    last = done.stderr.strip().splitlines()[-1]
    assert last.startswith("error: the driver of run") and "PodFailurePolicy" in last
    assert "cannot run 'report': unknown" in last and "rebuild the image" in last
    assert [asset_of(j) for j in cluster.server.jobs()] == ["driver"]


def test_only_stale_units_run_and_fresh_inputs_are_uploaded(project: Path, cluster: Cluster, shared: str) -> None:
    assert run_wb(project, "materialize", "numbers", "squares").returncode == 0
    done = push(project, shared, "report", "--wait")
    assert done.returncode == 0, done.stderr
    created, _ = revisions(cluster)
    assert set(created) == {"driver", "shares", "total", "report"}
    assert {r.asset_key: r.trigger for r in shared_records(shared)} == {
        "numbers": "cli",  # uploaded: the remote run reads them
        "squares": "cli",
        "shares": "push",
        "total": "push",
        "report": "push",
    }
    assert states(project) == {key: "fresh" for key in KEYS}


def test_a_failed_pod_stops_its_downstream(project: Path, cluster: Cluster, shared: str) -> None:
    (project / "data" / "raw.txt").write_text("1 2 0\n")
    cluster.bake(project)
    done = push(project, shared, "--wait")
    assert done.returncode == 1
    assert "shares | ZeroDivisionError" in done.stderr  # the pod's log
    assert re.search(r"failed +shares: ZeroDivisionError: integer division", done.stderr)
    assert "skipped total: upstream shares failed" in done.stderr
    created, _ = revisions(cluster)
    assert set(created) == {"driver", "numbers", "squares", "shares"}
    driver = next(j for j in cluster.server.jobs() if asset_of(j) == "driver")
    assert driver["status"]["conditions"][0]["reason"] == "PodFailurePolicy"
    assert states(project) == {
        "numbers": "fresh",
        "squares": "fresh",
        "shares": "failed",
        "total": "missing",
        "report": "missing",
    }


@pytest.mark.parametrize(
    ("method", "path", "status", "message"),
    [
        ("GET", "/serviceaccounts/", 403, "HTTP 403 Forbidden: injected fault"),
        ("POST", "/jobs$", 500, "HTTP 500 Internal Server Error: injected fault"),
        ("POST", "/jobs$", 409, "the API reported a conflict (HTTP 409) but the Job does not exist"),
    ],
)
def test_api_errors_fail_cleanly(
    project: Path, cluster: Cluster, shared: str, method: str, path: str, status: int, message: str
) -> None:
    cluster.server.fail(method, path, status)
    done = push(project, shared, "--wait")
    assert done.returncode == 1
    assert message in done.stderr and "Traceback" not in done.stderr
    assert done.stderr.strip().splitlines()[-1].startswith("error: ")
    assert_nothing_recorded(cluster, project, shared)


def test_unreachable_api_and_bad_context(
    project: Path, cluster: Cluster, shared: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    done = run_wb(project, "push", "--store", str(shared))
    assert done.returncode == 2 and "a run needs an image" in done.stderr

    dead = tmp_path / "dead-kubeconfig"
    dead.write_text(cluster.kubeconfig.read_text().replace(cluster.server.url, f"http://127.0.0.1:{port}"))
    monkeypatch.setenv("KUBECONFIG", str(dead))
    done = push(project, shared)
    assert done.returncode == 1
    assert f"cannot reach the Kubernetes API at http://127.0.0.1:{port}" in done.stderr
    assert "Traceback" not in done.stderr
    assert_nothing_recorded(cluster, project, shared)

    done = push(project, shared, "--context", "nope")
    assert done.returncode == 2 and "cannot use context 'nope'" in done.stderr


def test_a_driver_that_loses_the_api_is_restarted_and_resumes(project: Path, cluster: Cluster, shared: str) -> None:
    cluster.server.fail("POST", "/jobs$", 500, after=2)  # the driver, numbers: fine; then squares or shares fails
    done = push(project, shared, "--wait")
    assert done.returncode == 0, done.stderr
    assert states(project) == {key: "fresh" for key in KEYS}
    jobs = cluster.server.created("jobs")
    assert len(jobs) == len(set(jobs)) == 1 + len(KEYS)  # the second driver adopted, nothing twice
    drivers = [p for p in cluster.server.created("pods") if "-driver-" in p]
    assert len(drivers) == 2
    assert "HTTP 500" in bytes(cluster.server.kubelet.logs[drivers[0]]).decode()


SLOW = """
import time
from workbench import asset


@asset
def slow() -> dict:
    print("working", flush=True)
    time.sleep(60)
    return {}


@asset
def after(slow: dict) -> dict:
    return slow
"""


def test_ctrl_c_deletes_the_run(project: Path, cluster: Cluster, shared: str) -> None:
    (project / "pipeline.py").write_text(SLOW)
    cluster.bake(project)
    env = {k: v for k, v in os.environ.items() if k != "WORKBENCH_HOME"}
    args = [WB, "push", "--image", IMAGE, "--store", str(shared), "--wait"]
    proc = subprocess.Popen(args, cwd=project, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 30
        while b"working" not in b"".join(bytes(v) for v in cluster.server.kubelet.logs.values()):
            assert time.monotonic() < deadline and proc.poll() is None, "the slow pod never started"
            time.sleep(0.1)
        time.sleep(0.5)  # let the log follower attach
        proc.send_signal(signal.SIGINT)
        _, stderr = proc.communicate(timeout=30)
    finally:
        proc.kill()
    assert proc.returncode == 130, stderr
    assert re.search(r"cancelled run \w+: deleted 2 Job\(s\) in namespace default", stderr)
    assert "slow | working" in stderr
    assert cluster.server.jobs() == []
    assert all(p.poll() is not None for p in cluster.server.kubelet.processes.values())
    assert "after" not in {asset_of(j) for _, r, _, kind, j in cluster.server.events if r == "jobs"}


def test_an_s3_store_with_credentials_from_a_secret(
    project: Path, cluster: Cluster, monkeypatch: pytest.MonkeyPatch
) -> None:
    """moto's S3 server on loopback: pods get credentials only from the Secret the Jobs reference."""
    boto3 = pytest.importorskip("boto3")
    pytest.importorskip("s3fs")
    moto = pytest.importorskip("moto.server").ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    moto.start()
    try:
        host, port = moto.get_host_and_port()
        credentials = {
            "AWS_ACCESS_KEY_ID": "key-from-secret",
            "AWS_SECRET_ACCESS_KEY": "secret-from-secret",
            "AWS_ENDPOINT_URL": f"http://{host}:{port}",
            "AWS_DEFAULT_REGION": "us-east-1",
        }
        for name, value in credentials.items():  # the laptop's own credentials
            monkeypatch.setenv(name, value)
        boto3.client("s3").create_bucket(Bucket="workbench")
        data = {k: base64.b64encode(v.encode()).decode() for k, v in credentials.items()}
        cluster.server.create("secrets", "default", {"metadata": {"name": "workbench-store"}, "data": data})

        done = push(project, "s3://workbench/demo", "--wait")
        assert done.returncode == 0, done.stderr
        records = shared_records("s3://workbench/demo")
        assert sorted(r.asset_key for r in records) == sorted(KEYS) and {r.trigger for r in records} == {"push"}
        assert states(project) == {key: "fresh" for key in KEYS}
        assert "secret-from-secret" not in json.dumps(cluster.server.jobs())
    finally:
        moto.stop()


def driver_log(cluster: Cluster) -> str:
    return "".join(bytes(v).decode() for k, v in cluster.server.kubelet.logs.items() if "-driver-" in k)
