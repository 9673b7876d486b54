"""The newest records kept on disk between processes: the same answers as the index, never an old one."""

from __future__ import annotations

from pathlib import Path

import pytest
from workbench.storage import metadata
from workbench.storage.metadata import DuckDBMetadataStore
from workbench.storage.record_cache import RecordCache

from tests.storage.conftest import record


@pytest.fixture(autouse=True)
def cache_every_read(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(metadata, "CACHED_FROM", 1)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "user-cache"))  # the signing key


def store(tmp_path: Path) -> DuckDBMetadataStore:
    """A new process's view of the index (nothing remembered in memory)."""
    return DuckDBMetadataStore(tmp_path / "metadata.duckdb", cache=tmp_path / "cache" / "newest.msgpack")


def test_a_new_process_reads_the_newest_records_from_the_file_with_the_same_values(tmp_path: Path) -> None:
    first = store(tmp_path)
    first.add_many([
        record("a1", "a", 1, metrics={"loss": 1}, series={"loss": [[1, 0.5]]}, metadata={"n": [1, "x"]}),
        record("a2", "a", 2, status="failed", data_version=None, error="boom"),
        record("b1", "b", 1, partition="2026-01-01", input_versions={"a": "dva1"}, size=10, git_dirty=True),
    ])  # fmt: skip
    expected = first.latest_all()
    assert RecordCache(tmp_path / "cache" / "newest.msgpack").load().keys() == {"a1", "a2", "b1"}

    again = store(tmp_path)
    assert again.latest_all() == expected
    assert type(again.latest_all()[("a", "")].success.metrics["loss"]) is int  # type: ignore[union-attr]  # as read from the index


def test_a_new_record_is_read_from_the_index_not_the_file(tmp_path: Path) -> None:
    store(tmp_path).add(record("a1", "a", 1))
    assert store(tmp_path).latest_all()[("a", "")].last.id == "a1"  # type: ignore[union-attr]  # the file now holds a1

    store(tmp_path).add(record("a2", "a", 2, code_version="code2"))

    newest = store(tmp_path).latest_all()[("a", "")]
    assert newest.success is not None and newest.success.id == "a2" and newest.success.code_version == "code2"
    assert RecordCache(tmp_path / "cache" / "newest.msgpack").load().keys() == {"a2"}  # a1 is no longer kept


@pytest.mark.parametrize("damage", ["planted", "truncated", "other schema"])
def test_a_file_not_signed_by_this_user_is_ignored(tmp_path: Path, damage: str) -> None:
    store(tmp_path).add(record("a1", "a", 1, code_version="code1"))
    store(tmp_path).latest_all()
    path = tmp_path / "cache" / "newest.msgpack"
    header, _, body = path.read_bytes().partition(b"\n")
    if damage == "planted":  # the same records claiming another code version, signed by nobody
        path.write_bytes(header + b"\n" + body.replace(b"code1", b"code9"))
    elif damage == "truncated":
        path.write_bytes(header + b"\n" + body[: len(body) // 2])
    else:
        path.write_bytes(header.replace(b"schema-", b"schema-0") + b"\n" + body)

    assert store(tmp_path).latest_all()[("a", "")].last.code_version == "code1"  # type: ignore[union-attr]


def test_records_msgpack_cannot_hold_are_read_from_the_index(tmp_path: Path) -> None:
    store(tmp_path).add(record("a1", "a", 1, metadata={"text": "\ud800", "big": 2**70}))

    assert store(tmp_path).latest_all()[("a", "")].last.metadata == {"text": "\ud800", "big": 2**70}  # type: ignore[union-attr]
    assert store(tmp_path).latest_all()[("a", "")].last.metadata == {"text": "\ud800", "big": 2**70}  # type: ignore[union-attr]
