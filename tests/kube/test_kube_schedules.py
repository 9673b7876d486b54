"""Schedules on the cluster: CronJobs that validate against the Kubernetes schema and run on the double.

The double has no CronJob controller: `ApiServer.fire` does what it does at a tick (a Job from the
CronJob's template, owned by it). The pod then plans the tick and drives it as `wb push` would.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml

from tests.conftest import run_wb
from tests.kube.conftest import IMAGE, Cluster
from workbench.kube.cronjobs import cron_name

K8S_VERSION = "1.30"
PIPELINE = """
from workbench import DailyPartitions, Schedule, asset, source

raw = source("raw", path="data/raw.txt")


@asset
def numbers(raw) -> list:
    return [int(v) for v in raw.read_text().split()]


@asset(schedule=Schedule("10 0 * * *", timezone="UTC"), partitions=DailyPartitions(start="2026-11-01"))
def daily(numbers: list, partition: str) -> dict:
    return {"day": partition, "total": sum(numbers)}


@asset(schedule=Schedule("0 6 * * *", timezone="Europe/Paris"))
def orders(numbers: list) -> dict:
    return {"n": len(numbers)}
"""


@pytest.fixture
def scheduled(make_project: Callable[..., Path]) -> Path:
    return make_project({"pipeline.py": PIPELINE, "data/raw.txt": "1 2 3\n"})


def documents(folder: Path) -> dict[str, list[dict[str, Any]]]:
    return {p.name: list(yaml.safe_load_all(p.read_text())) for p in sorted(folder.glob("*.yaml"))}


def test_compiled_cron_jobs_validate_strictly(scheduled: Path, shared: str, tmp_path: Path) -> None:
    out = tmp_path / "k8s"
    done = run_wb(scheduled, "compile", "--automation", "-o", str(out), "--image", IMAGE, "--store", shared)
    assert done.returncode == 0, done.stderr
    docs = documents(out)
    assert set(docs) == {"rbac.yaml", "cronjobs.yaml"}
    crons = {c["metadata"]["annotations"]["workbench.dev/asset"]: c for c in docs["cronjobs.yaml"]}
    assert set(crons) == {"daily", "orders"}
    for doc in [*docs["rbac.yaml"], *docs["cronjobs.yaml"]]:
        kubernetes_validate.validate(doc, K8S_VERSION, strict=True)
    spec = crons["orders"]["spec"]
    assert (spec["schedule"], spec["timeZone"], spec["concurrencyPolicy"]) == ("0 6 * * *", "Europe/Paris", "Forbid")
    assert spec["startingDeadlineSeconds"] > 0 and spec["successfulJobsHistoryLimit"] == spec["failedJobsHistoryLimit"] == 3
    pod = spec["jobTemplate"]["spec"]["template"]["spec"]
    assert pod["serviceAccountName"] == "workbench-driver" and pod["containers"][0]["args"][:3] == ["push", "--tick", "orders"]
    assert len(crons["daily"]["metadata"]["name"]) <= 52
    nothing = run_wb(scheduled, "compile", "--automation", "numbers", "-o", str(out), "--image", IMAGE, "--store", shared)
    assert nothing.returncode == 2 and "no selected asset has a schedule" in nothing.stderr


def test_a_fired_cron_job_runs_the_partition_that_just_closed(scheduled: Path, cluster: Cluster, shared: str) -> None:
    done = run_wb(scheduled, "push", "--schedule", "--image", IMAGE, "--store", shared)
    assert done.returncode == 0, done.stderr
    assert f"CronJob/{cron_name('daily')} created" in done.stderr
    assert cluster.server.get("cronjobs", "default", cron_name("orders")) is not None
    again = run_wb(scheduled, "push", "--schedule", "--image", IMAGE, "--store", shared)
    assert f"CronJob/{cron_name('daily')} updated" in again.stderr, again.stderr

    job = cluster.server.fire(cron_name("daily"))
    finished = cluster.wait_for(job, timeout=120)
    assert finished["status"]["conditions"][0]["type"] == "Complete", finished
    now = datetime.now(timezone.utc)
    tick_day = now.date() if (now.hour, now.minute) >= (0, 10) else now.date() - timedelta(days=1)
    closed = (tick_day - timedelta(days=1)).isoformat()
    assert run_wb(scheduled, "sync", "--store", shared).returncode == 0
    history = json.loads(run_wb(scheduled, "history", "daily", "--json").stdout)
    assert [(r["partition"], r["trigger"], r["status"]) for r in history] == [(closed, "push", "success")]
    assert json.loads(run_wb(scheduled, "history", "numbers", "--json").stdout)[0]["trigger"] == "push"
    assert json.loads(run_wb(scheduled, "history", "orders", "--json").stdout) == []
