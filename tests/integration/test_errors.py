"""Errors are never swallowed: each becomes a failed asset or one clear line with a documented exit code."""

from __future__ import annotations

import json
from pathlib import Path

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
