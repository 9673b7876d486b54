"""A small run stays light: its index write does not import pyarrow (~0.25 s of start-up)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.conftest import wb_env, write_files

PIPELINE = """
from workbench import asset


@asset
def a() -> dict:
    return {"x": 1}


@asset
def b(a: dict) -> dict:
    return {"y": a["x"] + 1}
"""

RUN = """
import sys
from workbench.cli import main
sys.argv = ["wb", "materialize"]
try:
    main()
except SystemExit as exit:
    assert not exit.code, exit.code
print("pyarrow" in sys.modules)
"""


def test_a_small_run_records_without_importing_pyarrow(tmp_path: Path) -> None:
    write_files(tmp_path, {"pyproject.toml": '[tool.workbench]\nmodules = ["pipeline"]\n', "pipeline.py": PIPELINE})

    out = subprocess.run([sys.executable, "-c", RUN], cwd=tmp_path, env=wb_env(), capture_output=True, text=True, timeout=120)

    assert out.returncode == 0, out.stderr
    assert out.stdout.strip().splitlines()[-1] == "False"
    assert "materialized 2" in out.stderr
