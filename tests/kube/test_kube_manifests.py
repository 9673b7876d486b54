"""`wb compile`: the manifests for the stale selection, validated against the Kubernetes 1.30 schema.

The store is a directory here, on a ReadWriteMany claim: compile puts the code package and the plan in it.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml
from workbench.storage.artifacts import ArtifactStore

from tests.conftest import run_wb, write_files
from tests.kube.conftest import KEYS, PIPELINE
from workbench.core.spec import Resources
from workbench.kube.manifests import (
    RUN_ANNOTATION,
    ManifestError,
    RunRef,
    RunSpec,
    driver_name,
    job_name,
    label_value,
    plan_uri,
    resource_requirements,
)

K8S_VERSION = "1.30"
DNS_LABEL = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?")


def store_of(out: Path) -> str:
    return str(out.parent / "store")


def compile_dir(project: Path, out: Path, *args: str) -> dict[str, list[dict[str, Any]]]:
    done = run_wb(
        project, "compile", "-o", str(out), "--image", "img:1", "--store", store_of(out), "--store-pvc", "wb",
        "--run-id", "r1", *args,
    )
    assert done.returncode == 0, done.stderr
    assert f"start the run with: kubectl apply -n default -f {out}/rbac.yaml -f {out}/driver.yaml" in done.stderr
    return {str(p.relative_to(out)): list(yaml.safe_load_all(p.read_text())) for p in sorted(out.rglob("*.yaml"))}


@pytest.fixture(scope="module")
def compiled(tmp_path_factory: pytest.TempPathFactory) -> dict[str, list[dict[str, Any]]]:
    """The manifests of the whole 5-asset project, compiled once for the structural tests."""
    root = tmp_path_factory.mktemp("compiled")
    write_files(
        root,
        {
            "pyproject.toml": '[tool.workbench]\nmodules = ["pipeline"]\ntimeout = "30m"\n',
            "pipeline.py": PIPELINE,
            "data/raw.txt": "1\n",
        },
    )
    return compile_dir(root, root / "out")


def asset_jobs(files: dict[str, list[dict[str, Any]]]) -> dict[str, dict[str, Any]]:
    """Asset Jobs by asset key, from `review/`."""
    jobs = [doc for name, docs in files.items() if name.startswith("review/") for doc in docs]
    return {job["metadata"]["annotations"]["workbench.dev/unit"]: job for job in jobs}


def test_every_manifest_validates_strictly(compiled: dict[str, list[dict[str, Any]]]) -> None:
    docs = [doc for docs in compiled.values() for doc in docs]
    assert {d["kind"] for d in docs} == {"ServiceAccount", "Role", "RoleBinding", "Job"}
    for doc in docs:
        kubernetes_validate.validate(doc, K8S_VERSION, strict=True)


def test_one_job_per_stale_asset_in_dependency_order(compiled: dict[str, list[dict[str, Any]]]) -> None:
    jobs = asset_jobs(compiled)
    assert set(jobs) == set(KEYS)
    assert next(iter(jobs)) == "numbers" and list(jobs)[-2:] == ["total", "report"]  # topological
    (driver,) = compiled["driver.yaml"]
    code = driver["spec"]["template"]["spec"]["containers"][0]["args"]
    for key, job in jobs.items():
        meta = job["metadata"]
        assert DNS_LABEL.fullmatch(meta["name"]) and len(meta["name"]) <= 63
        assert meta["labels"]["workbench.dev/run-id"] == "r1"
        assert meta["labels"]["workbench.dev/asset"] == key
        pod = job["spec"]["template"]
        assert pod["metadata"]["labels"] == meta["labels"]
        args = pod["spec"]["containers"][0]["command"] + pod["spec"]["containers"][0]["args"]
        assert args[:7] == ["wb", "run-asset", key, "--store", args[4], "--run-id", "r1"] and args[7] == "--code"
        assert pod["spec"]["restartPolicy"] == "Never"
        assert job["spec"]["suspend"] is True  # review copies: applying them by mistake starts nothing
        rules = job["spec"]["podFailurePolicy"]["rules"]
        assert rules[0] == {"action": "Ignore", "onPodConditions": [{"type": "DisruptionTarget", "status": "True"}]}
        assert rules[1]["action"] == "FailJob" and rules[1]["onExitCodes"]["values"] == [1, 2]
    assert "suspend" not in driver["spec"] and "--plan" in code


def test_timeout_and_retries_bound_each_job(compiled: dict[str, list[dict[str, Any]]]) -> None:
    jobs = asset_jobs(compiled)
    assert (jobs["squares"]["spec"]["activeDeadlineSeconds"], jobs["squares"]["spec"]["backoffLimit"]) == (7200, 1)
    assert (jobs["report"]["spec"]["activeDeadlineSeconds"], jobs["report"]["spec"]["backoffLimit"]) == (1800, 0)


def test_resources_selectors_and_tolerations(compiled: dict[str, list[dict[str, Any]]]) -> None:
    jobs = asset_jobs(compiled)
    gpu_pod = jobs["squares"]["spec"]["template"]["spec"]
    amounts = {"cpu": "2", "memory": "1Gi", "nvidia.com/gpu": "1"}
    assert gpu_pod["containers"][0]["resources"] == {"requests": amounts, "limits": amounts}
    assert gpu_pod["nodeSelector"] == {"pool": "gpu"}
    assert gpu_pod["tolerations"] == [{"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"}]
    small = jobs["numbers"]["spec"]["template"]["spec"]["containers"][0]["resources"]
    assert small["requests"] == {"cpu": "500m", "memory": "256Mi"}
    plain = jobs["report"]["spec"]["template"]["spec"]
    assert "resources" not in plain["containers"][0] and "nodeSelector" not in plain


def test_credentials_only_by_secret_reference(compiled: dict[str, list[dict[str, Any]]]) -> None:
    for job in asset_jobs(compiled).values():
        pod = job["spec"]["template"]["spec"]
        container = pod["containers"][0]
        assert container["envFrom"] == [{"secretRef": {"name": "workbench-store", "optional": True}}]
        assert {e["name"] for e in container["env"]} == {"HOME", "WORKBENCH_HOME", "XDG_CACHE_HOME", "PYTHONUNBUFFERED"}
        assert all("valueFrom" not in e for e in container["env"])
        assert pod["serviceAccountName"] == "workbench" and pod["automountServiceAccountToken"] is False
        assert container["securityContext"]["readOnlyRootFilesystem"] is True
        assert pod["securityContext"]["runAsNonRoot"] is True
    assert not any(kind == "Secret" for docs in compiled.values() for kind in (d["kind"] for d in docs))


def test_least_privilege_rbac_and_driver(compiled: dict[str, list[dict[str, Any]]], tmp_path_factory: Any) -> None:
    rbac = {d["kind"]: d for d in compiled["rbac.yaml"] if d["kind"] != "ServiceAccount"}
    assert rbac["Role"]["rules"] == [
        {"apiGroups": ["batch"], "resources": ["jobs"], "verbs": ["create", "get", "list", "watch", "delete"]},
        {"apiGroups": [""], "resources": ["pods"], "verbs": ["get", "list", "watch"]},
    ]
    assert rbac["RoleBinding"]["subjects"] == [
        {"kind": "ServiceAccount", "name": "workbench-driver", "namespace": "default"}
    ]
    accounts = [d["metadata"]["name"] for d in compiled["rbac.yaml"] if d["kind"] == "ServiceAccount"]
    assert accounts == ["workbench", "workbench-driver"]
    (driver,) = compiled["driver.yaml"]
    pod = driver["spec"]["template"]["spec"]
    assert pod["serviceAccountName"] == "workbench-driver"
    ref = RunRef.from_json(driver["metadata"]["annotations"][RUN_ANNOTATION])
    assert pod["containers"][0]["args"] == ["push", "--driver", "--run-id", "r1", "--store", ref.store, "--plan", ref.plan]
    run = RunSpec.from_json(ArtifactStore(ref.store).read_text(plan_uri(ref.plan)))
    assert run.sha == ref.plan and set(run.units) == set(KEYS) and run.run_id == "r1" and run.timeout == 1800
    assert ArtifactStore(ref.store).exists(f"code/{run.code}.tar.gz")


def test_only_the_stale_part_is_compiled(project: Path, tmp_path: Path) -> None:
    assert run_wb(project, "materialize", "numbers").returncode == 0
    jobs = asset_jobs(compile_dir(project, tmp_path / "stale"))
    assert set(jobs) == {"squares", "shares", "total", "report"}
    assert list(asset_jobs(compile_dir(project, tmp_path / "one", "shares", "--only"))) == ["shares"]
    forced = asset_jobs(compile_dir(project, tmp_path / "forced", "numbers", "--only", "--force"))
    assert forced["numbers"]["spec"]["template"]["spec"]["containers"][0]["args"][-1] == "--no-reuse"
    assert run_wb(project, "materialize").returncode == 0
    done = run_wb(project, "compile", "-o", str(tmp_path / "none"), "--store", "s3://bucket/none")
    assert done.returncode == 0 and "nothing to compile" in done.stderr
    assert not (tmp_path / "none").exists()


def test_bad_input_is_exit_2_with_one_line(project: Path, tmp_path: Path) -> None:
    store = "s3://bucket/never-written"
    done = run_wb(project, "compile", "-o", str(tmp_path / "x"), "--store", store, "--run-id", "Not_Valid")
    assert done.returncode == 2 and done.stderr.startswith("error: run id") and "Traceback" not in done.stderr
    done = run_wb(project, "compile", "nope", "-o", str(tmp_path / "x"), "--store", store)
    assert done.returncode == 2 and "unknown" in done.stderr
    done = run_wb(project, "compile", "-o", str(tmp_path / "x"))
    assert done.returncode == 2 and "no shared store" in done.stderr


PARTITIONED = """
from workbench import StaticPartitions, asset

REGIONS = StaticPartitions(["eu", "us", "apac"])


@asset(partitions=REGIONS)
def sales(partition: str) -> dict:
    return {"region": partition}


@asset
def summary(sales: dict) -> dict:
    return {"regions": sorted(sales)}
"""


def test_one_job_per_partition(make_project: Any, tmp_path: Path) -> None:
    project = make_project({"pipeline.py": PARTITIONED})
    jobs = asset_jobs(compile_dir(project, tmp_path / "out", "sales", "--partition", "eu,us"))
    assert list(jobs) == ["sales[eu]", "sales[us]"]
    for region in ("eu", "us"):
        job = jobs[f"sales[{region}]"]
        kubernetes_validate.validate(job, K8S_VERSION, strict=True)
        assert job["spec"]["template"]["spec"]["containers"][0]["args"][-2:] == ["--partition", region]
        assert job["metadata"]["labels"]["workbench.dev/partition"] == region
    all_units = asset_jobs(compile_dir(project, tmp_path / "all"))
    assert list(all_units) == ["sales[eu]", "sales[us]", "sales[apac]", "summary"]


@pytest.mark.parametrize(
    ("resources", "expected"),
    [
        (Resources(cpu=0.25), {"cpu": "250m"}),
        (Resources(cpu=1.5, memory="512Mi"), {"cpu": "1500m", "memory": "512Mi"}),
        (Resources(gpu=2), {"nvidia.com/gpu": "2"}),
    ],
)
def test_resource_quantities(resources: Resources, expected: dict[str, str]) -> None:
    assert resource_requirements("a", resources) == {"requests": expected, "limits": expected}


@pytest.mark.parametrize("resources", [Resources(cpu=0), Resources(memory="4GB"), Resources(gpu=-1)])
def test_bad_resources_name_the_asset(resources: Resources) -> None:
    with pytest.raises(ManifestError, match="asset 'model'"):
        resource_requirements("model", resources)


def test_names_and_labels_stay_valid_for_any_key() -> None:
    for unit in ("a", "ns/deep/Key_Name", "x" * 80, "events[2026-11-01]", "_private"):
        name = job_name("0123456789abcdef", unit)
        assert DNS_LABEL.fullmatch(name) and len(name) <= 63, name
        assert re.fullmatch(r"([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]", label_value(unit)), unit
    assert job_name("r", "a/b") != job_name("r", "a_b")


def test_run_ids_with_a_shared_prefix_never_share_a_name() -> None:
    first, second = "nightly-2026-11-01", "nightly-2026-11-02"
    assert driver_name(first) != driver_name(second) and job_name(first, "a") != job_name(second, "a")
    assert len(driver_name("r" * 40)) <= 63


CONFIGURED = """
from workbench import Resources, asset

SHM = {"name": "shm", "emptyDir": {"medium": "Memory", "sizeLimit": "1Gi"}}


@asset(
    resources=Resources(cpu=1),
    k8s={
        "container": {
            "envFrom": [{"configMapRef": {"name": "features"}}],
            "env": [{"name": "TOKEN", "valueFrom": {"secretKeyRef": {"name": "api", "key": "token"}}}],
            "volumeMounts": [{"name": "shm", "mountPath": "/dev/shm"}],
        },
        "pod": {"volumes": [SHM], "priorityClassName": "batch-low", "runtimeClassName": "nvidia"},
        "job": {"ttlSecondsAfterFinished": 600},
    }
)
def trained() -> int:
    return 1
"""
DEFAULTS = """
[tool.workbench.kubernetes]
service_account_annotations = { "iam.gke.io/gcp-service-account" = "wb@proj.iam.gserviceaccount.com" }

[tool.workbench.kubernetes.defaults]
pod = { imagePullSecrets = [{ name = "regcred" }] }
container = { resources = { requests = { cpu = "250m", memory = "512Mi", ephemeral-storage = "2Gi" } } }
"""


def test_per_asset_and_project_kubernetes_options(make_project: Any, tmp_path: Path) -> None:
    project = make_project({"pipeline.py": CONFIGURED})
    (project / "pyproject.toml").write_text((project / "pyproject.toml").read_text() + DEFAULTS)
    files = compile_dir(project, tmp_path / "out")
    for doc in (d for docs in files.values() for d in docs):
        kubernetes_validate.validate(doc, K8S_VERSION, strict=True)
    job = asset_jobs(files)["trained"]
    pod = job["spec"]["template"]["spec"]
    container = pod["containers"][0]
    assert container["args"][:2] == ["run-asset", "trained"]  # merged, not replaced
    assert container["envFrom"][0]["secretRef"]["name"] == "workbench-store"
    assert container["envFrom"][1] == {"configMapRef": {"name": "features"}}
    assert container["env"][-1]["valueFrom"]["secretKeyRef"] == {"name": "api", "key": "token"}
    assert [m["name"] for m in container["volumeMounts"]] == ["scratch", "store", "shm"]
    assert container["resources"]["requests"] == {"cpu": "1", "memory": "512Mi", "ephemeral-storage": "2Gi"}
    assert container["resources"]["limits"] == {"cpu": "1"}  # the asset's own resources win over the defaults
    assert [v["name"] for v in pod["volumes"]] == ["scratch", "store", "shm"]
    assert (pod["priorityClassName"], pod["runtimeClassName"]) == ("batch-low", "nvidia")
    assert pod["imagePullSecrets"] == [{"name": "regcred"}]
    assert job["spec"]["ttlSecondsAfterFinished"] == 600
    account = next(d for d in files["rbac.yaml"] if d["metadata"]["name"] == "workbench")
    assert account["metadata"]["annotations"] == {"iam.gke.io/gcp-service-account": "wb@proj.iam.gserviceaccount.com"}

    (project / "pipeline.py").write_text(CONFIGURED.replace('"job": {', '"job": {"template": {}, '))
    bad = tmp_path / "bad"
    done = run_wb(project, "compile", "-o", str(bad), "--store", store_of(bad), "--store-pvc", "wb")
    assert done.returncode == 2 and "asset 'trained': k8s job may not set template" in done.stderr
