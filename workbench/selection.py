"""Asset selection: a small language over the asset graph, Dagster-compatible in both generations.

Grammar, lowest precedence first::

    union     := and ((',' | 'or' | whitespace) and)*
    and       := not ('and' not)*
    not       := 'not' not | traversal
    traversal := [up] primary [down]        up: '*' | '+'.. | N'+'    down: '*' | '+'.. | '+'N
    primary   := KEY | '*' | NAME':'VALUE ['=' VALUE] | '(' union ')' | ('roots' | 'sinks') '(' union ')'

Rules:
- Each `+` is one level (`++a`: two levels up), `N+X` / `X+N` are N levels, `*` is every level;
  a traversal keeps its operand. A bare `+` is one level in both generations (current Dagster
  reads a bare `+` as every level; here that is `*`).
- Traversal operators touch their operand: `a*` is `a` and its descendants, `a *b` is `a` or
  (`b` and its ancestors), `a * b` is everything, and `a*b` is an error.
- In an unquoted `key:` value `*` is a glob wildcard: `key:penguin*` is every key starting with
  `penguin` (matching none is not an error), while legacy `penguin*` is `penguin` and its
  descendants. A quote ends a value: `key:"penguin"*` is `penguin` and its descendants.
- A bare key, or a `key:` value without wildcards, must exist: else SelectionError with suggestions.
- `and`, `or`, `not` are case-insensitive keywords; an asset so named is selected with `key:`.
- `kind:K` matches an asset's declared serializer (`parquet`, `json`, `bytes`, `pickle`), `source`
  for sources, and a `kind` tag. Only `key:` values take wildcards.
- `roots(X)` / `sinks(X)` are the members of X with no parents / children inside X.
- Empty text and `*` select everything.
"""

from __future__ import annotations

import fnmatch
import string
from dataclasses import dataclass
from typing import Literal, assert_never

from workbench.errors import SelectionError
from workbench.graph import AssetGraph, Node, suggest
from workbench.serializers import declared_kind
from workbench.spec import AssetSpec

__all__ = [
    "All", "And", "Expr", "Group", "Key", "KeyGlob", "Kind", "Not", "Or", "Roots", "Sinks", "Tag",
    "Traverse", "evaluate", "parse", "select",
]  # fmt: skip

KEYWORDS = frozenset({"and", "or", "not"})
FUNCTIONS = frozenset({"roots", "sinks"})
FILTERS = ("key", "group", "tag", "kind")
_WORD_START = frozenset(string.ascii_letters + "_")
_WORD_CHARS = _WORD_START | frozenset(string.digits + "/")
_VALUE_STOP = frozenset("(),=+:\"'")


@dataclass(frozen=True, slots=True)
class All:
    """Every node."""


@dataclass(frozen=True, slots=True)
class Key:
    """One key that must exist."""

    name: str


@dataclass(frozen=True, slots=True)
class KeyGlob:
    """Keys matching an fnmatch pattern; may be empty."""

    pattern: str


@dataclass(frozen=True, slots=True)
class Group:
    name: str


@dataclass(frozen=True, slots=True)
class Tag:
    """Nodes carrying tag `key`, with `value` when given."""

    key: str
    value: str | None = None


@dataclass(frozen=True, slots=True)
class Kind:
    name: str


@dataclass(frozen=True, slots=True)
class Not:
    operand: Expr


@dataclass(frozen=True, slots=True)
class And:
    left: Expr
    right: Expr


@dataclass(frozen=True, slots=True)
class Or:
    left: Expr
    right: Expr


@dataclass(frozen=True, slots=True)
class Traverse:
    """The operand plus `up` levels of ancestors and `down` levels of descendants (None: all)."""

    operand: Expr
    up: int | None = 0
    down: int | None = 0


@dataclass(frozen=True, slots=True)
class Roots:
    operand: Expr


@dataclass(frozen=True, slots=True)
class Sinks:
    operand: Expr


Expr = All | Key | KeyGlob | Group | Tag | Kind | Not | And | Or | Traverse | Roots | Sinks
_TokenKind = Literal["word", "attr", "num", "+", "*", "(", ")", ",", "end"]
_PUNCT: dict[str, _TokenKind] = {"(": "(", ")": ")", "+": "+", "*": "*", ",": ","}


@dataclass(frozen=True, slots=True)
class _Token:
    kind: _TokenKind
    text: str
    col: int  # 1-based
    spaced: bool  # preceded by whitespace or the start of the text
    values: tuple[str, ...] = ()  # of an attr: VALUE or (K, V)


def _error(text: str, message: str, col: int) -> SelectionError:
    return SelectionError(f"bad selection {text!r}: {message} at column {col}")


def _tokenize(text: str) -> list[_Token]:
    tokens: list[_Token] = []
    i, spaced = 0, True
    while i < len(text):
        ch, start = text[i], i
        if ch.isspace():
            i, spaced = i + 1, True
            continue
        if ch in _PUNCT:
            tokens.append(_Token(_PUNCT[ch], ch, start + 1, spaced))
            i += 1
        elif ch in string.digits:
            while i < len(text) and text[i] in string.digits:
                i += 1
            tokens.append(_Token("num", text[start:i], start + 1, spaced))
        elif ch in _WORD_START:
            while i < len(text) and text[i] in _WORD_CHARS:
                i += 1
            word = text[start:i]
            if i < len(text) and text[i] == ":":
                first, i = _lex_value(text, i + 1, f"'{word}:'")
                values: tuple[str, ...] = (first,)
                if i < len(text) and text[i] == "=":
                    second, i = _lex_value(text, i + 1, "'='")
                    values = (first, second)
                tokens.append(_Token("attr", word, start + 1, spaced, values))
            else:
                tokens.append(_Token("word", word, start + 1, spaced))
        else:
            raise _error(text, f"unexpected character {ch!r}", start + 1)
        spaced = False
    tokens.append(_Token("end", "", len(text) + 1, True))
    return tokens


def _lex_value(text: str, i: int, after: str) -> tuple[str, int]:
    """The quoted or bare value starting at or after `text[i]`, and the index past it."""
    while i < len(text) and text[i].isspace():
        i += 1
    start = i
    if i < len(text) and text[i] in "\"'":
        end = text.find(text[i], i + 1)
        if end < 0:
            raise _error(text, "unterminated quote", start + 1)
        value, i = text[i + 1 : end], end + 1
    else:
        while i < len(text) and not text[i].isspace() and text[i] not in _VALUE_STOP:
            i += 1
        value = text[start:i]
    if not value:
        raise _error(text, f"expected a value after {after}", start + 1)
    return value, i


def _is_keyword(tok: _Token, *words: str) -> bool:
    return tok.kind == "word" and tok.text.lower() in words


def _starts_primary(tok: _Token) -> bool:
    return tok.kind in ("attr", "(") or (tok.kind == "word" and not _is_keyword(tok, *KEYWORDS))


def _starts_term(tok: _Token) -> bool:
    return _starts_primary(tok) or tok.kind in ("*", "+", "num")


def _show(tok: _Token) -> str:
    if tok.kind == "end":
        return "end of input"
    return f"'{tok.text}:'" if tok.kind == "attr" else repr(tok.text)


class _Parser:
    """Recursive descent over the tokens of one selection text."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.tokens = _tokenize(text)
        self.pos = 0

    def peek(self, ahead: int = 0) -> _Token:
        return self.tokens[min(self.pos + ahead, len(self.tokens) - 1)]

    def take(self) -> _Token:
        tok = self.peek()
        self.pos += 1
        return tok

    def fail(self, message: str, tok: _Token) -> SelectionError:
        return _error(self.text, message, tok.col)

    def parse(self) -> Expr:
        if self.peek().kind == "end":
            return All()
        expr = self.union(None)
        if self.peek().kind != "end":
            raise self.fail(f"unexpected {_show(self.peek())}", self.peek())
        return expr

    def union(self, after: str | None) -> Expr:
        expr = self.conj(after)
        while True:
            tok = self.peek()
            if tok.kind == "," or _is_keyword(tok, "or"):
                self.take()
                expr = Or(expr, self.conj(repr(tok.text)))
            elif _starts_term(tok):
                if not tok.spaced:
                    raise self.fail(f"expected a space, ',' or operator before {_show(tok)}", tok)
                expr = Or(expr, self.conj(None))
            else:
                return expr

    def conj(self, after: str | None) -> Expr:
        expr = self.neg(after)
        while _is_keyword(self.peek(), "and"):
            expr = And(expr, self.neg(repr(self.take().text)))
        return expr

    def neg(self, after: str | None) -> Expr:
        if _is_keyword(self.peek(), "not"):
            return Not(self.neg(repr(self.take().text)))
        return self.traversal(after)

    def traversal(self, after: str | None) -> Expr:
        start, tok, nxt = self.pos, self.peek(), self.peek(1)
        up: int | None = 0
        if tok.kind == "num" and nxt.kind == "+" and not nxt.spaced:
            self.pos += 2
            up = int(tok.text)
        elif tok.kind == "+":
            up = self.pluses()
        elif tok.kind == "*" and _starts_primary(nxt) and not nxt.spaced:
            self.take()
            up = None
        if self.pos > start:
            operand = self.peek()
            prefix = self.text[tok.col - 1 : operand.col - 1].strip()
            if not _starts_primary(operand):
                raise self.fail(f"expected a term after '{prefix}'", operand)
            if operand.spaced:
                raise self.fail(f"'{prefix}' must touch the term it extends", operand)
        expr = self.primary(after)
        down: int | None = 0
        tok = self.peek()
        if tok.kind == "*" and not tok.spaced:
            self.take()
            down = None
        elif tok.kind == "+" and not tok.spaced:
            down = self.pluses()
            if down == 1 and self.peek().kind == "num" and not self.peek().spaced:
                down = int(self.take().text)
        return expr if up == 0 and down == 0 else Traverse(expr, up, down)

    def pluses(self) -> int:
        """Consume a run of touching '+' tokens and return its length."""
        self.take()
        count = 1
        while self.peek().kind == "+" and not self.peek().spaced:
            self.take()
            count += 1
        return count

    def primary(self, after: str | None) -> Expr:
        tok = self.peek()
        if not (_starts_primary(tok) or tok.kind == "*"):
            found = f" after {after}" if after else f", found {_show(tok)}"
            raise self.fail(f"expected a term{found}", tok)
        self.take()
        if tok.kind == "*":
            return All()
        if tok.kind == "(":
            return self.closed(tok, self.union("'('"))
        if tok.kind == "attr":
            return self.filter(tok)
        nxt, name = self.peek(), tok.text.lower()
        if nxt.kind == "(" and (name in FUNCTIONS or not nxt.spaced):
            if name not in FUNCTIONS:
                raise self.fail(f"unknown function {tok.text!r} (expected roots or sinks)", tok)
            self.take()
            inner = self.closed(nxt, self.union("'('"))
            return Roots(inner) if name == "roots" else Sinks(inner)
        return Key(tok.text)

    def closed(self, opening: _Token, expr: Expr) -> Expr:
        if self.peek().kind != ")":
            raise self.fail("unclosed '('", opening)
        self.take()
        return expr

    def filter(self, tok: _Token) -> Expr:
        values = tok.values
        if tok.text not in FILTERS:
            raise self.fail(f"unknown filter '{tok.text}:' (expected key:, group:, tag: or kind:)", tok)
        if len(values) == 2 and tok.text != "tag":
            raise self.fail("'=' is only allowed in tag:K=V", tok)
        if tok.text == "key":
            return KeyGlob(values[0]) if any(c in values[0] for c in "*?[") else Key(values[0])
        if tok.text == "group":
            return Group(values[0])
        if tok.text == "kind":
            return Kind(values[0])
        return Tag(values[0], values[1] if len(values) == 2 else None)


def parse(text: str) -> Expr:
    """The AST of a selection; blank text is `All()`. Raises SelectionError pointing at the column."""
    return _Parser(text).parse()


def _kinds(node: Node) -> set[str]:
    kinds = {declared_kind(node) if isinstance(node, AssetSpec) else "source"}
    if "kind" in node.tags:
        kinds.add(node.tags["kind"])
    return {k for k in kinds if k}


def evaluate(graph: AssetGraph, expr: Expr) -> set[str]:
    """The keys `expr` selects in `graph`; an unknown exact key raises SelectionError."""
    match expr:
        case All():
            return set(graph.nodes)
        case Key(name):
            if name not in graph.nodes:
                raise SelectionError(f"unknown asset key {name!r}" + suggest(name, graph.nodes))
            return {name}
        case KeyGlob(pattern):
            return {k for k in graph.nodes if fnmatch.fnmatchcase(k, pattern)}
        case Group(name):
            return {k for k, n in graph.nodes.items() if n.group == name}
        case Tag(key, value):
            tagged = {k for k, n in graph.nodes.items() if key in n.tags}
            return tagged if value is None else {k for k in tagged if graph.nodes[k].tags[key] == value}
        case Kind(name):
            return {k for k, n in graph.nodes.items() if name in _kinds(n)}
        case Not(operand):
            return set(graph.nodes) - evaluate(graph, operand)
        case And(left, right):
            return evaluate(graph, left) & evaluate(graph, right)
        case Or(left, right):
            return evaluate(graph, left) | evaluate(graph, right)
        case Traverse(operand, up, down):
            base = evaluate(graph, operand)
            up_keys = graph.ancestors(base, up) if up != 0 else set()
            down_keys = graph.descendants(base, down) if down != 0 else set()
            return base | up_keys | down_keys
        case Roots(operand):
            members = evaluate(graph, operand)
            return {k for k in members if members.isdisjoint(graph.parents[k])}
        case Sinks(operand):
            members = evaluate(graph, operand)
            return {k for k in members if members.isdisjoint(graph.children[k])}
        case _:
            assert_never(expr)


def select(graph: AssetGraph, text: str | None) -> tuple[str, ...]:
    """The keys `text` selects, in the graph's topological order; None, '' and '*' select all."""
    chosen = evaluate(graph, parse(text or ""))
    return tuple(k for k in graph.order if k in chosen)
