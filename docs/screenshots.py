"""Regenerate the README's TUI screenshots (docs/tui-*.svg) from a copy of the default project.

    .venv/bin/python docs/screenshots.py

Copies assets/ and its data to a temporary git repository, materializes it (species_model twice,
so History has two rows, and the Run tab a whole run), then drives `wb tui` with Pilot at 120x32 (and 80x24 for tui-80x24.svg),
saving one SVG per screen.
"""

from __future__ import annotations

import asyncio
import shutil
import subprocess
import tempfile
from collections.abc import Sequence
from pathlib import Path

from workbench.project import find_project
from workbench.tui.app import WorkbenchApp
from workbench.tui.graph_view import GraphView
from workbench.workspace import Workspace

REPO = Path(__file__).resolve().parent.parent
DOCS = REPO / "docs"
SHOTS: dict[str, tuple[tuple[int, int], str, Sequence[str]]] = {
    # name: (size, focused asset, keys pressed)
    "tui-graph": ((120, 32), "species_model", ()),
    "tui-history": ((120, 32), "species_model", ("2",)),
    "tui-lineage": ((120, 32), "report", ("3",)),
    "tui-preview": ((120, 32), "penguin_features", ("4",)),
    "tui-run": ((120, 32), "species_model", ("6",)),
    "tui-dim": ((120, 32), "test_set", ("f",)),
    "tui-list": ((120, 32), "species_model", ("v",)),
    "tui-help": ((120, 32), "species_model", ("question_mark",)),
    "tui-80x24": ((80, 24), "species_model", ()),
}


def project(root: Path) -> Path:
    root.mkdir()
    shutil.copytree(REPO / "assets", root / "assets", ignore=shutil.ignore_patterns("__pycache__"))
    (root / "samples" / "data").mkdir(parents=True)
    shutil.copy(REPO / "samples" / "data" / "penguins.csv", root / "samples" / "data")
    (root / "pyproject.toml").write_text('[tool.workbench]\nmodules = ["assets"]\n')
    for args in (["init", "-q"], ["add", "-A"], ["-c", "user.name=wb", "-c", "user.email=wb@example.com", "commit", "-qm", "init"]):
        subprocess.run(["git", *args], cwd=root, check=True)
    ws = Workspace.open(root)
    assert ws.materialize("+species_model").ok and ws.materialize(force=True).ok
    return root


async def shoot(root: Path, name: str, size: tuple[int, int], focus: str, keys: Sequence[str]) -> None:
    app = WorkbenchApp(find_project(root))
    async with app.run_test(size=size) as pilot:
        while app.scene is None or any(w.is_running for w in app.workers):
            await pilot.pause(0.1)
        app.query_one(GraphView).cursor = focus
        await pilot.press(*keys)
        await app.workers.wait_for_complete()
        await pilot.pause(0.5)  # the detail pane's debounce and the load it starts
        await app.workers.wait_for_complete()
        await pilot.pause(0.2)
        app.save_screenshot(filename=f"{name}.svg", path=str(DOCS))


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        root = project(Path(tmp) / "penguins")
        for name, (size, focus, keys) in SHOTS.items():
            asyncio.run(shoot(root, name, size, focus, keys))
            print(f"docs/{name}.svg")


if __name__ == "__main__":
    main()
