"""What `wb watch` observes and which changes matter: ignore patterns, relevance, watched folders.

Decisions over path strings, free of watchdog, so they are unit-tested without an observer.
Every path here is absolute; source locations may hold glob patterns (`data/**/*.csv`).
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass
from fnmatch import fnmatchcase
from itertools import takewhile
from pathlib import Path

from workbench.errors import ProjectError
from workbench.project import ProjectConfig, is_project_file, workbench_table
from workbench.versioning.sources import GLOB_CHARS

DEFAULT_IGNORE = (
    ".git", ".hg", ".svn", ".workbench", "__pycache__", ".venv", ".mypy_cache", ".pytest_cache",
    ".ruff_cache", ".ipynb_checkpoints", ".DS_Store",
    "*.swp", "*.swo", "*.swx", "*~", ".#*", "#*#", "4913", "*.tmp",  # editors' swap, backup and probe files
)  # fmt: skip


def watch_ignore(config: ProjectConfig) -> tuple[str, ...]:
    """The defaults plus `[tool.workbench] watch_ignore = [...]` from the project's pyproject.toml."""
    pyproject = config.root / "pyproject.toml"
    extra = (workbench_table(pyproject) or {}).get("watch_ignore", [])
    if not isinstance(extra, list) or not all(isinstance(p, str) and p for p in extra):
        raise ProjectError(f"{pyproject}: [tool.workbench] watch_ignore must be a list of glob patterns")
    return DEFAULT_IGNORE + tuple(extra)


def _under(path: str, folder: str) -> bool:
    return path == folder or path.startswith(folder.rstrip(os.sep) + os.sep)


def _anchor(location: str) -> str:
    """The folders of a location before its first glob character (the location itself if none)."""
    static = takewhile(lambda part: not GLOB_CHARS.intersection(part), location.split(os.sep))
    return os.sep.join(static) or os.sep


def _glob_match(path: str, pattern: str) -> bool:
    """`fnmatch` with `**/` also matching no folder; `*` may cross folders (errs on the side of a pass)."""
    return fnmatchcase(path, pattern) or fnmatchcase(path, pattern.replace(f"**{os.sep}", ""))


@dataclass(frozen=True, slots=True)
class PathRules:
    """Which changed paths start a pass: project code and source files, minus ignored ones."""

    root: str
    home: str
    sources: tuple[str, ...] = ()  # absolute source locations; globs allowed
    ignore: tuple[str, ...] = DEFAULT_IGNORE

    @classmethod
    def of(cls, config: ProjectConfig, sources: Iterable[str] = ()) -> PathRules:
        """Rules for a project whose sources have the given (root-relative) paths."""
        root = str(config.root)
        locations = tuple(os.path.normpath(os.path.join(root, s)) for s in sources)
        return cls(root, str(config.home), locations, watch_ignore(config))

    def ignored(self, path: str) -> bool:
        """Inside the store, or a path component (or the root-relative path) matches an ignore pattern."""
        if _under(path, self.home):
            return True
        rel = os.path.relpath(path, self.root) if _under(path, self.root) else os.path.basename(path)
        parts = rel.split(os.sep)
        prefixes = [os.sep.join(parts[: i + 1]) for i in range(len(parts))]
        for pattern in self.ignore:
            candidates = prefixes if "/" in pattern else parts
            if any(fnmatchcase(c, pattern) for c in candidates):
                return True
        return False

    def relevant(self, path: str, is_dir: bool) -> bool:
        """A Python file or pyproject.toml of the project, or a file or folder a source stands for."""
        if self.ignored(path):
            return False
        if not is_dir and (path.endswith(".py") and is_project_file(path, Path(self.root))):
            return True
        if path == os.path.join(self.root, "pyproject.toml"):
            return True
        return any(self._touches(path, is_dir, location) for location in self.sources)

    @staticmethod
    def _touches(path: str, is_dir: bool, location: str) -> bool:
        anchor = _anchor(location)
        if is_dir:  # a folder appearing, vanishing or moving on the way to (or inside) a source
            return _under(path, anchor) or _under(anchor, path)
        if anchor != location:
            return _glob_match(path, location)
        return _under(path, location)


def watch_targets(root: Path, code: Iterable[Path], packages: Iterable[Path], sources: Iterable[str]) -> dict[Path, bool]:
    """Folders to observe, each mapped to `recursive`.

    The root (for top-level modules and pyproject.toml) and the folder of every project module file
    in `code`, shallowly; project packages recursively; each source's folder (recursively for a
    folder source or a glob that spans folders). A folder that does not exist yet is replaced by its
    nearest existing parent, watched shallowly: its creation starts a pass, which looks again.
    """
    wanted: dict[Path, bool] = {root: False}

    def want(folder: Path, recursive: bool) -> None:
        while not folder.is_dir() and folder != folder.parent:
            folder, recursive = folder.parent, False
        wanted[folder] = wanted.get(folder, False) or recursive

    for file in code:
        want(file.parent, False)
    for package in packages:
        want(package, True)
    for location in sources:
        anchor = _anchor(location)
        if anchor != location:
            rest = location[len(anchor) :].strip(os.sep)
            want(Path(anchor), os.sep in rest or "**" in rest)
        elif os.path.isdir(location):
            want(Path(location), True)
        else:
            want(Path(location).parent, False)
    deep = [f for f, recursive in wanted.items() if recursive]
    return {f: r for f, r in wanted.items() if not any(d != f and f.is_relative_to(d) for d in deep)}
