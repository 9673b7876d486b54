"""`wb lineage [SEL] --format mermaid|dot`: the graph with states, through the real CLI."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.conftest import run_wb
from tests.integration.test_cli_staleness import PIPELINE, edit, materialize

# PIPELINE: raw -> numbers -> doubled -> total; independent


@pytest.fixture
def project(make_project):  # type: ignore[no-untyped-def]
    return make_project({"pipeline.py": PIPELINE, "data/raw.txt": "1 2 3\n"})


def test_a_keys_lineage_as_mermaid_with_states(project: Path) -> None:
    assert materialize(project)[0] == 0
    edit(project / "pipeline.py", "return [helper(n) for n in numbers]", "return [helper(n) + 1 for n in numbers]")
    out = run_wb(project, "lineage", "doubled", "--format", "mermaid")
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    assert lines[0] == "flowchart LR" and "independent" not in out.stdout  # only doubled's lineage
    nodes = [re.fullmatch(r'\s+(n\d+)\[\(?"(.) (\w+)"\)?\]', line) for line in lines]
    named = {m[3]: m[1] for m in nodes if m}
    assert set(named) == {"raw", "numbers", "doubled", "total"}
    assert f"    {named['numbers']} --> {named['doubled']}" in lines and f"    {named['doubled']} --> {named['total']}" in lines
    assert "✔ numbers" in out.stdout and "↻ doubled" in out.stdout and "↻ total" in out.stdout
    assert f"    class {named['doubled']},{named['total']} stale" in lines


def test_a_selection_as_dot_and_bad_input(project: Path) -> None:
    out = run_wb(project, "lineage", "group:prep", "--format", "dot")
    assert out.returncode == 0, out.stderr
    assert out.stdout.startswith("digraph workbench {") and '"numbers" -> "doubled";' in out.stdout
    assert '"total"' not in out.stdout and "○ doubled" in out.stdout  # never materialized: missing
    whole = run_wb(project, "lineage", "--format", "dot")
    assert whole.returncode == 0 and all(f'"{k}" [' for k in ("raw", "numbers", "doubled", "total", "independent"))
    for args in (["nope", "--format", "dot"], ["total@latest", "--format", "mermaid"], ["total", "--format", "dot", "--json"], []):
        bad = run_wb(project, "lineage", *args)
        assert bad.returncode == 2 and bad.stderr.strip() and "Traceback" not in bad.stderr, (args, bad.stderr)
