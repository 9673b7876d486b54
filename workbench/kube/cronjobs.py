"""Schedules on the cluster: one CronJob per scheduled asset, whose pod is the in-cluster driver of its tick.

`wb compile --automation` writes them (with the RBAC they need) and `wb push --schedule` applies
them. At each tick Kubernetes starts a pod that runs `wb push --tick KEY`: it fetches the code
package named in the CronJob, imports what remote runs recorded in the shared store, plans the
asset forced (and whatever upstream is stale; for a partitioned asset the partition that just
closed) and drives that plan itself, as the driver Job of `wb push` does. `concurrencyPolicy:
Forbid` keeps two ticks of one asset from running at once; a tick the controller missed starts
within `startingDeadlineSeconds`, once (Kubernetes runs only the newest missed schedule).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from workbench.clock import now
from workbench.core.automation import closed_partition, last_tick
from workbench.core.hashing import digest
from workbench.core.spec import AssetSpec
from workbench.errors import SelectionError
from workbench.kube.manifests import _DRIVER_RESOURCES, DRIVER_ACCOUNT, RunSpec, _job, rbac
from workbench.kube.push import Notes, Target, drive, plan_for, prepare

if TYPE_CHECKING:
    from collections.abc import Mapping

    from workbench.core.graph import AssetGraph
    from workbench.kube.client import Cluster
    from workbench.workspace import Workspace

__all__ = ["compile_schedules", "cron_job", "push_schedules", "run_tick", "upload_code"]

STARTING_DEADLINE = 3600  # seconds: a tick the controller missed (it was down) still starts within the hour
HISTORY = 3  # finished Jobs kept per CronJob, succeeded and failed each
_ROLE = "schedule"


def cron_name(key: str) -> str:
    """`wb-<asset>-<hash>-cron`: a DNS label of at most 52 characters (the CronJob limit)."""
    slug = re.sub(r"[^a-z0-9]+", "-", key.lower()).strip("-")[:30].rstrip("-") or "asset"
    return f"wb-{slug}-{digest(key)[:8]}-cron"


def scheduled(graph: AssetGraph, keys: tuple[str, ...]) -> list[AssetSpec]:
    """The assets among `keys` that have a schedule; none is bad input."""
    specs = [s for k in keys if isinstance(s := graph.nodes[k], AssetSpec) and s.schedule is not None]
    if not specs:
        raise SelectionError("no selected asset has a schedule (declare one with @asset(schedule=\"0 6 * * *\"))")
    return specs


def cron_job(spec: AssetSpec, target: Target, code: str) -> dict[str, Any]:
    """The CronJob of one scheduled asset; its pod runs `wb push --tick KEY` with the driver's account."""
    assert spec.schedule is not None
    name = cron_name(spec.key)
    run = RunSpec(f"cron-{digest(spec.key)[:12]}", (), target.image, target.store, target.namespace, target.secret,
                  code=code, max_parallel=target.max_parallel, pvc=target.pvc)  # fmt: skip
    args = ["push", "--tick", spec.key, "--code", code, "--store", target.store, "--namespace", target.namespace,
            "--image", target.image, "--secret", target.secret, "--max-parallel", str(target.max_parallel)]  # fmt: skip
    if target.pvc:
        args += ["--store-pvc", target.pvc]
    container = {
        "name": "driver",
        "args": args,
        "resources": _DRIVER_RESOURCES,
        "envFrom": [{"secretRef": {"name": target.secret, "optional": True}}],
    }
    job = _job(run, name, _ROLE, container, {"serviceAccountName": DRIVER_ACCOUNT}, backoff=0)
    labels = job["metadata"]["labels"]
    return {
        "apiVersion": "batch/v1",
        "kind": "CronJob",
        "metadata": {
            "name": name,
            "namespace": target.namespace,
            "labels": labels,
            "annotations": {"workbench.dev/asset": spec.key},
        },
        "spec": {
            "schedule": spec.schedule.cron,
            "timeZone": spec.schedule.timezone,
            "concurrencyPolicy": "Forbid",
            "startingDeadlineSeconds": STARTING_DEADLINE,
            "successfulJobsHistoryLimit": HISTORY,
            "failedJobsHistoryLimit": HISTORY,
            "jobTemplate": {"metadata": {"labels": dict(labels)}, "spec": job["spec"]},
        },
    }


def upload_code(ws: Workspace, target: Target, notes: Notes) -> str:
    """Put the project's code package (with every source file) in the shared store; its sha256."""
    from workbench.core.spec import SourceSpec
    from workbench.kube import codepackage
    from workbench.kube.settings import read_settings
    from workbench.storage.artifacts import ArtifactStore
    from workbench.versioning.gitinfo import git_info

    sources = [n for n in ws.graph.nodes.values() if isinstance(n, SourceSpec)]
    files = codepackage.project_files(ws.root, sources, read_settings(ws.root).include)
    sha, archive = codepackage.pack(files, git_info(ws.root, ws.project.config.home))
    if codepackage.upload(ArtifactStore(target.store), sha, archive):
        notes.note(f"uploaded code package {sha[:12]} ({len(files)} files, {len(archive)} bytes)")
    return sha


def compile_schedules(
    ws: Workspace, keys: tuple[str, ...], target: Target, out: str | Path, notes: Notes,
    annotations: Mapping[str, str] | None = None,
) -> list[Path]:
    """Write `rbac.yaml` and `cronjobs.yaml` (apply both); the code package goes to the store."""
    specs = scheduled(ws.graph, keys)  # nothing scheduled: said before anything is uploaded
    code = upload_code(ws, target, notes)
    jobs = [cron_job(spec, target, code) for spec in specs]
    written = []
    for name, docs in {"rbac.yaml": rbac(target.namespace, annotations), "cronjobs.yaml": jobs}.items():
        path = Path(out) / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(yaml.safe_dump_all(docs, sort_keys=False), encoding="utf-8")
        written.append(path)
    return written


def push_schedules(ws: Workspace, keys: tuple[str, ...], target: Target, cluster: Cluster, notes: Notes) -> list[str]:
    """Create or update the CronJobs of the scheduled assets among `keys`; what was applied."""
    from workbench.kube.settings import read_settings

    specs = scheduled(ws.graph, keys)
    cluster.ensure(rbac(target.namespace, read_settings(ws.root).service_account_annotations))
    code = upload_code(ws, target, notes)
    return [cluster.apply_cron_job(cron_job(spec, target, code)) for spec in specs]


def run_tick(key: str, code: str, target: Target, notes: Notes) -> int:
    """In the CronJob's pod: plan `key` for the tick that just passed, forced, and drive the plan."""
    from workbench.kube import remote

    ws = remote.workspace_from_package(target.store, code)
    remote.sync(ws, target.store)
    spec = ws.graph.nodes.get(key)
    if not isinstance(spec, AssetSpec) or spec.schedule is None:
        raise SelectionError(f"{key!r} is not a scheduled asset in code package {code[:12]}")
    tick = last_tick(spec.schedule, now())
    if tick is None:
        notes.note(f"{key}: no tick of {spec.schedule} in the last year; nothing to do")
        return 0
    partitions = [p for p in closed_partition(spec.partitions, ws.partition_keys.get(key, ()), tick) if p]
    if spec.partitions is not None and not partitions:
        notes.note(f"{key}: the tick {tick:%Y-%m-%d %H:%M} targets no partition; nothing to do")
        return 0
    plan, status = plan_for(ws, key, force=True, only=False, partitions=",".join(partitions) or None)
    run_id = f"s{digest(key)[:8]}-{tick:%Y%m%d%H%M}"  # one run per tick: a retried pod finds its plan
    target_text = f" for {','.join(partitions)}" if partitions else ""
    notes.note(f"{key}: scheduled {tick:%Y-%m-%d %H:%M}{target_text}: run {run_id}")
    return drive(ws, prepare(ws, plan, status, target, run_id, notes), notes)
