"""The artifact store: content addressing, atomic publishing, records, path safety, remote stores."""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import Callable
from pathlib import Path

import pytest
from workbench.storage.artifacts import ArtifactStore, RecordProblem

from workbench.core.hashing import file_digest
from workbench.core.records import Materialization
from workbench.errors import StoreError

MakeRecord = Callable[..., Materialization]


@pytest.fixture
def store(tmp_path: Path) -> ArtifactStore:
    return ArtifactStore(str(tmp_path / "artifacts"))


@pytest.fixture
def memory_store(tmp_path: Path) -> ArtifactStore:
    return ArtifactStore(f"memory://wb-test-{uuid.uuid4().hex}", cache_dir=tmp_path / "cache")


def put_bytes(store: ArtifactStore, data: bytes, ext: str = "bin") -> tuple[str, str, int]:
    scratch = store.scratch_path(f".{ext}")
    scratch.write_bytes(data)
    return store.put_file(scratch, ext)


def test_put_file_is_content_addressed_and_relative(store: ArtifactStore, tmp_path: Path) -> None:
    scratch = store.scratch_path(".parquet")
    assert not scratch.exists() and scratch.parent == tmp_path / "artifacts" / "tmp"
    scratch.write_bytes(b"table bytes")
    expected = file_digest(scratch)
    uri, version, size = store.put_file(scratch, "parquet")
    assert (uri, version, size) == (f"objects/{expected[:2]}/{expected}.parquet", expected, 11)
    assert (tmp_path / "artifacts" / uri).read_bytes() == b"table bytes"
    assert store.local_path(uri) == tmp_path / "artifacts" / uri
    assert store.exists(uri) and not scratch.exists()
    assert store.full_url(uri) == (tmp_path / "artifacts" / uri).as_uri()


def test_equal_content_is_stored_once(store: ArtifactStore, tmp_path: Path) -> None:
    first = put_bytes(store, b"same")
    second = put_bytes(store, b"same")
    other = put_bytes(store, b"different")
    assert first == second and other[1] != first[1]
    assert len(list((tmp_path / "artifacts" / "objects").rglob("*.bin"))) == 2
    assert list((tmp_path / "artifacts" / "tmp").iterdir()) == []


@pytest.mark.parametrize("where", ["local", "memory"])
def test_bytes_are_written_only_when_the_store_lacks_them(
    where: str, store: ArtifactStore, memory_store: ArtifactStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = store if where == "local" else memory_store
    uri, version, size = target.put_bytes(b"made in memory", "bin")
    assert (uri, size) == (f"objects/{version[:2]}/{version}.bin", 14) and target.read_bytes(uri) == b"made in memory"
    assert target.put_bytes(memoryview(b"made in memory"), "bin", (version, 14)) == (uri, version, 14)
    monkeypatch.setattr(target, "scratch_path", lambda suffix: pytest.fail("wrote the bytes again"))
    monkeypatch.setattr(target.fs, "pipe_file", lambda *a, **k: pytest.fail("wrote the bytes again"))
    assert target.put_bytes(b"made in memory", "bin") == (uri, version, 14)  # held already: nothing written
    if where == "local":
        assert [p.name for p in target.scratch_dir.iterdir()] == []


def test_a_failed_publish_of_bytes_leaves_no_scratch_file(store: ArtifactStore, monkeypatch: pytest.MonkeyPatch) -> None:
    def crash(src: object, dst: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr("workbench.storage.artifacts.os.replace", crash)
    with pytest.raises(StoreError, match="No space left"):
        store.put_bytes(b"never published", "bin")
    assert list(store.scratch_dir.iterdir()) == [] and not (Path(store.root) / "objects").exists()


def test_a_failed_publish_leaves_nothing_at_the_address(
    store: ArtifactStore, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    scratch = store.scratch_path(".bin")
    scratch.write_bytes(b"half written?")
    final = tmp_path / "artifacts" / "objects" / file_digest(scratch)[:2] / f"{file_digest(scratch)}.bin"

    def crash(src: object, dst: object) -> None:
        assert not final.exists()  # nothing is visible at the content address before the rename
        raise OSError(28, "No space left on device")

    monkeypatch.setattr("workbench.storage.artifacts.os.replace", crash)
    with pytest.raises(StoreError, match="No space left"):
        store.put_file(scratch, "bin")
    assert not final.exists() and scratch.exists()


def test_scratch_files_are_cleaned_after_an_hour(store: ArtifactStore) -> None:
    old, fresh = store.scratch_path(".old"), store.scratch_path(".new")
    old.write_text("crashed writer")
    fresh.write_text("writer at work")
    hours_ago = time.time() - 2 * 3600
    os.utime(old, (hours_ago, hours_ago))
    assert store.clean_scratch() == 1
    assert not old.exists() and fresh.exists()


def test_discarding_scratch_removes_only_this_stores_own_files(store: ArtifactStore) -> None:
    other = ArtifactStore(store.url)  # another process (or run) on the same folder
    mine, theirs = store.scratch_path(".bin"), other.scratch_path(".bin")
    mine.write_text("a stopped asset's partial output")
    theirs.write_text("a writer at work")
    assert store.discard_scratch() == 1
    assert not mine.exists() and theirs.exists()


def test_records_round_trip_under_namespaced_keys(store: ArtifactStore, make_record: MakeRecord) -> None:
    first = make_record("r1", key="ns/model", metadata={"schema": ["a"]}, metrics={"auc": 0.9})
    second = make_record("r2", key="plain", second=3, input_versions={"ns/model": "dv1"})
    uri = store.write_record(first)
    assert uri.startswith("records/ns/model/20261101T120000000000-r1") and uri.endswith(".json")
    store.write_record(second)
    assert list(store.iter_records()) == [first, second]


def test_a_record_is_never_overwritten(store: ArtifactStore, make_record: MakeRecord) -> None:
    uri = store.write_record(make_record("r1"))
    assert store.write_record(make_record("r1", code_version="other")) == uri
    assert Materialization.from_json(store.read_text(uri)).code_version == "code1"


def test_corrupt_records_are_reported_not_raised(store: ArtifactStore, make_record: MakeRecord) -> None:
    good = make_record("r1")
    store.write_record(good)
    store.write_text("records/a/broken.json", '{"id": "x", "asset_')
    store.write_text("records/a/partial.json", '{"id": "x"}')
    store.write_text("records/b/not-an-object.json", "[1, 2]")
    found = list(store.iter_records())
    problems = {p.uri: p.message for p in found if isinstance(p, RecordProblem)}
    assert good in found
    assert set(problems) == {"records/a/broken.json", "records/a/partial.json", "records/b/not-an-object.json"}
    assert "missing required field `asset_key`" in problems["records/a/partial.json"]


def test_an_empty_store_has_no_records(store: ArtifactStore) -> None:
    assert list(store.iter_records()) == []


@pytest.mark.parametrize(
    "uri", ["../secret", "objects/../../x", "/etc/passwd", "a\\b", "", "a//b", "./a", "a/.hidden", "s3://b/k", "a/"]
)
def test_uris_cannot_leave_the_root(store: ArtifactStore, uri: str) -> None:
    for call in (store.exists, store.read_text, store.delete, store.full_url, store.local_path):
        with pytest.raises(StoreError, match="not a plain relative path"):
            call(uri)
    with pytest.raises(StoreError):
        store.write_text(uri, "x")


def test_a_bad_asset_key_cannot_place_a_record_outside(store: ArtifactStore, make_record: MakeRecord) -> None:
    with pytest.raises(StoreError):
        store.write_record(make_record("r1", key="../../escape"))


def test_text_round_trip_delete_and_missing(store: ArtifactStore) -> None:
    store.write_text("logs/run1/a.log", "hello\n")
    store.write_text("logs/run1/a.log", "")
    assert store.read_text("logs/run1/a.log") == ""
    store.delete("logs/run1/a.log")
    store.delete("logs/run1/a.log")
    assert not store.exists("logs/run1/a.log")
    with pytest.raises(StoreError):
        store.read_text("logs/run1/a.log")
    with pytest.raises(StoreError, match="missing"):
        store.local_path("objects/ab/abcd.bin")


def test_a_file_url_store_works_like_a_path(tmp_path: Path) -> None:
    by_url = ArtifactStore((tmp_path / "artifacts").as_uri())
    uri, _, _ = put_bytes(by_url, b"x")
    assert ArtifactStore(str(tmp_path / "artifacts")).exists(uri)


def test_memory_store_works(memory_store: ArtifactStore, make_record: MakeRecord, tmp_path: Path) -> None:
    uri, version, size = put_bytes(memory_store, b"remote bytes", "pkl")
    assert uri == f"objects/{version[:2]}/{version}.pkl" and size == 12
    assert put_bytes(memory_store, b"remote bytes", "pkl")[0] == uri
    assert list((tmp_path / "cache" / "tmp").iterdir()) == []
    local = memory_store.local_path(uri)
    assert local.read_bytes() == b"remote bytes" and local.is_relative_to(tmp_path / "cache")
    assert memory_store.full_url(uri).startswith("memory://")
    record = make_record("r1", key="ns/k", artifact_uri=uri)
    memory_store.write_record(record)
    memory_store.write_text("records/ns/k/bad.json", "nope")
    found = list(memory_store.iter_records())
    assert record in found and any(isinstance(p, RecordProblem) for p in found)
    memory_store.delete(uri)
    assert not memory_store.exists(uri)


def test_run_records_read_each_log_once_for_records_and_checks(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """`wb doctor`, the catch-up of a lost index and `wb sync` take records and check results from
    one pass: record files, check files, then every run log parsed once for both kinds."""
    import workbench.storage.artifacts as artifacts_module

    from workbench.core.records import SUCCESS, CheckRecord, utcnow

    store = ArtifactStore(str(tmp_path / "artifacts"))
    now = utcnow()

    def record(rid: str) -> Materialization:
        return Materialization(id=rid, asset_key="a", status=SUCCESS, code_version="c", run_id="r", trigger="cli", started_at=now, ended_at=now)

    def check(cid: str) -> CheckRecord:
        return CheckRecord(id=cid, check_key="a:ok", asset_key="a", partition="", passed=True, blocking=False,
                           asset_data_version="ab", code_version="c", run_id="r", started_at=now, ended_at=now)  # fmt: skip

    store.write_record(record("file"))
    store.write_check_record(check("checkfile"))
    log = store.open_log("r", now)
    assert log is not None
    log.append(record("logged"), [check("loggedcheck")])
    log.close()
    with open(tmp_path / "artifacts" / log.uri, "ab") as f:
        f.write(b"not json\n")
    parsed: list[str] = []
    real = artifacts_module._log_items
    monkeypatch.setattr(artifacts_module, "_log_items", lambda uri, content: (parsed.append(uri), real(uri, content))[1])

    items = list(store.iter_run_records())
    assert sorted(i.id for i in items if isinstance(i, Materialization)) == ["file", "logged"]
    assert sorted(i.id for i in items if isinstance(i, CheckRecord)) == ["checkfile", "loggedcheck"]
    assert [i.uri.rsplit(":", 1)[0] for i in items if isinstance(i, RecordProblem)] == [log.uri]
    assert parsed == [log.uri]
