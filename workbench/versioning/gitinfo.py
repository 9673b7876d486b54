"""The git commit and dirty flag a run records (None outside a git repository), and the patch of
the uncommitted changes of a dirty tree.

Workbench's own store is not the user's uncommitted work: changes under it never make a version
dirty, never enter the patch, and a new store gets a `.gitignore` of its own so that git does not
list it at all.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

MAX_PATCH = 64 * 2**20  # a larger patch is not stored
MAX_UNTRACKED = 2**20  # an untracked file larger than this is left out of the patch (data: declare a source)


@dataclass(frozen=True, slots=True)
class GitInfo:
    commit: str | None
    dirty: bool | None
    patch: str | None = None  # the artifact uri of the uncommitted changes, when dirty


def git_info(path: Path, store: Path | None = None) -> GitInfo:
    """The commit checked out at `path` and whether anything but `store` differs from it, read with
    GitPython (its `git status`); outside a git work tree nothing is imported or run."""
    top = _work_tree(path)
    if top is None:
        return GitInfo(None, None)
    import git

    try:
        repo = git.Repo(top)
        try:
            commit = repo.head.commit.hexsha
            out = repo.git.status("--porcelain", "-z", "--untracked-files=normal", strip_newline_in_stdout=False)
        finally:
            repo.close()
    except (git.InvalidGitRepositoryError, git.NoSuchPathError, git.GitCommandError, ValueError, OSError):
        return GitInfo(None, None)  # not a repository git accepts, no commit yet, or no git binary
    return GitInfo(commit, any(not _inside(top / name, store) for name in _changed(out)))


def _work_tree(path: Path) -> Path | None:
    """The top of the git work tree holding `path` (where `.git`, a folder or a file, is), if any."""
    here = path.resolve()
    for folder in (here, *here.parents):
        if (folder / ".git").exists():
            return folder
    return None


def _changed(out: str) -> list[str]:
    """The paths `git status --porcelain -z` lists (unquoted; the new name of a rename or copy)."""
    names: list[str] = []
    fields = iter(out.split("\0"))
    for entry in fields:
        if len(entry) > 3:
            names.append(entry[3:])
            if entry[0] in "RC":
                next(fields, None)  # the name it had before
    return names


def uncommitted_patch(path: Path, store: Path | None = None) -> bytes | None:
    """A binary patch from HEAD to the working tree at `path`, untracked files up to
    `MAX_UNTRACKED` included and the store left out (`git apply --binary` at HEAD's checkout
    recreates the tree); None when git fails or the patch exceeds `MAX_PATCH`.

    It is made with a copy of the index, so the user's index (what they staged) is not touched, and
    with explicit options, so that the user's git configuration cannot change its bytes.
    """
    try:
        top = Path(_git(path, "rev-parse", "--show-toplevel").decode().strip()).resolve()
        index = Path(_git(path, "rev-parse", "--absolute-git-dir").decode().strip()) / "index"
        with tempfile.TemporaryDirectory(prefix="wb-patch-") as scratch:
            env = {**os.environ, "GIT_INDEX_FILE": str(Path(scratch) / "index")}
            if index.exists():
                shutil.copyfile(index, env["GIT_INDEX_FILE"])
            spec = ["."]
            if store is not None and _inside(store.resolve(), top) and store.resolve() != top:
                spec.append(f":(exclude){store.resolve().relative_to(top).as_posix()}")
            _git(top, "add", "--update", "--", *spec, env=env)
            untracked = _git(top, "ls-files", "--others", "--exclude-standard", "-z", "--", *spec, env=env)
            small = [name for name in untracked.split(b"\0") if name and _size(top / os.fsdecode(name)) <= MAX_UNTRACKED]
            if small:
                add = ["--literal-pathspecs", "add", "--pathspec-from-file=-", "--pathspec-file-nul"]
                _git(top, *add, env=env, stdin=b"\0".join(small))
            options = ["--binary", "--no-color", "--no-ext-diff", "--no-textconv", "--no-renames", "--src-prefix=a/", "--dst-prefix=b/"]
            patch = _git(top, "diff", "--cached", *options, "HEAD", env=env)
    except (OSError, subprocess.CalledProcessError):
        return None
    return patch if len(patch) <= MAX_PATCH else None


def _git(cwd: Path, *args: str, env: dict[str, str] | None = None, stdin: bytes | None = None) -> bytes:
    return subprocess.run(["git", *args], cwd=cwd, env=env, input=stdin, capture_output=True, check=True).stdout


def _size(path: Path) -> int:
    return path.lstat().st_size


def ignore_in_git(store: Path) -> None:
    """Give a store folder a `.gitignore` that ignores everything in it (as pytest and mypy do)."""
    marker = store / ".gitignore"
    if not marker.exists():
        store.mkdir(parents=True, exist_ok=True)
        marker.write_text("# created by workbench: the store is not source\n*\n", encoding="utf-8")


def _inside(path: Path, folder: Path | None) -> bool:
    if folder is None:
        return False
    inner, outer = os.path.normpath(path), os.path.normpath(folder.resolve())
    return inner == outer or inner.startswith(outer + os.sep)
