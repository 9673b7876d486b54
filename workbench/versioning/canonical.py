"""Canonical text for values that code reads: deterministic across processes, or refused.

`encode` turns a value into stable text: scalars, containers (dict order kept, sets sorted),
dates and times, decimals, paths, patterns, enum members, dataclass, pydantic and plain instances
of project classes, `functools.partial`, bound methods, NumPy arrays and Polars expressions and
frames. Functions, classes and modules are handed to a callback that names them (and lets the
caller follow project code). Anything else (a lock, a client, a random generator, an object whose
only text is a `repr` with an address) raises `Unencodable`, so that the caller can fall back to the
source of the statement that bound it. Nothing is skipped silently and no size limit applies.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import decimal
import enum
import fractions
import functools
import io
import re
import uuid
from collections.abc import Callable
from pathlib import PurePath
from types import MethodType, ModuleType
from typing import Any

from workbench.core.hashing import digest

__all__ = ["Encoder", "Unencodable"]

MAX_DEPTH = 100
SCALARS = (bool, int, float, complex, str, bytes, type(None))
TIMES = (dt.datetime, dt.date, dt.time)
BY_STR = (decimal.Decimal, fractions.Fraction, uuid.UUID, dt.timedelta, dt.timezone, range, slice)
BIG = 256  # containers at least this long are digested once per object and remembered

Namer = Callable[[Any], str | None]


class Unencodable(Exception):
    """A value with no deterministic text (or too deep, or cyclic)."""


class Encoder:
    """Encodes values; `name(value)` gives text for functions, classes and modules (or None)."""

    def __init__(self, name: Namer, is_project_type: Callable[[type], bool]) -> None:
        self._name = name
        self._is_project_type = is_project_type
        # Big containers are encoded once: id -> (value kept alive, text, the code values it names,
        # which are named again on every reuse so that the caller sees them each time).
        self._memo: dict[int, tuple[Any, str, list[Any]]] = {}
        self._trail: list[Any] = []  # code values named while encoding the current value

    def encode(self, value: Any) -> str:
        try:
            return self._encode(value, 0, set())
        except RecursionError as exc:  # deep structures inside library objects
            raise Unencodable("nested too deep") from exc

    def _encode(self, value: Any, depth: int, active: set[int]) -> str:
        kind = type(value)
        if kind in SCALARS:
            return f"{kind.__name__}:{value!r}"
        if depth > MAX_DEPTH or id(value) in active:
            raise Unencodable(f"{kind.__name__} nested too deep or cyclic")
        named = self._named(value) if callable(value) or isinstance(value, (type, ModuleType)) else None
        if named is not None:
            return named
        memo = self._memo.get(id(value))
        if memo is not None and memo[0] is value:
            for code in memo[2]:
                self._named(code)
            return memo[1]
        big = isinstance(value, (list, tuple, dict, set, frozenset)) and len(value) >= BIG
        outer, self._trail = self._trail, []
        active.add(id(value))
        try:
            text = self._structure(value, kind, depth + 1, active)
        finally:
            active.discard(id(value))
            trail, self._trail = self._trail, outer
            outer.extend(trail)
        if big:
            text = f"big:{digest(text)}"
            self._memo[id(value)] = (value, text, trail)
        return text

    def _named(self, value: Any) -> str | None:
        named = self._name(value)
        if named is not None:
            self._trail.append(value)
        return named

    def _structure(self, value: Any, kind: type, depth: int, active: set[int]) -> str:
        enc = functools.partial(self._encode, depth=depth, active=active)
        label = self._type_label(kind)
        if isinstance(value, enum.Enum):
            return f"enum:{label}.{value.name}={enc(value.value)}"
        if isinstance(value, dict):
            items = ",".join(f"{enc(k)}:{enc(v)}" for k, v in value.items())  # order reaches the output
            extra = f";{enc(value.default_factory)}" if hasattr(value, "default_factory") else ""
            return f"{label}{{{items}{extra}}}"
        if isinstance(value, (set, frozenset)):
            return f"{label}{{{','.join(sorted(enc(v) for v in value))}}}"
        if isinstance(value, (list, tuple)):
            return f"{label}[{','.join(enc(v) for v in value)}]"
        if isinstance(value, SCALARS):  # subclasses of str, int...: the type and the plain value
            return f"{label}:{enc(_plain(value))}"
        if isinstance(value, TIMES):
            return f"{label}:{value.isoformat()}"
        if isinstance(value, BY_STR):
            return f"{label}:{value!r}"
        if isinstance(value, PurePath):
            return f"{label}:{value.as_posix()}"
        if isinstance(value, re.Pattern):
            return f"re:{enc(value.pattern)}/{value.flags}"
        if isinstance(value, functools.partial):
            return f"partial({enc(value.func)};{enc(value.args)};{enc(value.keywords)})"
        if isinstance(value, MethodType):
            return f"method({enc(value.__self__)}.{enc(value.__func__)})"
        if isinstance(value, (staticmethod, classmethod)):
            return f"{label}({enc(value.__func__)})"
        if dataclasses.is_dataclass(value):
            fields = ",".join(f"{f.name}={enc(getattr(value, f.name))}" for f in dataclasses.fields(value))
            return f"{label}({fields})"
        special = _library_value(value, kind)
        if special is not None:
            return f"{label}:{special}"
        if callable(getattr(kind, "model_dump", None)) and hasattr(kind, "model_fields"):  # pydantic v2
            return f"{label}({enc(value.model_dump())})"
        if self._is_project_type(kind) and not hasattr(kind, "__slots__") and hasattr(value, "__dict__"):
            return f"{label}({enc(dict(sorted(vars(value).items())))})"
        raise Unencodable(f"no deterministic text for a {kind.__module__}.{kind.__qualname__}")

    def _type_label(self, kind: type) -> str:
        if kind.__module__ == "builtins":
            return kind.__qualname__
        return self._named(kind) or f"{kind.__module__}.{kind.__qualname__}"


def _plain(value: Any) -> Any:
    """The builtin scalar that an instance of a subclass of one (say, of `str`) holds."""
    base: type = next(b for b in (bool, int, float, complex, str, bytes) if isinstance(value, b))
    return base(value)


def _library_value(value: Any, kind: type) -> str | None:
    """Stable text for NumPy arrays and Polars expressions, frames and series; None for others."""
    top = kind.__module__.split(".", 1)[0]
    if top == "numpy" and hasattr(value, "tobytes") and hasattr(value, "dtype"):
        if getattr(value.dtype, "hasobject", False):
            raise Unencodable("a NumPy array of Python objects")
        return f"{value.dtype.str}{getattr(value, 'shape', ())}{digest(value.tobytes())}"
    if top != "polars":
        return None
    try:
        if kind.__name__ == "Expr":
            return digest(value.meta.serialize(format="binary"))
        if kind.__name__ in ("DataFrame", "Series"):
            frame = value.to_frame() if kind.__name__ == "Series" else value
            buffer = io.BytesIO()
            frame.write_ipc(buffer, compression="uncompressed")
            return digest(buffer.getvalue())
    except Exception as exc:  # an expression Polars cannot serialize (e.g. a Python UDF)
        raise Unencodable(f"polars {kind.__name__}: {exc}") from exc
    return None
