"""`workbench.materialize` shows its progress in a Jupyter notebook (a real kernel) and on a terminal,
and stays quiet in scripts whose stderr is a file or a pipe."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tests.conftest import wb_env

PIPELINE = """
from workbench import asset

@asset
def first() -> dict:
    return {"v": 1}

@asset
def second(first: dict) -> dict:
    return {"v": first["v"] + 1}
"""


def _run_notebook(project: Path, *cells: str) -> list[list[dict[str, Any]]]:
    """Execute `cells` in a fresh IPython kernel in `project`; the outputs of each cell."""
    import nbclient
    import nbformat

    new_cell: Callable[[str], Any] = nbformat.v4.new_code_cell
    nb = nbformat.v4.new_notebook(cells=[new_cell(source) for source in cells])  # type: ignore[no-untyped-call]
    nbclient.NotebookClient(nb, kernel_name="python3", timeout=120).execute(cwd=str(project))
    return [[dict(output) for output in cell.outputs] for cell in nb.cells]


def _html(outputs: list[dict[str, Any]]) -> str:
    return "".join(o["data"].get("text/html", "") for o in outputs if o["output_type"] == "display_data")


def test_progress_shows_in_a_notebook(make_project: Callable[..., Path]) -> None:
    project = make_project({"pipeline.py": PIPELINE})
    shown, quiet, fresh = _run_notebook(
        project,
        "import workbench\nprint(sorted(workbench.materialize('first').materialized))",
        "print(sorted(workbench.materialize(progress=False).materialized))",
        "print(workbench.materialize().materialized)",
    )
    assert "materialized</span> first" in _html(shown)  # a line per asset, rendered as HTML by rich
    assert {"output_type": "stream", "name": "stdout", "text": "['first']\n"} in shown
    assert [o["output_type"] for o in shown if o["output_type"] != "display_data"] == ["stream"]  # no warning
    assert quiet == [{"output_type": "stream", "name": "stdout", "text": "['second']\n"}]
    assert _html(fresh) == ""  # nothing to run: nothing drawn


def test_progress_follows_stderr_in_a_script(make_project: Callable[..., Path]) -> None:
    project = make_project({"pipeline.py": PIPELINE})
    script = "import sys, workbench\nworkbench.materialize('first', force=True, progress={})\n"

    def stderr_of(progress: str) -> str:
        run = [sys.executable, "-c", script.format(progress)]
        done = subprocess.run(run, cwd=project, env=wb_env(), capture_output=True, text=True, timeout=120, check=True)
        return done.stderr

    assert stderr_of("None") == ""  # a pipe: quiet by default
    assert "materialized first" in stderr_of("True").replace("  ", " ")  # asked for: lines, no bar
