"""The executor runs on any `MetadataStore`: here the in-memory one, with no index file written."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from pathlib import Path

from workbench.storage.artifacts import ArtifactStore
from workbench.storage.memory import InMemoryMetadataStore

from workbench.core.records import FAILED, Materialization
from workbench.project import find_project, load_project
from workbench.workspace import Workspace

PIPELINE = """
from workbench import asset, check

@asset
def numbers() -> list:
    return [1, 2, 3]

@asset
def total(numbers: list) -> int:
    return sum(numbers)

@check(asset="total")
def positive(total: int) -> bool:
    return total > 0

@asset
def broken(total: int) -> int:
    raise ValueError("no")
"""


def test_materialize_records_runs_and_checks_in_an_injected_store(make_project: Callable[..., Path]) -> None:
    root = make_project({"pipeline.py": PIPELINE})
    store = InMemoryMetadataStore()
    ws = Workspace(load_project(find_project(root)), metadata=store)

    result = ws.materialize()
    assert set(result.materialized) == {"numbers", "total"} and result.failed == ("broken",)
    assert {m.asset_key for m in store.history("numbers") + store.history("total")} == {"numbers", "total"}
    assert store.history("broken")[0].status == FAILED
    assert [c.passed for c in store.check_history("total")] == [True]
    assert len(store.runs()) == 1
    assert not ws.project.config.metadata_path.exists()  # nothing went to the DuckDB index

    again = ws.materialize()  # judged on the injected store: only the failed asset is stale
    assert again.materialized == () and again.failed == ("broken",)
    assert ws.status()["total"].state == "fresh"


def test_on_an_object_store_each_record_is_a_file_of_its_own(make_project: Callable[..., Path], tmp_path: Path) -> None:
    """An object store cannot append: no run log there, a record file per record, and the journal
    (which names them) is gone once they are indexed."""
    root = make_project({"pipeline.py": PIPELINE})
    artifacts = ArtifactStore(f"memory://wb-objects-{uuid.uuid4().hex}", cache_dir=tmp_path / "cache")
    store = InMemoryMetadataStore()
    ws = Workspace(load_project(find_project(root)), metadata=store, artifacts=artifacts)

    result = ws.materialize()
    assert set(result.materialized) == {"numbers", "total"}
    files = sorted(artifacts.fs.find(artifacts.root))
    assert not [f for f in files if "/logs/" in f]
    assert len([f for f in files if "/records/" in f]) == 3 and len([f for f in files if "/checks/" in f]) == 1
    written = {m.id for m in artifacts.iter_records() if isinstance(m, Materialization)}
    assert written == {m.id for key in ("numbers", "total", "broken") for m in store.history(key)}
    assert not any((ws.project.config.home / "journal").iterdir())
