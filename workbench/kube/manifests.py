"""Kubernetes manifests for a frozen plan: RBAC, the driver Job and one Job per asset.

Pure functions from specs to plain dicts (the shapes `kubectl apply` and the API accept); no I/O
and no `kubernetes` import. Names are deterministic in (run id, asset key) and carry a digest of
the full run id, so submitting the same run twice finds the Jobs it created before instead of
duplicating them, and two run ids that share a prefix never meet. The plan itself (`RunSpec`)
lives in the shared store; the driver Job holds only its hash (`RunRef`), so no object grows
with the number of units.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from typing import Any

from workbench.core.graph import AssetGraph
from workbench.core.hashing import digest
from workbench.core.partitions import split_unit, unit_id
from workbench.core.spec import AssetSpec, Resources
from workbench.errors import ManifestError

GROUP = "workbench.dev"
RUN_LABEL = f"{GROUP}/run-id"
ROLE_LABEL = f"{GROUP}/role"
ASSET_LABEL = f"{GROUP}/asset"
PARTITION_LABEL = f"{GROUP}/partition"
UNIT_ANNOTATION = f"{GROUP}/unit"
RUN_ANNOTATION = f"{GROUP}/run"
RUNNER_ACCOUNT = "workbench"  # asset pods: no API token; bind cloud storage identities here
DRIVER_ACCOUNT = "workbench-driver"  # the driver pod: may create and watch the run's Jobs
DEFAULT_SECRET = "workbench-store"
SCRATCH = "/tmp"  # an emptyDir: the only writable path (the root filesystem is read-only)
ASSET_FAILED = 1  # exit code of `wb run-asset` when the asset (or a blocking check) failed
FAIL_CODES = (ASSET_FAILED, 2)  # an asset failed / bad input (bad code, wrong image): a new pod cannot help
DRIVER_RETRY_CODE = 3  # the API failed: a new driver pod resumes the run
PLANS = "plans"  # the folder of the shared store that holds the plans, by sha256
TTL_SECONDS = 7 * 24 * 3600
_RUN_ID = re.compile(r"[a-z0-9]([-a-z0-9]{0,38}[a-z0-9])?")
_QUANTITY = re.compile(r"\d+(\.\d+)?([KMGTPE]i|[kMGTPE]|m)?")
_TOLERATION_FIELDS = frozenset({"key", "operator", "value", "effect", "tolerationSeconds"})
_DRIVER_RESOURCES = {"requests": {"cpu": "100m", "memory": "256Mi"}, "limits": {"cpu": "500m", "memory": "512Mi"}}
_ENV = (
    ("HOME", SCRATCH),
    ("WORKBENCH_HOME", f"{SCRATCH}/workbench"),
    ("XDG_CACHE_HOME", f"{SCRATCH}/cache"),
    ("PYTHONUNBUFFERED", "1"),  # pod logs stream line by line
)


DNS_LABEL = re.compile(r"[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?")  # namespaces
DNS_SUBDOMAIN = re.compile(r"(?=.{1,253}\Z)[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*")  # Secrets, claims
LABEL_NAME = re.compile(r"([A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?)")
LABEL_VALUE = re.compile(r"(([A-Za-z0-9][-A-Za-z0-9_.]{0,61})?[A-Za-z0-9])?")


def check_names(namespace: str, secret: str, pvc: str = "") -> None:
    """`ManifestError` unless the names are ones the API server accepts (checked before anything is sent)."""
    if not DNS_LABEL.fullmatch(namespace):
        raise ManifestError(f"invalid namespace {namespace!r}: lower-case letters, digits and '-', at most 63")
    for what, name in (("Secret", secret), ("PersistentVolumeClaim", pvc)):
        if name and not DNS_SUBDOMAIN.fullmatch(name):
            raise ManifestError(f"invalid {what} name {name!r}: lower-case letters, digits, '-' and '.'")


def _node_selector(key: str, selector: Mapping[str, str]) -> dict[str, str]:
    """A node selector whose keys (`[prefix/]name`) and values are valid label keys and values."""
    for k, v in selector.items():
        prefix, _, name = str(k).rpartition("/")
        if (prefix and not DNS_SUBDOMAIN.fullmatch(prefix)) or not LABEL_NAME.fullmatch(name) or not LABEL_VALUE.fullmatch(str(v)):
            raise ManifestError(f"asset {key!r}: node_selector {k!r}: {v!r} is not a valid label key and value")
    return {str(k): str(v) for k, v in selector.items()}


@dataclass(frozen=True, slots=True)
class RunSpec:
    """A frozen plan and where it runs: everything the manifests are built from.

    `code` is the sha256 of the code package; `libraries` the laptop's versions of what the planned
    assets' code reaches (the driver compares them with the image's); `timeout` the project's
    default for assets without `timeout=`; `start_timeout` how long a pod may take to start.
    """

    run_id: str
    units: tuple[str, ...]  # the plan's `to_run` (assets, or partitions of them), in topological order
    image: str
    store: str
    namespace: str = "default"
    secret: str = DEFAULT_SECRET
    code: str = ""
    libraries: Mapping[str, str] = field(default_factory=dict)
    timeout: int | None = None
    start_timeout: int = 600
    max_parallel: int = 0  # 0: no limit
    pvc: str = ""  # a directory store: the claim every pod mounts at `store`
    forced: tuple[str, ...] = ()  # units run even if a stored version has the same code and inputs
    check_only: tuple[str, ...] = ()  # fresh units whose checks run again (a check was edited or is new)
    concurrency: Mapping[str, int] = field(default_factory=dict)  # tag (or tag=value) -> Jobs at once
    env: Mapping[str, str] = field(default_factory=dict)  # the laptop's values of the variables `env=` declares
    defaults: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)  # project k8s defaults, as `k8s=`

    def __post_init__(self) -> None:
        check_run_id(self.run_id)
        if not self.image:
            raise ManifestError("a run needs an image: pass --image IMAGE (or set WORKBENCH_IMAGE)")
        if not self.namespace:
            raise ManifestError("a run needs a namespace")
        if self.max_parallel < 0:
            raise ManifestError(f"--max-parallel must be >= 0, not {self.max_parallel}")

    def to_json(self) -> str:
        doc = {f.name: getattr(self, f.name) for f in fields(self)}
        maps = {name: dict(getattr(self, name)) for name in ("libraries", "concurrency", "env", "defaults")}
        return json.dumps({**doc, **maps}, separators=(",", ":"), sort_keys=True)

    @property
    def all_units(self) -> tuple[str, ...]:
        """The units to run, then those whose checks alone run."""
        return (*self.units, *self.check_only)

    @property
    def sha(self) -> str:
        """The plan's address in the store: `plans/<sha>.json`."""
        return hashlib.sha256(self.to_json().encode()).hexdigest()

    @classmethod
    def from_json(cls, text: str) -> RunSpec:
        """Parse a stored plan; `ManifestError` if it is not one."""
        try:
            doc = json.loads(text)
            lists = {name: tuple(doc.get(name, ())) for name in ("units", "forced", "check_only")}
            return cls(**{**doc, **lists})
        except (TypeError, ValueError, KeyError) as exc:
            raise ManifestError(f"not a workbench plan: {exc}") from exc


@dataclass(frozen=True, slots=True)
class RunRef:
    """What the driver Job carries: the run id and where its plan is."""

    run_id: str
    store: str
    plan: str  # sha256 of the plan's JSON

    def to_json(self) -> str:
        return json.dumps({f.name: getattr(self, f.name) for f in fields(self)}, separators=(",", ":"))

    @classmethod
    def from_json(cls, text: str) -> RunRef:
        try:
            return cls(**json.loads(text))
        except (TypeError, ValueError) as exc:
            raise ManifestError(f"not a workbench run reference: {exc}") from exc


def check_run_id(run_id: str) -> str:
    if not _RUN_ID.fullmatch(run_id):
        raise ManifestError(f"run id {run_id!r} must be 1-40 lowercase letters, digits or '-'")
    return run_id


def plan_uri(sha: str) -> str:
    return f"{PLANS}/{sha}.json"


def _run_tag(run_id: str, width: int) -> str:
    return run_id[:width].rstrip("-")


def job_name(run_id: str, unit: str) -> str:
    """`wb-<run>-<unit>-<hash of run id and unit>`: a valid DNS label (<= 63 chars), unique per (run, unit)."""
    slug = re.sub(r"[^a-z0-9]+", "-", unit.lower()).strip("-")[:30].rstrip("-") or "asset"
    return f"wb-{_run_tag(run_id, 10)}-{slug}-{digest(run_id, unit)[:8]}"


def driver_name(run_id: str) -> str:
    return f"wb-{_run_tag(run_id, 30)}-{digest(run_id)[:8]}-driver"


def label_value(text: str) -> str:
    """`text` as a label value: [A-Za-z0-9_.-], alphanumeric at both ends, <= 63 chars."""
    return re.sub(r"[^A-Za-z0-9_.\-]", ".", text)[:63].strip("._-")


def selector(run_id: str) -> str:
    return f"{RUN_LABEL}={run_id}"


def resource_requirements(key: str, resources: Resources) -> dict[str, Any]:
    """requests = limits (Guaranteed QoS); a GPU is the `nvidia.com/gpu` extended resource."""
    amounts: dict[str, str] = {}
    if resources.cpu is not None:
        if resources.cpu <= 0:
            raise ManifestError(f"asset {key!r}: cpu must be > 0, not {resources.cpu}")
        millis = round(resources.cpu * 1000)
        amounts["cpu"] = str(millis // 1000) if millis % 1000 == 0 else f"{millis}m"
    if resources.memory is not None:
        if not _QUANTITY.fullmatch(str(resources.memory)):
            raise ManifestError(
                f"asset {key!r}: memory {resources.memory!r} is not a Kubernetes quantity (e.g. 512Mi, 4Gi)"
            )
        amounts["memory"] = str(resources.memory)
    if resources.gpu < 0:
        raise ManifestError(f"asset {key!r}: gpu must be >= 0, not {resources.gpu}")
    if resources.gpu:
        amounts["nvidia.com/gpu"] = str(int(resources.gpu))
    return {"requests": dict(amounts), "limits": dict(amounts)} if amounts else {}


def _toleration(key: str, toleration: Mapping[str, Any]) -> dict[str, Any]:
    unknown = set(toleration) - _TOLERATION_FIELDS
    if unknown:
        raise ManifestError(f"asset {key!r}: unknown toleration field(s) {', '.join(sorted(unknown))}")
    out: dict[str, Any] = {k: str(v) for k, v in toleration.items()}
    if "tolerationSeconds" in out:
        out["tolerationSeconds"] = int(out["tolerationSeconds"])
    return out


def failure_policy(container: str) -> dict[str, Any]:
    """Preemption and node drains do not count as failures; exit codes 1 and 2 end the Job at once."""
    return {
        "rules": [
            {"action": "Ignore", "onPodConditions": [{"type": "DisruptionTarget", "status": "True"}]},
            {"action": "FailJob", "onExitCodes": {"containerName": container, "operator": "In", "values": list(FAIL_CODES)}},
        ]
    }


def _labels(run: RunSpec, role: str) -> dict[str, str]:
    return {
        "app.kubernetes.io/name": "workbench",
        "app.kubernetes.io/managed-by": "workbench",
        RUN_LABEL: run.run_id,
        ROLE_LABEL: role,
    }


def _store_volume(run: RunSpec) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(volumes, volumeMounts) for a directory store: its claim, mounted where the laptop sees it."""
    if not run.pvc:
        return [], []
    return [{"name": "store", "persistentVolumeClaim": {"claimName": run.pvc}}], [{"name": "store", "mountPath": run.store}]


def _job(
    run: RunSpec,
    name: str,
    role: str,
    container: dict[str, Any],
    pod: dict[str, Any],
    *,
    backoff: int,
    deadline: int | None = None,
    labels: Mapping[str, str] | None = None,
    annotations: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    all_labels = {**_labels(run, role), **(labels or {})}
    container = {
        "name": container["name"],
        "image": run.image,
        "imagePullPolicy": "IfNotPresent",
        "command": ["wb"],
        **container,
        "env": [{"name": k, "value": v} for k, v in _ENV] + list(container.get("env") or []),
        "volumeMounts": [{"name": "scratch", "mountPath": SCRATCH}, *_store_volume(run)[1]],
        "securityContext": {
            "allowPrivilegeEscalation": False,
            "readOnlyRootFilesystem": True,
            "capabilities": {"drop": ["ALL"]},
        },
    }
    return {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {
            "name": name,
            "namespace": run.namespace,
            "labels": all_labels,
            "annotations": dict(annotations or {}),
        },
        "spec": {
            "backoffLimit": backoff,
            **({"activeDeadlineSeconds": deadline} if deadline else {}),
            "podFailurePolicy": failure_policy(container["name"]),
            "ttlSecondsAfterFinished": TTL_SECONDS,
            "template": {
                "metadata": {"labels": dict(all_labels)},
                "spec": {
                    "restartPolicy": "Never",
                    **pod,
                    "securityContext": {"runAsNonRoot": True, "seccompProfile": {"type": "RuntimeDefault"}},
                    "containers": [container],
                    "volumes": [{"name": "scratch", "emptyDir": {}}, *_store_volume(run)[0]],
                },
            },
        },
    }


def asset_job(spec: AssetSpec, run: RunSpec, partition: str = "") -> dict[str, Any]:
    """The Job that runs `wb run-asset KEY` from the run's code package.

    The pod retries the asset's exceptions itself (`retries=`, as locally) and exits 1; a pod that
    dies (OOMKilled, a node lost) is replaced up to `retries` times; `timeout=` (or the project's
    default) bounds the whole Job, pending time included (`activeDeadlineSeconds`).
    """
    res, unit = spec.resources, unit_id(spec.key, partition)
    pod: dict[str, Any] = {"serviceAccountName": RUNNER_ACCOUNT, "automountServiceAccountToken": False}
    if res.node_selector:
        pod["nodeSelector"] = _node_selector(spec.key, res.node_selector)
    if res.tolerations:
        pod["tolerations"] = [_toleration(spec.key, t) for t in res.tolerations]
    args = ["run-asset", spec.key, "--store", run.store, "--run-id", run.run_id, "--code", run.code]
    if unit in run.forced:
        args.append("--no-reuse")
    if unit in run.check_only:
        args.append("--checks-only")
    container: dict[str, Any] = {
        "name": "asset",
        "args": [*args, "--partition", partition] if partition else args,
        "envFrom": [{"secretRef": {"name": run.secret, "optional": True}}],  # store credentials, never inline
        "env": [{"name": k, "value": run.env[k]} for k in spec.env if k in run.env],  # they enter its code version
    }
    requirements = resource_requirements(spec.key, res)
    if requirements:
        container["resources"] = requirements
    labels = {ASSET_LABEL: label_value(spec.key)}
    if partition:
        labels[PARTITION_LABEL] = label_value(partition)
    job = _job(
        run,
        job_name(run.run_id, unit),
        "asset",
        container,
        pod,
        backoff=spec.retries,
        deadline=spec.timeout or run.timeout,
        labels=labels,
        annotations={UNIT_ANNOTATION: unit},
    )
    job = with_k8s(job, "[tool.workbench.kubernetes.defaults]", run.defaults, under=True)
    return with_k8s(job, f"asset {spec.key!r}", spec.k8s)


_FIXED = {"container": {"name", "command", "args"}, "pod": {"containers", "restartPolicy"}, "job": {"template", "selector"}}


def merged(base: Any, extra: Any) -> Any:
    """`extra` over `base`: mappings merge key by key, lists are appended to, other values replace."""
    if isinstance(base, Mapping) and isinstance(extra, Mapping):
        return {**base, **{k: merged(base[k], v) if k in base else v for k, v in extra.items()}}
    if isinstance(base, list) and isinstance(extra, list):
        return [*base, *extra]
    return extra


def with_k8s(
    job: dict[str, Any], where: str, parts: Mapping[str, Mapping[str, Any]], *, under: bool = False
) -> dict[str, Any]:
    """`job` with `k8s=`-style parts merged into its container, pod and Job spec (`under`: as defaults,
    so what the job sets already wins)."""
    for part, extra in parts.items():
        fixed = _FIXED.get(part)
        if fixed is None:
            raise ManifestError(f"{where}: k8s has no part {part!r} (container, pod or job)")
        if fixed & set(extra):
            raise ManifestError(f"{where}: k8s {part} may not set {', '.join(sorted(fixed & set(extra)))}")

    def over(base: Mapping[str, Any], part: str) -> Any:
        extra = parts.get(part, {})
        return merged(extra, base) if under else merged(base, extra)

    spec = job["spec"]
    pod = spec["template"]["spec"]
    container = over(pod["containers"][0], "container")
    pod = {**over(pod, "pod"), "containers": [container]}
    spec = {**over(spec, "job"), "template": {**spec["template"], "spec": pod}}
    return {**job, "spec": spec}


def owned_by(job: dict[str, Any], owner: dict[str, Any]) -> dict[str, Any]:
    """`job` with an ownerReference to the Job `owner`: deleting the owner deletes it too."""
    meta = owner["metadata"]
    reference = {"apiVersion": "batch/v1", "kind": "Job", "name": meta["name"], "uid": meta["uid"]}
    return {**job, "metadata": {**job["metadata"], "ownerReferences": [reference]}}


def driver_job(run: RunSpec) -> dict[str, Any]:
    """The in-cluster driver: `wb push --driver` applies the stored plan, so the laptop may disconnect.

    A crash of the driver pod is retried (it adopts the Jobs it created); exit codes 1 and 2 fail the Job.
    """
    ref = RunRef(run.run_id, run.store, run.sha)
    args = ["push", "--driver", "--run-id", run.run_id, "--store", run.store, "--plan", ref.plan]
    container = {
        "name": "driver",
        "args": args,
        "resources": _DRIVER_RESOURCES,
        "envFrom": [{"secretRef": {"name": run.secret, "optional": True}}],  # it reads the plan from the store
    }
    return _job(
        run,
        driver_name(run.run_id),
        "driver",
        container,
        {"serviceAccountName": DRIVER_ACCOUNT},
        backoff=3,
        annotations={RUN_ANNOTATION: ref.to_json()},  # what `wb push --run-id` re-attaches to
    )


def asset_jobs(graph: AssetGraph, run: RunSpec) -> list[dict[str, Any]]:
    """One Job per unit of the plan, in the plan's (topological) order, then the check-only ones."""
    jobs = []
    for unit in run.all_units:
        key, partition = split_unit(unit)
        spec = graph.nodes[key]
        assert isinstance(spec, AssetSpec), f"{key} is not an asset"
        jobs.append(asset_job(spec, run, partition))
    return jobs


def rbac(namespace: str, annotations: Mapping[str, str] | None = None) -> list[dict[str, Any]]:
    """Two ServiceAccounts and the least-privilege Role the driver needs: its Jobs, and reading their pods.

    `annotations` go on both accounts (the pods' cloud identity: IRSA, Workload Identity).
    """

    def meta(name: str) -> dict[str, Any]:
        return {"name": name, "namespace": namespace, "labels": {"app.kubernetes.io/name": "workbench"}}

    identity = {"annotations": dict(annotations)} if annotations else {}
    return [
        {
            "apiVersion": "v1",
            "kind": "ServiceAccount",
            "metadata": {**meta(RUNNER_ACCOUNT), **identity},
            "automountServiceAccountToken": False,
        },
        {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {**meta(DRIVER_ACCOUNT), **identity}},
        {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "Role",
            "metadata": meta(DRIVER_ACCOUNT),
            "rules": [
                {"apiGroups": ["batch"], "resources": ["jobs"], "verbs": ["create", "get", "list", "watch", "delete"]},
                {"apiGroups": [""], "resources": ["pods"], "verbs": ["get", "list", "watch"]},
            ],
        },
        {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "RoleBinding",
            "metadata": meta(DRIVER_ACCOUNT),
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": DRIVER_ACCOUNT},
            "subjects": [{"kind": "ServiceAccount", "name": DRIVER_ACCOUNT, "namespace": namespace}],
        },
    ]
