"""Which changed paths start a pass, and which folders are observed: pure rules over paths."""

from __future__ import annotations

from pathlib import Path

import pytest

from workbench.errors import ProjectError
from workbench.project import find_project
from workbench.watch.rules import DEFAULT_IGNORE, PathRules, watch_targets

ROOT = "/p"


def rules(*sources: str, ignore: tuple[str, ...] = ()) -> PathRules:
    return PathRules(ROOT, f"{ROOT}/.workbench", tuple(f"{ROOT}/{s}" for s in sources), DEFAULT_IGNORE + ignore)


@pytest.mark.parametrize(
    "path",
    [
        "/p/.git/index",
        "/p/.workbench/artifacts/ab.parquet",
        "/p/pkg/__pycache__/mod.cpython-311.pyc",
        "/p/.pipeline.py.swp",
        "/p/pipeline.py~",
        "/p/.#pipeline.py",
        "/p/#pipeline.py#",
        "/p/4913",
        "/p/pipeline.py.tmp",
        "/p/.venv/lib/x.py",
    ],
)
def test_default_ignores(path: str) -> None:
    assert rules("data").ignored(path)
    assert not rules("data").relevant(path, is_dir=False)


def test_user_patterns_match_names_or_root_relative_paths() -> None:
    r = rules("data", ignore=("*.bak", "data/scratch"))
    assert r.ignored("/p/data/x.bak") and r.ignored("/p/data/scratch/deep/file.csv")
    assert not r.ignored("/p/data/x.csv") and not r.ignored("/p/other/data/scratch")


def test_code_files_are_relevant() -> None:
    r = rules()
    assert r.relevant("/p/pipeline.py", is_dir=False)
    assert r.relevant("/p/pkg/helpers.py", is_dir=False)
    assert r.relevant("/p/pyproject.toml", is_dir=False)
    assert not r.relevant("/p/notes.md", is_dir=False)
    assert not r.relevant("/elsewhere/lib.py", is_dir=False)


def test_file_source() -> None:
    r = rules("data/raw.txt")
    assert r.relevant("/p/data/raw.txt", is_dir=False)
    assert not r.relevant("/p/data/other.txt", is_dir=False)
    assert r.relevant("/p/data", is_dir=True)  # its folder appearing or vanishing
    assert not r.relevant("/p/data/sub", is_dir=True)


def test_folder_source() -> None:
    r = rules("data/images")
    assert r.relevant("/p/data/images/a/b.png", is_dir=False)
    assert r.relevant("/p/data/images/a", is_dir=True)
    assert not r.relevant("/p/data/imagesX/b.png", is_dir=False)


def test_glob_source() -> None:
    r = rules("data/*.csv", "logs/**/*.log")
    assert r.relevant("/p/data/a.csv", is_dir=False)
    assert not r.relevant("/p/data/a.json", is_dir=False)
    assert r.relevant("/p/logs/x.log", is_dir=False)  # `**` also matches no folder
    assert r.relevant("/p/logs/2026/01/x.log", is_dir=False)
    assert r.relevant("/p/logs/2026", is_dir=True)  # a folder moved in brings its files


def test_source_outside_the_root() -> None:
    r = PathRules(ROOT, f"{ROOT}/.workbench", ("/shared/data.csv",))
    assert r.relevant("/shared/data.csv", is_dir=False)


def test_watch_ignore_config(make_project) -> None:  # type: ignore[no-untyped-def]
    root = make_project({"pipeline.py": ""})
    (root / "pyproject.toml").write_text('[tool.workbench]\nmodules = ["pipeline"]\nwatch_ignore = ["*.bak"]\n')
    r = PathRules.of(find_project(root), ["data"])
    assert r.ignored(str(root / "data" / "x.bak")) and r.ignored(str(root / ".git" / "HEAD"))
    assert r.sources == (str(root / "data"),)
    (root / "pyproject.toml").write_text('[tool.workbench]\nmodules = ["pipeline"]\nwatch_ignore = "*.bak"\n')
    with pytest.raises(ProjectError, match="watch_ignore must be a list"):
        PathRules.of(find_project(root))


def test_watch_targets(tmp_path: Path) -> None:
    root = tmp_path
    for folder in ("pkg/sub", "data/images", "logs/2026", "flat"):
        (root / folder).mkdir(parents=True)
    targets = watch_targets(
        root,
        code=[root / "pipeline.py", root / "pkg" / "sub" / "m.py", root / "flat" / "helpers.py"],
        packages=[root / "pkg", root / "pipeline"],  # `pipeline` is a module, not a package folder
        sources=[str(root / s) for s in ("data/images", "data/raw.txt", "logs/**/*.log", "flat/*.csv", "new/deep/x.csv")],
    )
    assert targets == {
        root: False,  # top-level modules, pyproject.toml, and the nearest parent of `new/deep`
        root / "pkg": True,  # covers pkg/sub
        root / "flat": False,
        root / "data": False,
        root / "data" / "images": True,
        root / "logs": True,
    }
