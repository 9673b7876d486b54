"""`wb push` end to end: the real `kubernetes` client, over HTTP, against the API-server double.

Pods are local processes that share an S3 store (moto on loopback); the laptop's store is the
project's own. The image holds no project code: pods run the code package the push stored.
"""

from __future__ import annotations

import json
import re
import signal
import socket
import subprocess
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
import yaml
from workbench.storage.artifacts import ArtifactStore

from tests.conftest import TIMEOUT, WbProcess, run_wb
from tests.kube.conftest import IMAGE, KEYS, Cluster, set_kubernetes
from workbench.core.records import Materialization
from workbench.kube.client import RETRIES
from workbench.kube.manifests import RunSpec, driver_job, driver_name, plan_uri

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


def test_push_then_sync_shows_remote_runs_as_fresh(
    project: Path, cluster: Cluster, shared: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SCALE", "3")  # report declares env=["SCALE"]: its pod gets the laptop's value
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@example.com"]
    for args in (["init", "-q"], ["add", "-A"], ["commit", "-qm", "first"], ["rev-parse", "HEAD"]):
        commit = subprocess.run([*git, *args], cwd=project, check=True, capture_output=True, text=True).stdout.strip()
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
    uid = jobs["driver"]["metadata"]["uid"]
    assert all(j["metadata"]["ownerReferences"][0]["uid"] == uid for k, j in jobs.items() if k != "driver")
    assert "secret-from-secret" not in json.dumps(cluster.server.jobs())  # credentials only by Secret reference
    limits = jobs["squares"]["spec"]["template"]["spec"]["containers"][0]["resources"]["limits"]
    assert limits == {"cpu": "2", "memory": "1Gi", "nvidia.com/gpu": "1"}
    assert jobs["numbers"]["metadata"]["labels"]["workbench.dev/run-id"] == run_id

    records = shared_records(shared)
    assert sorted(r.asset_key for r in records) == sorted(KEYS)
    assert all(r.ok and r.trigger == "push" and r.run_id == run_id for r in records)
    assert {r.git_commit for r in records} == {commit}  # the laptop's commit, carried by the code package
    assert set(states(project).values()) == {"missing"}  # nothing local until a sync

    synced = run_wb(project, "sync")  # the store the push used is remembered
    assert synced.returncode == 0, synced.stderr
    assert "imported 5 record(s), 1 check result(s) and 5 artifact(s)" in synced.stderr
    assert states(project) == {key: "fresh" for key in KEYS}
    history = json.loads(run_wb(project, "history", "total", "--json").stdout)
    assert [(h["trigger"], h["run_id"]) for h in history] == [("push", run_id)]
    shown = run_wb(project, "show", "report")
    assert shown.returncode == 0 and "total=" in shown.stdout and '"scale": "3"' in shown.stdout

    assert json.loads(run_wb(project, "sync", "--json").stdout)["indexed"] == 0
    again = push(project, shared)
    assert again.returncode == 0 and "nothing to push" in again.stderr


def test_wait_streams_logs_and_a_repush_attaches(project: Path, cluster: Cluster, shared: str) -> None:
    done = push(project, shared, "--wait", "--run-id", "demo1", "--max-parallel", "1")
    assert done.returncode == 0, done.stderr
    created, completed = revisions(cluster)
    order = sorted(KEYS, key=created.__getitem__)
    assert all(completed[a] < created[b] for a, b in zip(order, order[1:])), order  # one asset Job at a time
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


def test_a_code_edit_runs_once_from_a_new_code_package(project: Path, cluster: Cluster, shared: str) -> None:
    assert push(project, shared, "--wait").returncode == 0
    source = project / "pipeline.py"
    source.write_text(source.read_text().replace('f"total={total', 'f"sum={total'))
    done = push(project, shared, "--wait")
    assert done.returncode == 0, done.stderr
    assert "materialized 1, skipped 0, failed 0" in done.stderr and "uploaded code package" in done.stderr
    assert states(project) == {key: "fresh" for key in KEYS}  # the pod ran the edited code
    assert "sum=" in run_wb(project, "show", "report").stdout
    store = ArtifactStore(shared)
    assert len(store.fs.ls(f"{store.root}/code")) == 2
    assert list(cluster.image_dir.iterdir()) == []  # no image was built or changed
    again = push(project, shared, "--wait")
    assert again.returncode == 0 and "nothing to push" in again.stderr

    source.write_text(source.read_text().replace('total["total"] < 1000', 'total["total"] < 10'))  # an edited check
    checked = push(project, shared, "--wait")
    assert checked.returncode == 1, checked.stderr
    assert "total | check total:small: FAILED (blocking)" in checked.stderr  # run on the stored version, in a pod
    assert [asset_of(j) for j in cluster.server.jobs()].count("total") == 2  # no asset ran again
    assert states(project)["total"] == "fresh"
    rows = json.loads(run_wb(project, "status", "total", "--json").stdout)
    assert rows[0]["checks"][0]["state"] == "failed"


def test_two_run_ids_with_a_shared_prefix_are_separate_runs(project: Path, cluster: Cluster, shared: str) -> None:
    first = push(project, shared, "numbers", "--only", "--wait", "--run-id", "nightly-2026-11-01")
    assert first.returncode == 0, first.stderr
    second = push(project, shared, "numbers", "--only", "--force", "--wait", "--run-id", "nightly-2026-11-02")
    assert second.returncode == 0, second.stderr
    assert "attaching" not in second.stderr
    runs = {j["metadata"]["labels"]["workbench.dev/run-id"] for j in cluster.server.jobs()}
    assert runs == {"nightly-2026-11-01", "nightly-2026-11-02"} and len(cluster.server.jobs()) == 4
    history = json.loads(run_wb(project, "history", "numbers", "--json").stdout)
    assert sorted(h["run_id"] for h in history) == ["nightly-2026-11-01", "nightly-2026-11-02"]


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
        ("POST", "/jobs$", 500, "HTTP 500 Internal Server Error: injected fault"),  # after RETRIES tries
        ("POST", "/jobs$", 409, "the API reported a conflict (HTTP 409) but the Job does not exist"),
    ],
)
def test_api_errors_fail_cleanly(
    project: Path, cluster: Cluster, shared: str, method: str, path: str, status: int, message: str
) -> None:
    cluster.server.fail(method, path, status, times=RETRIES + 1)
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
    # the driver, numbers: fine; then creating squares or shares fails for longer than the driver retries
    cluster.server.fail("POST", "/jobs$", 500, after=2, times=RETRIES + 1)
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
    running = WbProcess(project, "push", "--image", IMAGE, "--store", shared, "--wait")
    try:
        running.expect(r"slow \| working")  # the pod runs, and its log is followed
        running.proc.send_signal(signal.SIGINT)
        running.expect(r"cancelled run \w+: deleted 2 Job\(s\) in namespace default")
        assert running.proc.wait(timeout=TIMEOUT) == 130
    finally:
        running.kill()
    assert cluster.server.jobs() == []
    assert all(p.poll() is not None for p in cluster.server.kubelet.processes.values())
    assert "after" not in {asset_of(j) for _, r, _, kind, j in cluster.server.events if r == "jobs"}


def driver_log(cluster: Cluster) -> str:
    return "".join(bytes(v).decode() for k, v in cluster.server.kubelet.logs.items() if "-driver-" in k)


def reasons(project: Path) -> dict[str, str]:
    done = run_wb(project, "status", "--json")
    return {row["key"]: "; ".join(row["reasons"]) for row in json.loads(done.stdout) if row["kind"] == "asset"}


def test_a_pod_that_cannot_start_fails_with_its_reason(project: Path, cluster: Cluster, shared: str) -> None:
    set_kubernetes(project, "\n[tool.workbench.kubernetes]\nstart_timeout = 1\n")
    del cluster.server.node_labels["pool"]  # no node for squares (nodeSelector pool=gpu)
    done = push(project, shared, "--wait")
    assert done.returncode == 1, done.stderr
    assert re.search(r"failed +squares: Unschedulable: 0/1 nodes are available", done.stderr)
    assert "skipped total: upstream squares failed" in done.stderr
    assert re.search(r'squares \| \(no log: .*HTTP 400 Bad Request: container "asset" in pod .* is waiting to start', done.stderr)
    assert states(project) == {
        "numbers": "fresh",
        "squares": "failed",
        "shares": "fresh",
        "total": "missing",
        "report": "missing",
    }
    assert "failed (Unschedulable: 0/1 nodes are available" in reasons(project)["squares"]
    assert "squares" not in {asset_of(j) for j in cluster.server.jobs()}  # its Job was deleted

    stuck = run_wb(project, "push", "--image", "registry.example/missing:1", "--store", shared, "--wait")
    assert stuck.returncode == 1
    last = stuck.stderr.strip().splitlines()[-1]
    assert re.search(r"the driver of run \w+ cannot start: ImagePullBackOff: Back-off pulling image", last), last
    assert not any("missing" in j["spec"]["template"]["spec"]["containers"][0]["image"] for j in cluster.server.jobs())


KILLED = """
import os
import signal
import time

from workbench import asset


@asset(timeout=1)
def slow() -> int:
    time.sleep(60)
    return 1


@asset(retries=1)
def hog() -> int:
    os.kill(os.getpid(), signal.SIGKILL)  # what the kernel's OOM killer does
    return 1


@asset
def fine() -> int:
    return 1
"""


def test_deadline_and_oom_kill_fail_with_their_reasons(project: Path, cluster: Cluster, shared: str) -> None:
    (project / "pipeline.py").write_text(KILLED)
    done = push(project, shared, "--wait")
    assert done.returncode == 1, done.stderr
    assert states(project) == {"slow": "failed", "hog": "failed", "fine": "fresh"}, done.stderr + driver_log(cluster)
    found = reasons(project)
    assert "failed (DeadlineExceeded: Job was active longer than specified deadline (timeout: 1s))" in found["slow"]
    assert "failed (OOMKilled: the container exceeded its memory limit, exit code 137)" in found["hog"]
    hog_pods = [p for p in cluster.server.created("pods") if "-hog-" in p]
    assert len(hog_pods) == 2  # retries=1: one more pod


def test_throttling_and_expired_watches_are_survived(project: Path, cluster: Cluster, shared: str) -> None:
    cluster.server.watch_budget = 2  # every watch of Jobs is expired (410) after two events
    cluster.server.fail("POST", "/jobs$", 429, times=2, after=1)  # the driver's first creates are throttled
    done = push(project, shared, "--wait")
    assert done.returncode == 0, done.stderr
    assert states(project) == {key: "fresh" for key in KEYS}
    job_calls = [v for m, p, v in cluster.server.requests if p.endswith("/jobs")]
    assert job_calls.count("list") > 4  # the driver and the laptop listed again after each expiry
    assert job_calls.count("create") == 1 + len(KEYS) + 2
    assert len(cluster.server.created("jobs")) == 1 + len(KEYS)


def test_a_forbidden_create_stops_the_run_and_leaves_no_orphans(project: Path, cluster: Cluster, shared: str) -> None:
    quota = 'jobs "x" is forbidden: exceeded quota: compute, requested: count/jobs.batch=1, limited: count/jobs.batch=2'
    cluster.server.fail("POST", "/jobs$", 403, after=2, message=quota)  # the driver and numbers fit
    done = push(project, shared, "--wait")
    assert done.returncode == 1
    last = done.stderr.strip().splitlines()[-1]
    assert "HTTP 403 Forbidden: " + quota in last and "the run is stopped" in last
    assert len([p for p in cluster.server.created("pods") if "-driver-" in p]) == 1  # no driver restarts
    jobs = {asset_of(j): j for j in cluster.server.jobs()}
    driver = jobs.pop("driver")
    assert all(j["status"].get("active", 0) == 0 for j in jobs.values())  # nothing left running
    assert all(j["metadata"]["ownerReferences"][0]["uid"] == driver["metadata"]["uid"] for j in jobs.values())
    cluster.server.delete("jobs", "default", driver["metadata"]["name"])
    assert cluster.server.jobs() == []  # deleting the run deletes every Job it created


TEN_THOUSAND = """
from workbench import DailyPartitions, asset


@asset(partitions=DailyPartitions(start="1999-01-01", end="2026-05-18"))
def events(partition: str) -> dict:
    return {"day": partition}
"""


def test_a_10000_unit_plan_makes_no_large_object(project: Path, cluster: Cluster, shared: str) -> None:
    (project / "pipeline.py").write_text(TEN_THOUSAND)
    done = run_wb(project, "push", "--image", "registry.example/not-pulled:1", "--store", shared)
    assert done.returncode == 0, done.stderr
    assert "plan: 10000 to run" in done.stderr
    (driver,) = cluster.server.jobs()
    assert len(json.dumps(driver)) < 8 * 1024  # the plan is in the store, referenced by its hash
    plans = ArtifactStore(shared)
    (plan,) = plans.fs.ls(f"{plans.root}/plans")
    assert len(json.loads(plans.fs.cat_file(plan))["units"]) == 10_000


def test_a_directory_store_only_as_a_volume_every_pod_mounts(project: Path, cluster: Cluster, tmp_path: Path) -> None:
    store = str(tmp_path / "nfs")
    refused = run_wb(project, "push", "--image", IMAGE, "--store", store)
    assert refused.returncode == 2 and "pass --store-pvc CLAIM (a ReadWriteMany PersistentVolumeClaim)" in refused.stderr
    cluster.server.claims.add("wb-store")
    done = run_wb(project, "push", "--image", IMAGE, "--store", store, "--store-pvc", "wb-store", "numbers", "--wait")
    assert done.returncode == 0, done.stderr
    assert states(project)["numbers"] == "fresh"
    for job in cluster.server.jobs():
        pod = job["spec"]["template"]["spec"]
        assert {"name": "store", "persistentVolumeClaim": {"claimName": "wb-store"}} in pod["volumes"]
        assert {"name": "store", "mountPath": store} in pod["containers"][0]["volumeMounts"]


def test_an_image_with_other_libraries_fails_the_driver_at_once(project: Path, cluster: Cluster, shared: str) -> None:
    done = push(project, shared, "numbers", "--only")
    assert done.returncode == 0, done.stderr
    store = ArtifactStore(shared)
    (plan,) = store.fs.ls(f"{store.root}/plans")
    laptop = RunSpec.from_json(store.fs.cat_file(plan).decode())
    other = replace(laptop, run_id="other-libs", libraries={**laptop.libraries, "polars": "0.0.1"})
    store.write_text(plan_uri(other.sha), other.to_json())
    cluster.server.create("jobs", "default", driver_job(other))
    driver = cluster.wait_for(driver_name("other-libs"))
    assert driver["status"]["conditions"][0]["reason"] == "PodFailurePolicy"  # exit 2: not retried
    log = driver_log(cluster)
    assert "does not match the laptop: polars 0.0.1 on the laptop, " in log
    ran = [j for j in cluster.server.jobs() if j["metadata"]["labels"]["workbench.dev/run-id"] == "other-libs"]
    assert [asset_of(j) for j in ran] == ["driver"]  # it created nothing


def test_applying_the_whole_compiled_folder_starts_no_asset_by_mistake(
    project: Path, cluster: Cluster, shared: str, tmp_path: Path
) -> None:
    set_kubernetes(project, "\n[tool.workbench.kubernetes]\nstart_timeout = 1\n")
    out = tmp_path / "k8s"
    args = ("numbers", "--only", "-o", str(out), "--image", IMAGE, "--store", shared, "--run-id", "r1")
    done = run_wb(project, "compile", *args)
    assert done.returncode == 0, done.stderr
    order = {"rbac.yaml": 0, "review": 1, "driver.yaml": 2}  # `kubectl apply -R -f DIR`: everything
    resource = {"ServiceAccount": "serviceaccounts", "Role": "roles", "RoleBinding": "rolebindings", "Job": "jobs"}
    for path in sorted(out.rglob("*.yaml"), key=lambda p: order[p.relative_to(out).parts[0]]):
        for doc in yaml.safe_load_all(path.read_text()):
            cluster.server.create(resource[doc["kind"]], "default", doc)
    driver = cluster.wait_for(driver_name("r1"))
    assert [p for p in cluster.server.created("pods") if "-driver-" not in p] == []  # no asset pod, ever
    assert driver["status"]["conditions"][0]["type"] == "Failed"
    assert "numbers: NoPod: no pod was created for Job" in driver_log(cluster)
