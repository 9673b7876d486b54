"""Importing project code: what each module was compiled from, and a signed bytecode cache.

Project code is every Python file that is not part of the standard library, an installed
distribution (`site-packages`) or Workbench itself. While a project is active, a meta-path finder
imports such files with `_ProjectLoader`, which keeps the exact bytes it compiled (`source_of`), so
that code versions describe the code that runs even when a file changes after the import.

Bytecode is cached per source file in the user's cache folder (`~/.cache/workbench/pyc`, outside
every checkout, so a new or deleted `.workbench/` does not compile the project again), keyed by
the source's digest and signed with a per-user key (`~/.cache/workbench/bytecode.key`): a file
planted there fails the check and is recompiled, never run. Third-party imports are untouched and
use their own `__pycache__`.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import importlib
import importlib.machinery
import importlib.util
import marshal
import os
import secrets
import sys
import sysconfig
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from types import CodeType, ModuleType

import xxhash

from workbench.versioning.libraries import user_cache_folder

__all__ = [
    "activate", "forget_imported", "import_project_module", "importing", "is_library_file", "scoped", "source_of",
]  # fmt: skip

OWN_PACKAGE = "workbench"
KEY_BYTES = 32

_SOURCES: dict[str, bytes] = {}  # filename, as code objects name it -> the bytes compiled
_IMPORTED: dict[str, str] = {}  # module name -> filename, for modules this loader imported
_ROOT: Path | None = None  # the project root they were imported for
_RUNNING: list[tuple[str, float]] = []  # project modules whose top-level code runs now (innermost last), since


def importing() -> tuple[str, float] | None:
    """The innermost project module whose top-level code is running now, and since when (`time.monotonic()`)."""
    running = list(_RUNNING)
    return running[-1] if running else None


def source_of(filename: str) -> bytes | None:
    """The source a module was compiled from, else the file's current bytes, else None."""
    found = _SOURCES.get(filename)
    if found is not None:
        return found
    if filename.startswith("<"):
        return None
    try:
        return Path(filename).read_bytes()
    except OSError:
        return None


@functools.lru_cache(maxsize=None)
def is_library_file(filename: str) -> bool:
    """Whether a file belongs to the standard library, an installed distribution or Workbench."""
    if filename.startswith("<"):
        return filename.startswith("<frozen")
    path = os.path.realpath(filename)
    parts = Path(path).parts
    if "site-packages" in parts or "dist-packages" in parts:
        return True
    return any(path.startswith(root + os.sep) for root in _library_roots())


@functools.lru_cache(maxsize=1)
def _library_roots() -> tuple[str, ...]:
    roots: set[str] = set()
    for base in {(sys.prefix, sys.exec_prefix), (sys.base_prefix, sys.base_exec_prefix)}:
        paths = sysconfig.get_paths(vars={"base": base[0], "platbase": base[1], "installed_base": base[0]})
        roots.update(paths[name] for name in ("stdlib", "platstdlib", "purelib", "platlib") if name in paths)
    own = sys.modules[OWN_PACKAGE]
    roots.add(str(Path(own.__file__ or "").parent))
    for sub in ("storage", "tui"):  # mapped from other folders in an editable install
        spec = importlib.util.find_spec(f"{OWN_PACKAGE}.{sub}")
        roots.update(spec.submodule_search_locations or () if spec else ())
    return tuple(sorted(os.path.realpath(r) for r in roots))


def activate(root: Path, cache_dir: Path | None) -> None:
    """Import project code through the capturing loader from now on, with `root` importable;
    bytecode is kept in `cache_dir/pyc` (none: compiled every time)."""
    for finder in sys.meta_path:
        if isinstance(finder, _ProjectFinder):
            sys.meta_path.remove(finder)
            break
    sys.meta_path.insert(0, _ProjectFinder(_BytecodeCache.at(cache_dir / "pyc") if cache_dir else None))
    if str(root) not in sys.path:
        sys.path.insert(0, str(root))
    importlib.invalidate_caches()


@contextmanager
def scoped() -> Iterator[None]:
    """Undo `activate` afterwards (the notebook API leaves no trace): the project's folder leaves
    `sys.path` and the capturing finder leaves `sys.meta_path`, while the finders that libraries
    imported meanwhile registered stay (six's: without it `import dateutil.tz`, and so pandas, fails)."""
    path, finders = list(sys.path), [f for f in sys.meta_path if isinstance(f, _ProjectFinder)]
    try:
        yield
    finally:
        sys.path[:] = path
        sys.meta_path[:] = finders + [f for f in sys.meta_path if not isinstance(f, _ProjectFinder)]


def forget_imported(root: Path, *, changed_only: bool) -> None:
    """Drop the modules this loader imported, so that the next import reads them afresh.

    With `changed_only`, nothing is dropped when they were imported for this same project root
    and no module's file differs from what was compiled (else all go: modules hold each other's
    functions).
    """
    global _ROOT
    same = _ROOT == root and not any(_changed(filename) for filename in _IMPORTED.values())
    _ROOT = root
    if changed_only and same:
        return
    for name in list(_IMPORTED):
        sys.modules.pop(name, None)
    _IMPORTED.clear()


def _changed(filename: str) -> bool:
    try:
        return Path(filename).read_bytes() != _SOURCES.get(filename)
    except OSError:
        return True


def import_project_module(name: str, root: Path) -> ModuleType | None:
    """The project module `name`, imported if needed; None for library, stdlib or missing ones."""
    module = sys.modules.get(name)
    if module is None:
        top = name.split(".", 1)[0]
        if top == OWN_PACKAGE or top in sys.stdlib_module_names:
            return None
        if top not in sys.modules:
            spec = importlib.machinery.PathFinder.find_spec(top, [str(root), *sys.path])  # does not import
            if spec is None or not spec.origin or is_library_file(spec.origin):
                return None
        try:
            module = importlib.import_module(name)
        except Exception:  # it fails when the asset runs too; the name alone is hashed here
            return None
    filename = getattr(module, "__file__", None)
    if not filename or name.split(".", 1)[0] == OWN_PACKAGE or is_library_file(filename):
        return None
    return module


class _ProjectFinder:
    """Finds project modules as the path finder does and hands them to `_ProjectLoader`.

    A meta-path finder by protocol (`find_spec`); importing `importlib.abc` would cost 4 ms."""

    def __init__(self, cache: _BytecodeCache | None) -> None:
        self.cache = cache
        self._libraries: dict[str, bool] = {}  # top-level package -> it is a library's (its submodules are too)

    def find_spec(
        self, fullname: str, path: Sequence[str] | None, target: ModuleType | None = None
    ) -> importlib.machinery.ModuleSpec | None:
        top = fullname.split(".", 1)[0]
        if top == OWN_PACKAGE or (top != fullname and self._library(top)):  # polars' 300 submodules: no search each
            return None
        spec = importlib.machinery.PathFinder.find_spec(fullname, path, target)
        if spec is None or type(spec.loader) is not importlib.machinery.SourceFileLoader or not spec.origin:
            return None
        if is_library_file(spec.origin):
            return None
        spec.loader = _ProjectLoader(fullname, spec.origin, self.cache)
        spec.cached = None
        return spec

    def _library(self, top: str) -> bool:
        """Whether the imported top-level package `top` is a library's (stdlib, installed)."""
        found = self._libraries.get(top)
        if found is None:
            filename = getattr(sys.modules.get(top), "__file__", None)
            if filename is None:  # not imported yet, or a namespace package: look at each module
                return False
            found = self._libraries[top] = is_library_file(filename)
        return found


class _ProjectLoader(importlib.machinery.SourceFileLoader):
    """Compiles a project file from bytes it keeps; bytecode comes from the signed cache."""

    def __init__(self, fullname: str, path: str, cache: _BytecodeCache | None) -> None:
        super().__init__(fullname, path)
        self.cache = cache

    def get_code(self, fullname: str) -> CodeType:
        path = self.get_filename(fullname)
        source = self.get_data(path)
        _SOURCES[path] = source
        _IMPORTED[fullname] = path
        code = self.cache.load(path, source) if self.cache else None
        if code is None:
            code = self.source_to_code(source, path)
            if self.cache:
                self.cache.store(path, source, code)
        return code

    def exec_module(self, module: ModuleType) -> None:
        entry = (module.__name__, time.monotonic())
        _RUNNING.append(entry)
        try:
            super().exec_module(module)
        finally:
            _RUNNING.remove(entry)


class _BytecodeCache:
    """`marshal`ed code per source file, valid only for the same source bytes and signed."""

    def __init__(self, folder: Path, key: bytes) -> None:
        self.folder = folder
        self.key = key

    @classmethod
    def at(cls, folder: Path) -> _BytecodeCache | None:
        key = user_key()
        return cls(folder, key) if key is not None else None

    def _file(self, path: str) -> Path:
        return self.folder / f"{xxhash.xxh3_64_hexdigest(path.encode())}.pyc"

    def _sign(self, path: str, body: bytes) -> bytes:
        return hashlib.blake2b(path.encode() + b"\0" + body, key=self.key, digest_size=KEY_BYTES).digest()

    def _header(self, source: bytes) -> bytes:
        return importlib.util.MAGIC_NUMBER + xxhash.xxh3_128_digest(source)

    def load(self, path: str, source: bytes) -> CodeType | None:
        try:
            fd = os.open(self._file(path), os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
            with os.fdopen(fd, "rb") as f:
                data = f.read()
        except OSError:
            return None
        mac, body = data[:KEY_BYTES], data[KEY_BYTES:]
        header = self._header(source)
        if not hmac.compare_digest(mac, self._sign(path, body)) or not body.startswith(header):
            return None
        try:
            code = marshal.loads(body[len(header) :])
        except (EOFError, ValueError, TypeError):
            return None
        return code if isinstance(code, CodeType) else None

    def store(self, path: str, source: bytes, code: CodeType) -> None:
        body = self._header(source) + marshal.dumps(code)
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=self.folder, suffix=".tmp")
            with os.fdopen(fd, "wb") as f:
                f.write(self._sign(path, body) + body)
            os.replace(tmp, self._file(path))  # replaces a planted symlink itself, never its target
        except OSError:
            pass  # a read-only store: compile each time


def user_key() -> bytes | None:
    """This user's bytecode-signing key, created on first use; None when it cannot be kept."""
    folder = user_cache_folder()
    if folder is None:
        return None
    path = folder / "bytecode.key"
    for _ in range(2):
        try:
            fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
            with os.fdopen(fd, "rb") as f:
                key = f.read()
            return key if len(key) == KEY_BYTES else None
        except FileNotFoundError:
            try:
                path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
                fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
                with os.fdopen(fd, "wb") as f:
                    f.write(secrets.token_bytes(KEY_BYTES))
            except FileExistsError:
                continue  # another process made it first: read theirs
            except OSError:
                return None
        except OSError:
            return None
    return None
