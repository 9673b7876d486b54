"""Canonical encoding of values: deterministic across processes, or refused (never a repr with an address)."""

from __future__ import annotations

import dataclasses
import datetime as dt
import decimal
import enum
import functools
import os
import re
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
import pytest

from workbench.versioning.canonical import Encoder, Unencodable


def encode(value: Any) -> str:
    return Encoder(lambda v: f"code:{getattr(v, '__qualname__', v)}", lambda t: t.__module__ == __name__).encode(value)


class Color(enum.Enum):
    RED = 1
    BLUE = 2


@dataclasses.dataclass
class Cfg:
    k: int
    when: dt.date


class Plain:
    def __init__(self, k: int) -> None:
        self.k = k


def double(x: int) -> int:
    return x * 2


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ({"a": 1, "b": 2}, {"b": 2, "a": 1}),  # dict order reaches the output
        ((1, 2), [1, 2]),
        (1, 1.0),
        (1, True),
        ("1", b"1"),
        (dt.date(2026, 1, 1), dt.date(2026, 1, 2)),
        (dt.datetime(2026, 1, 1, 12), dt.datetime(2026, 1, 1, 12, tzinfo=dt.timezone.utc)),
        (decimal.Decimal("1.10"), decimal.Decimal("1.1")),
        (Path("a"), Path("b")),
        (re.compile("a+"), re.compile("a+", re.I)),
        (Color.RED, Color.BLUE),
        (Cfg(1, dt.date(2026, 1, 1)), Cfg(2, dt.date(2026, 1, 1))),
        (Plain(1), Plain(2)),
        (functools.partial(double, 2), functools.partial(double, 3)),
        (np.arange(3), np.arange(3).astype("float64")),
        (pl.col("x") * 2, pl.col("x") * 3),
        (pl.DataFrame({"a": [1]}), pl.DataFrame({"a": [2]})),
        (list(range(20_000)), [*range(19_999), 0]),  # no size limit
    ],
)
def test_different_values_encode_differently(a: Any, b: Any) -> None:
    assert encode(a) != encode(b)
    assert encode(a) == encode(a)


def test_sets_are_ordered_and_equal_values_agree() -> None:
    assert encode({"b", "a", "c"}) == encode({"c", "b", "a"})
    assert encode(frozenset({1, 2})) != encode({1, 2})
    assert encode(Cfg(1, dt.date(2026, 1, 1))) == encode(Cfg(1, dt.date(2026, 1, 1)))
    assert encode([double]) == "list[code:double]"


@pytest.mark.parametrize(
    "value",
    [threading.Lock(), object(), open(os.devnull), Plain(threading.Lock()), [1, threading.Lock()]],
    ids=["lock", "object", "file", "instance-holding-a-lock", "list-holding-a-lock"],
)
def test_values_without_deterministic_text_are_refused(value: Any) -> None:
    with pytest.raises(Unencodable):
        encode(value)


def test_cycles_and_depth_are_refused() -> None:
    loop: list[Any] = []
    loop.append(loop)
    with pytest.raises(Unencodable):
        encode(loop)
    deep: list[Any] = []
    for _ in range(300):
        deep = [deep]
    with pytest.raises(Unencodable):
        encode(deep)


def test_encoding_is_the_same_in_processes_with_other_hash_seeds() -> None:
    code = (
        "import datetime as dt\n"
        "from workbench.versioning.canonical import Encoder\n"
        "v = {'tags': {'x', 'y', 'z', 'alpha', 'beta'}, 'when': dt.date(2026, 1, 1), 'n': frozenset({1.5, 'q'})}\n"
        "print(Encoder(lambda v: None, lambda t: False).encode(v))\n"
    )
    outputs = {
        subprocess.run(
            [sys.executable, "-c", code], env={**os.environ, "PYTHONHASHSEED": seed}, capture_output=True, text=True, check=True
        ).stdout
        for seed in ("1", "2", "3")
    }
    assert len(outputs) == 1


def test_big_containers_name_their_code_on_every_reuse() -> None:
    seen: list[str] = []

    def name(value: Any) -> str | None:
        if callable(value) and hasattr(value, "__qualname__"):
            seen.append(value.__qualname__)
            return f"code:{value.__qualname__}"
        return None

    encoder = Encoder(name, lambda t: False)
    steps = [double] * 300
    first = encoder.encode(steps)
    assert len(seen) == 300
    assert encoder.encode(steps) == first and len(seen) == 600  # memoized text, code named again
