"""Finding a project on disk and loading its definitions into an `AssetGraph`.

Discovery: the nearest `pyproject.toml` with a `[tool.workbench]` table (`modules`, `storage`,
`artifacts`), else an `assets/` package in the directory itself.
"""

from __future__ import annotations

import importlib
import os
import pkgutil
import tomllib
import traceback
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

from workbench.core.checks import CheckSpec, check_of
from workbench.core.graph import AssetGraph, Node
from workbench.core.spec import spec_of
from workbench.errors import ProjectError, WorkbenchError
from workbench.versioning.libraries import user_cache_folder
from workbench.versioning.loader import activate, forget_imported

HOME_ENV = "WORKBENCH_HOME"
VENV_MARKERS = ("site-packages", "dist-packages", ".venv")


@dataclass(frozen=True, slots=True)
class ProjectConfig:
    """Where a project lives, what to import, and where its store is."""

    root: Path
    modules: tuple[str, ...]
    home: Path
    artifacts_url: str
    stale_on_library_change: bool = False  # a new version of a library the code reaches makes it stale
    cpus: float | None = None  # the local CPU budget of `Resources(cpu=...)` (default: the machine's)
    processes: bool = True  # a run of many assets runs them in forked worker processes, when forking is safe

    @property
    def metadata_path(self) -> Path:
        return self.home / "metadata.duckdb"

    @property
    def cache_dir(self) -> Path:
        return self.home / "cache"


@dataclass(frozen=True, slots=True)
class Project:
    """A loaded project: its configuration and its immutable graph."""

    config: ProjectConfig
    graph: AssetGraph

    @property
    def root(self) -> Path:
        return self.config.root


def find_project(path: str | Path | None = None) -> ProjectConfig:
    """The project at `path` (default: the current directory) or its nearest configured parent."""
    start = Path(path or os.getcwd()).resolve()
    if not start.is_dir():
        raise ProjectError(f"project path {start} is not a directory")
    for folder in (start, *start.parents):
        table = workbench_table(folder / "pyproject.toml")
        if table is not None:
            return _config(folder, table)
        if (folder / "assets").is_dir():
            return _config(folder, {})
    raise ProjectError(
        f"no workbench project at {start}: add a [tool.workbench] table with modules = [...] "
        "to pyproject.toml, or create an assets/ package"
    )


def workbench_table(pyproject: Path) -> dict[str, object] | None:
    if not pyproject.is_file():
        return None
    try:
        data = tomllib.loads(pyproject.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ProjectError(f"cannot read {pyproject}: {exc}") from exc
    table = data.get("tool", {}).get("workbench")
    return table if isinstance(table, dict) else None


def _config(root: Path, table: dict[str, object]) -> ProjectConfig:
    modules = table.get("modules", ["assets"])
    if isinstance(modules, str):
        modules = [modules]
    if not isinstance(modules, list) or not all(isinstance(m, str) and m for m in modules):
        raise ProjectError(f"{root / 'pyproject.toml'}: [tool.workbench] modules must be a list of module names")
    env_home = os.environ.get(HOME_ENV)
    storage = str(table.get("storage", ".workbench"))
    home = Path(env_home) if env_home else (root / storage)
    artifacts = str(table.get("artifacts", home / "artifacts"))
    on_library = table.get("stale_on_library_change", False)
    if not isinstance(on_library, bool):
        raise ProjectError(f"{root / 'pyproject.toml'}: [tool.workbench] stale_on_library_change must be true or false")
    processes = table.get("processes", True)
    if not isinstance(processes, bool):
        raise ProjectError(f"{root / 'pyproject.toml'}: [tool.workbench] processes must be true or false")
    cpus = table.get("cpus")
    if cpus is not None and (isinstance(cpus, bool) or not isinstance(cpus, int | float) or cpus <= 0):
        raise ProjectError(f"{root / 'pyproject.toml'}: [tool.workbench] cpus must be a positive number")
    return ProjectConfig(
        root=root,
        modules=tuple(modules),
        home=home.resolve(),
        artifacts_url=artifacts,
        stale_on_library_change=on_library,
        cpus=cpus,
        processes=processes,
    )


def load_project(config: ProjectConfig, *, fresh: bool = True) -> Project:
    """Import the project's modules and build its graph.

    `fresh`: import every project module anew (a long-lived process picking up edits); otherwise
    modules are imported again only when one of their files changed (the notebook API).
    """
    from workbench.core.units import check_mappings
    from workbench.storage.rows import paused_gc

    with paused_gc():  # what it builds lives as long as the project: the collector would only rescan it
        specs, checks = collect_specs(config, fresh=fresh)
        graph = AssetGraph.build(specs, checks)
        check_mappings(graph)
    return Project(config=config, graph=graph)


def collect_specs(config: ProjectConfig, *, fresh: bool = True) -> tuple[list[Node], list[CheckSpec]]:
    """The asset/source specs and the checks that the project's modules define."""
    forget_imported(config.root, changed_only=not fresh)
    activate(config.root, user_cache_folder())
    specs: dict[int, Node] = {}
    checks: dict[int, CheckSpec] = {}
    for module in _import_all(config):
        for value in vars(module).values():
            spec = spec_of(value)
            if spec is not None:
                specs.setdefault(id(spec), spec)
            found = check_of(value)
            if found is not None:
                checks.setdefault(id(found), found)
    return list(specs.values()), list(checks.values())


def _import_all(config: ProjectConfig) -> Iterator[ModuleType]:
    for name in config.modules:
        module = _import(name, config)
        yield module
        for info in pkgutil.walk_packages(getattr(module, "__path__", []), prefix=f"{name}."):
            yield _import(info.name, config)


def _import(name: str, config: ProjectConfig) -> ModuleType:
    try:
        return importlib.import_module(name)
    except ModuleNotFoundError as exc:
        if exc.name and (exc.name == name or name.startswith(f"{exc.name}.")):
            raise ProjectError(f"project module {name!r} not found in {config.root}") from exc
        raise ProjectError(f"importing {name!r} failed: {_user_error(exc)}") from exc
    except SyntaxError as exc:
        raise ProjectError(f"syntax error in {exc.filename}:{exc.lineno}: {exc.msg}") from exc
    except ProjectError:
        raise
    except Exception as exc:  # user code raised at import time
        if isinstance(exc, WorkbenchError):
            raise
        raise ProjectError(f"importing {name!r} failed: {_user_error(exc)}") from exc


def _user_error(exc: BaseException) -> str:
    frames = traceback.extract_tb(exc.__traceback__)
    where = f" ({frames[-1].filename}:{frames[-1].lineno})" if frames else ""
    return f"{type(exc).__name__}: {exc}{where}"


def is_project_file(path: str | Path, root: Path) -> bool:
    """True for files under the project root that are not part of an installed environment."""
    p = Path(path)
    try:
        rel = p.resolve().relative_to(root)
    except (ValueError, OSError):
        return False
    return not any(part in VENV_MARKERS for part in rel.parts)
