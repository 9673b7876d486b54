"""Applying a frozen plan on a cluster: one Job per asset, created as its parents succeed.

`Progress` turns the run's Job events into outcomes (materialized, failed, blocked) and says which
units became ready; the in-cluster driver (`drive`) creates their Jobs, and `wb push --wait`
uses the same bookkeeping to report progress. A failure blocks only its downstream.
"""

from __future__ import annotations

import time
from typing import Any

from workbench.executor import Result
from workbench.graph import AssetGraph
from workbench.kube.client import DELETED, FAILED, SUCCEEDED, SYNCED, Cluster, job_failure, job_state
from workbench.kube.manifests import RunSpec, asset_job, job_name, selector
from workbench.partitions import split_unit
from workbench.reporting import BLOCKED, MATERIALIZED, Reporter
from workbench.reporting import FAILED as OUT_FAILED
from workbench.spec import AssetSpec
from workbench.units import PartitionKeys, unit_parents


class Progress:
    """What happened to each unit (asset, or partition of one) of a run, judged from its Jobs' events."""

    def __init__(self, graph: AssetGraph, keys: PartitionKeys, run: RunSpec, reporter: Reporter) -> None:
        self.run, self.reporter = run, reporter
        in_plan = set(run.units)
        parents = {u: [p for p in unit_parents(graph, keys, *split_unit(u)) if p in in_plan] for u in run.units}
        self.children: dict[str, list[str]] = {u: [] for u in run.units}
        for unit, ps in parents.items():
            for parent in ps:
                self.children[parent].append(unit)
        self.waiting = {u: len(ps) for u, ps in parents.items()}
        self.by_name = {job_name(run.run_id, u): u for u in run.units}
        self.started: dict[str, float] = {}
        self.outcome: dict[str, str] = {}
        self.errors: dict[str, str] = {}
        self.blocked: dict[str, str] = {}

    @property
    def roots(self) -> list[str]:
        return [u for u in self.run.units if self.waiting[u] == 0]

    @property
    def done(self) -> bool:
        return len(self.outcome) == len(self.run.units)

    def update(self, event: str, job: dict[str, Any]) -> list[str]:
        """Take one Job event; returns the units whose parents have now all succeeded."""
        unit = self.by_name.get(job["metadata"]["name"])
        if unit is None or unit in self.outcome:
            return []
        if unit not in self.started:
            self.started[unit] = time.monotonic()
            self.reporter.started(unit)
        state = DELETED if event == "DELETED" else job_state(job)
        if state == SUCCEEDED:
            self._settle(unit, MATERIALIZED)
            ready = []
            for child in self.children[unit]:
                self.waiting[child] -= 1
                if self.waiting[child] == 0:
                    ready.append(child)
            return ready
        if state in (FAILED, DELETED):
            self.errors[unit] = job_failure(job) or f"Job {job['metadata']['name']} was {state}"
            self._settle(unit, OUT_FAILED, self.errors[unit])
            self._block_below(unit)
        return []

    def _block_below(self, failed: str) -> None:
        """Settle every unit downstream of `failed` as blocked: it will never run."""
        stack = list(self.children[failed])
        while stack:
            unit = stack.pop()
            if unit not in self.outcome:
                self.blocked[unit] = failed
                self._settle(unit, BLOCKED, f"upstream {failed} failed")
                stack.extend(self.children[unit])

    def _settle(self, unit: str, outcome: str, detail: str = "") -> None:
        self.outcome[unit] = outcome
        seconds = time.monotonic() - self.started[unit] if unit in self.started else 0.0
        self.reporter.finished(unit, outcome, seconds, detail)

    def result(self) -> Result:
        units, outcome = self.run.units, self.outcome
        return Result(
            run_id=self.run.run_id,
            materialized=tuple(u for u in units if outcome.get(u) == MATERIALIZED),
            skipped=tuple(u for u in units if outcome.get(u) == BLOCKED),
            failed=tuple(u for u in units if outcome.get(u) == OUT_FAILED),
            blocked=dict(self.blocked),
            errors=dict(self.errors),
        )


def drive(cluster: Cluster, graph: AssetGraph, keys: PartitionKeys, run: RunSpec, reporter: Reporter) -> Result:
    """Create each unit's Job once its parents succeeded; wait until every unit is settled.

    Creating is idempotent (an existing Job of the same name is adopted), so a restarted driver
    picks the run up where the previous one stopped.
    """
    progress = Progress(graph, keys, run, reporter)

    def submit(units: list[str]) -> None:
        for unit in units:
            key, partition = split_unit(unit)
            spec = graph.nodes[key]
            assert isinstance(spec, AssetSpec)
            cluster.create(asset_job(spec, run, partition))

    submit(progress.roots)
    if not progress.done:
        for event, job in cluster.job_events(selector(run.run_id)):
            if event != SYNCED:
                submit(progress.update(event, job))
            if progress.done:
                break
    reporter.closed()
    return progress.result()
