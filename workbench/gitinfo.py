"""The git commit and dirty flag a run records (None outside a git repository)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True, slots=True)
class GitInfo:
    commit: str | None
    dirty: bool | None


def git_info(path: Path) -> GitInfo:
    try:
        import git
    except ImportError:  # pragma: no cover - gitpython is a dependency; git binary may be absent
        return GitInfo(None, None)
    try:
        repo = git.Repo(path, search_parent_directories=True)
        try:
            return GitInfo(repo.head.commit.hexsha, repo.is_dirty(untracked_files=True))
        finally:
            repo.close()
    except (git.InvalidGitRepositoryError, git.NoSuchPathError, git.GitCommandError, ValueError):
        return GitInfo(None, None)
