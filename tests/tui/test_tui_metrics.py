"""The History tab draws each metric's trend across versions and the steps of the version under the cursor."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path

from textual.pilot import Pilot
from textual.widgets import Label, Sparkline
from workbench.tui.app import WorkbenchApp
from workbench.tui.graph_view import GraphView
from workbench.tui.metric_trends import MetricTrend, MetricTrends
from workbench.tui.version_table import VersionTable

from workbench import api
from workbench.project import find_project

Settle = Callable[[Pilot[None]], Awaitable[None]]

TRAIN = """
from workbench import Output, asset, log_metric

@asset(params={"lr": 0.1})
def model(context) -> dict:
    lr = context.params["lr"]
    for step in range(3):
        log_metric("loss", round(lr * (3 - step), 4), step=step)
    return Output({"lr": lr}, metrics={"accuracy": 1 - lr})

@asset
def plain() -> dict:
    return {"no": "metrics"}
"""


async def test_history_shows_metric_trends_and_steps(make_project: Callable[..., Path], settle: Settle) -> None:
    root = make_project({"pipeline.py": TRAIN})
    for lr in (0.3, 0.2, 0.1):  # three versions, the last one the declared params
        assert api.materialize("model", project=root, params={"lr": lr} if lr != 0.1 else None).ok
    assert api.materialize("plain", project=root).ok
    app = WorkbenchApp(find_project(root))
    async with app.run_test(size=(120, 36)) as pilot:
        await settle(pilot)
        app.query_one(GraphView).cursor = "model"
        await pilot.press("2")
        await settle(pilot)
        trends = app.query_one(MetricTrends)
        rows = {row.metric: row for row in trends.query(MetricTrend)}
        assert trends.display and sorted(rows) == ["accuracy", "loss"]
        assert rows["accuracy"].query_one(".versions", Sparkline).data == [0.7, 0.8, 0.9]  # oldest to newest
        assert rows["loss"].query_one(".versions", Sparkline).data == [0.3, 0.2, 0.1]  # a series' last step
        assert rows["loss"].query_one(".steps", Sparkline).data == [0.3, 0.2, 0.1]  # the newest version's steps
        assert str(rows["loss"].query_one(".steps-label", Label).render()) == "its 3 steps"

        table = app.query_one(VersionTable)
        table.focus()
        await pilot.press("down", "down")  # the oldest version, lr 0.3
        await settle(pilot)
        assert rows["loss"].query_one(".steps", Sparkline).data == [0.9, 0.6, 0.3]
        assert str(rows["accuracy"].query_one(".value", Label).render()) == "0.7"

        app.query_one(GraphView).cursor = "plain"  # no metrics: no trends
        await settle(pilot)
        assert not trends.display
