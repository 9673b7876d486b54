"""Frames handed on in memory within a run: only those the Parquet file gives back exactly, as copies."""

from __future__ import annotations

from pathlib import Path

import polars as pl

from workbench.run.handoff import Handoff


def written(tmp_path: Path, frame: pl.DataFrame, name: str = "f") -> Path:
    path = tmp_path / f"{name}.parquet"
    frame.write_parquet(path)
    return path


def test_a_plain_frame_is_handed_on_as_a_copy(tmp_path: Path) -> None:
    frame = pl.DataFrame({"a": [1, 2], "s": ["x", "y"], "l": [[1], [2, 3]]})
    handoff = Handoff()
    kept = handoff.exact(frame, written(tmp_path, frame))
    assert kept is not None
    handoff.keep("objects/ab/f.parquet", kept)

    copy = handoff.take("objects/ab/f.parquet")
    assert copy is not None and copy.equals(pl.read_parquet(tmp_path / "f.parquet"))
    copy.insert_column(0, pl.Series("new", [0, 0]))  # an asset changing its input in place
    again = handoff.take("objects/ab/f.parquet")
    assert again is not None and again.columns == ["a", "s", "l"]
    assert handoff.take("objects/cd/other.parquet") is None


def test_frames_the_file_does_not_give_back_exactly_are_not_kept(tmp_path: Path) -> None:
    handoff = Handoff()
    categorical = pl.DataFrame({"c": ["b", "a"]}, schema={"c": pl.Categorical})
    nested = pl.DataFrame({"s": [{"c": "x"}]}, schema={"s": pl.Struct({"c": pl.Categorical})})
    assert handoff.exact(categorical, written(tmp_path, categorical, "c")) is None
    assert handoff.exact(nested, written(tmp_path, nested, "n")) is None
    assert handoff.exact({"a": 1}, tmp_path / "none.parquet") is None
    other = pl.DataFrame({"a": [1.5]})  # the file holds another schema than the frame
    assert handoff.exact(pl.DataFrame({"a": [1]}), written(tmp_path, other, "o")) is None


def test_the_budget_drops_the_least_recently_used(tmp_path: Path) -> None:
    frame = pl.DataFrame({"a": list(range(1000))})
    size = int(frame.estimated_size())
    handoff = Handoff(budget=2 * size)
    for name in ("one", "two"):
        handoff.keep(name, frame)
    assert handoff.take("one") is not None  # now the most recently used
    handoff.keep("three", frame)
    assert handoff.take("two") is None
    assert handoff.take("one") is not None and handoff.take("three") is not None
    assert handoff.exact(frame, written(tmp_path, frame)) is not None
    assert Handoff(budget=size - 1).exact(frame, written(tmp_path, frame)) is None


def test_bytes_made_in_memory_are_read_back_like_a_file(tmp_path: Path) -> None:
    frame, other = pl.DataFrame({"a": [1, 2]}), pl.DataFrame({"a": [1.5]})
    assert Handoff().exact(frame, memoryview(written(tmp_path, frame).read_bytes())) is not None
    assert Handoff().exact(frame, written(tmp_path, other, "o").read_bytes()) is None
