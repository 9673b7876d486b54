"""`wb push` and `wb compile`: the stale part of a selection, as Jobs on a cluster.

The plan is computed here, on the laptop, against the local store after a sync; the cluster only
applies it. `push` puts the project's code package and the frozen plan in the shared store,
creates the run's RBAC (if missing) and one in-cluster driver Job that refers to the plan by hash,
so the laptop may disconnect; with `--wait` it watches the run's Jobs, streams their pod logs and
deletes the run on Ctrl-C. A run id names one run: pushing it again re-attaches.
"""

from __future__ import annotations

import os
import sys
import time
import uuid
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import yaml

from workbench.core.partitions import split_unit
from workbench.errors import Cancelled, KubeError, ManifestError, RunAborted, SelectionError, StoreError
from workbench.kube.client import FAILED, SUCCEEDED, SYNCED, TICK, Cluster, job_failure, job_state
from workbench.kube.driver import Driver, Progress, StartWatch
from workbench.kube.logs import LogReporter
from workbench.kube.manifests import (
    DEFAULT_SECRET,
    DRIVER_RETRY_CODE,
    RUN_ANNOTATION,
    RunRef,
    RunSpec,
    asset_jobs,
    check_names,
    check_run_id,
    driver_job,
    driver_name,
    plan_uri,
    rbac,
    selector,
)
from workbench.kube.settings import read_settings
from workbench.run.reporting import PlainReporter, Reporter
from workbench.storage.artifacts import ArtifactStore
from workbench.text import redact

if TYPE_CHECKING:
    from collections.abc import Mapping

    from workbench.core.graph import AssetGraph
    from workbench.core.plan import Plan
    from workbench.core.staleness import Status
    from workbench.core.units import PartitionKeys
    from workbench.run.executor import Result
    from workbench.workspace import Workspace


class Notes(Protocol):
    """How `wb push` talks to the user: one-line notes, and the result of a followed run."""

    def note(self, text: str) -> None: ...
    def result(self, result: Result) -> None: ...


@dataclass(frozen=True, slots=True)
class Target:
    """Where runs go: the options `wb push` and `wb compile` share."""

    namespace: str
    image: str
    store: str
    secret: str
    context: str | None = None
    max_parallel: int = 0
    pvc: str = ""  # the ReadWriteMany claim that holds a directory store


def target(
    ws: Workspace,
    *,
    namespace: str,
    image: str,
    store: str | None,
    secret: str | None,
    context: str | None = None,
    max_parallel: int = 0,
    pvc: str | None = None,
) -> Target:
    """The options of a run, with the shared store resolved (see `remote.shared_store_url`).

    A directory store is mounted into every pod, at the same path, from the claim `pvc`.
    """
    from workbench.kube import remote

    url = remote.shared_store_url(ws, store)
    check_names(namespace, secret or DEFAULT_SECRET, pvc or "")
    if redact(url) != url:
        raise ManifestError(
            f"the store URL {redact(url)} carries credentials, which would be written into the manifests: "
            f"put them in the Secret {secret or DEFAULT_SECRET!r} instead"
        )
    directory = "://" not in url or url.startswith("file://")
    if directory and not pvc:
        raise ManifestError(
            f"the store {url} is a directory: pods can share it only as a volume that every node mounts; "
            "pass --store-pvc CLAIM (a ReadWriteMany PersistentVolumeClaim), or use an object store (s3://, gs://)"
        )
    if pvc and not directory:
        raise ManifestError(f"--store-pvc needs a directory store, not {url}")
    return Target(namespace, image, url.removeprefix("file://"), secret or DEFAULT_SECRET, context, max_parallel, pvc or "")


def prepare(
    ws: Workspace, plan: Plan, status: Mapping[str, Status], target: Target, run_id: str | None, notes: Notes
) -> RunSpec:
    """Put the code package, the fresh inputs the plan reads and the plan itself in the shared store."""
    from workbench.kube import codepackage, remote
    from workbench.versioning.gitinfo import git_info

    run_id = check_run_id(run_id or uuid.uuid4().hex)  # before anything is uploaded
    settings = read_settings(ws.root)
    store = ArtifactStore(target.store)
    sources = {s.key: s for u in (*plan.to_run, *plan.check_only) for s in remote.source_parents(ws, u)}
    files = codepackage.project_files(ws.root, sources.values(), settings.include)
    sha, archive = codepackage.pack(files, git_info(ws.root, ws.project.config.home))
    try:
        uploaded = codepackage.upload(store, sha, archive)
    except StoreError:
        raise
    except Exception as exc:  # the store's client: no credentials, no such bucket, no network
        raise StoreError(f"cannot write to the store {target.store}: {type(exc).__name__}: {exc}") from exc
    if uploaded:
        notes.note(f"uploaded code package {sha[:12]} ({len(files)} files, {len(archive)} bytes)")
    remote.upload_inputs(ws, plan, status, target.store)
    run = RunSpec(
        run_id,
        plan.to_run,
        target.image,
        target.store,
        target.namespace,
        target.secret,
        code=sha,
        libraries=remote.environment(ws, {split_unit(u)[0] for u in (*plan.to_run, *plan.check_only)}),
        timeout=settings.timeout,
        start_timeout=settings.start_timeout,
        max_parallel=target.max_parallel,
        pvc=target.pvc,
        forced=tuple(u for u in plan.to_run if u in plan.forced),
        check_only=plan.check_only,
        concurrency=settings.concurrency,
        env=declared_env(ws, plan.to_run),
        defaults=settings.defaults,
    )
    for unit in {split_unit(u)[0]: u for u in run.all_units}.values():  # bad k8s= or resources: an error here
        asset_jobs(ws.graph, replace(run, units=(unit,), check_only=()))
    store.write_text(plan_uri(run.sha), run.to_json())
    return run


def declared_env(ws: Workspace, units: tuple[str, ...]) -> dict[str, str]:
    """The laptop's values of the environment variables the planned assets declare with `env=`."""
    names = {name for u in units for name in getattr(ws.graph.nodes[split_unit(u)[0]], "env", ())}
    return {name: os.environ[name] for name in sorted(names) if name in os.environ}


def load_plan(store_url: str, sha: str) -> RunSpec:
    """The plan `plans/<sha>.json` of a shared store, checked against its hash."""
    run = RunSpec.from_json(ArtifactStore(store_url).read_text(plan_uri(sha)))
    if run.sha != sha:
        raise StoreError(f"plan {plan_uri(sha)} in {store_url} does not match its hash")
    return run


def plan_for(
    ws: Workspace, expr: str | None, *, force: bool, only: bool, partitions: str | None
) -> tuple[Plan, dict[str, Status]]:
    """The local plan: what is stale against the local store."""
    status = ws.status()
    return ws.plan(status, expr, force=force, only=only, partitions=partitions), status


def compile_run(
    graph: AssetGraph, run: RunSpec, out: str | Path, annotations: Mapping[str, str] | None = None
) -> list[Path]:
    """Write `rbac.yaml` and `driver.yaml` (what to apply) and `review/NN-<job>.yaml`.

    The review files are the Jobs the driver will create, suspended: applying the whole folder by
    mistake starts nothing (a suspended Job never gets a pod; the driver fails such a unit after
    the start timeout instead of waiting for it).
    """
    files: dict[str, list[dict[str, Any]]] = {"rbac.yaml": rbac(run.namespace, annotations), "driver.yaml": [driver_job(run)]}
    for n, job in enumerate(asset_jobs(graph, run), start=1):
        job["spec"]["suspend"] = True
        files[f"review/{n:02d}-{job['metadata']['name']}.yaml"] = [job]
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
    notes: Notes,
) -> int:
    """Submit the stale part of `expr` (or re-attach to run `run_id`); with `wait`, follow it to the end."""
    from workbench.kube import remote

    cluster = Cluster.connect(target.namespace, target.context)
    run = existing_run(cluster, check_run_id(run_id), notes) if run_id else None
    if run is None:
        if ArtifactStore(target.store).reachable():  # a new store has nothing to import (and is checked on upload)
            remote.sync(ws, target.store)  # the plan must see what earlier remote runs produced
        plan, status = plan_for(ws, expr, force=force, only=only, partitions=partitions)
        if plan.empty:
            notes.note(f"nothing to push: {len(plan.fresh)} asset(s) fresh")
            return 0
        PlainReporter().planned(plan)
        annotations = read_settings(ws.root).service_account_annotations
        created = cluster.ensure(rbac(target.namespace, annotations))  # the API is asked before the store is written to
        if created:
            notes.note(f"created {', '.join(created)} in namespace {target.namespace}")
        run = submit(prepare(ws, plan, status, target, run_id, notes), cluster, notes)
    remote.remember_store(ws, run.store)
    if not wait:
        context = f" --context {target.context}" if target.context else ""
        notes.note(
            f"run {run.run_id}: {len(run.all_units)} unit(s) in namespace {run.namespace}\n"
            f"  follow it: wb push --run-id {run.run_id} --namespace {run.namespace}{context} --wait\n"
            f"  import its results when it is done: wb sync"
        )
        return 0
    result = follow(cluster, ws.graph, ws.partition_keys, run, PlainReporter())
    report = remote.sync(ws, run.store)
    notes.result(replace(result, errors={**result.errors, **_record_errors(ws, run.run_id, result.failed)}))
    notes.note(f"synced {report.indexed} record(s) from {run.store}")
    return 0 if result.ok else 1


def _record_errors(ws: Workspace, run_id: str, units: tuple[str, ...]) -> dict[str, str]:
    """The errors the failed units' records hold (a Job only knows that its pod failed)."""
    errors = {}
    for unit in units:
        last = next(iter(ws.metadata.history(*split_unit(unit), limit=1)), None)
        if last is not None and last.run_id == run_id:
            errors[unit] = last.error or "a blocking check failed (see: wb status)"
    return errors


def existing_run(cluster: Cluster, run_id: str, notes: Notes) -> RunSpec | None:
    """The run whose driver Job has this run id's name, if there is one, with its plan from the store."""
    name = driver_name(run_id)
    job = cluster.read("Job", name)
    if job is None:
        return None
    annotation = (job["metadata"].get("annotations") or {}).get(RUN_ANNOTATION)
    if annotation is None:
        raise ManifestError(f"Job {name} exists but was not created by workbench")
    ref = RunRef.from_json(annotation)
    if ref.run_id != run_id:
        raise ManifestError(f"Job {name} belongs to run {ref.run_id!r}, not {run_id!r}")
    notes.note(f"run {run_id} exists: attaching to it")
    return load_plan(ref.store, ref.plan)


def submit(run: RunSpec, cluster: Cluster, notes: Notes) -> RunSpec:
    """Create the run's driver Job (the plan and code are in the store already).

    If the driver Job exists already (409), the run that Job carries is returned.
    """
    if cluster.create(driver_job(run)) is not None:
        notes.note(f"submitted run {run.run_id} (driver Job {driver_name(run.run_id)})")
        return run
    existing = existing_run(cluster, run.run_id, notes)
    if existing is None:
        conflict = "the API reported a conflict (HTTP 409) but the Job does not exist"
        raise KubeError(f"creating Job {driver_name(run.run_id)} failed: {conflict}")
    return existing


def follow(cluster: Cluster, graph: AssetGraph, keys: PartitionKeys, run: RunSpec, reporter: Reporter) -> Result:
    """Report the run's progress from its Jobs until every unit is settled; Ctrl-C deletes the run.

    It returns once the driver has ended too (it writes the records of failures that left none). A
    driver that ended (or was deleted) while units are left unsettled is an error; so is a driver
    pod that cannot start within the run's start timeout (the run is deleted then).
    """
    progress = Progress(graph, keys, run, LogReporter(reporter, cluster, run))
    driver, ended, synced = driver_name(run.run_id), None, False
    starts, interval, looked = StartWatch(run.start_timeout), min(10.0, max(0.5, run.start_timeout / 4)), 0.0
    try:
        for event, job in cluster.job_events(selector(run.run_id), tick=interval):
            if event == SYNCED:
                synced = True
            elif event == TICK:
                pass
            elif job["metadata"]["name"] != driver:
                progress.update(event, job)
            elif event == "DELETED":
                ended = "was deleted"
            elif job_state(job) in (SUCCEEDED, FAILED):
                ended = " ".join(filter(None, (job_state(job), job_failure(job) and f"({job_failure(job)})")))
            if progress.done and ended:
                break  # the driver has written every record it had to: sync may start
            if synced and ended and not progress.done:
                raise KubeError(f"the driver of run {run.run_id} {ended}{_last_log_line(cluster, driver)}")
            if synced and not ended and not progress.started and time.monotonic() - looked >= interval:
                looked = time.monotonic()
                stuck = starts.stuck([driver], cluster.pods(f"job-name={driver}"), looked).get(driver)
                if stuck:
                    deleted = cancel(cluster, run)
                    raise KubeError(
                        f"the driver of run {run.run_id} cannot start: {stuck}; deleted {deleted} Job(s)"
                    )
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
    """Delete the driver first (so it creates nothing more), then the run's other Jobs; how many there were.

    The garbage collector deletes the Jobs the driver owns; deleting them here too does not wait for it.
    """
    jobs, _ = cluster.jobs(selector(run.run_id))
    names = [j["metadata"]["name"] for j in jobs]
    driver = driver_name(run.run_id)
    cluster.delete_jobs([driver])
    cluster.delete_jobs([n for n in names if n != driver])
    return len(names)


def run_driver(run_id: str, store_url: str, plan_sha: str, notes: Notes) -> int:
    """The in-cluster half of `wb push`: fetch the plan and the code, apply the plan with the pod's account.

    Exit 0: every unit materialized; 1: a unit failed; 2: the plan cannot run here (another
    image's libraries, an unknown asset) or the API refused a call for good; 3: the API failed
    for now, so Kubernetes starts a new driver pod, which resumes the run.
    """
    from workbench.kube import remote

    run = load_plan(store_url, plan_sha)
    if run.run_id != run_id:
        raise ManifestError(f"plan {plan_sha[:12]} is for run {run.run_id!r}, not {run_id!r}")
    ws = remote.workspace_from_package(store_url, run.code)
    for unit in run.all_units:
        remote.check_unit(ws, *split_unit(unit))
    keys = {split_unit(u)[0] for u in run.all_units}
    mismatch = remote.environment_mismatch(run.libraries, remote.environment(ws, keys))
    if mismatch:
        raise SelectionError(f"the image {run.image} does not match the laptop: {mismatch}")
    return drive(ws, run, notes)


def drive(ws: Workspace, run: RunSpec, notes: Notes) -> int:
    """Apply `run` from inside the cluster with the pod's account, to the end (see `run_driver`)."""
    from workbench.kube import remote

    def record_failure(unit: str, error: str) -> None:
        remote.record_failure(ws, run.store, run.run_id, unit, error)

    try:
        cluster = Cluster.connect(run.namespace, in_cluster=True)
        driver = Driver(cluster, ws.graph, ws.partition_keys, run, PlainReporter(sys.stderr), record_failure)
        result = driver.run_to_end()
    except RunAborted as exc:
        notes.note(f"error: {exc} (the run is stopped: its unfinished Jobs were deleted)")
        return 2
    except KubeError as exc:
        if not exc.transient:
            raise
        notes.note(f"error: {exc} (a new driver pod will resume the run)")
        return DRIVER_RETRY_CODE
    notes.result(result)
    return 0 if result.ok else 1
