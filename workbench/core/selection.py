"""Asset selection: a small language over the asset graph, Dagster-compatible in both generations.

Grammar, lowest precedence first::

    union     := and ((',' | 'or' | whitespace) and)*
    and       := not ('and' not)*
    not       := 'not' not | traversal
    traversal := [up] primary [down]          up: '*' | '+'.. | N'+'    down: '*' | '+'.. | '+'N
    primary   := KEY | '*' | NAME':'VALUE ['=' VALUE] | '(' union ')' | ('roots' | 'sinks') '(' union ')'

Traversals (each keeps its operand):
- On a bare key (legacy syntax) each `+` is one level (`++a`: two levels up) and `*` is every level.
- On anything else (`key:`, `group:`, ..., parentheses, `roots(...)`) a `+` is every level, as in
  current Dagster: `key:a+ and +key:c` is every asset on a path from a to c. `++` and `*` are
  errors there.
- `N+X` / `X+N` are N levels on both. `*` (every asset) takes no traversal: `*+` is an error.
- Traversal operators touch their operand: `a*` is `a` and its descendants, `a *b` is `a` or
  (`b` and its ancestors), `a * b` is everything, and `a*b` is an error.

Filters:
- `key:V` and `group:V`: a `*` in V is a wildcard (`key:penguin*`, `group:"ml/*"`); matching
  none is fine. A bare key, or a `key:` value without `*`, must exist: else SelectionError with
  suggestions.
- `tag:K` is every asset tagged K, whatever the value; `tag:K=V` the ones where it is V.
- `kind:K` matches any of an asset's kinds: `asset` or `source`, its serializer known before it runs
  (`parquet`, `json`, `bytes`, `pickle`: `io=` or the return annotation), and its `kind` tag.
- `status:S` (`fresh`, `stale`, `missing`, `failed`) needs the assets' current states: `select`
  takes them as a mapping, so selection stays a pure function.
- `roots(X)` / `sinks(X)` are the members of X with no ancestor / descendant in X, through any path.
- `and`, `or`, `not` are case-insensitive keywords; an asset so named is selected with `key:`.
- Empty text and `*` select everything. Nesting (parentheses, `not`) stops at 100 levels.
"""

from __future__ import annotations

import re
import string
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Literal, assert_never

from workbench.core.graph import AssetGraph, Node, suggest
from workbench.core.kinds import declared_kind
from workbench.core.spec import AssetSpec
from workbench.errors import SelectionError

__all__ = [
    "All", "And", "Expr", "Group", "Key", "KeyGlob", "Kind", "Not", "Or", "Roots", "Sinks", "State", "STATES",
    "Tag", "Traverse", "evaluate", "needs_states", "parse", "select",
]  # fmt: skip

KEYWORDS = frozenset({"and", "or", "not"})
FUNCTIONS = frozenset({"roots", "sinks"})
FILTERS = ("key", "group", "tag", "kind", "status")
STATES = ("fresh", "stale", "missing", "failed")
MAX_NESTING = 100
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
    """Keys matching a pattern where `*` is any run of characters; may be empty."""

    pattern: str


@dataclass(frozen=True, slots=True)
class Group:
    """Nodes of a group; `*` in the name is a wildcard."""

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
class State:
    """Nodes whose current state (one of STATES) is `name`."""

    name: str


@dataclass(frozen=True, slots=True)
class Not:
    operand: Expr


@dataclass(frozen=True, slots=True)
class And:
    operands: tuple[Expr, ...]


@dataclass(frozen=True, slots=True)
class Or:
    operands: tuple[Expr, ...]


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


Expr = All | Key | KeyGlob | Group | Tag | Kind | State | Not | And | Or | Traverse | Roots | Sinks
_TokenKind = Literal["word", "attr", "num", "+", "*", "(", ")", ",", "end"]
_PUNCT: dict[str, _TokenKind] = {"(": "(", ")": ")", "+": "+", "*": "*", ",": ","}


@dataclass(frozen=True, slots=True)
class _Token:
    kind: _TokenKind
    text: str
    col: int  # 1-based
    spaced: bool  # preceded by whitespace or the start of the text
    values: tuple[str, ...] = ()  # of an attr: VALUE or (K, V)


@dataclass(frozen=True, slots=True)
class _Step:
    """A traversal operator as written: a run of `+`, `N+` / `+N`, or `*` (levels None)."""

    text: str
    form: Literal["plus", "num", "star"]
    levels: int | None


def _error(text: str, message: str, col: int) -> SelectionError:
    shown = text if len(text) <= 80 else text[:77] + "..."
    return SelectionError(f"bad selection {shown!r}: {message} at column {col}")


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
        self.nesting = 0

    def peek(self, ahead: int = 0) -> _Token:
        return self.tokens[min(self.pos + ahead, len(self.tokens) - 1)]

    def take(self) -> _Token:
        tok = self.peek()
        self.pos += 1
        return tok

    def touching(self, kind: _TokenKind) -> bool:
        return self.peek().kind == kind and not self.peek().spaced

    def fail(self, message: str, tok: _Token) -> SelectionError:
        return _error(self.text, message, tok.col)

    def nest(self, tok: _Token, step: int) -> None:
        self.nesting += step
        if self.nesting > MAX_NESTING:
            raise self.fail(f"more than {MAX_NESTING} levels of nesting", tok)

    def parse(self) -> Expr:
        if self.peek().kind == "end":
            return All()
        expr = self.union(None)
        if self.peek().kind != "end":
            raise self.fail(f"unexpected {_show(self.peek())}", self.peek())
        return expr

    def union(self, after: str | None) -> Expr:
        operands = [self.conj(after)]
        while True:
            tok = self.peek()
            if tok.kind == "," or _is_keyword(tok, "or"):
                self.take()
                operands.append(self.conj(repr(tok.text)))
            elif _starts_term(tok):
                if not tok.spaced:
                    raise self.fail(f"expected a space, ',' or operator before {_show(tok)}", tok)
                operands.append(self.conj(None))
            else:
                return operands[0] if len(operands) == 1 else Or(tuple(operands))

    def conj(self, after: str | None) -> Expr:
        operands = [self.neg(after)]
        while _is_keyword(self.peek(), "and"):
            operands.append(self.neg(repr(self.take().text)))
        return operands[0] if len(operands) == 1 else And(tuple(operands))

    def neg(self, after: str | None) -> Expr:
        if _is_keyword(self.peek(), "not"):
            tok = self.take()
            self.nest(tok, 1)
            expr = Not(self.neg(repr(tok.text)))
            self.nest(tok, -1)
            return expr
        return self.traversal(after)

    def traversal(self, after: str | None) -> Expr:
        first = self.peek()
        up = self.up_step()
        operand = self.peek()
        if up is not None:
            if not _starts_primary(operand):
                raise self.fail(f"expected a term after '{up.text}'", operand)
            if operand.spaced:
                raise self.fail(f"'{up.text}' must touch the term it extends", operand)
        expr = self.primary(after)
        last = self.peek()
        down = self.down_step()
        if up is None and down is None:
            return expr
        if isinstance(expr, All):
            raise self.fail("'*' (every asset) takes no '+' or '*'", last)
        legacy = operand.kind == "word" and isinstance(expr, Key)  # a bare key: each '+' is one level
        up_depth = self.depth(up, legacy, first, "up")
        down_depth = self.depth(down, legacy, last, "down")
        return expr if up_depth == 0 and down_depth == 0 else Traverse(expr, up_depth, down_depth)

    def up_step(self) -> _Step | None:
        tok, nxt = self.peek(), self.peek(1)
        if tok.kind == "num" and nxt.kind == "+" and not nxt.spaced:
            self.pos += 2
            return _Step(f"{tok.text}+", "num", int(tok.text))
        if tok.kind == "+":
            count = self.pluses()
            return _Step("+" * count, "plus", count)
        if tok.kind == "*" and _starts_primary(nxt) and not nxt.spaced:
            self.take()
            return _Step("*", "star", None)
        return None

    def down_step(self) -> _Step | None:
        if self.touching("*"):
            self.take()
            return _Step("*", "star", None)
        if not self.touching("+"):
            return None
        count = self.pluses()
        if count == 1 and self.touching("num"):
            levels = int(self.take().text)
            return _Step(f"+{levels}", "num", levels)
        return _Step("+" * count, "plus", count)

    def pluses(self) -> int:
        """Consume a run of touching '+' tokens and return its length."""
        self.take()
        count = 1
        while self.touching("+"):
            self.take()
            count += 1
        return count

    def depth(self, step: _Step | None, legacy: bool, tok: _Token, way: Literal["up", "down"]) -> int | None:
        """The levels `step` spans: legacy syntax on a bare key, Dagster's current grammar elsewhere."""
        if step is None:
            return 0
        if legacy or step.form == "num":
            return step.levels
        if step.form == "plus" and step.levels == 1:
            return None
        fix = "'+'" if step.form == "star" else f"'{step.levels}+'" if way == "up" else f"'+{step.levels}'"
        raise self.fail(f"'{step.text}' works on a bare key only; write {fix} here", tok)

    def primary(self, after: str | None) -> Expr:
        tok = self.peek()
        if not (_starts_primary(tok) or tok.kind == "*"):
            found = f" after {after}" if after else f", found {_show(tok)}"
            raise self.fail(f"expected a term{found}", tok)
        self.take()
        if tok.kind == "*":
            return All()
        if tok.kind == "(":
            return self.closed(tok)
        if tok.kind == "attr":
            return self.filter(tok)
        nxt, name = self.peek(), tok.text.lower()
        if nxt.kind == "(" and (name in FUNCTIONS or not nxt.spaced):
            if name not in FUNCTIONS:
                raise self.fail(f"unknown function {tok.text!r} (expected roots or sinks)", tok)
            inner = self.closed(self.take())
            return Roots(inner) if name == "roots" else Sinks(inner)
        return Key(tok.text)

    def closed(self, opening: _Token) -> Expr:
        """The union after `opening`, up to its ')'."""
        self.nest(opening, 1)
        expr = self.union("'('")
        if self.peek().kind != ")":
            raise self.fail("unclosed '('", opening)
        self.take()
        self.nest(opening, -1)
        return expr

    def filter(self, tok: _Token) -> Expr:
        values, value = tok.values, tok.values[0]
        if tok.text not in FILTERS:
            raise self.fail(f"unknown filter '{tok.text}:' (expected key:, group:, tag:, kind: or status:)", tok)
        if len(values) == 2 and tok.text != "tag":
            raise self.fail("'=' is only allowed in tag:K=V", tok)
        if tok.text == "key":
            return KeyGlob(value) if "*" in value else Key(value)
        if tok.text == "group":
            return Group(value)
        if tok.text == "kind":
            return Kind(value)
        if tok.text == "status":
            if value not in STATES:
                raise self.fail(f"unknown status {value!r} (expected fresh, stale, missing or failed)", tok)
            return State(value)
        return Tag(value, values[1] if len(values) == 2 else None)


def parse(text: str) -> Expr:
    """The AST of a selection; blank text is `All()`. Raises SelectionError pointing at the column."""
    return _Parser(text).parse()


def needs_states(expr: Expr) -> bool:
    """Whether evaluating `expr` reads the assets' states (it has a `status:` filter)."""
    match expr:
        case State():
            return True
        case Not(operand) | Traverse(operand) | Roots(operand) | Sinks(operand):
            return needs_states(operand)
        case And(operands) | Or(operands):
            return any(needs_states(e) for e in operands)
        case _:
            return False


def _kinds(node: Node) -> set[str]:
    """`asset` or `source`, the serializer known before it runs, and the `kind` tag."""
    found = (node.kind, declared_kind(node) if isinstance(node, AssetSpec) else None, node.tags.get("kind"))
    return {kind for kind in found if kind}


def _wildcard(pattern: str) -> Callable[[str], object]:
    """A test for whole strings matching `pattern`, where `*` is any run of characters."""
    return re.compile(".*".join(re.escape(part) for part in pattern.split("*"))).fullmatch


def evaluate(graph: AssetGraph, expr: Expr, states: Mapping[str, str] | None = None) -> set[str]:
    """The keys `expr` selects in `graph`; an unknown exact key raises SelectionError.

    `states` maps each key to its current state; only `status:` reads it."""
    match expr:
        case All():
            return set(graph.nodes)
        case Key(name):
            if name not in graph.nodes:
                raise SelectionError(f"unknown asset key {name!r}" + suggest(name, graph.nodes))
            return {name}
        case KeyGlob(pattern):
            key_match = _wildcard(pattern)
            return {k for k in graph.nodes if key_match(k)}
        case Group(name):
            group_match = _wildcard(name)
            return {k for k, n in graph.nodes.items() if group_match(n.group)}
        case Tag(key, value):
            tagged = {k for k, n in graph.nodes.items() if key in n.tags}
            return tagged if value is None else {k for k in tagged if graph.nodes[k].tags[key] == value}
        case Kind(name):
            return {k for k, n in graph.nodes.items() if name in _kinds(n)}
        case State(name):
            if states is None:
                raise SelectionError("status: filters need the assets' current states, which are not available here")
            return {k for k in graph.nodes if states.get(k) == name}
        case Not(operand):
            return set(graph.nodes) - evaluate(graph, operand, states)
        case And(operands):
            return set.intersection(*(evaluate(graph, e, states) for e in operands))
        case Or(operands):
            return set().union(*(evaluate(graph, e, states) for e in operands))
        case Traverse(operand, up, down):
            base = evaluate(graph, operand, states)
            up_keys = graph.ancestors(base, up) if up != 0 else set()
            down_keys = graph.descendants(base, down) if down != 0 else set()
            return base | up_keys | down_keys
        case Roots(operand):
            members = evaluate(graph, operand, states)
            below = {c for k in members for c in graph.children[k]}  # reached through any path, in X or not
            return members - below - graph.descendants(below)
        case Sinks(operand):
            members = evaluate(graph, operand, states)
            above = {p for k in members for p in graph.parents[k]}
            return members - above - graph.ancestors(above)
        case _:
            assert_never(expr)


def select(graph: AssetGraph, text: str | None, states: Mapping[str, str] | None = None) -> tuple[str, ...]:
    """The keys `text` selects, in the graph's topological order; None, '' and '*' select all.

    `states` (key -> fresh/stale/missing/failed) is needed only by `status:`; see `needs_states`."""
    chosen = evaluate(graph, parse(text or ""), states)
    return tuple(k for k in graph.order if k in chosen)
