"""The layers of docs/architecture.md hold: no module imports from a layer above its own.

Every import counts: at module level, inside functions (lazy) and under `TYPE_CHECKING`.
"""

from __future__ import annotations

import ast
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
# (folder or file relative to the repo, its module prefix, its layer), lowest layer first
LAYERS: list[tuple[str, str, int]] = [
    ("workbench/errors.py", "workbench.errors", 0),
    ("workbench/text.py", "workbench.text", 0),
    ("workbench/clock.py", "workbench.clock", 0),
    ("workbench/core", "workbench.core", 1),
    ("storage", "workbench.storage", 2),
    ("workbench/versioning", "workbench.versioning", 2),
    ("workbench/run", "workbench.run", 3),
    ("workbench/project.py", "workbench.project", 3),
    ("workbench/workspace.py", "workbench.workspace", 4),
    ("workbench/ops", "workbench.ops", 4),
    ("workbench/watch", "workbench.watch", 4),
    ("workbench/kube", "workbench.kube", 4),
    ("workbench/present.py", "workbench.present", 5),
    ("workbench/status_cache.py", "workbench.status_cache", 5),
    ("workbench/api.py", "workbench.api", 5),
    ("workbench/__init__.py", "workbench", 5),
    ("workbench/cli", "workbench.cli", 6),
    ("tui", "workbench.tui", 6),
]


def _layer_of_module(name: str) -> int | None:
    best: tuple[int, int] | None = None  # (prefix length, layer)
    for _, prefix, layer in LAYERS:
        if (name == prefix or name.startswith(prefix + ".")) and (best is None or len(prefix) > best[0]):
            best = (len(prefix), layer)
    return best[1] if best else None


def _layer_of_file(path: Path) -> int:
    rel = path.relative_to(REPO).as_posix()
    return max((layer for where, _, layer in LAYERS if rel == where or rel.startswith(where + "/")), default=-1)


def _imported(tree: ast.AST) -> list[tuple[int, str]]:
    found: list[tuple[int, str]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.append((node.lineno, node.module))
            if node.module == "workbench":  # `from workbench import present`: the submodule counts
                found += [(node.lineno, f"workbench.{alias.name}") for alias in node.names]
    return [(line, name) for line, name in found if name == "workbench" or name.startswith("workbench.")]


def _files() -> list[Path]:
    return sorted(p for folder in ("workbench", "storage", "tui") for p in (REPO / folder).rglob("*.py"))


def test_every_module_belongs_to_a_layer() -> None:
    assert [p.relative_to(REPO).as_posix() for p in _files() if _layer_of_file(p) < 0] == []


def test_no_module_imports_from_a_layer_above_its_own() -> None:
    upward = []
    for path in _files():
        own = _layer_of_file(path)
        for line, name in _imported(ast.parse(path.read_text(encoding="utf-8"))):
            target = _layer_of_module(name)
            if name != "workbench" and target is not None and target > own:
                upward.append(f"{path.relative_to(REPO)}:{line} imports {name}")
    assert upward == []


def test_the_core_imports_no_io_library() -> None:
    """The pure core: no file system, process, network or database modules."""
    io = {"os", "subprocess", "shutil", "socket", "duckdb", "fsspec", "sqlmodel", "watchdog", "git", "kubernetes", "textual"}
    found = []
    for path in sorted((REPO / "workbench" / "core").glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else (
                [node.module] if isinstance(node, ast.ImportFrom) and node.module else [])  # fmt: skip
            found += [f"{path.name}: {n}" for n in names if n.split(".")[0] in io]
    assert found == []
