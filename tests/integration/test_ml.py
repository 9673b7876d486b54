"""Params, step metrics, run search and grid sweeps, through the real CLI and API in temp projects."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from tests.conftest import run_wb

TRAIN = """
from workbench import Output, asset, log_metric

@asset(params={"lr": 0.01, "depth": 6})
def model(context) -> dict:
    lr = context.params["lr"]
    for step in range(4):
        log_metric("loss", 1.0 / (step + 1) + lr, step=step)
    return Output({"lr": lr, "depth": context.params["depth"]}, metrics={"accuracy": 0.5 + lr})

@asset
def report(model: dict) -> dict:
    return {"seen": model["lr"]}
"""

SWEEP = """
from workbench import Grid, Output, asset

@asset(params={"lr": 0.01, "depth": 6, "seed": 1}, partitions=Grid(lr=[0.01, 0.03, 0.1], depth=[4, 6]))
def model(context) -> dict:
    p = context.params
    return Output(dict(p), metrics={"accuracy": round(1 - abs(p["lr"] - 0.03) - abs(p["depth"] - 6) / 10, 4)})

@asset
def best(model: dict, context) -> dict:
    top = max(context.upstream["model"].values(), key=lambda u: u.metrics["accuracy"])
    assert model[top.partition] == top.params
    return {"partition": top.partition, "params": dict(top.params), "cells": len(model)}
"""


def _json(project: Path, *args: str) -> object:
    out = run_wb(project, *args, "--json")
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)


def test_params_are_recorded_versioned_and_compared(make_project: Callable[..., Path]) -> None:
    project = make_project({"pipeline.py": TRAIN})
    assert run_wb(project, "materialize").returncode == 0
    [first] = _json(project, "history", "model")
    assert first["params"] == {"lr": 0.01, "depth": 6}
    assert first["series"]["loss"] == [[0, 1.01], [1, 0.51], [2, 1 / 3 + 0.01], [3, 0.26]]
    assert first["metrics"]["loss"] == 0.26  # the last step's value

    # a one-off variant: recorded as such, a different code version, and the declared asset is stale again
    variant = run_wb(project, "materialize", "model", "--param", "lr=0.03")
    assert variant.returncode == 0, variant.stderr
    second, _ = _json(project, "history", "model")
    assert second["params"] == {"lr": 0.03, "depth": 6} and second["metadata"]["variant"] == {"lr": 0.03}
    assert second["code_version"] != first["code_version"]
    states = {row["key"]: row for row in _json(project, "status")}  # type: ignore[union-attr]
    assert states["model"]["reasons"] == ["code changed"]

    diff = run_wb(project, "diff", "model@latest~1", "model@latest")
    assert "param     lr 0.01 -> 0.03" in diff.stdout and "depth" not in diff.stdout
    assert {"name": "lr", "a": 0.01, "b": 0.03} in _json(project, "diff", "model@latest~1", "model@latest")["params"]  # type: ignore[index]
    show = run_wb(project, "show", "model").stdout
    assert "param  lr = 0.03 (variant)" in show and "param  depth = 6" in show
    table = run_wb(project, "history", "model", "--metric", "loss").stdout
    assert "cli variant" in table and "loss by step" in table and "█▃▂▁" in table

    # declaring the variant's params makes the variant the asset's current version: nothing reruns
    (project / "pipeline.py").write_text((project / "pipeline.py").read_text().replace('"lr": 0.01', '"lr": 0.03'))
    assert _json(project, "status")[0]["state"] == "fresh"  # type: ignore[index]
    # and back to the declared 0.01: the first version is restored, not rerun
    (project / "pipeline.py").write_text((project / "pipeline.py").read_text().replace('"lr": 0.03', '"lr": 0.01'))
    assert run_wb(project, "materialize", "model").returncode == 0
    latest = _json(project, "history", "model")[0]  # type: ignore[index]
    assert latest["reused_from"] == first["id"] and latest["params"] == {"lr": 0.01, "depth": 6}


def test_bad_params_are_refused_with_exit_2(make_project: Callable[..., Path]) -> None:
    project = make_project({"pipeline.py": TRAIN})
    out = run_wb(project, "materialize", "model", "--param", "momentum=0.9")
    assert out.returncode == 2 and "no selected asset declares it (declared: depth, lr)" in out.stderr
    assert run_wb(project, "materialize", "model", "--param", "lr").returncode == 2
    bad = make_project({"pipeline.py": "from workbench import asset\n\n@asset(params={'f': object()})\ndef a() -> int:\n    return 1\n"})
    out = run_wb(bad, "status")
    assert out.returncode == 2 and "params= values must be JSON" in out.stderr and "Traceback" not in out.stderr


def test_history_searches_a_selection_sorted_by_a_metric(make_project: Callable[..., Path]) -> None:
    import workbench

    project = make_project({"pipeline.py": TRAIN})
    for lr in ("0.01", "0.2", "0.05"):
        assert run_wb(project, "materialize", "--param", f"lr={lr}", "model").returncode == 0
    assert run_wb(project, "materialize", "report").returncode == 0
    frame = workbench.history(project=project)
    assert frame.columns[:7] == ["key", "partition", "data_version", "code_version", "status", "materialized_at", "git_commit"]
    assert {"params.lr", "params.depth", "metrics.accuracy", "metrics.loss"} <= set(frame.columns)
    assert sorted(frame["key"].to_list()) == ["model"] * 4 + ["report"]
    models = frame.filter(key="model").sort("metrics.accuracy", descending=True)
    assert models["params.lr"].to_list() == [0.2, 0.05, 0.01, 0.01]

    out = run_wb(project, "history", "model", "report", "--sort", "accuracy", "--desc", "--limit", "2")
    lines = [line for line in out.stdout.splitlines() if line.startswith("model") or line.startswith("report")]
    assert out.returncode == 0 and len(lines) == 2 and "0.2 " in lines[0] and "0.05" in lines[1]
    rows = _json(project, "history", "model", "--sort", "accuracy", "--limit", "1")
    assert [r["params"]["lr"] for r in rows] == [0.01]  # type: ignore[index]
    assert run_wb(project, "history", "model", "--sort", "nope").returncode == 2


def test_a_grid_sweep_runs_six_cells_and_the_downstream_picks_the_best(make_project: Callable[..., Path]) -> None:
    project = make_project({"pipeline.py": SWEEP})
    out = run_wb(project, "materialize")
    assert out.returncode == 0, out.stderr
    cells = _json(project, "history", "model")
    assert len(cells) == 6 and {c["partition"] for c in cells} >= {"lr=0.03:depth=6", "lr=0.1:depth=4"}  # type: ignore[union-attr]
    for cell in cells:  # type: ignore[union-attr]
        lr, depth = (json.loads(part.split("=")[1]) for part in cell["partition"].split(":"))
        assert cell["params"] == {"lr": lr, "depth": depth, "seed": 1}
    [best] = _json(project, "history", "best")  # type: ignore[misc]
    shown = json.loads(run_wb(project, "show", "best").stdout.split("\n", 1)[1])
    assert shown == {"partition": "lr=0.03:depth=6", "params": {"lr": 0.03, "depth": 6, "seed": 1}, "cells": 6}

    alias = run_wb(project, "alias", "set", "model@best:accuracy", "champion")
    assert alias.returncode == 0, alias.stderr
    winner = next(c for c in cells if c["partition"] == "lr=0.03:depth=6")  # type: ignore[union-attr]
    assert alias.stdout.strip() == f"model@champion -> {winner['data_version']}"
    worst = run_wb(project, "alias", "set", "model@best:-accuracy", "worst").stdout
    assert next(c for c in cells if c["partition"] == "lr=0.1:depth=4")["data_version"] in worst  # type: ignore[union-attr]
    missing = run_wb(project, "alias", "set", "model@best:f1", "x")
    assert missing.returncode == 2 and "has metric 'f1'" in missing.stderr
    assert run_wb(project, "materialize").stderr.startswith("everything is fresh")


def test_materialize_can_raise_on_failure(make_project: Callable[..., Path]) -> None:
    import pytest

    import workbench
    from workbench.errors import AssetFailedError

    project = make_project({"pipeline.py": """
        from workbench import asset

        @asset
        def broken() -> int:
            raise ValueError("no data today")

        @asset
        def after(broken: int) -> int:
            return broken
    """})
    assert not workbench.materialize(project=project).ok  # the default returns the failed result
    with pytest.raises(AssetFailedError, match="broken: ValueError: no data today; after: skipped, upstream broken failed"):
        workbench.materialize(project=project, raise_on_failure=True)


REPRO = """
import random
from workbench import asset, source

raw = source("raw", path="data/in.csv")

@asset(params={"k": 2})
def doubled(raw: bytes, context) -> bytes:
    return raw * context.params["k"]

@asset
def model(doubled: bytes) -> dict:
    return {"n": len(doubled)}

@asset
def noisy(doubled: bytes) -> dict:
    return {"r": random.random()}
"""


def _git(project: Path, *args: str) -> None:
    import subprocess

    identity = ["-c", "user.email=wb@example.com", "-c", "user.name=wb"]
    subprocess.run(["git", *identity, *args], cwd=project, check=True, capture_output=True)


def test_reproduce_reruns_a_version_at_its_commit(make_project: Callable[..., Path]) -> None:
    project = make_project({"pipeline.py": REPRO, "data/in.csv": "a,b\n1,2\n"})
    assert run_wb(project, "reproduce", "model").returncode == 2  # nothing recorded yet
    _git(project, "init", "-q")
    _git(project, "add", "-A")
    _git(project, "commit", "-qm", "first")
    assert run_wb(project, "materialize").returncode == 0
    assert run_wb(project, "materialize", "doubled", "--param", "k=3").returncode == 0
    recorded = _json(project, "history", "model")[0]  # type: ignore[index]

    # later commits change the code and the data: the version is still rerun from its own commit
    (project / "pipeline.py").write_text(REPRO.replace("len(doubled)", "len(doubled) + 1"))
    (project / "data" / "in.csv").write_text("a,b\n3,4\n5,6\n")
    _git(project, "commit", "-qam", "second")

    out = run_wb(project, "reproduce", "model@latest")
    assert out.returncode == 0, out.stderr
    assert f"reproduced: data version {recorded['data_version'][:12]} matches" in out.stdout
    doc = _json(project, "reproduce", "model")
    assert doc["matches"] is True and doc["notes"] == [] and doc["git_commit"] == recorded["git_commit"]  # type: ignore[index]
    variant = _json(project, "reproduce", "doubled")  # the --param k=3 run, rerun with k=3
    assert variant["matches"] is True and variant["reproduced"]["code_version"] == variant["recorded"]["code_version"]  # type: ignore[index]

    noisy = run_wb(project, "reproduce", "noisy")  # not deterministic: reported, exit 1
    assert noisy.returncode == 1 and "not reproduced" in noisy.stdout
    assert not any(line.strip() for line in _git_out(project, "worktree", "list").splitlines()[1:])  # cleaned up
    assert _json(project, "history", "model")[0]["id"] == recorded["id"]  # type: ignore[index]  # nothing recorded


def test_reproduce_applies_the_stored_patch_of_a_dirty_version(make_project: Callable[..., Path]) -> None:
    project = make_project({"pipeline.py": REPRO, "data/in.csv": "a,b\n1,2\n"})
    _git(project, "init", "-q")
    _git(project, "add", "-A")
    _git(project, "commit", "-qm", "first")
    # uncommitted: an edit of a tracked file and a new, untracked module it imports
    (project / "helper.py").write_text("def bump(n: int) -> int:\n    return n + 100\n")
    (project / "pipeline.py").write_text(
        REPRO.replace('return {"n": len(doubled)}', 'from helper import bump\n    return {"n": bump(len(doubled))}')
    )
    before = _git_out(project, "status", "--porcelain")
    assert run_wb(project, "materialize").returncode == 0
    assert _git_out(project, "status", "--porcelain") == before  # the user's index is not touched
    recorded = _json(project, "history", "model")[0]  # type: ignore[index]
    assert recorded["git_dirty"] is True and recorded["git_patch"].endswith(".patch")  # type: ignore[index]
    assert "with uncommitted changes (kept as a patch)" in run_wb(project, "show", "model").stdout

    # the edits are thrown away: the version is rerun from its commit plus its patch
    _git(project, "checkout", "--", "pipeline.py")
    (project / "helper.py").unlink()
    doc = _json(project, "reproduce", "model@latest")
    assert doc["matches"] is True and doc["notes"] == [], doc  # type: ignore[index]
    assert doc["reproduced"]["code_version"] == recorded["code_version"]  # type: ignore[index]
    clean = run_wb(project, "materialize", "model", "--force", "--json")  # a clean tree stores no patch
    assert clean.returncode == 0 and _json(project, "history", "model")[0]["git_patch"] is None  # type: ignore[index]


def _git_out(project: Path, *args: str) -> str:
    import subprocess

    return subprocess.run(["git", *args], cwd=project, check=True, capture_output=True, text=True).stdout
