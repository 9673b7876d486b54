"""The samples pushed to the API-server double with the store on S3: each ends as fresh as a local run.

k8s (resources, node selectors, a GPU), training (checkpoints, params, step metrics), etl (daily
partitions, checks) and tracking (a grid sweep).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import run_wb
from tests.kube.conftest import IMAGE, Cluster
from tests.samples.test_samples import copy_sample


def asset_states(project: Path) -> dict[str, str]:
    done = run_wb(project, "status", "--json")
    assert done.returncode == 0, done.stderr
    return {row["key"]: row["state"] for row in json.loads(done.stdout) if row["kind"] == "asset"}


@pytest.mark.parametrize("name", ["k8s", "training", "etl", "tracking"])
def test_a_sample_pushed_is_fresh_after_sync(name: str, cluster: Cluster, shared: str, tmp_path: Path) -> None:
    project = copy_sample(name, tmp_path)
    done = run_wb(project, "push", "--image", IMAGE, "--store", shared, "--wait", timeout=300)
    assert done.returncode == 0, done.stderr
    states = asset_states(project)
    assert states and set(states.values()) == {"fresh"}, states
    again = run_wb(project, "push", "--image", IMAGE, "--store", shared)
    assert again.returncode == 0 and "nothing to push" in again.stderr
