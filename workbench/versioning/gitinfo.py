"""The git commit and dirty flag a run records (None outside a git repository).

Workbench's own store is not the user's uncommitted work: changes under it never make a version
dirty, and a new store gets a `.gitignore` of its own so that git does not list it at all.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True, slots=True)
class GitInfo:
    commit: str | None
    dirty: bool | None


def git_info(path: Path, store: Path | None = None) -> GitInfo:
    """The commit checked out at `path` and whether anything but `store` differs from it."""
    try:
        import git
    except ImportError:  # pragma: no cover - gitpython is a dependency; git binary may be absent
        return GitInfo(None, None)
    try:
        repo = git.Repo(path, search_parent_directories=True)
        try:
            commit = repo.head.commit.hexsha
            lines = repo.git.status("--porcelain", "--untracked-files=normal").splitlines()
            top = Path(repo.working_tree_dir or path).resolve()
            return GitInfo(commit, any(not _inside(top / _status_path(line), store) for line in lines))
        finally:
            repo.close()
    except (git.InvalidGitRepositoryError, git.NoSuchPathError, git.GitCommandError, ValueError):
        return GitInfo(None, None)


def ignore_in_git(store: Path) -> None:
    """Give a store folder a `.gitignore` that ignores everything in it (as pytest and mypy do)."""
    marker = store / ".gitignore"
    if not marker.exists():
        store.mkdir(parents=True, exist_ok=True)
        marker.write_text("# created by workbench: the store is not source\n*\n", encoding="utf-8")


def _status_path(line: str) -> str:
    """The path of one `git status --porcelain` line (the new name of a rename), unquoted."""
    path = line[3:].split(" -> ")[-1]
    return path[1:-1].encode().decode("unicode_escape") if path.startswith('"') else path


def _inside(path: Path, store: Path | None) -> bool:
    if store is None:
        return False
    inner, outer = os.path.normpath(path), os.path.normpath(store.resolve())
    return inner == outer or inner.startswith(outer + os.sep)
