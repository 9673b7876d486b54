"""Source observation (cheap check, folders, globs) and serialization by type."""

from __future__ import annotations

import os
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import polars as pl
import pyarrow as pa
import pytest
import xxhash

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


def never(ext: str) -> Path:
    raise AssertionError("a small value is serialized in memory, not to a file")


def _kept(written: serializers.Written, path: Path) -> Path:
    """Where the artifact's bytes are: a small value is serialized in memory, not written."""
    assert written.data is not None and not path.exists()
    assert written.digest == (xxhash.xxh3_128_hexdigest(written.data), len(written.data))  # hashed as made
    path.write_bytes(written.data)
    return path


def test_round_trips(tmp_path: Path) -> None:
    frame = pl.DataFrame({"a": [1, 2], "b": ["x", None]})
    written = serializers.serialize(frame, "parquet", never)
    assert (written.kind, written.rows, written.facts["columns"]) == ("parquet", 2, 2)
    path = _kept(written, tmp_path / "t.parquet")
    assert serializers.read(path, "parquet").equals(frame)
    assert isinstance(serializers.read(path, "parquet", "pl.LazyFrame"), pl.LazyFrame)
    assert serializers.read(path, "parquet", pa.Table).num_rows == 2
    lazy_path = tmp_path / "l.parquet"
    lazy = serializers.serialize(frame.lazy(), "parquet", lambda ext: lazy_path)  # streamed to the file
    assert lazy.rows == 2 and lazy.data is None and serializers.read(lazy_path, "parquet").equals(frame)

    j = _kept(serializers.serialize({"k": [1, 2]}, "json", never), tmp_path / "v.json")
    assert serializers.read(j, "json") == {"k": [1, 2]}
    odd = serializers.serialize({"k": object}, "json", never)
    assert odd.kind == "pickle"  # not JSON: falls back
    assert serializers.read(_kept(odd, tmp_path / "odd"), "pickle") == {"k": object}
    with pytest.raises(SerializationError, match="io='json' cannot hold this dict"):
        serializers.serialize({"k": object}, "json", never, explicit=True)  # the asset chose JSON: no silent pickle


def test_a_large_frame_is_written_to_the_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(serializers, "IN_MEMORY", 8)
    frame = pl.DataFrame({"a": list(range(100))})
    written = serializers.serialize(frame, "parquet", lambda ext: tmp_path / f"big.{ext}")
    assert written.data is None and written.rows == 100
    assert serializers.read(tmp_path / "big.parquet", "parquet").equals(frame)


def test_parquet_bytes_are_deterministic(tmp_path: Path) -> None:
    frame = pl.DataFrame({"a": list(range(100))})
    one = serializers.serialize(frame, "parquet", never).data
    two = serializers.serialize(frame.clone(), "parquet", never).data
    assert one is not None and two is not None and bytes(one) == bytes(two)
