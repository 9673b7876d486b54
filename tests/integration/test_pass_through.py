"""A pickled input passed through keeps its data version; one changed in place gets a new one."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from tests.conftest import run_wb

PIPELINE = """
from workbench import asset


class Model:
    def __init__(self):
        self.weights = {"b": 2.0, "a": 1.0}
        self.vocabulary = {f"word{i}" for i in range(50)}  # a set's pickle follows the process's hash seed
        self.fitted = False

    def fit(self):
        self.fitted = True
        return self


@asset
def model() -> object:
    return Model()


@asset
def chosen(model: object) -> object:
    return model  # a pass-through


@asset
def trained(model: object) -> object:
    return model.fit()  # the same object, changed in place


@asset
def report(chosen: object) -> dict:
    return {"fitted": chosen.fitted}
"""


def _versions(root: Path) -> dict[str, str]:
    return {r["key"]: r["data_version"] for r in json.loads(run_wb(root, "status", "--json").stdout)}


def test_pass_through_keeps_the_inputs_version_and_in_place_changes_do_not(make_project: Callable[..., Path]) -> None:
    root = make_project({"pipeline.py": PIPELINE})
    assert run_wb(root, "materialize").returncode == 0
    versions = _versions(root)
    assert versions["chosen"] == versions["model"]  # the same artifact
    assert versions["trained"] != versions["model"]  # fitted in place: stored anew
    trained = run_wb(root, "show", "trained")
    assert trained.returncode == 0
    forced = run_wb(root, "materialize", "chosen", "--force", "--only", "--json")
    assert json.loads(forced.stdout)["materialized"] == ["chosen"]
    assert _versions(root)["chosen"] == versions["chosen"]
    again = json.loads(run_wb(root, "materialize", "--json").stdout)
    assert again["materialized"] == []  # early cutoff: nothing downstream of chosen reruns
