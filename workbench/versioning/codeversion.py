"""Code versions: a digest of everything in the project that an asset's code can reach.

The rule: an asset's code version covers its function and, transitively, every piece of project
code it can reach: functions, classes (the definition that is active), methods, decorators and
their arguments, wrapper layers, closures and defaults, modules imported inside bodies, module-level
names and the values they hold at import time (of any type), plus the `@asset` options that change
the stored result (`io=`, partition mappings, `params=`) and the declared environment variables. A
value with a deterministic encoding (see `workbench.versioning.canonical`) is hashed as a value; any other value is
covered by the source of the statements that bind it and, transitively, what they read. Project
code is any code that is not part of an installed distribution or the standard library (so a
monorepo package next to the project or an editable install counts); third-party code is named,
and the distributions it comes from are recorded per materialization (`libraries`).

Sources are the bytes that were imported (`workbench.versioning.loader`), so the version describes the code
that runs even if the file changes meanwhile. Per-file indexes are cached by content digest.
Comments, docstrings, layout and `@asset(tags=..., group=...)` do not enter the version.
"""

from __future__ import annotations

import hashlib
import hmac
import inspect
import json
import logging
import os
import sys
import tempfile
import textwrap
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from types import BuiltinFunctionType, CodeType, FunctionType, ModuleType
from typing import Any, NamedTuple

import xxhash

from workbench.core.hashing import digest
from workbench.versioning.canonical import Encoder, Unencodable
from workbench.versioning.codeindex import DEFINITIONS, D, E, Entry, K, R, S, definition_entry, index_source, strip_docstrings
from workbench.versioning.loader import import_project_module, is_library_file, source_of, user_key

__all__ = ["CodeInfo", "CodeVersions", "Covered"]

log = logging.getLogger(__name__)

CACHE_FORMAT = f"codeversions-4-py{sys.version_info[0]}.{sys.version_info[1]}"
OWN_PACKAGE = "workbench"
_JSON = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode  # json.dumps(**options) builds one per call

Definition = FunctionType | type
Item = tuple[str, Any, str]  # (kind, object, name): def / binding / module


@dataclass(frozen=True, slots=True)
class Covered:
    """One thing a code version covers, for `wb why`."""

    kind: str  # function, class, module, binding, value, library, env, option, opaque
    name: str
    where: str = ""  # file:line, or how it is hashed


class CodeInfo(NamedTuple):
    """An asset's code version and what it covers (a named tuple: one per asset, built fast)."""

    version: str
    modules: tuple[str, ...] = ()  # top-level names of the third-party modules its code reaches
    covered: tuple[Covered, ...] = ()


class _Node:
    """The hash parts of one item and the items it reaches, in the order they were found."""

    __slots__ = ("parts", "children", "modules", "covered")

    def __init__(self) -> None:  # a plain class: a dataclass with four factories costs 2x per node
        self.parts: list[str] = []
        self.children: list[Item] = []
        self.modules: set[str] = set()
        self.covered: list[Covered] = []


class CodeVersions:
    """Computes code versions for asset and check specs, caching per-file indexes across runs."""

    def __init__(
        self,
        project_root: Path,
        cache_file: Path | None = None,
        env: Mapping[str, str] | None = None,
        *,
        explain: bool = False,
    ) -> None:
        self.root = Path(project_root).resolve()
        self.explain = explain  # also list what each version covers (`CodeInfo.covered`, for `wb why`)
        self.cache_file = cache_file
        self.env = os.environ if env is None else env
        self._files: dict[str, dict[str, Any]] = self._load()
        self._dirty = False
        self._indexes: dict[tuple[str, int], tuple[object, dict[str, Any] | None]] = {}
        self._nodes: dict[tuple[str, int, str], tuple[Any, _Node]] = {}
        self._encoder = Encoder(self._name_outside_node, self._is_project_type)
        self._current: _Node | None = None
        self._own: dict[tuple[int, str], bool] = {}  # (namespace id, decorator head) -> ours?
        self._explicit: dict[tuple[str, ...], CodeInfo] = {}

    def of(self, spec: Any) -> str:
        """The hex code version of an asset or check: explicit if given, else computed from its code."""
        return self.info(spec).version

    def info(self, spec: Any) -> CodeInfo:
        options = self._options(spec)
        if spec.code_version is not None:
            memo = (spec.code_version, *options)  # many assets share one explicit version: hash it once
            found = self._explicit.get(memo)
            if found is None:
                found = CodeInfo(digest("explicit", *memo), (), (Covered("option", "code_version", spec.code_version),))
                self._explicit[memo] = found
            return found
        root: Item = ("def", spec.fn, "")
        order, index = [root], {("def", id(spec.fn), ""): 0}
        parts: list[str] = options
        modules: set[str] = set()
        covered: list[Covered] = []
        for item in order:  # grows breadth-first while references are found; cycle-safe
            node = self._node(item)
            parts.append(item[0])
            parts += node.parts
            parts.append("->")
            for child in node.children:
                key = (child[0], id(child[1]), child[2])
                if key not in index:
                    index[key] = len(order)
                    order.append(child)
                parts.append(str(index[key]))
            if node.modules:
                modules |= node.modules
            if node.covered:
                covered += node.covered
        if self.explain:
            covered += [Covered("env", name, "set" if name in self.env else "unset") for name in getattr(spec, "env", ())]
            covered += [Covered("library", name) for name in sorted(modules)]
        return CodeInfo(_digest_text(parts), tuple(sorted(modules)) if modules else (), tuple(covered))

    def save(self) -> None:
        """Write the cache file atomically if anything was parsed since it was loaded."""
        if self.cache_file is None or not self._dirty:
            return
        self._files = {name: table for name, table in self._files.items() if os.path.exists(name)}
        self.cache_file.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=self.cache_file.parent, prefix=self.cache_file.name, suffix=".tmp")
        body = json.dumps(self._files, separators=(",", ":")).encode()
        key = user_key()
        try:
            with os.fdopen(fd, "wb") as f:
                if key is not None:  # without a key to sign it, an empty file: never trusted
                    f.write(json.dumps({"format": CACHE_FORMAT, "mac": _mac(key, body)}).encode() + b"\n" + body)
            os.replace(tmp, self.cache_file)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        self._dirty = False

    # -- options that change the stored result --------------------------------------------------

    def _options(self, spec: Any) -> list[str]:
        parts = ["io", getattr(spec, "io", None) or ""]
        mappings = getattr(spec, "partition_mappings", None)
        if mappings:
            try:
                parts += ["mappings", self._encoder.encode(dict(sorted(mappings.items())))]
            except Unencodable:
                parts += ["mappings", *(f"{k}:{_label(type(v))}" for k, v in sorted(mappings.items()))]
        for name in getattr(spec, "env", ()):  # sorted when declared
            value = self.env.get(name)
            parts += ["env", name, "-" if value is None else digest("value", value)]
        params = getattr(spec, "hparams", None)
        if params:  # JSON by construction (`spec.check_params`); their order does not count
            parts += ["params", json.dumps(params, sort_keys=True, separators=(",", ":"))]
        return parts

    # -- items ----------------------------------------------------------------------------------

    def _node(self, item: Item) -> _Node:
        kind, obj, name = item
        key = (kind, id(obj), name)
        found = self._nodes.get(key)
        if found is not None and found[0] is obj:
            return found[1]
        node = _Node()
        previous, self._current = self._current, node
        try:
            if kind == "module":
                self._module_node(node, obj)
            elif kind == "binding":
                self._binding_node(node, obj, name)
            elif isinstance(obj, type):
                self._class_node(node, obj)
            else:
                self._function_node(node, obj)
        finally:
            self._current = previous
        self._nodes[key] = (obj, node)
        return node

    def _function_node(self, node: _Node, fn: Any) -> None:
        if not isinstance(fn, FunctionType):  # a wrapper object (functools.cache...) around project code
            node.parts += ["wrapper", _label(type(fn))]
            node.children.append(("def", fn.__wrapped__, ""))
            return
        entry = self._function_entry(fn)
        namespace = fn.__globals__
        node.parts += ["function", entry[D]]
        if self.explain:
            node.covered.append(Covered("function", _qualname(fn), f"{fn.__code__.co_filename}:{fn.__code__.co_firstlineno}"))
        refs = list(entry[R])
        refs += self._decorators(node, entry, namespace)
        cells = {}
        if fn.__closure__:
            for name, cell in zip(fn.__code__.co_freevars, fn.__closure__, strict=True):
                try:
                    cells[name] = cell.cell_contents
                except ValueError:  # an empty cell: the variable was never assigned
                    cells[name] = None
        for name, value in sorted(cells.items()):
            node.parts += ["cell", name, self._value(value, lambda: self._enclosing(fn))]
        if fn.__defaults__ or fn.__kwdefaults__:
            defaults = [*enumerate(fn.__defaults__ or ()), *sorted((fn.__kwdefaults__ or {}).items())]
            for position, value in defaults:
                node.parts += ["default", str(position), self._value(value, lambda: self._enclosing(fn))]
        wrapped = getattr(fn, "__wrapped__", None)
        if wrapped is not None:  # functools.wraps: the wrapper and the wrapped both count
            node.parts += ["wraps", self._name(wrapped) or _label(type(wrapped))]
        self._references(node, refs, namespace, cells)

    def _class_node(self, node: _Node, cls: type) -> None:
        module = sys.modules.get(cls.__module__)
        namespace = vars(module) if module is not None else {}
        entry = self._class_entry(cls, namespace)
        if entry is None:
            node.parts += ["opaque class", _label(cls)]
            if self.explain:
                node.covered.append(Covered("opaque", _label(cls), "no source: named only"))
            return
        node.parts += ["class", entry[D]]
        if self.explain:
            node.covered.append(Covered("class", _label(cls), f"{namespace.get('__file__', '')}:{entry[S]}"))
        refs = list(entry[R]) + self._decorators(node, entry, namespace)
        self._references(node, refs, namespace, {})

    def _binding_node(self, node: _Node, namespace: dict[str, Any], name: str) -> None:
        filename = namespace.get("__file__") or ""
        index = self._index(filename, namespace) if filename else None
        entry = index["b"].get(name) if index is not None else None
        module = namespace.get("__name__", "?")
        if entry is None:  # bound by code we cannot read (exec, setattr from elsewhere)
            node.parts += ["unbound", module, name, _label(type(namespace.get(name)))]
            if self.explain:
                node.covered.append(Covered("opaque", f"{module}.{name}", "no binding statement found: named only"))
            return
        node.parts += ["binding", module, name, entry[D]]
        if self.explain:
            node.covered.append(Covered("binding", f"{module}.{name}", "source of the statements that bind it"))
        self._references(node, entry[R], namespace, {})

    def _module_node(self, node: _Node, module: ModuleType) -> None:
        namespace = vars(module)
        filename = getattr(module, "__file__", None) or ""
        index = self._index(filename, namespace) if filename else None
        if index is None:
            node.parts += ["opaque module", module.__name__]
            return
        node.parts += ["module", module.__name__, index["m"][D]]
        if self.explain:
            node.covered.append(Covered("module", module.__name__, filename))
        self._references(node, index["m"][R], namespace, {})

    # -- references -----------------------------------------------------------------------------

    def _decorators(self, node: _Node, entry: Entry, namespace: Mapping[str, Any]) -> list[str]:
        """Decorator digests (our own `@asset`/`@check` left out: their options enter separately)."""
        refs: list[str] = []
        for deco_digest, deco_refs, head in entry[K]:
            own = self._own.get((id(namespace), head))
            if own is None:
                own = self._own[(id(namespace), head)] = _is_own(_lookup(head, namespace))
            if own:
                continue
            node.parts += ["decorator", deco_digest]
            refs += deco_refs
        return refs

    def _references(self, node: _Node, refs: list[str], namespace: Mapping[str, Any], cells: Mapping[str, Any]) -> None:
        imports = [r for r in refs if r.startswith("import:")]  # first: they may fill registries
        for ref in [*imports, *(r for r in refs if not r.startswith("import:"))] if imports else refs:
            if ref.startswith("="):
                node.parts += ["global", ref]
                node.children.append(("binding", namespace, ref[1:]))
            elif ref.startswith("import:"):
                self._imported(node, ref, namespace)
            else:
                self._named(node, ref, namespace, cells)

    def _named(self, node: _Node, ref: str, namespace: Mapping[str, Any], cells: Mapping[str, Any]) -> None:
        head = ref.partition(".")[0]
        if head in cells or head not in namespace:
            return  # cells are hashed by value with the function; else a builtin or an unbound name
        rest = ref.split(".")[1:] if "." in ref else []
        value, owner, name = namespace[head], namespace, head
        for attr in rest:  # descend through project modules only
            if not (isinstance(value, ModuleType) and self._is_project_module(value)) or not hasattr(value, attr):
                break
            owner, name, value = vars(value), attr, getattr(value, attr)
        label = f"{owner.get('__name__', '?')}.{name}"
        node.parts += ["name", label, self._value(value, lambda: ("binding", owner, name), label)]

    def _imported(self, node: _Node, ref: str, namespace: Mapping[str, Any]) -> None:
        """`import:MODULE|ATTRS`: an import inside a body; project modules are imported to be read."""
        module_name, _, attrs = ref.removeprefix("import:").partition("|")
        absolute = _absolute(module_name, namespace.get("__package__"))
        module = import_project_module(absolute, self.root) if absolute else None
        if module is None:  # third-party, standard library or missing: named only
            node.parts += ["import", absolute or module_name, attrs]
            top = (absolute or module_name).split(".", 1)[0]
            if top and not _is_stdlib(top):
                node.modules.add(top)
            return
        value, owner, name = module, vars(module), ""
        for attr in [a for a in attrs.split(".") if a]:
            if not isinstance(value, ModuleType) or not self._is_project_module(value):
                break
            nested = getattr(value, attr, None)
            if nested is None:
                nested = import_project_module(f"{value.__name__}.{attr}", self.root)
                if nested is None:
                    break
            owner, name, value = vars(value), attr, nested
        fallback = (lambda: ("binding", owner, name)) if name else (lambda: ("module", module, ""))
        node.parts += ["import", absolute, attrs, self._value(value, fallback, f"{absolute}.{attrs}".rstrip("."))]

    def _value(self, value: Any, fallback: Any, label: str = "") -> str:
        """Text for a value read by code: a name for code, an encoding for data, else a fallback item."""
        named = self._name(value)
        if named is not None:
            return named
        try:
            text = "value:" + self._encoder.encode(value)
            if label and self._current is not None:
                if self.explain:
                    self._current.covered.append(Covered("value", label, _label(type(value))))
            return text
        except Unencodable as exc:
            item = fallback()
            assert self._current is not None
            if item is None:
                if self.explain:
                    self._current.covered.append(Covered("opaque", _label(type(value)), str(exc)))
                return "opaque:" + _label(type(value))
            return self._child(item)

    def _name(self, value: Any) -> str | None:
        """Text for functions, classes, modules and wrappers; project code becomes a child item."""
        node = self._current
        assert node is not None
        if isinstance(value, ModuleType):
            if self._is_project_module(value):
                return self._child(("module", value, ""))
            node.modules.add(value.__name__.split(".", 1)[0]) if not _is_stdlib(value.__name__) else None
            return f"lib-module:{value.__name__}"
        if isinstance(value, (FunctionType, type)):
            if self._is_project_definition(value):
                return self._child(("def", value, ""))
            return self._library(value)
        if isinstance(value, BuiltinFunctionType):
            return self._library(value)
        if callable(value) and hasattr(value, "__wrapped__") and not isinstance(value, FunctionType):
            inner = self._name(value.__wrapped__)
            return f"wrapper:{_label(type(value))}({inner})" if inner is not None else None
        return None

    def _name_outside_node(self, value: Any) -> str | None:
        return self._name(value) if self._current is not None else _label(value) if isinstance(value, type) else None

    def _library(self, value: Any) -> str:
        module = getattr(value, "__module__", None) or ""
        top = module.split(".", 1)[0]
        if top and not _is_stdlib(top) and self._current is not None:
            self._current.modules.add(top)
        return f"lib:{module}.{getattr(value, '__qualname__', getattr(value, '__name__', '?'))}"

    def _child(self, item: Item) -> str:
        """Queue `item` under the current node; its text names it stably (the digest follows the order)."""
        node = self._current
        assert node is not None
        node.children.append(item)
        kind, obj, name = item
        if kind == "binding":
            return f"ref:binding:{obj.get('__name__', '?')}.{name}"
        return f"ref:{kind}:{obj.__name__ if kind == 'module' else _label(obj)}"

    def _enclosing(self, fn: FunctionType) -> Item | None:
        """The function that defined `fn` (its closure and defaults come from there), if reachable."""
        outer, sep, _ = fn.__qualname__.rpartition(".<locals>.")
        if not sep:
            return None
        value: Any = fn.__globals__
        for part in outer.split("."):
            value = value.get(part) if isinstance(value, dict) else getattr(value, part, None)
            if part == "<locals>" or value is None:
                return None
        return ("def", value, "") if self._is_project_definition(value) else None

    # -- locality -------------------------------------------------------------------------------

    def _is_project_definition(self, value: Any) -> bool:
        if isinstance(value, type):
            return self._is_project_type(value)
        if isinstance(value, FunctionType):
            module = value.__module__ or ""
            return module.split(".", 1)[0] != OWN_PACKAGE and not is_library_file(value.__code__.co_filename)
        return False

    def _is_project_type(self, cls: type) -> bool:
        module = sys.modules.get(cls.__module__)
        if module is None or cls.__module__.split(".", 1)[0] in (OWN_PACKAGE, "builtins"):
            return False
        filename = getattr(module, "__file__", None)
        if filename is None:
            return cls.__module__ == "__main__"
        return not is_library_file(filename)

    def _is_project_module(self, module: ModuleType) -> bool:
        filename = getattr(module, "__file__", None)
        top = module.__name__.split(".", 1)[0]
        return bool(filename) and top != OWN_PACKAGE and not is_library_file(filename)

    # -- entries --------------------------------------------------------------------------------

    def _function_entry(self, fn: FunctionType) -> Entry:
        """From its file's index, else `inspect.getsource`, else bytecode."""
        filename = fn.__code__.co_filename
        index = self._index(filename, fn.__globals__)
        if index is not None:
            entry = index["f"].get(str(fn.__code__.co_firstlineno))
            if entry is not None:
                return entry  # type: ignore[no-any-return]
        try:
            import ast

            tree = ast.parse(textwrap.dedent(inspect.getsource(fn)))
        except (OSError, TypeError, SyntaxError):
            tree = None
        if tree is not None and tree.body and isinstance(tree.body[0], DEFINITIONS[:2]):
            strip_docstrings(tree)
            return definition_entry(tree.body[0])
        return _bytecode(fn.__code__)

    def _class_entry(self, cls: type, namespace: Mapping[str, Any]) -> Entry | None:
        """The entry of the definition of `cls` that is active (when several share its name)."""
        filename = namespace.get("__file__")
        index = self._index(filename, namespace) if filename else None
        candidates = index["c"].get(cls.__qualname__, []) if index is not None else []
        if len(candidates) <= 1:
            return candidates[0] if candidates else None
        lines = [fn.__code__.co_firstlineno for fn in _methods(cls) if fn.__code__.co_filename == filename]
        for entry in candidates:
            if any(entry[S] <= line <= entry[E] for line in lines):
                return entry  # type: ignore[no-any-return]
        return [  # no method tells them apart: all of them count
            digest("classes", *(e[D] for e in candidates)),
            sorted({r for e in candidates for r in e[R]}),
            [k for e in candidates for k in e[K]],
            candidates[0][S],
            candidates[-1][E],
        ]

    def _index(self, filename: str, namespace: Mapping[str, Any]) -> dict[str, Any] | None:
        """The file's index, for the source this module was loaded from (checked once per module)."""
        key = (filename, id(namespace))
        if key not in self._indexes:
            self._indexes[key] = (namespace, self._read_index(filename))  # holding it keeps the id unique
        return self._indexes[key][1]

    def _read_index(self, filename: str) -> dict[str, Any] | None:
        source = source_of(filename)
        if source is None:
            return None
        stamp = digest("source", source)
        cached = self._files.get(filename)
        if cached is not None and cached["hash"] == stamp:
            return cached["index"]  # type: ignore[no-any-return]
        try:
            index = index_source(source, filename)
        except (SyntaxError, ValueError):
            return None
        self._files[filename] = {"hash": stamp, "index": index}
        self._dirty = True
        return index

    def _load(self) -> dict[str, dict[str, Any]]:
        """The persisted per-file indexes; an unreadable or malformed cache counts as empty."""
        if self.cache_file is None or not self.cache_file.exists():
            return {}
        try:
            header, _, body = self.cache_file.read_bytes().partition(b"\n")
            head = json.loads(header)
            key = user_key()
            if not isinstance(head, dict) or head.get("format") != CACHE_FORMAT or key is None:
                return {}
            if not hmac.compare_digest(str(head.get("mac", "")), _mac(key, body)):
                raise ValueError("its signature does not match (damaged, or not written by this user)")
            files = json.loads(body)  # signed by this user's own writes: well formed, no need to walk it
            if not isinstance(files, dict):
                raise ValueError("unexpected structure")
            return files
        except (OSError, ValueError, KeyError, TypeError) as exc:
            log.warning("ignoring unreadable code-version cache %s: %s", self.cache_file, exc)
            return {}


def _mac(key: bytes, body: bytes) -> str:
    return hashlib.blake2b(body, key=key, digest_size=32).hexdigest()


def _digest_text(parts: list[str]) -> str:
    """xxh3-128 of the parts as one JSON array: unambiguous (no bare join) and encoded in C."""
    return xxhash.xxh3_128_hexdigest(_JSON(parts).encode())


def _label(value: Any) -> str:
    return f"{getattr(value, '__module__', '?')}.{getattr(value, '__qualname__', type(value).__qualname__)}"


def _qualname(fn: FunctionType) -> str:
    return f"{fn.__module__}.{fn.__qualname__}"


def _lookup(dotted: str, namespace: Mapping[str, Any]) -> Any:
    head, *rest = dotted.split(".") if dotted else [""]
    value = namespace.get(head)
    for attr in rest:
        value = getattr(value, attr, None)
    return value


def _is_own(value: Any) -> bool:
    """Whether a decorator is Workbench's own (`@asset`, `@check`), whose options are hashed apart."""
    return callable(value) and (getattr(value, "__module__", "") or "").split(".", 1)[0] == OWN_PACKAGE


def _absolute(module: str, package: str | None) -> str:
    """The absolute name of a possibly relative module name, '' when it cannot be resolved."""
    if not module.startswith("."):
        return module
    level = len(module) - len(module.lstrip("."))
    parts = (package or "").split(".") if package else []
    if level - 1 > len(parts) or not parts:
        return ""
    base = parts[: len(parts) - (level - 1)]
    rest = module.lstrip(".")
    return ".".join([*base, rest] if rest else base)


def _is_stdlib(name: str) -> bool:
    return name.split(".", 1)[0] in sys.stdlib_module_names or name in ("builtins", "__main__")


def _methods(cls: type) -> list[FunctionType]:
    out = []
    for value in vars(cls).values():
        value = getattr(value, "__func__", value)
        value = getattr(value, "fget", value)
        value = inspect.unwrap(value) if callable(value) else value
        if isinstance(value, FunctionType):
            out.append(value)
    return out


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
    return [digest("bytecode", *parts), sorted(set(code.co_names)), [], code.co_firstlineno, code.co_firstlineno]
