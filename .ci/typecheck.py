"""`mypy --strict` on the package as it is installed: `workbench/`, with `storage/` and `tui/` in
place as `workbench.storage` and `workbench.tui` (setuptools' package-dir mapping in pyproject.toml).

mypy names modules after folders, so it is run on a tree of symlinks under `build/typecheck/` that
has the installed layout; its messages name files by their paths in that tree
(`build/typecheck/workbench/storage/metadata.py` is `storage/metadata.py`).
Run: `.venv/bin/python .ci/typecheck.py`; the mypy settings are `[tool.mypy]` in pyproject.toml.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TREE = ROOT / "build" / "typecheck"


def assemble() -> Path:
    """The package's installed layout as symlinks to the repository's files; returns its top folder."""
    folders: dict[str, str] = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["package-dir"]
    top = TREE / "workbench"
    shutil.rmtree(top, ignore_errors=True)
    top.mkdir(parents=True)
    for entry in (ROOT / folders["workbench"]).iterdir():
        if entry.name != "__pycache__":
            (top / entry.name).symlink_to(entry)
    for package, folder in folders.items():
        if package != "workbench":
            (top.parent / package.replace(".", "/")).symlink_to(ROOT / folder)
    return top


def main() -> int:
    top = assemble()
    cache = TREE / ".mypy_cache"
    return subprocess.call([sys.executable, "-m", "mypy", "--cache-dir", str(cache), str(top.relative_to(ROOT))], cwd=ROOT)


if __name__ == "__main__":
    sys.exit(main())
