"""A static index of one Python file: what each definition and module-level name is made of.

For every function (keyed by its first line, decorators included, as in `co_firstlineno`) and
every class (by qualified name, with its line span so the active one of several same-named
definitions can be told apart), the index holds a digest of its normalized AST (docstrings,
comments and layout gone; its own decorators apart) and the references it makes: dotted names it
reads, names it declares `global` (as `=NAME`) and what it imports in its body (as
`import:MODULE|ATTRS`). Decorators are kept one by one with their own references, so a caller can
leave out the ones it accounts for otherwise. For every module-level name, the index holds the
statements that bind or mutate it (`X = ...`, `X.k = ...`, `X.append(...)`, imports, loops), and for
the module as a whole the digest of its AST and every name it binds.

Entries are plain lists and dicts so that an index round-trips through JSON.
"""

from __future__ import annotations

import ast
from typing import Any

from workbench.core.hashing import digest

__all__ = ["D", "DEFINITIONS", "E", "Entry", "K", "R", "S", "index_source"]

DEFINITIONS = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)
COMPOUND = (ast.If, ast.Try, ast.TryStar, ast.With, ast.AsyncWith, ast.For, ast.AsyncFor, ast.While, ast.Match)
NEW_SCOPES = (ast.Lambda, ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp, *DEFINITIONS)

# [digest, refs, [[decorator digest, refs, head], ...], first line, last line]: a list, which
# loads from the JSON cache faster than a dict (10,000 entries for a 10,000-asset module)
Entry = list[Any]
D, R, K, S, E = range(5)


def index_source(source: bytes, filename: str) -> dict[str, Any]:
    """The index of a file's source; raises `SyntaxError`/`ValueError` on a file that does not parse."""
    tree = ast.parse(source, filename)
    strip_docstrings(tree)
    functions: dict[str, Entry] = {}
    classes: dict[str, list[Entry]] = {}
    _Definitions(functions, classes).visit(tree)
    bindings = _bindings(tree)
    names = sorted({*bindings, *(n.name for n in tree.body if isinstance(n, DEFINITIONS))})
    return {
        "f": functions,
        "c": classes,
        "b": bindings,
        "m": [digest("module", ast.dump(tree, include_attributes=False)), names, [], 0, 0],
    }


def strip_docstrings(tree: ast.AST) -> None:
    """Drop the docstring of the module and of every function and class in it, in place."""
    for node in ast.walk(tree):
        if isinstance(node, (*DEFINITIONS, ast.Module)) and node.body:
            first = node.body[0]
            if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant) and isinstance(first.value.value, str):
                node.body = node.body[1:] or [ast.Pass()]


def definition_entry(node: ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef) -> Entry:
    """Digest of a definition's AST without its own decorators, its references, its decorators."""
    decorators, node.decorator_list = node.decorator_list, []
    try:
        dumped = ast.dump(node, include_attributes=False)
        references = sorted(References.free_in(node))
    finally:
        node.decorator_list = decorators
    first = min([node.lineno, *(d.lineno for d in decorators)])
    deco = [[digest("decorator", ast.dump(d)), sorted(References.free_in(d)), _head(d)] for d in decorators]
    return [digest("ast", dumped), references, deco, first, node.end_lineno or node.lineno]


class _Definitions(ast.NodeVisitor):
    """Entries for all definitions: functions by first line, classes by qualified name."""

    def __init__(self, functions: dict[str, Entry], classes: dict[str, list[Entry]]) -> None:
        self.functions = functions
        self.classes = classes
        self.scope: list[str] = []

    def visit_FunctionDef(self, node: ast.FunctionDef | ast.AsyncFunctionDef) -> None:
        entry = definition_entry(node)
        self.functions[str(entry[S])] = entry
        self._nested(node, [node.name, "<locals>"])

    visit_AsyncFunctionDef = visit_FunctionDef

    def visit_ClassDef(self, node: ast.ClassDef) -> None:
        self.classes.setdefault(".".join([*self.scope, node.name]), []).append(definition_entry(node))
        self._nested(node, [node.name])

    def _nested(self, node: ast.AST, names: list[str]) -> None:
        self.scope += names
        self.generic_visit(node)
        del self.scope[-len(names) :]


class References(ast.NodeVisitor):
    """What a scope reads and does not bind: dotted names, `=GLOBAL`s and `import:MODULE|ATTRS`.

    Nested scopes are resolved first. A name bound by an import in the scope is rewritten into
    the module it names; an imported name never used by attribute is referenced bare.
    """

    def __init__(self) -> None:
        self.loads: set[str] = set()
        self.bound: set[str] = set()
        self.globals: set[str] = set()
        self.imports: dict[str, tuple[str, str]] = {}  # local name -> (module, attribute path)

    @classmethod
    def free_in(cls, node: ast.AST) -> set[str]:
        scope = cls()
        scope.generic_visit(node)
        return scope.free()

    def free(self) -> set[str]:
        out: set[str] = {f"={name}" for name in self.globals}
        used: set[str] = set()
        for ref in self.loads:
            head, _, rest = ref.partition(".")
            if head in self.globals:
                continue
            if head in self.imports:
                module, attrs = self.imports[head]
                out.add(f"import:{module}|{'.'.join(p for p in (attrs, rest) if p)}")
                used.add(head)
            elif head not in self.bound:
                out.add(ref)
        out |= {f"import:{m}|{a}" for name, (m, a) in self.imports.items() if name not in used}
        return out

    def visit_Name(self, node: ast.Name) -> None:
        (self.loads if isinstance(node.ctx, ast.Load) else self.bound).add(node.id)

    def visit_Attribute(self, node: ast.Attribute) -> None:
        chain, value = [node.attr], node.value
        while isinstance(value, ast.Attribute):
            chain.append(value.attr)
            value = value.value
        if isinstance(value, ast.Name):
            self.loads.add(".".join([value.id, *reversed(chain)]))
            if not isinstance(node.ctx, ast.Load):
                self.loads.add(value.id)
        else:
            self.visit(value)

    def visit_arg(self, node: ast.arg) -> None:
        self.bound.add(node.arg)
        self.generic_visit(node)

    def visit_Global(self, node: ast.Global) -> None:
        self.globals.update(node.names)

    def visit_Import(self, node: ast.Import) -> None:
        for alias in node.names:
            if alias.asname:
                self.imports[alias.asname] = (alias.name, "")
            else:
                top = alias.name.split(".", 1)[0]
                self.imports[top] = (top, "")
                if alias.name != top:  # `import a.b` also reads a.b (its import runs a.b's code)
                    self.loads.add(alias.name)

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        module = "." * node.level + (node.module or "")
        for alias in node.names:
            if alias.name == "*":
                self.loads.add(f"import:{module}|")
            else:
                self.imports[alias.asname or alias.name] = (module, alias.name)

    def visit_scope(self, node: ast.AST) -> None:
        if isinstance(node, DEFINITIONS):
            self.bound.add(node.name)
        inner = References()
        inner.generic_visit(node)  # decorators and defaults too: what they read is free in there
        self.loads |= inner.free()

    visit_FunctionDef = visit_AsyncFunctionDef = visit_ClassDef = visit_Lambda = visit_scope
    visit_ListComp = visit_SetComp = visit_DictComp = visit_GeneratorExp = visit_scope


def _head(node: ast.expr) -> str:
    """The dotted name a decorator expression calls or is (`asset` in `@asset(...)`), else ''."""
    target = node.func if isinstance(node, ast.Call) else node
    chain: list[str] = []
    while isinstance(target, ast.Attribute):
        chain.append(target.attr)
        target = target.value
    return ".".join([target.id, *reversed(chain)]) if isinstance(target, ast.Name) else ""


def _bindings(tree: ast.Module) -> dict[str, Entry]:
    """For each module-level name, the statements that bind or mutate it, and what they read."""
    statements: dict[str, list[ast.stmt]] = {}
    for stmt in _module_statements(tree.body):
        for name in _targets(stmt):
            statements.setdefault(name, []).append(stmt)
    out: dict[str, Entry] = {}
    for name, stmts in statements.items():
        dumps = [ast.dump(s, include_attributes=False) for s in stmts]
        refs: set[str] = set()
        for stmt in stmts:
            refs |= References.free_in(ast.Module(body=[stmt], type_ignores=[]))
        out[name] = [digest("binding", *dumps), sorted(refs - {name}), [], 0, 0]
    return out


def _module_statements(body: list[ast.stmt]) -> list[ast.stmt]:
    """Simple statements at module level, through if/try/with/for/while/match blocks."""
    out: list[ast.stmt] = []
    for stmt in body:
        if isinstance(stmt, DEFINITIONS):
            continue
        if isinstance(stmt, COMPOUND):
            if isinstance(stmt, (ast.For, ast.AsyncFor, ast.With, ast.AsyncWith)):
                header = [stmt.target] if isinstance(stmt, (ast.For, ast.AsyncFor)) else [
                    i.optional_vars for i in stmt.items if i.optional_vars is not None
                ]
                if header:
                    out.append(stmt)  # the loop or `with` binds its targets: the whole block counts
            for field in ("body", "orelse", "finalbody"):
                out += _module_statements(getattr(stmt, field, []) or [])
            for handler in getattr(stmt, "handlers", []):
                out += _module_statements(handler.body)
            for case in getattr(stmt, "cases", []):
                out += _module_statements(case.body)
        else:
            out.append(stmt)
    return out


def _targets(stmt: ast.stmt) -> set[str]:
    """Module-level names a statement binds, deletes or mutates (`X.k = 1`, `X.append(...)`)."""
    if isinstance(stmt, (ast.Import, ast.ImportFrom)):
        return {(a.asname or a.name).split(".", 1)[0] for a in stmt.names if a.name != "*"}
    if isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Call):
        root = _root(stmt.value.func)
        if root and isinstance(stmt.value.func, ast.Attribute):
            return {root}
    found: set[str] = set()
    if isinstance(stmt, (ast.For, ast.AsyncFor)):
        nodes: list[ast.AST] = [stmt.target]
    elif isinstance(stmt, (ast.With, ast.AsyncWith)):
        nodes = [i.optional_vars for i in stmt.items if i.optional_vars is not None]
    else:
        nodes = [stmt]
    stack = list(nodes)
    while stack:
        node = stack.pop()
        if isinstance(node, NEW_SCOPES):
            continue
        if isinstance(node, ast.Name) and not isinstance(node.ctx, ast.Load):
            found.add(node.id)
        elif isinstance(node, (ast.Attribute, ast.Subscript)) and not isinstance(node.ctx, ast.Load):
            root = _root(node)
            if root:
                found.add(root)
        elif isinstance(node, ast.NamedExpr):
            found.add(node.target.id)
        stack.extend(ast.iter_child_nodes(node))
    return found


def _root(node: ast.expr) -> str:
    while isinstance(node, (ast.Attribute, ast.Subscript, ast.Call)):
        node = node.func if isinstance(node, ast.Call) else node.value
    return node.id if isinstance(node, ast.Name) else ""
