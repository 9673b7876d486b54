"""Code versions: a digest of an asset's normalized code and of the project code it reaches.

The AST of the function (decorators, docstrings, comments and layout removed) plus, transitively,
the project-local functions and classes it names and the simple constants it reads (globals,
closure cells, defaults). Library code is not hashed: its name is already in the caller's AST.
Per-definition digests are cached by (file, mtime_ns, size), optionally in a JSON file; constant
values are read live. Limits: imports inside a function body are not followed; source comes from
disk; code without source (e.g. from `exec`) is hashed by bytecode; `ast.dump` varies across
Python minor versions, so a Python upgrade changes versions (and invalidates the cache).
"""

from __future__ import annotations

import ast
import inspect
import json
import logging
import os
import sys
import tempfile
import textwrap
from pathlib import Path
from types import CodeType, FunctionType, ModuleType
from typing import Any

from workbench.hashing import digest
from workbench.spec import AssetSpec

__all__ = ["CodeVersions"]

log = logging.getLogger(__name__)

CACHE_FORMAT = f"codeversions-1-py{sys.version_info[0]}.{sys.version_info[1]}"
LIBRARY_DIRS = frozenset({".venv", "site-packages", "dist-packages"})
SCALARS = frozenset({int, float, str, bytes, bool, type(None)})
CONTAINERS = frozenset({tuple, list, set, frozenset, dict})
UNORDERED = frozenset({set, frozenset, dict})
MAX_CONSTANT_ITEMS = 10_000  # larger constants are ignored rather than hashed on every call
MAX_CONSTANT_DEPTH = 32
DEFINITIONS = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)

Entry = list[Any]  # [own digest, sorted references]; a list because it round-trips through JSON
Definition = FunctionType | type


class CodeVersions:
    """Computes code versions for asset specs, caching per-definition digests across runs."""

    def __init__(self, project_root: Path, cache_file: Path | None = None) -> None:
        self.root = Path(project_root).resolve()
        self.cache_file = cache_file
        self._files: dict[str, dict[str, Any]] = self._load()
        self._dirty = False
        self._locality: dict[str, bool] = {}
        self._checked: dict[tuple[str, int], tuple[object, dict[str, Entry] | None]] = {}

    def of(self, spec: AssetSpec) -> str:
        """The hex code version of an asset: explicit if given, else computed from its code."""
        if spec.code_version is not None:
            return digest("explicit", spec.code_version)
        order: list[Definition] = [inspect.unwrap(spec.fn)]
        index = {id(order[0]): 0}
        parts: list[str | bytes] = []
        for definition in order:  # grows while helpers are found: breadth-first and cycle-safe
            parts += self._parts(definition, order, index)
        return digest("code", *parts)

    def save(self) -> None:
        """Write the cache file atomically if anything was parsed since it was loaded."""
        if self.cache_file is None or not self._dirty:
            return
        self._files = {name: table for name, table in self._files.items() if os.path.exists(name)}
        self.cache_file.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=self.cache_file.parent, prefix=self.cache_file.name, suffix=".tmp")
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                json.dump({"format": CACHE_FORMAT, "files": self._files}, f, separators=(",", ":"))
            os.replace(tmp, self.cache_file)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        self._dirty = False

    def _parts(self, definition: Definition, order: list[Definition], index: dict[int, int]) -> list[str | bytes]:
        """Hash parts of one definition; queues the project-local definitions it references."""
        own, refs = self._entry(definition)
        parts: list[str | bytes] = ["def", own]
        cells: dict[str, Any] = {}
        if isinstance(definition, FunctionType):
            if definition.__closure__:
                cells = {
                    n: _cell_value(c)
                    for n, c in zip(definition.__code__.co_freevars, definition.__closure__, strict=True)
                }
            if definition.__defaults__ or definition.__kwdefaults__:
                parts += _default_parts(definition)
        namespace = _namespace(definition)
        resolved: dict[str, Any] = {}
        for ref in refs:
            label, value = self._resolve(ref, namespace, cells)
            if label:
                resolved.setdefault(label, value)
        for label in sorted(resolved):
            value = resolved[label]
            if (helper := self._local_definition(value)) is not None:
                if id(helper) not in index:
                    index[id(helper)] = len(order)
                    order.append(helper)
                parts += ["ref", label, str(index[id(helper)])]
            elif (text := _canonical(value)) is not None:
                parts += ["const", label, text]
        return parts

    def _resolve(self, ref: str, namespace: dict[str, Any], cells: dict[str, Any]) -> tuple[str, Any]:
        """Look up a dotted reference, descending only through project-local modules."""
        head, *rest = ref.split(".")
        scope = cells if head in cells else namespace
        if head not in scope:
            return "", None  # a builtin or an unbound name
        value, label = scope[head], head
        for attr in rest:
            if not (isinstance(value, ModuleType) and self._is_local(getattr(value, "__file__", None))):
                break
            if not hasattr(value, attr):
                return "", None
            value, label = getattr(value, attr), f"{label}.{attr}"
        return label, value

    def _local_definition(self, value: Any) -> Definition | None:
        """The function or class behind `value` if its source lives in the project, else None."""
        if isinstance(value, ModuleType):
            return None
        if isinstance(value, type):
            module = sys.modules.get(value.__module__)
            return value if self._is_local(getattr(module, "__file__", None)) else None
        value = inspect.unwrap(value) if callable(value) else value
        if isinstance(value, FunctionType) and self._is_local(value.__code__.co_filename):
            return value
        return None

    def _is_local(self, filename: str | None) -> bool:
        """Whether a source file is inside the project root and outside any installed-packages dir."""
        if not filename:
            return False
        known = self._locality.get(filename)
        if known is None:
            path = Path(os.path.realpath(filename))
            known = path.is_relative_to(self.root) and not LIBRARY_DIRS.intersection(path.relative_to(self.root).parts)
            self._locality[filename] = known
        return known

    def _entry(self, definition: Definition) -> Entry:
        """Own digest and references: from its file's table, else `inspect.getsource`, else bytecode."""
        if isinstance(definition, type):
            filename = getattr(sys.modules.get(definition.__module__), "__file__", None)
            key = f"c:{definition.__qualname__}"
        else:
            filename, key = definition.__code__.co_filename, f"f:{definition.__code__.co_firstlineno}"
        table = self._checked_table(filename, _namespace(definition)) if filename else None
        if table is not None and key in table:
            return table[key]
        try:
            tree = ast.parse(textwrap.dedent(inspect.getsource(definition)))
        except (OSError, TypeError, SyntaxError):
            tree = None
        if tree is not None and tree.body and isinstance(tree.body[0], DEFINITIONS):
            _strip_docstrings(tree)
            return _own(tree.body[0])
        if isinstance(definition, FunctionType):
            return _bytecode(definition.__code__)
        return [digest("opaque", definition.__qualname__), []]

    def _checked_table(self, filename: str, namespace: dict[str, Any]) -> dict[str, Entry] | None:
        """The file's table, checked against the disk once per loaded module (known by its namespace).

        A module's code cannot change while it stays loaded; a re-import brings a new namespace.
        """
        key = (filename, id(namespace))
        if key not in self._checked:
            self._checked[key] = (namespace, self._table(filename))  # holding it keeps the id unique
        return self._checked[key][1]

    def _table(self, filename: str) -> dict[str, Entry] | None:
        """Entries for every definition in a file, parsed once per (mtime_ns, size)."""
        try:
            stat = os.stat(filename)
        except OSError:
            return None
        stamp = [stat.st_mtime_ns, stat.st_size]
        cached = self._files.get(filename)
        if cached is not None and cached["stamp"] == stamp:
            return cached["defs"]  # type: ignore[no-any-return]
        try:
            tree = ast.parse(Path(filename).read_bytes(), filename)
        except (OSError, SyntaxError, ValueError):
            return None
        _strip_docstrings(tree)
        indexer = _Indexer()
        indexer.visit(tree)
        self._files[filename] = {"stamp": stamp, "defs": indexer.defs}
        self._dirty = True
        return indexer.defs

    def _load(self) -> dict[str, dict[str, Any]]:
        """The persisted per-file tables; an unreadable or malformed cache counts as empty."""
        if self.cache_file is None or not self.cache_file.exists():
            return {}
        try:
            data = json.loads(self.cache_file.read_text(encoding="utf-8"))
            if data["format"] != CACHE_FORMAT:
                return {}
            files = data["files"]
            if not (isinstance(files, dict) and all(_valid_table(t) for t in files.values())):
                raise ValueError("unexpected structure")
            return files
        except (OSError, ValueError, KeyError, TypeError) as exc:
            log.warning("ignoring unreadable code-version cache %s: %s", self.cache_file, exc)
            return {}


class _Indexer(ast.NodeVisitor):
    """Entries for all definitions in a module: functions by first line, classes by qualname."""

    def __init__(self) -> None:
        self.defs: dict[str, Entry] = {}
        self.scope: list[str] = []

    def visit_FunctionDef(self, node: ast.FunctionDef | ast.AsyncFunctionDef) -> None:
        first = min([node.lineno, *(d.lineno for d in node.decorator_list)])  # = co_firstlineno
        self.defs[f"f:{first}"] = _own(node)
        self._nested(node, [node.name, "<locals>"])

    visit_AsyncFunctionDef = visit_FunctionDef

    def visit_ClassDef(self, node: ast.ClassDef) -> None:
        self.defs["c:" + ".".join([*self.scope, node.name])] = _own(node)
        self._nested(node, [node.name])

    def _nested(self, node: ast.AST, names: list[str]) -> None:
        self.scope += names
        self.generic_visit(node)
        del self.scope[-len(names) :]


class _References(ast.NodeVisitor):
    """Names and dotted chains a scope reads and does not bind; nested scopes are resolved first."""

    def __init__(self) -> None:
        self.loads: set[str] = set()
        self.bound: set[str] = set()

    @classmethod
    def free_in(cls, node: ast.AST) -> set[str]:
        scope = cls()
        scope.generic_visit(node)
        return {r for r in scope.loads if r.partition(".")[0] not in scope.bound}

    def visit_Name(self, node: ast.Name) -> None:
        (self.loads if isinstance(node.ctx, ast.Load) else self.bound).add(node.id)

    def visit_Attribute(self, node: ast.Attribute) -> None:
        chain, value = [node.attr], node.value
        while isinstance(value, ast.Attribute):
            chain.append(value.attr)
            value = value.value
        if isinstance(value, ast.Name):
            self.loads.add(".".join([value.id, *reversed(chain)]))
        else:
            self.visit(value)

    def visit_arg(self, node: ast.arg) -> None:
        self.bound.add(node.arg)
        self.generic_visit(node)

    def visit_scope(self, node: ast.AST) -> None:
        if isinstance(node, DEFINITIONS):
            self.bound.add(node.name)
        self.loads |= self.free_in(node)

    visit_FunctionDef = visit_AsyncFunctionDef = visit_ClassDef = visit_Lambda = visit_scope
    visit_ListComp = visit_SetComp = visit_DictComp = visit_GeneratorExp = visit_scope


def _own(node: ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef) -> Entry:
    """Digest of a definition's AST without its own decorators, and the names it references."""
    decorators, node.decorator_list = node.decorator_list, []
    try:
        dumped = ast.dump(node, include_attributes=False)
        references = sorted(_References.free_in(node))
    finally:
        node.decorator_list = decorators
    return [digest("ast", dumped), references]


def _strip_docstrings(tree: ast.AST) -> None:
    """Drop the docstring of the module and of every function and class in it, in place."""
    for node in ast.walk(tree):
        if isinstance(node, (*DEFINITIONS, ast.Module)) and node.body:
            first = node.body[0]
            if (
                isinstance(first, ast.Expr)
                and isinstance(first.value, ast.Constant)
                and isinstance(first.value.value, str)
            ):
                node.body = node.body[1:]


def _bytecode(code: CodeType) -> Entry:
    """Fallback entry when no source exists: bytecode and constants (docstrings included), global names."""
    parts: list[str | bytes] = []

    def walk(c: CodeType) -> None:
        parts.append(c.co_code)
        for const in c.co_consts:
            if isinstance(const, CodeType):
                walk(const)
            else:
                parts.append(repr(const))

    walk(code)
    return [digest("bytecode", *parts), sorted(set(code.co_names))]


def _canonical(value: Any) -> str | None:
    """Stable text for a simple constant; None for anything else, too big or too deep."""
    budget = [MAX_CONSTANT_ITEMS]

    def encode(v: Any, depth: int) -> str:
        kind = type(v)
        if kind in SCALARS:
            return repr(v)
        if kind not in CONTAINERS or depth > MAX_CONSTANT_DEPTH or len(v) > budget[0]:
            raise _NotSimple
        budget[0] -= len(v)
        if kind is dict:
            texts = [f"{encode(k, depth + 1)}:{encode(x, depth + 1)}" for k, x in v.items()]
        else:
            texts = [encode(x, depth + 1) for x in v]
        return f"{kind.__name__}({','.join(sorted(texts) if kind in UNORDERED else texts)})"

    try:
        return encode(value, 0)
    except _NotSimple:
        return None


class _NotSimple(Exception):
    """Raised inside `_canonical` for a value that is not a small constant of simple types."""


def _namespace(definition: Definition) -> dict[str, Any]:
    """The globals a definition's names resolve in."""
    if isinstance(definition, FunctionType):
        return definition.__globals__
    module = sys.modules.get(definition.__module__)
    return vars(module) if module is not None else {}


def _default_parts(fn: FunctionType) -> list[str | bytes]:
    """Hash parts for argument defaults that are simple constants (factories often bind them)."""
    parts: list[str | bytes] = []
    for name, value in [*enumerate(fn.__defaults__ or ()), *sorted((fn.__kwdefaults__ or {}).items())]:
        if (text := _canonical(value)) is not None:
            parts += ["default", str(name), text]
    return parts


def _cell_value(cell: Any) -> Any:
    try:
        return cell.cell_contents
    except ValueError:  # an empty cell: the variable was never assigned
        return None


def _valid_table(table: Any) -> bool:
    """Whether a loaded cache entry has the shape `{"stamp": [int, int], "defs": {key: [str, [str]]}}`."""
    if not (isinstance(table, dict) and isinstance(table.get("defs"), dict)):
        return False
    stamp, entries = table.get("stamp"), table["defs"].values()
    return (
        isinstance(stamp, list)
        and len(stamp) == 2
        and all(type(n) is int for n in stamp)
        and all(
            isinstance(e, list) and len(e) == 2 and isinstance(e[0], str) and isinstance(e[1], list) for e in entries
        )
        and all(isinstance(r, str) for e in entries for r in e[1])
    )
