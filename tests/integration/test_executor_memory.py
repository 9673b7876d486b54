"""The executor runs on any `MetadataStore`: here the in-memory one, with no index file written."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from workbench.storage.memory import InMemoryMetadataStore

from workbench.core.records import FAILED
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
