"""The human `wb status` table: aligned plain columns, a long `why` kept whole in a pipe."""

from __future__ import annotations

from pathlib import Path

from tests.conftest import run_wb, write_files

PARENTS = 30


def test_status_table_keeps_long_reasons_whole_and_aligned(tmp_path: Path) -> None:
    body = ["from workbench import asset", ""]
    for i in range(PARENTS):
        body += ["@asset", f"def parent_{i}() -> int:", f"    return {i}", ""]
    args = ", ".join(f"parent_{i}: int" for i in range(PARENTS))
    body += ["@asset", f"def child({args}) -> int:", "    return 0", ""]
    write_files(tmp_path, {"pyproject.toml": '[tool.workbench]\nmodules = ["pipeline"]\n', "pipeline.py": "\n".join(body)})

    out = run_wb(tmp_path, "status")

    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    assert lines[0].split() == ["asset", "state", "why", "data", "version", "materialized"]
    reasons = "; ".join(["missing", *(f"upstream parent_{i} stale" for i in range(PARENTS))])
    child = next(line for line in lines if line.startswith("child "))
    assert child.split(None, 2)[2] == reasons  # one line, far wider than the 200 columns of the pipe
    state_column = lines[0].index("state")
    assert all(line[state_column:].startswith("missing") for line in lines[1:-1])
    assert lines[-1] == f"{PARENTS + 1} nodes: {PARENTS + 1} missing"
