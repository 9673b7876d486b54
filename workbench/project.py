"""Finding a project on disk and loading its definitions into an `AssetGraph`.

Discovery: the nearest `pyproject.toml` with a `[tool.workbench]` table (`modules`, `storage`,
`artifacts`), else an `assets/` package in the directory itself.
"""

from __future__ import annotations

import importlib
import importlib.util
import os
import pkgutil
import py_compile
import sys
import tomllib
import traceback
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

from workbench.checks import CheckSpec, check_of
from workbench.errors import ProjectError
from workbench.graph import AssetGraph, Node
from workbench.spec import spec_of

HOME_ENV = "WORKBENCH_HOME"
VENV_MARKERS = ("site-packages", "dist-packages", ".venv")


@dataclass(frozen=True, slots=True)
class ProjectConfig:
    """Where a project lives, what to import, and where its store is."""

    root: Path
    modules: tuple[str, ...]
    home: Path
    artifacts_url: str

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
    return ProjectConfig(root=root, modules=tuple(modules), home=home.resolve(), artifacts_url=artifacts)


def load_project(config: ProjectConfig) -> Project:
    """Import the project's modules afresh and build its graph."""
    from workbench.units import check_mappings

    specs, checks = collect_specs(config)
    graph = AssetGraph.build(specs, checks)
    check_mappings(graph)
    return Project(config=config, graph=graph)


def collect_specs(config: ProjectConfig) -> tuple[list[Node], list[CheckSpec]]:
    """The asset/source specs and the checks that the project's modules define."""
    _forget_project_modules(config)
    root = str(config.root)
    if root not in sys.path:
        sys.path.insert(0, root)
    importlib.invalidate_caches()
    specs: dict[int, Node] = {}
    checks: dict[int, CheckSpec] = {}
    # Timestamp .pyc files have one-second resolution: a quick same-size edit would load stale code.
    # So Python writes none for the project; we keep hash-checked ones for the configured modules.
    writing, sys.dont_write_bytecode = sys.dont_write_bytecode, True
    prefix, sys.pycache_prefix = sys.pycache_prefix, str(config.cache_dir / "pyc")  # keeps the work tree clean
    _refresh_hashed_pycs(config)
    try:
        for module in _import_all(config):
            for value in vars(module).values():
                spec = spec_of(value)
                if spec is not None:
                    specs.setdefault(id(spec), spec)
                found = check_of(value)
                if found is not None:
                    checks.setdefault(id(found), found)
    finally:
        sys.dont_write_bytecode, sys.pycache_prefix = writing, prefix
    return list(specs.values()), list(checks.values())


def _refresh_hashed_pycs(config: ProjectConfig) -> None:
    """Compile the project's modules to .pyc files validated by source hash, not mtime.

    Importing a 10,000-asset module from source costs ~0.5 s; from a hash-checked .pyc it costs
    a hash of the source, and an edit of any size at any moment is seen.
    """
    for source in _module_files(config):
        cached = importlib.util.cache_from_source(str(source))
        try:
            data = source.read_bytes()
            with open(cached, "rb") as f:
                head = f.read(16)
            fresh = (
                head[:4] == importlib.util.MAGIC_NUMBER
                and int.from_bytes(head[4:8], "little") & 0b11 == 0b11  # hash-based, checked
                and head[8:16] == importlib.util.source_hash(data)
            )
        except OSError:
            fresh = False
        if not fresh:
            py_compile.compile(str(source), cfile=cached, quiet=2, invalidation_mode=py_compile.PycInvalidationMode.CHECKED_HASH)


def _module_files(config: ProjectConfig) -> Iterator[Path]:
    for name in config.modules:
        base = config.root.joinpath(*name.split("."))
        if base.is_dir():
            yield from (p for p in base.rglob("*.py") if is_project_file(p, config.root))
        elif base.with_suffix(".py").is_file():
            yield base.with_suffix(".py")


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
        if hasattr(exc, "exit_code"):
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


def _forget_project_modules(config: ProjectConfig) -> None:
    """Drop previously imported project modules so edits are picked up on reload."""
    tops = {m.split(".", 1)[0] for m in config.modules}
    root = str(config.root)
    for name, module in list(sys.modules.items()):
        file = getattr(module, "__file__", None)
        top = name.split(".", 1)[0]
        if top == "workbench":
            continue
        # the string test first: resolving the path of every loaded module costs ~100 ms
        if top in tops or (file and file.startswith(root) and is_project_file(file, config.root)):
            del sys.modules[name]
