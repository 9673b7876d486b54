"""The default project end to end, as the README's first command runs it."""

from __future__ import annotations

import json
from pathlib import Path

from tests.conftest import run_wb


def test_default_project_materializes_then_is_fresh(default_project: Path) -> None:
    first = run_wb(default_project, "materialize", "--json")
    assert first.returncode == 0, first.stderr
    doc = json.loads(first.stdout)
    assert sorted(doc["materialized"]) == sorted(
        ["penguins", "penguin_features", "train_set", "test_set", "species_model", "evaluation", "report"]
    )
    again = run_wb(default_project, "materialize")
    assert again.returncode == 0 and "everything is fresh" in again.stderr
    rows = json.loads(run_wb(default_project, "status", "--json").stdout)
    assert {r["state"] for r in rows} == {"fresh"}
    assert {r["key"]: r["kind"] for r in rows}["raw_penguins"] == "source"

    shown = run_wb(default_project, "show", "penguin_features")
    assert shown.returncode == 0 and "bill_ratio" in shown.stdout and "rows" in shown.stdout
    evaluation = run_wb(default_project, "show", "evaluation")
    assert "metric accuracy" in evaluation.stdout
    history = json.loads(run_wb(default_project, "history", "evaluation", "--json").stdout)
    assert history[0]["metrics"]["accuracy"] > 0.9
    assert history[0]["trigger"] == "cli" and history[0]["status"] == "success"
    report = run_wb(default_project, "show", "report")
    assert "Penguin species classifier" in report.stdout

    tree = json.loads(run_wb(default_project, "lineage", "report@latest", "--json").stdout)
    assert tree["key"] == "report"
    inputs = {i["key"]: i for i in tree["inputs"]}
    assert set(inputs) == {"evaluation", "penguins"}
    assert inputs["penguins"]["inputs"][0]["key"] == "raw_penguins"
    graph = json.loads(run_wb(default_project, "lineage", "penguins", "--json").stdout)
    assert graph["upstream"] == ["raw_penguins"] and "report" in graph["downstream"]


def test_model_log_is_captured(default_project: Path) -> None:
    assert run_wb(default_project, "materialize", "species_model", "--json").returncode == 0
    history = json.loads(run_wb(default_project, "history", "species_model", "--json").stdout)
    assert "trained on" in history[0]["log"]
    assert history[0]["serializer"] == "pickle"
