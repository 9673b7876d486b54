"""The sample projects in samples/: each materializes from a clean copy, then is a no-op, and shows its feature."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

import workbench
from tests.conftest import REPO, run_wb

SAMPLES = REPO / "samples"


def copy_sample(name: str, tmp_path: Path) -> Path:
    """A private copy of samples/<name>, without any store a local run left behind."""
    root = tmp_path / name
    shutil.copytree(SAMPLES / name, root, ignore=shutil.ignore_patterns(".workbench", "__pycache__"))
    return root


def materialize(project: Path, *args: str, code: int = 0) -> dict[str, Any]:
    out = run_wb(project, "materialize", *args, "--json")
    assert out.returncode == code, out.stderr + out.stdout  # stdout: the JSON document, with the errors
    return json.loads(out.stdout)


def wb_json(project: Path, *args: str) -> Any:
    out = run_wb(project, *args, "--json")
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)


def assert_noop(project: Path) -> None:
    doc = materialize(project)
    assert doc["materialized"] == [] and doc["failed"] == []


def test_etl(tmp_path: Path) -> None:
    project = copy_sample("etl", tmp_path)
    doc = materialize(project)
    assert len(doc["materialized"]) == 21  # the README's count: 7 assets and 14 daily partitions
    marts = {"fct_order_lines", "daily_sales", "category_sales"}
    keys = {m for m in doc["materialized"] if isinstance(m, str)}
    days = [m["partition"] for m in doc["materialized"] if isinstance(m, dict) and m["key"] == "daily_orders"]
    assert keys == {"stg_orders", "stg_products", "stg_customers", *marts, "daily_report"}
    assert days == [f"2026-01-{d:02d}" for d in range(1, 15)]  # one partition per day
    assert {(c["key"], c["check"]) for c in doc["checks"] if c["passed"]} == {("stg_orders", "unique_order_ids"), ("daily_orders", "day_has_orders")}
    assert len(doc["checks"]) == 15  # the blocking check once, the daily one per partition
    assert_noop(project)
    daily = next(r for r in wb_json(project, "status", "daily_orders"))
    assert daily["reasons"] == ["14/14 fresh"] and daily["partitions"][0]["checks"][0]["state"] == "passed"

    assert {r["key"] for r in wb_json(project, "status", "group:marts")} == marts
    assert {r["key"] for r in wb_json(project, "status", "tag:pii=true")} == {"raw_customers", "stg_customers"}
    rows = {key: wb_json(project, "history", key)[0]["rows"] for key in ("stg_orders", "fct_order_lines", "daily_sales")}
    assert rows["fct_order_lines"] == rows["stg_orders"] > 1500  # every order found its product and customer
    assert rows["daily_sales"] == 14
    report = run_wb(project, "show", "daily_report").stdout
    assert "# Daily sales report: 2026-01-14" in report and "## Categories today" in report
    [scheduled] = wb_json(project, "status", "--automation")
    assert (scheduled["key"], scheduled["schedule"], scheduled["due"]) == ("daily_report", "0 7 * * * Europe/Berlin", False)
    assert scheduled["next_tick"] is not None and scheduled["last_run"] is not None

    # Tomorrow's export arrives: only the order side of the graph reruns, and of the days only the new one.
    subprocess.run([sys.executable, "data/generate.py", "--days", "15"], cwd=project, check=True, capture_output=True)
    assert next(r for r in wb_json(project, "status", "daily_orders"))["reasons"] == ["14/15 fresh, 1 missing"]
    doc = materialize(project)
    assert {m for m in doc["materialized"] if isinstance(m, str)} == {"stg_orders", *marts, "daily_report"}
    assert [m for m in doc["materialized"] if isinstance(m, dict)] == [{"key": "daily_orders", "partition": "2026-01-15"}]
    assert len(doc["materialized"]) == 6  # the README's count: 5 assets and the new day's partition
    assert {"stg_products", "stg_customers"} <= {s for s in doc["skipped"] if isinstance(s, str)}
    assert len([s for s in doc["skipped"] if isinstance(s, dict)]) == 14  # the other days: their exports did not change
    assert "# Daily sales report: 2026-01-15" in run_wb(project, "show", "daily_report").stdout


def test_training_crash_then_resume(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    project = copy_sample("training", tmp_path)
    doc = materialize(project)
    assert {m for m in doc["materialized"] if isinstance(m, str)} == {"digits", "train_set", "test_set", "model", "evaluation", "best_cell"}
    cells = [m for m in doc["materialized"] if isinstance(m, dict)]
    assert len(cells) == 6 and {c["key"] for c in cells} == {"sweep"}  # the README's count: 12 units
    assert_noop(project)
    shown = run_wb(project, "show", "best_cell").stdout
    best = json.loads(shown[shown.index("{") :])
    accuracies = {r["partition"]: r["metrics"]["accuracy"] for r in wb_json(project, "history", "sweep")}
    assert best["accuracy"] == round(max(accuracies.values()), 4) and accuracies[best["cell"]] == max(accuracies.values())
    assert [step for step, _ in wb_json(project, "history", "sweep")[0]["series"]["train_loss"]] == [1, 2, 3]
    clean = wb_json(project, "history", "model")[0]
    assert "starting from scratch" in clean["log"] and "epoch 10/10" in clean["log"]
    evaluation = wb_json(project, "history", "evaluation")[0]
    assert evaluation["metrics"]["accuracy"] > 0.9
    assert clean["params"] == {"epochs": 10, "learning_rate": 0.01, "hidden": 64, "batch_size": 64}
    assert [step for step, _ in clean["series"]["train_loss"]] == list(range(1, 11))
    assert "train_loss by step" in run_wb(project, "history", "model", "--metric", "train_loss").stdout

    # Crash at epoch 3 on every attempt (retries=2: the retries resume at 3 and crash again).
    monkeypatch.setenv("WB_SAMPLE_CRASH_AT_EPOCH", "3")
    doc = materialize(project, "model", "--force", code=1)
    assert doc["failed"] == ["model"]
    failed = wb_json(project, "history", "model")[0]
    assert failed["status"] == "failed" and "simulated crash at epoch 3" in failed["error"]
    assert "resuming from checkpoint at epoch 3" in failed["log"]  # the last retry's log
    monkeypatch.delenv("WB_SAMPLE_CRASH_AT_EPOCH")

    # The rerun resumes at epoch 3, not 0, and trains the very same model as the clean run.
    # (--no-reuse: a plain rerun would restore the clean run's stored model, same code and inputs.)
    doc = materialize(project, "--no-reuse")
    assert doc["materialized"] == ["model", "evaluation"]  # the README: evaluation reruns once, identical
    resumed = wb_json(project, "history", "model")[0]
    log = resumed["log"]
    assert log.startswith("resuming from checkpoint at epoch 3: epochs 1-2 already done")
    assert "epoch 1/10" not in log and "epoch 2/10" not in log and "epoch 3/10" in log and "epoch 10/10" in log
    assert resumed["metadata"]["resumed_at_epoch"] == 3
    assert resumed["metrics"]["train_loss"] == clean["metrics"]["train_loss"]
    assert resumed["series"] == clean["series"]  # the epochs before the crash are in the checkpoint's curve
    assert resumed["data_version"] != clean["data_version"]  # the README says why: other bytes, same model
    assert wb_json(project, "history", "evaluation")[0]["data_version"] == evaluation["data_version"]
    assert not list((project / ".workbench" / "checkpoints").rglob("*.pkl"))  # cleared on success
    assert_noop(project)

    # A transient failure (preemption) at epoch 4: the first retry resumes there and succeeds.
    monkeypatch.setenv("WB_SAMPLE_PREEMPT_AT_EPOCH", "4")
    doc = materialize(project, "model", "--force")
    assert doc["materialized"] == ["model"]
    assert wb_json(project, "history", "model")[0]["log"].startswith("resuming from checkpoint at epoch 4")
    monkeypatch.delenv("WB_SAMPLE_PREEMPT_AT_EPOCH")

    # Another learning rate, as a one-off variant; then the declared params' model is restored.
    doc = materialize(project, "model", "--param", "learning_rate=0.003")
    assert doc["materialized"] == ["model"]
    variant = wb_json(project, "history", "model")[0]
    assert variant["params"]["learning_rate"] == 0.003 and variant["metadata"]["variant"] == {"learning_rate": 0.003}
    diff = run_wb(project, "diff", "model@latest~1", "model@latest").stdout
    assert "param     learning_rate 0.01 -> 0.003" in diff
    doc = materialize(project)
    assert doc["materialized"][0] == "model" and wb_json(project, "history", "model")[0]["reused_from"]


def test_k8s_runs_locally_and_declares_cluster_resources(tmp_path: Path) -> None:
    from workbench.project import find_project, load_project

    project = copy_sample("k8s", tmp_path)
    doc = materialize(project)
    assert set(doc["materialized"]) == {"patients", "features", "model", "evaluation", "published_model"}
    assert_noop(project)
    published = wb_json(project, "history", "published_model")[0]
    assert published["metadata"]["r2"] >= published["metadata"]["min_r2"]

    nodes = load_project(find_project(project)).graph.nodes
    gpu = nodes["model"]
    assert gpu.retries == 2
    assert (gpu.resources.gpu, gpu.resources.cpu, gpu.resources.memory) == (1, 4, "16Gi")
    assert gpu.resources.node_selector == {"cloud.google.com/gke-accelerator": "nvidia-tesla-t4"}
    assert list(gpu.resources.tolerations) == [{"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"}]
    for key in ("patients", "features", "evaluation", "published_model"):
        resources = nodes[key].resources
        assert (
            resources.gpu == 0 and resources.memory and resources.node_selector == {"cloud.google.com/gke-nodepool": "cpu-pool"}
        )


def test_k8s_compiles_to_jobs(tmp_path: Path) -> None:
    import yaml

    if "compile" not in run_wb(REPO, "--help").stdout:
        pytest.skip("`wb compile` is not available")
    project = copy_sample("k8s", tmp_path)
    out = run_wb(
        project,
        "compile",
        "-o",
        str(tmp_path / "manifests"),
        "--image",
        "registry.example.com/wb-k8s:1",
        "--store",
        str(tmp_path / "store"),  # compile puts the code package and the plan there
        "--store-pvc",
        "wb-store",
    )
    assert out.returncode == 0, out.stderr
    jobs = {}  # asset key -> pod spec of the Job whose container runs `wb run-asset KEY ...`
    for path in (tmp_path / "manifests").rglob("*.yaml"):  # review/ holds the asset Jobs
        for manifest in yaml.safe_load_all(path.read_text()):
            if manifest and manifest["kind"] == "Job":
                pod = manifest["spec"]["template"]["spec"]
                args = pod["containers"][0].get("args", [])
                if args[:1] == ["run-asset"]:
                    jobs[args[1]] = pod
    assert set(jobs) == {"patients", "features", "model", "evaluation", "published_model"}
    model = jobs["model"]
    assert model["containers"][0]["resources"]["limits"]["nvidia.com/gpu"] == "1"
    assert model["nodeSelector"] == {"cloud.google.com/gke-accelerator": "nvidia-tesla-t4"}
    assert model["tolerations"][0]["key"] == "nvidia.com/gpu"
    assert "nvidia.com/gpu" not in jobs["features"]["containers"][0]["resources"]["limits"]


def test_tracking_compare_and_promote(tmp_path: Path) -> None:
    project = copy_sample("tracking", tmp_path)
    variants = {"model_logreg", "model_logreg_strong_l2", "model_forest", "model_knn"}
    doc = materialize(project)
    cells = [{"key": "forest_sweep", "partition": f"n_estimators={n}:max_depth={d}"} for n in (25, 50, 100) for d in (2, 4)]
    units = {"dataset", "train_set", "test_set", *variants, "leaderboard", "best_model", "best_forest"}
    assert {u for u in doc["materialized"] if isinstance(u, str)} == units
    assert sorted((u for u in doc["materialized"] if isinstance(u, dict)), key=str) == sorted(cells, key=str)
    assert_noop(project)

    # The sweep: six cells with their params; best_forest is the cell with the best F1 (then ROC AUC).
    sweep = workbench.history("forest_sweep", project=project)
    assert sweep.height == 6 and sweep["params.n_estimators"].sort().to_list() == [25, 25, 50, 50, 100, 100]
    top = sweep.sort(["metrics.f1", "metrics.roc_auc"], descending=True).row(0, named=True)
    best = wb_json(project, "history", "best_forest")[0]
    assert best["metadata"]["cell"] == top["partition"] and best["metrics"]["f1"] == top["metrics.f1"]
    assert best["data_version"] == top["data_version"]  # the winning cell's model passed through: its artifact
    assert best["metadata"]["params"] == {"n_estimators": top["params.n_estimators"], "max_depth": top["params.max_depth"]}
    ranked = wb_json(project, "history", "forest_sweep", "--sort", "f1", "--desc", "--limit", "3")
    assert len(ranked) == 3 and ranked[0]["metrics"]["f1"] == top["metrics.f1"]
    for cell in wb_json(project, "history", "forest_sweep"):  # a step metric: F1 every 5 trees, the whole forest's last
        curve = cell["series"]["f1_by_trees"]
        assert [step for step, _ in curve] == list(range(5, cell["params"]["n_estimators"] + 1, 5))
        assert curve[-1][1] == cell["metrics"]["f1"]
    assert "f1_by_trees by step" in run_wb(project, "history", "forest_sweep", "--metric", "f1_by_trees").stdout
    promoted = run_wb(project, "alias", "set", "forest_sweep@best:f1", "champion")
    assert promoted.returncode == 0 and promoted.stdout.strip().endswith(ranked[0]["data_version"])

    status = {r["key"]: r for r in wb_json(project, "status")}
    assert len({status[k]["code_version"] for k in variants}) == 4  # one factory, four code versions
    knn = wb_json(project, "history", "model_knn")[0]
    assert set(knn["metrics"]) == {"accuracy", "f1", "precision", "recall", "roc_auc"}
    assert knn["params"] == {"n_neighbors": 1}
    board = workbench.load("leaderboard", project=project)
    assert {row["model"] for row in board} == variants
    first = wb_json(project, "history", "best_model")[0]
    assert first["metadata"]["variant"] == board[0]["model"] and first["metrics"]["f1"] == board[0]["f1"]
    assert run_wb(project, "alias", "set", "best_model@latest", "champion").returncode == 0

    # A new hyperparameter for one variant: only it, the leaderboard and the registry rerun.
    path = project / "experiments.py"
    path.write_text(
        path.read_text().replace('model_variant("knn", "knn", n_neighbors=1)', 'model_variant("knn", "knn", n_neighbors=9)')
    )
    doc = materialize(project)
    assert doc["materialized"] == ["model_knn", "leaderboard", "best_model"]
    diff = wb_json(project, "diff", "model_knn@latest~1", "model_knn@latest")
    assert diff["code"]["changed"] is True and diff["params"] == [{"name": "n_neighbors", "a": 1, "b": 9}]
    assert {m["name"]: m["delta"] for m in diff["metrics"]}["f1"] > 0

    # The champion stays where it was promoted until it is moved.
    aliases = wb_json(project, "alias", "list", "best_model")
    assert [(a["asset_key"], a["name"], a["data_version"]) for a in aliases] == [
        ("best_model", "champion", first["data_version"])
    ]
    champion = workbench.load("best_model", alias="champion", project=project)
    test_set = workbench.load("test_set", project=project)
    predicted = champion.predict(test_set.drop("benign").to_numpy())
    assert (predicted == test_set["benign"].to_numpy()).mean() == pytest.approx(first["metrics"]["accuracy"])


def test_k8s_readme_cluster_steps_after_the_local_run_need_force(tmp_path: Path) -> None:
    """The README's note: after `wb materialize`, compile plans nothing unless forced."""
    project = copy_sample("k8s", tmp_path)
    materialize(project)
    args = ("compile", "-o", str(tmp_path / "manifests"), "--image", "registry.example.com/wb-k8s:1", "--store", str(tmp_path / "store"), "--store-pvc", "wb-store")
    plain = run_wb(project, *args)
    assert plain.returncode == 0 and "nothing to compile: 5 asset(s) fresh" in plain.stderr
    forced = run_wb(project, *args, "--force")
    assert forced.returncode == 0, forced.stderr
    assert sum("model" in line for line in forced.stdout.splitlines()) >= 1 and "nothing to compile" not in forced.stderr
    assert "add `--force` to steps 3 and 4" in (SAMPLES / "k8s" / "README.md").read_text()
