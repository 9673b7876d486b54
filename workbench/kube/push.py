"""`wb push` and `wb compile`: the stale part of a selection, as Jobs on a cluster.

The plan is computed here, on the laptop, against the local store after a sync; the cluster only
applies it. `push` creates the run's RBAC (if missing) and one in-cluster driver Job holding the
frozen plan, so the laptop may disconnect; with `--wait` it watches the run's Jobs, streams their
pod logs and deletes the run on Ctrl-C. A run id names one run: pushing it again re-attaches.
"""

from __future__ import annotations

import sys
import uuid
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click
import yaml

from workbench.kube.client import FAILED, SUCCEEDED, SYNCED, Cluster, KubeError, job_failure, job_state
from workbench.kube.driver import Progress, drive
from workbench.kube.logs import LogReporter
from workbench.kube.manifests import (
    DEFAULT_SECRET,
    DRIVER_RETRY_CODE,
    RUN_ANNOTATION,
    ManifestError,
    RunSpec,
    asset_jobs,
    driver_job,
    driver_name,
    rbac,
    selector,
)
from workbench.partitions import split_unit
from workbench.reporting import PlainReporter, Reporter

if TYPE_CHECKING:
    from workbench.executor import Result
    from workbench.graph import AssetGraph
    from workbench.plan import Plan
    from workbench.staleness import Status
    from workbench.units import PartitionKeys
    from workbench.workspace import Workspace


@dataclass(frozen=True, slots=True)
class Target:
    """Where runs go: the options `wb push` and `wb compile` share."""

    namespace: str
    image: str
    store: str
    secret: str
    context: str | None = None

    def run(self, run_id: str | None, units: tuple[str, ...]) -> RunSpec:
        return RunSpec(run_id or uuid.uuid4().hex, units, self.image, self.store, self.namespace, self.secret)


class Cancelled(KubeError):
    """The user interrupted `wb push --wait`; the run's Jobs were deleted."""

    exit_code = 130


def target(
    ws: Workspace, *, namespace: str, image: str, store: str | None, secret: str | None, context: str | None = None
) -> Target:
    """The options of a run, with the shared store resolved (see `remote.shared_store_url`)."""
    from workbench import remote

    return Target(namespace, image, remote.shared_store_url(ws, store), secret or DEFAULT_SECRET, context)


def plan_for(
    ws: Workspace, expr: str | None, *, force: bool, only: bool, partitions: str | None
) -> tuple[Plan, dict[str, Status]]:
    """The local plan: what is stale against the local store."""
    status = ws.status()
    return ws.plan(status, expr, force=force, only=only, partitions=partitions), status


def compile_run(graph: AssetGraph, run: RunSpec, out: str | Path) -> list[Path]:
    """Write `rbac.yaml`, `driver.yaml` and `jobs/NN-<job>.yaml` (the Jobs the driver creates)."""
    files: dict[str, list[dict[str, Any]]] = {"rbac.yaml": rbac(run.namespace), "driver.yaml": [driver_job(run)]}
    for n, job in enumerate(asset_jobs(graph, run), start=1):
        files[f"jobs/{n:02d}-{job['metadata']['name']}.yaml"] = [job]
    written = []
    for name, docs in files.items():
        path = Path(out) / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(yaml.safe_dump_all(docs, sort_keys=False), encoding="utf-8")
        written.append(path)
    return written


def push(
    ws: Workspace,
    expr: str | None,
    target: Target,
    *,
    run_id: str | None,
    force: bool,
    only: bool,
    partitions: str | None,
    wait: bool,
) -> int:
    """Submit the stale part of `expr` (or re-attach to run `run_id`); with `wait`, follow it to the end."""
    from workbench import remote, views

    cluster = Cluster.connect(target.namespace, target.context)
    run = existing_run(cluster, run_id) if run_id else None
    if run is None:
        remote.sync(ws, target.store)  # the plan must see what earlier remote runs produced
        plan, status = plan_for(ws, expr, force=force, only=only, partitions=partitions)
        if plan.check_only:
            click.echo(
                f"not pushed: the check-only reruns of {', '.join(plan.check_only)} (wb materialize runs them)",
                err=True,
            )
        if not plan.to_run:
            click.echo(f"nothing to push: {len(plan.fresh)} asset(s) fresh", err=True)
            return 0
        run = submit(ws, plan, status, target.run(run_id, plan.to_run), cluster)
    remote.remember_store(ws, run.store)
    if not wait:
        context = f" --context {target.context}" if target.context else ""
        click.echo(
            f"run {run.run_id}: {len(run.units)} unit(s) in namespace {run.namespace}\n"
            f"  follow it: wb push --run-id {run.run_id} --namespace {run.namespace}{context} --wait\n"
            f"  import its results when it is done: wb sync",
            err=True,
        )
        return 0
    result = follow(cluster, ws.graph, ws.partition_keys, run, PlainReporter())
    report = remote.sync(ws, run.store)
    views.print_result(replace(result, errors={**result.errors, **_record_errors(ws, run.run_id, result.failed)}))
    click.echo(f"synced {report.indexed} record(s) from {run.store}", err=True)
    return 0 if result.ok else 1


def _record_errors(ws: Workspace, run_id: str, units: tuple[str, ...]) -> dict[str, str]:
    """The errors the failed units' records hold (a Job only knows that its pod failed)."""
    errors = {}
    for unit in units:
        last = next(iter(ws.metadata.history(*split_unit(unit), limit=1)), None)
        if last is not None and last.run_id == run_id:
            errors[unit] = last.error or "a blocking check failed (see: wb status)"
    return errors


def existing_run(cluster: Cluster, run_id: str) -> RunSpec | None:
    """The run a driver Job of this run id carries, if there is one."""
    job = cluster.read("Job", driver_name(run_id))
    if job is None:
        return None
    annotation = (job["metadata"].get("annotations") or {}).get(RUN_ANNOTATION)
    if annotation is None:
        raise ManifestError(f"Job {driver_name(run_id)} exists but was not created by workbench")
    run = RunSpec.from_json(annotation)
    click.echo(f"run {run_id} exists: attaching to it", err=True)
    return run


def submit(ws: Workspace, plan: Plan, status: dict[str, Status], run: RunSpec, cluster: Cluster) -> RunSpec:
    """Create the RBAC the run needs, upload its fresh inputs, create its driver Job.

    The API is asked before anything is written, so an unreachable or forbidding cluster leaves
    no trace. If the driver Job exists already (409), the run that Job carries is returned.
    """
    from workbench import remote

    PlainReporter().planned(plan)
    created = cluster.ensure(rbac(run.namespace))
    if created:
        click.echo(f"created {', '.join(created)} in namespace {run.namespace}", err=True)
    remote.upload_inputs(ws, plan, status, run.store)
    if cluster.create(driver_job(run)) is not None:
        click.echo(f"submitted run {run.run_id} (driver Job {driver_name(run.run_id)})", err=True)
        return run
    existing = existing_run(cluster, run.run_id)
    if existing is None:
        conflict = "the API reported a conflict (HTTP 409) but the Job does not exist"
        raise KubeError(f"creating Job {driver_name(run.run_id)} failed: {conflict}")
    return existing


def follow(cluster: Cluster, graph: AssetGraph, keys: PartitionKeys, run: RunSpec, reporter: Reporter) -> Result:
    """Report the run's progress from its Jobs until every unit is settled; Ctrl-C deletes the run.

    A driver that ended (or was deleted) while units are left unsettled is an error.
    """
    progress = Progress(graph, keys, run, LogReporter(reporter, cluster, run))
    driver, ended, synced = driver_name(run.run_id), None, False
    try:
        for event, job in cluster.job_events(selector(run.run_id)):
            if event == SYNCED:
                synced = True
            elif job["metadata"]["name"] != driver:
                progress.update(event, job)
            elif event == "DELETED":
                ended = "was deleted"
            elif job_state(job) in (SUCCEEDED, FAILED):
                ended = " ".join(filter(None, (job_state(job), job_failure(job) and f"({job_failure(job)})")))
            if progress.done:
                break
            if synced and ended:
                raise KubeError(f"the driver of run {run.run_id} {ended}{_last_log_line(cluster, driver)}")
    except KeyboardInterrupt:
        deleted = cancel(cluster, run)
        raise Cancelled(f"cancelled run {run.run_id}: deleted {deleted} Job(s) in namespace {run.namespace}") from None
    finally:
        reporter.closed()
    return progress.result()


def _last_log_line(cluster: Cluster, job: str) -> str:
    lines = [line.strip() for line in cluster.log_lines(job) if line.strip()]
    return f": {lines[-1]}" if lines else ""


def cancel(cluster: Cluster, run: RunSpec) -> int:
    """Delete the driver first (so it creates nothing more), then every other Job of the run."""
    deleted = cluster.delete_jobs([driver_name(run.run_id)])
    jobs, _ = cluster.jobs(selector(run.run_id))
    return deleted + cluster.delete_jobs([j["metadata"]["name"] for j in jobs])


def run_driver(ws: Workspace, run: RunSpec) -> int:
    """The in-cluster half of `wb push`: apply the frozen plan with the pod's service account.

    Exit 0: every unit materialized; 1: a unit failed; 2: the image does not hold the plan's
    project; 3: the API failed, so Kubernetes starts a new driver pod, which resumes the run.
    """
    from workbench import remote, views
    from workbench.errors import SelectionError

    try:
        for unit in run.units:
            remote.check_unit(ws, *split_unit(unit))
    except SelectionError as exc:
        raise SelectionError(f"{exc} (rebuild the image from the project you push)") from exc
    try:
        cluster = Cluster.connect(run.namespace, in_cluster=True)
        result = drive(cluster, ws.graph, ws.partition_keys, run, PlainReporter(sys.stderr))
    except KubeError as exc:
        click.echo(f"error: {exc} (a new driver pod will resume the run)", err=True)
        return DRIVER_RETRY_CODE
    views.print_result(result)
    return 0 if result.ok else 1
