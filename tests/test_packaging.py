"""Packaging: one top-level name, every package folder listed, a wheel that installs and runs."""

from __future__ import annotations

import importlib.metadata
import re
import shutil
import subprocess
import sys
import sysconfig
import tomllib
from pathlib import Path

import pytest
from packaging.requirements import Requirement

import workbench

REPO = Path(__file__).resolve().parent.parent


def test_public_namespace() -> None:
    assert workbench.__all__ == sorted(workbench.__all__)
    for name in workbench.__all__:
        assert getattr(workbench, name) is not None, name
    with pytest.raises(AttributeError):
        workbench.nope  # noqa: B018


def test_every_package_folder_is_listed() -> None:
    config = tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["setuptools"]
    listed = set(config["packages"])
    mapping = config["package-dir"]
    for package, folder in mapping.items():
        for init in (REPO / folder).rglob("__init__.py"):
            rel = init.parent.relative_to(REPO / folder)
            name = ".".join([package, *rel.parts]) if rel.parts else package
            assert name in listed, f"{name} ({init.parent}) is missing from [tool.setuptools] packages"


def test_wheel_installs_into_a_fresh_venv(tmp_path: Path) -> None:
    src, dist = tmp_path / "src", tmp_path / "dist"
    shutil.copytree(REPO, src, ignore=shutil.ignore_patterns(".venv", ".git", ".workbench", "build", "*.egg-info"))
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", str(dist), str(src)],
        check=True,
        capture_output=True,
    )
    wheel = next(dist.glob("workbench-*.whl"))
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    python = venv / "bin" / "python"
    site = Path(
        subprocess.run(
            [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
            check=True, capture_output=True, text=True,
        ).stdout.strip()
    )
    # Dependencies come from this environment; the workbench itself only from the wheel.
    (site / "deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    subprocess.run(
        [sys.executable, "-m", "pip", "--python", str(python), "install", "--no-deps", "-q", str(wheel)],
        check=True, capture_output=True,
    )
    tops = {p.name for p in site.iterdir() if not p.name.endswith((".dist-info", ".pth")) and p.name != "__pycache__"}
    assert tops == {"workbench"}
    out = subprocess.run([str(venv / "bin" / "wb"), "--help"], capture_output=True, text=True, cwd=tmp_path)
    assert out.returncode == 0 and "materialize" in out.stdout
    probe = "import workbench.storage, workbench.tui, workbench; print(workbench.__file__)"
    where = subprocess.run([str(python), "-c", probe], capture_output=True, text=True, cwd=tmp_path, check=True)
    assert where.stdout.startswith(str(site))


def test_scikit_learn_is_an_extra_that_the_first_command_and_the_tests_install() -> None:
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    extras = project["optional-dependencies"]
    core = {Requirement(r).name for r in project["dependencies"]}
    assert "scikit-learn" not in core  # only the default project and the samples use it
    assert {Requirement(r).name for r in extras["ml"]} == {"scikit-learn"}
    assert any(Requirement(r).name == "workbench" and "ml" in Requirement(r).extras for r in extras["test"])
    first = re.search(r"```bash\n(.*?)\n```", (REPO / "README.md").read_text(), re.S)
    assert first is not None and 'pip install -e ".[ml]"' in first.group(1) and "wb materialize" in first.group(1)


def test_textual_is_a_compatible_range_and_the_tests_pin_the_snapshots_release() -> None:
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    (runtime,) = [Requirement(r) for r in project["dependencies"] if Requirement(r).name == "textual"]
    (pinned,) = [Requirement(r) for r in project["optional-dependencies"]["test"] if Requirement(r).name == "textual"]
    assert all(spec.operator != "==" for spec in runtime.specifier), runtime
    assert runtime.specifier.contains("8.2.8") and not runtime.specifier.contains("9.0.0"), runtime
    (version,) = [spec.version for spec in pinned.specifier if spec.operator == "=="]
    assert runtime.specifier.contains(version) and importlib.metadata.version("textual") == version
