"""Source observation (cheap check, folders, globs) and serialization by type."""

from __future__ import annotations

import os
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import polars as pl
import pyarrow as pa
import pytest

from workbench.core.hashing import file_digest
from workbench.core.kinds import kind_of_annotation
from workbench.core.spec import source
from workbench.errors import SerializationError
from workbench.run import serializers
from workbench.versioning.sources import observe


def test_single_file_rehashes_only_when_stat_changes(tmp_path: Path) -> None:
    (tmp_path / "a.csv").write_text("x\n1\n")
    spec = source("a", path="a.csv")
    first = observe(spec, tmp_path, None)
    assert first.data_version and first.size == 4
    assert observe(spec, tmp_path, first) is not first  # hashed moments after a write: not trusted yet
    settled = replace(first, observed_at=first.observed_at + timedelta(seconds=3))  # as if hashed later
    assert observe(spec, tmp_path, settled) is settled  # same size and stamp, old enough: reused
    os.utime(tmp_path / "a.csv", ns=(1, 1))
    touched = observe(spec, tmp_path, settled)
    assert touched is not settled and touched.data_version == first.data_version
    (tmp_path / "a.csv").write_text("x\n2\n")
    assert observe(spec, tmp_path, touched).data_version != first.data_version


def test_same_size_edit_with_mtime_set_back_is_seen(tmp_path: Path) -> None:
    path = tmp_path / "a.csv"
    path.write_text("x\n1\n")
    os.utime(path, ns=(10**9, 10**9))
    spec = source("a", path="a.csv")
    first = observe(spec, tmp_path, None)
    settled = replace(first, observed_at=first.observed_at + timedelta(seconds=3))
    path.write_text("x\n2\n")
    os.utime(path, ns=(10**9, 10**9))  # cp -p / rsync -t: size and mtime as before, ctime is new
    assert observe(spec, tmp_path, settled).data_version != first.data_version


def test_missing_source(tmp_path: Path) -> None:
    assert observe(source("gone", path="nope.csv"), tmp_path, None).data_version is None


def test_folder_and_glob_sources(tmp_path: Path) -> None:
    folder = tmp_path / "data"
    folder.mkdir()
    (folder / "1.csv").write_text("a")
    (folder / "2.csv").write_text("b")
    (folder / "notes.txt").write_text("c")
    whole, glob = source("whole", path="data"), source("csvs", path="data/*.csv")
    w1, g1 = observe(whole, tmp_path, None), observe(glob, tmp_path, None)
    (folder / "notes.txt").write_text("changed")
    assert observe(whole, tmp_path, w1).data_version != w1.data_version
    assert observe(glob, tmp_path, g1).data_version == g1.data_version
    (folder / "2.csv").rename(folder / "3.csv")  # same bytes, new name: a different input
    assert observe(glob, tmp_path, g1).data_version != g1.data_version


def test_kind_by_value_and_annotation() -> None:
    assert serializers.kind_of_value(pl.DataFrame({"a": [1]})) == "parquet"
    assert serializers.kind_of_value(pa.table({"a": [1]})) == "parquet"
    assert serializers.kind_of_value({"a": 1}) == "json"
    assert serializers.kind_of_value(b"x") == "bytes"
    assert serializers.kind_of_value(object()) == "pickle"
    assert kind_of_annotation("pl.LazyFrame") == "parquet"
    assert kind_of_annotation(dict) == "json"
    assert kind_of_annotation(None) is None


def test_round_trips(tmp_path: Path) -> None:
    frame = pl.DataFrame({"a": [1, 2], "b": ["x", None]})
    path = tmp_path / "t.parquet"
    kind, rows, facts, digest = serializers.write(frame, "parquet", path)
    assert (kind, rows, facts["columns"]) == ("parquet", 2, 2)
    assert digest == (file_digest(path), path.stat().st_size)  # hashed as written, not read back
    assert serializers.read(path, "parquet").equals(frame)
    assert isinstance(serializers.read(path, "parquet", "pl.LazyFrame"), pl.LazyFrame)
    assert serializers.read(path, "parquet", pa.Table).num_rows == 2
    lazy_path = tmp_path / "l.parquet"
    assert serializers.write(frame.lazy(), "parquet", lazy_path)[1] == 2

    j = tmp_path / "v.json"
    assert serializers.write({"k": [1, 2]}, "json", j)[::3] == ("json", (file_digest(j), j.stat().st_size))
    assert serializers.read(j, "json") == {"k": [1, 2]}
    odd = tmp_path / "odd"
    assert serializers.write({"k": object}, "json", odd)[0] == "pickle"  # not JSON: falls back
    assert serializers.read(odd, "pickle") == {"k": object}
    with pytest.raises(SerializationError, match="io='json' cannot hold this dict"):
        serializers.write({"k": object}, "json", odd, explicit=True)  # the asset chose JSON: no silent pickle


def test_parquet_bytes_are_deterministic(tmp_path: Path) -> None:
    frame = pl.DataFrame({"a": list(range(100))})
    serializers.write(frame, "parquet", tmp_path / "1.parquet")
    serializers.write(frame.clone(), "parquet", tmp_path / "2.parquet")
    assert (tmp_path / "1.parquet").read_bytes() == (tmp_path / "2.parquet").read_bytes()
