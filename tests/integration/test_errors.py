"""Errors are never swallowed: each becomes a failed asset or one clear line with a documented exit code."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from tests.conftest import run_wb

SERIALIZERS = """
import datetime
from workbench import asset

WHEN = datetime.datetime(2026, 1, 1)


@asset(io="json")
def chosen() -> dict:
    return {"when": WHEN}


@asset
def guessed() -> dict:
    return {"when": WHEN}
"""


def test_an_explicit_json_output_that_json_cannot_hold_fails_the_asset(make_project) -> None:  # type: ignore[no-untyped-def]
    project = make_project({"pipeline.py": SERIALIZERS})
    out = run_wb(project, "materialize", "--json")
    assert out.returncode == 1, out.stderr
    result = json.loads(out.stdout)
    assert result["failed"] == ["chosen"] and result["materialized"] == ["guessed"]  # no io=: pickled, as documented
    assert "SerializationError: io='json' cannot hold this dict" in result["errors"]["chosen"]
    assert "datetime is not JSON serializable" in result["errors"]["chosen"]
    assert "choose io='pickle'" in result["errors"]["chosen"]
    states = {r["key"]: r["state"] for r in json.loads(run_wb(project, "status", "--json").stdout)}
    assert states == {"chosen": "failed", "guessed": "fresh"}
    assert len(list((project / ".workbench" / "artifacts" / "objects").rglob("*.pkl"))) == 1  # guessed's only


SMALL = """
from workbench import asset


@asset(group="prep", tags={"domain": "sales"})
def a() -> dict:
    return {"a": 1}


@asset
def b(a: dict) -> dict:
    return {"b": a["a"]}
"""


def one_line(stderr: str, *parts: str) -> None:
    assert len(stderr.strip().splitlines()) == 1 and "Traceback" not in stderr, stderr
    for part in parts:
        assert part in stderr, stderr


@pytest.mark.parametrize(
    "args",
    [
        ("materialize", "group:nosuch"),
        ("materialize", "tag:domain=nosuch"),
        ("materialize", "--dry-run", "key:zz*"),
        ("status", "tag:nosuch"),
        ("watch", "group:nosuch"),
    ],
)
def test_a_selection_that_matches_nothing_is_bad_input(make_project, args: tuple[str, ...]) -> None:  # type: ignore[no-untyped-def]
    project = make_project({"pipeline.py": SMALL})
    out = run_wb(project, *args)
    assert out.returncode == 2, out.stdout + out.stderr
    one_line(out.stderr, f"error: the selection {args[-1]!r} matched no asset")
    assert not [p for p in ("records", "logs") if (project / ".workbench" / "artifacts" / p).exists()]  # nothing ran


def test_a_store_error_in_a_worker_exits_3(make_project) -> None:  # type: ignore[no-untyped-def]
    project = make_project({"pipeline.py": SMALL})
    logs = project / ".workbench" / "artifacts" / "logs"
    logs.parent.mkdir(parents=True)
    logs.write_text("not a folder")  # the run's record log cannot be made
    out = run_wb(project, "materialize", "a")
    assert out.returncode == 3, out.stderr
    assert out.stderr.strip().splitlines()[-1].startswith("error: cannot create the run log"), out.stderr


def test_an_internal_error_exits_4_with_one_line(make_project, monkeypatch, capsys) -> None:  # type: ignore[no-untyped-def]
    from workbench import cli
    from workbench.cli import main
    from workbench.workspace import Workspace

    monkeypatch.setattr(cli, "_debug", False)  # restored after the test: --debug below sets it for the process
    project = make_project({"pipeline.py": SMALL})

    def bug(self: Workspace) -> None:
        raise RuntimeError("a bug")

    monkeypatch.setattr(Workspace, "status", bug)
    with pytest.raises(SystemExit) as exit:
        main(["status", "-p", str(project)])
    assert exit.value.code == 4
    one_line(capsys.readouterr().err, "internal error: RuntimeError: a bug", "--debug")
    with pytest.raises(RuntimeError, match="a bug"):  # --debug: the traceback itself
        main(["status", "--debug", "-p", str(project)])


def test_a_store_url_without_its_driver_names_the_extra(make_project) -> None:  # type: ignore[no-untyped-def]
    project = make_project({"pipeline.py": SMALL})
    hide_s3fs = "import sys; sys.modules['s3fs'] = None; from workbench.cli import main; main()"
    out = subprocess.run(
        [sys.executable, "-c", hide_s3fs, "sync", "--store", "s3://bucket/runs"],
        cwd=project, capture_output=True, text=True, timeout=120,
    )
    assert out.returncode == 2, out.stderr
    one_line(out.stderr, 'pip install "workbench[s3]"', "s3://bucket/runs")
