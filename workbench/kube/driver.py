"""Applying a frozen plan on a cluster: one Job per asset, created as its parents succeed.

`Progress` turns the run's Job events into outcomes (materialized, failed, blocked) and says which
units became ready; the in-cluster driver (`Driver`) creates their Jobs, and `wb push --wait`
uses the same bookkeeping to report progress. A failure blocks only its downstream.

Nothing hangs: every Job has a deadline, and a pod that cannot start (its image cannot be pulled,
a Secret is missing, no node fits) fails its unit with that reason after the run's start timeout.
Failures that leave no record of their own (a pod that never started, OOMKilled, evicted, past its
deadline) get one from the driver, so `wb status` shows them after `wb sync`.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from typing import Any

from workbench.core.graph import AssetGraph
from workbench.core.partitions import split_unit
from workbench.core.spec import AssetSpec
from workbench.core.units import PartitionKeys, unit_parents
from workbench.errors import KubeError, RunAborted
from workbench.kube.client import DELETED, FAILED, SUCCEEDED, SYNCED, TICK, Cluster, job_failure, job_state
from workbench.kube.manifests import ASSET_FAILED, RunSpec, asset_job, driver_name, job_name, owned_by, selector
from workbench.run.executor import Result
from workbench.run.reporting import BLOCKED, FRESH, MATERIALIZED, Reporter
from workbench.run.reporting import FAILED as OUT_FAILED

# Waiting reasons of a container that will not start by itself (restartPolicy: Never).
STUCK = frozenset(
    {"ErrImagePull", "ImagePullBackOff", "InvalidImageName", "CreateContainerConfigError", "CreateContainerError"}
)
NO_POD = "NoPod"


def pod_waiting(pod: Mapping[str, Any]) -> tuple[str, str] | None:
    """(reason, message) of a pending pod that cannot start on its own: unschedulable, or stuck in a waiting state."""
    status = pod.get("status") or {}
    if status.get("phase", "Pending") != "Pending":
        return None
    for condition in status.get("conditions") or []:
        if condition.get("type") == "PodScheduled" and condition.get("status") == "False":
            if condition.get("reason") == "Unschedulable":
                return "Unschedulable", str(condition.get("message") or "")
    for container in status.get("containerStatuses") or []:
        waiting = (container.get("state") or {}).get("waiting") or {}
        if waiting.get("reason") in STUCK:
            return str(waiting["reason"]), str(waiting.get("message") or "")
    return None


def pod_failure(pod: Mapping[str, Any]) -> tuple[str, int | None]:
    """Why a pod ended, and its exit code: `OOMKilled ...`, `Evicted: ...`, `Error (exit code 3)`."""
    status = pod.get("status") or {}
    if status.get("reason"):  # the pod as a whole: Evicted, DeadlineExceeded...
        return f"{status['reason']}: {status.get('message') or ''}".rstrip(": "), None
    for container in status.get("containerStatuses") or []:
        ended = (container.get("state") or {}).get("terminated") or {}
        if ended:
            code = ended.get("exitCode")
            reason = ended.get("reason") or "Error"
            what = "the container exceeded its memory limit, " if reason == "OOMKilled" else ""
            return f"{reason}: {what}exit code {code}", code
    return "", None


def allowed(
    tags: Mapping[str, str], running: list[Mapping[str, str]], max_parallel: int, limits: Mapping[str, int]
) -> bool:
    """Whether a unit with `tags` may start while units with the `running` tags run.

    A limit's key is a tag name (any value) or `name=value`.
    """
    if max_parallel and len(running) >= max_parallel:
        return False

    def tagged(unit: Mapping[str, str], key: str) -> bool:
        name, _, value = key.partition("=")
        return name in unit and (not value or str(unit[name]) == value)

    return not any(tagged(tags, key) and sum(tagged(r, key) for r in running) >= n for key, n in limits.items())


def _explain(reason: str, message: str) -> str:
    return f"{reason}: {message}" if message else reason


class Progress:
    """What happened to each unit (asset, or partition of one) of a run, judged from its Jobs' events."""

    def __init__(self, graph: AssetGraph, keys: PartitionKeys, run: RunSpec, reporter: Reporter) -> None:
        self.run, self.reporter = run, reporter
        units = run.all_units
        in_plan, self.checking = set(units), set(run.check_only)
        parents = {u: [p for p in unit_parents(graph, keys, *split_unit(u)) if p in in_plan] for u in units}
        self.children: dict[str, list[str]] = {u: [] for u in units}
        for unit, ps in parents.items():
            for parent in ps:
                self.children[parent].append(unit)
        self.waiting = {u: len(ps) for u, ps in parents.items()}
        self.by_name = {job_name(run.run_id, u): u for u in units}
        self.started: dict[str, float] = {}
        self.outcome: dict[str, str] = {}
        self.errors: dict[str, str] = {}
        self.blocked: dict[str, str] = {}

    @property
    def roots(self) -> list[str]:
        return [u for u in self.run.all_units if self.waiting[u] == 0]

    @property
    def done(self) -> bool:
        return len(self.outcome) == len(self.by_name)

    def unit_of(self, job: Mapping[str, Any]) -> str | None:
        """The unsettled unit a Job runs, if it is one of this run's."""
        unit = self.by_name.get(job["metadata"]["name"])
        return unit if unit is not None and unit not in self.outcome else None

    def update(self, event: str, job: dict[str, Any], reason: str = "") -> list[str]:
        """Take one Job event; returns the units whose parents have now all succeeded."""
        unit = self.unit_of(job)
        if unit is None:
            return []
        if unit not in self.started:
            self.started[unit] = time.monotonic()
            self.reporter.started(unit)
            self.reporter.flush()  # events come one at a time here: show each at once
        state = DELETED if event == "DELETED" else job_state(job)
        if state == SUCCEEDED:
            self._settle(unit, FRESH if unit in self.checking else MATERIALIZED)  # checked: its checks passed
            ready = []
            for child in self.children[unit]:
                self.waiting[child] -= 1
                if self.waiting[child] == 0:
                    ready.append(child)
            return ready
        if state in (FAILED, DELETED):
            self.fail(unit, reason or job_failure(job) or f"Job {job['metadata']['name']} was {state}")
        return []

    def fail(self, unit: str, error: str) -> None:
        """Settle `unit` as failed and everything below it as blocked."""
        if unit in self.outcome:
            return
        self.errors[unit] = error
        self._settle(unit, OUT_FAILED, error)
        stack = list(self.children[unit])
        while stack:
            below = stack.pop()
            if below not in self.outcome:
                self.blocked[below] = unit
                self._settle(below, BLOCKED, f"upstream {unit} failed")
                stack.extend(self.children[below])

    def _settle(self, unit: str, outcome: str, detail: str = "") -> None:
        self.outcome[unit] = outcome
        seconds = time.monotonic() - self.started[unit] if unit in self.started else 0.0
        self.reporter.finished(unit, outcome, seconds, detail)
        self.reporter.flush()

    def result(self) -> Result:
        units, outcome = self.run.all_units, self.outcome
        return Result(
            run_id=self.run.run_id,
            materialized=tuple(u for u in units if outcome.get(u) == MATERIALIZED),
            skipped=tuple(u for u in units if outcome.get(u) in (BLOCKED, FRESH)),
            failed=tuple(u for u in units if outcome.get(u) == OUT_FAILED),
            blocked=dict(self.blocked),
            errors=dict(self.errors),
        )


class StartWatch:
    """Which Jobs have had a pod that cannot start (or no pod at all) for longer than `limit` seconds."""

    def __init__(self, limit: float) -> None:
        self.limit = limit
        self.since: dict[str, float] = {}  # job -> when it was first seen not starting

    def stuck(self, jobs: list[str], pods: list[dict[str, Any]], now: float) -> dict[str, str]:
        """Job -> reason, for the `jobs` that are past the limit."""
        by_job: dict[str, list[dict[str, Any]]] = {}
        for pod in pods:
            by_job.setdefault((pod["metadata"].get("labels") or {}).get("job-name", ""), []).append(pod)
        out = {}
        for job in jobs:
            found = by_job.get(job, [])
            waiting = [w for w in map(pod_waiting, found) if w is not None]
            if found and len(waiting) < len(found):  # a pod is running or done: not stuck
                self.since.pop(job, None)
                continue
            reason, message = waiting[-1] if waiting else (NO_POD, f"no pod was created for Job {job}")
            first = self.since.setdefault(job, now)
            if now - first >= self.limit:
                out[job] = _explain(reason, f"{message} (not started after {self.limit:g}s)".lstrip())
        return out


class Driver:
    """Creates each unit's Job once its parents succeeded, within the run's limits; waits until all settle.

    Creating is idempotent (an existing Job of the same name is adopted) and the run's Jobs are
    listed before any is created, so a restarted driver picks the run up where the previous one
    stopped. `record_failure(unit, error)` writes the record of a failure the pod could not write.
    """

    def __init__(
        self,
        cluster: Cluster,
        graph: AssetGraph,
        keys: PartitionKeys,
        run: RunSpec,
        reporter: Reporter,
        record_failure: Callable[[str, str], None],
    ) -> None:
        self.cluster, self.graph, self.run = cluster, graph, run
        self.progress = Progress(graph, keys, run, reporter)
        self.record_failure = record_failure
        self.queue: list[str] = []  # ready units not yet created, in plan order
        self.created: set[str] = set()  # units whose Job exists
        self.running: set[str] = set()  # created and not settled
        self.owner: dict[str, Any] | None = None
        self.starts = StartWatch(run.start_timeout)
        self.interval = min(10.0, max(0.5, run.start_timeout / 4))
        self.looked = 0.0

    def run_to_end(self) -> Result:
        self.owner = self.cluster.read("Job", driver_name(self.run.run_id))
        self.queue = self.progress.roots
        synced = False
        try:
            for event, job in self.cluster.job_events(selector(self.run.run_id), tick=self.interval):
                if event == SYNCED:
                    synced = True
                elif event != TICK and (unit := self.progress.unit_of(job)) is not None:
                    self.created.add(unit)
                    self.running.add(unit)
                    self._enqueue(self.progress.update(event, job, self._failure(event, job)))
                    if unit in self.progress.outcome:
                        self.running.discard(unit)
                if synced:
                    self._look_at_pods()
                    self._submit()
                if self.progress.done:
                    break
        except RunAborted:
            self._stop()
            raise
        finally:
            self.progress.reporter.closed()
        return self.progress.result()

    def _enqueue(self, units: list[str]) -> None:
        self.queue.extend(units)

    def _submit(self) -> None:
        """Create the Jobs of ready units, as long as `max_parallel` and the tag limits allow."""
        waiting: list[str] = []
        for n, unit in enumerate(self.queue):
            if unit in self.created or unit in self.progress.outcome:
                continue
            if self.run.max_parallel and len(self.running) >= self.run.max_parallel:
                waiting.extend(self.queue[n:])  # nothing more can start now
                break
            if self.run.concurrency and not self._allowed(unit):
                waiting.append(unit)
                continue
            spec = self.graph.nodes[split_unit(unit)[0]]
            assert isinstance(spec, AssetSpec)
            job = asset_job(spec, self.run, split_unit(unit)[1])
            try:
                self.cluster.create(owned_by(job, self.owner) if self.owner else job)
            except KubeError as exc:
                if exc.transient:
                    raise
                raise RunAborted(str(exc), exc.status) from exc
            self.created.add(unit)
            self.running.add(unit)
        self.queue = waiting

    def _allowed(self, unit: str) -> bool:
        tags = self._tags
        return allowed(tags(unit), [tags(u) for u in self.running], self.run.max_parallel, self.run.concurrency)

    def _tags(self, unit: str) -> Mapping[str, str]:
        return self.graph.nodes[split_unit(unit)[0]].tags

    def _failure(self, event: str, job: dict[str, Any]) -> str:
        """For a failed Job: why, from its condition or its last pod; recorded unless the pod wrote a record."""
        if event == "DELETED" or job_state(job) != FAILED:
            return ""
        unit = self.progress.by_name[job["metadata"]["name"]]
        condition = job_failure(job)
        if condition.startswith("DeadlineExceeded"):
            reason, code = f"{condition} (timeout: {job['spec'].get('activeDeadlineSeconds')}s)", None
        else:
            pods = self.cluster.pods(f"job-name={job['metadata']['name']}")
            ended = sorted((p for p in pods if pod_failure(p)[0]), key=lambda p: p["metadata"].get("creationTimestamp") or "")
            reason, code = pod_failure(ended[-1]) if ended else (condition, None)
        if code != ASSET_FAILED:  # the asset failed (or a blocking check did): its pod wrote the record
            self.record_failure(unit, reason or condition)
        return reason or condition

    def _look_at_pods(self) -> None:
        """Every few seconds: fail the units whose pods cannot start, and delete their Jobs."""
        now = time.monotonic()
        if now - self.looked < self.interval:
            return
        self.looked = now
        running = {job_name(self.run.run_id, u): u for u in self.running}
        if not running:
            return
        stuck = self.starts.stuck(list(running), self.cluster.pods(selector(self.run.run_id)), now)
        for job, reason in stuck.items():
            self.record_failure(running[job], reason)
            self.cluster.delete_jobs([job])
            self.progress.fail(running[job], reason)
            self.running.discard(running[job])

    def _stop(self) -> None:
        """After a refusal: delete the run's unfinished Jobs, so nothing is left running unowned."""
        self.cluster.delete_jobs([job_name(self.run.run_id, u) for u in self.running])
