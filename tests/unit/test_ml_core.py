"""The pure parts of params, grids, run search and sparklines."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from workbench.core.params import parse_overrides
from workbench.core.partitions import Grid, cell_params
from workbench.core.records import Materialization
from workbench.core.spec import asset
from workbench.errors import DefinitionError, SelectionError
from workbench.ops.search import rows, sort_rows, sparkline
from workbench.versioning.codeversion import CodeVersions


def test_grid_cells_name_their_values_and_give_them_back() -> None:
    grid = Grid(lr=[0.01, 0.1], opt=["adam", "sgd"])
    assert grid.keys() == ("lr=0.01:opt=adam", "lr=0.01:opt=sgd", "lr=0.1:opt=adam", "lr=0.1:opt=sgd")
    assert grid.params("lr=0.1:opt=sgd") == {"lr": 0.1, "opt": "sgd"}
    assert cell_params(grid, "lr=0.5:opt=sgd") == {} and cell_params(None, "eu") == {}
    for bad in ({}, {"lr": []}, {"lr": [1, 1]}, {"lr": [object()]}):
        with pytest.raises(DefinitionError):
            Grid(**bad)


def test_params_enter_the_code_version_in_any_order(tmp_path) -> None:  # type: ignore[no-untyped-def]
    def build(params: dict) -> str:  # type: ignore[type-arg]
        def model() -> int:
            return 1

        return CodeVersions(tmp_path).info(asset(params=params)(model).__workbench_asset__).version

    assert build({"lr": 0.01, "depth": 6}) == build({"depth": 6, "lr": 0.01})
    assert build({"lr": 0.01, "depth": 6}) != build({"lr": 0.03, "depth": 6})
    with pytest.raises(DefinitionError, match="JSON"):
        build({"lr": (1, 2)})


def test_param_overrides_parse_json_else_text() -> None:
    assert parse_overrides(["lr=0.03", "opt=adam", "layers=[1, 2]", "on=true"]) == {
        "lr": 0.03, "opt": "adam", "layers": [1, 2], "on": True,
    }
    for bad in (["lr"], ["=1"], ["bad name=1"]):
        with pytest.raises((SelectionError, DefinitionError)):  # both exit 2 with one line
            parse_overrides(bad)


def _record(n: int, **metrics: float) -> Materialization:
    now = datetime(2026, 1, 1, tzinfo=timezone.utc)
    return Materialization(str(n), "m", "success", "c", "r", "cli", now, now, params={"n": n}, metrics=metrics)


def test_search_rows_sort_by_a_metric_and_keep_missing_values_last() -> None:
    table = rows([_record(1, acc=0.5), _record(2), _record(3, acc=0.9)])
    assert [r["params.n"] for r in sort_rows(table, "acc", descending=True)] == [3, 1, 2]
    assert [r["params.n"] for r in sort_rows(table, "acc")] == [1, 3, 2]
    assert [r["params.n"] for r in sort_rows(table, "n", descending=True)] == [3, 2, 1]
    with pytest.raises(SelectionError, match="metrics: acc"):
        sort_rows(table, "f1")


def test_sparkline_spans_lowest_to_highest_in_step_order() -> None:
    assert sparkline([[2, 3.0], [0, 1.0], [1, 2.0]]) == "▁▅█"
    assert sparkline([[0, 5.0], [1, 5.0]]) == "▁▁" and sparkline([]) == ""
    assert len(sparkline([[i, float(i)] for i in range(100)], width=10)) == 10


def test_retries_back_off_from_retry_delay() -> None:
    from workbench.core.spec import seconds
    from workbench.run.runner import attempt

    assert [seconds(v, "") for v in (2, "30s", "2m", "500ms", "1h30m", "1.5s")] == [2.0, 30.0, 120.0, 0.5, 5400.0, 1.5]
    for bad in ("soon", "-1s", -1, True):
        with pytest.raises(DefinitionError, match="not a duration"):
            seconds(bad, "")  # type: ignore[arg-type]

    def flaky() -> int:
        return 1

    spec = asset(retries=3, retry_delay="30s")(flaky).__workbench_asset__
    now = datetime(2026, 1, 1, tzinfo=timezone.utc)
    outcomes = iter(["failed", "failed", "success"])
    waited: list[float] = []
    retried: list[int] = []
    record = attempt(
        spec,
        lambda: Materialization("x", "flaky", next(outcomes), "c", "r", "cli", now, now),
        lambda key, n, error: retried.append(n),
        sleep=waited.append,
    )
    assert record.ok and retried == [1, 2] and waited == [30.0, 60.0]
