"""Above the version table: each metric's trend across the asset's versions, and its steps within
the version under the cursor (`log_metric(name, value, step=)`)."""

from __future__ import annotations

from collections.abc import Sequence

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.widgets import Label, Sparkline

from workbench.core.records import Materialization

SHOWN = 4  # metrics drawn; the others are named on the last line


def value_text(value: float | None) -> str:
    return "" if value is None else f"{value:.4g}"


class MetricTrend(Vertical):
    """One metric: its name, the chosen version's value, its value per version (oldest to newest);
    under them, the chosen version's steps, when it logged any."""

    DEFAULT_CSS = """
    MetricTrend { height: auto; }
    MetricTrend Horizontal { height: 1; }
    MetricTrend .name { width: 14; }
    MetricTrend .value { width: 10; content-align: right middle; padding-right: 1; }
    MetricTrend .steps-label { width: 24; color: $text-muted; content-align: right middle; padding-right: 1; }
    MetricTrend Sparkline { width: 1fr; }
    MetricTrend .steps-row { display: none; }
    MetricTrend.with-steps .steps-row { display: block; }
    """

    def __init__(self, name: str, values: Sequence[float], chosen: Materialization | None) -> None:
        super().__init__(classes="metric")
        self.metric = name
        self.values = list(values)
        self.chosen = chosen
        self.value = Label("", classes="value")
        self.steps_label = Label("", classes="steps-label")
        self.steps = Sparkline([], classes="steps")

    def compose(self) -> ComposeResult:
        with Horizontal():
            yield Label(Text(self.metric, overflow="ellipsis", no_wrap=True), classes="name")  # user text: never markup
            yield self.value
            yield Sparkline(self.values, classes="versions")
        with Horizontal(classes="steps-row"):
            yield self.steps_label
            yield self.steps

    def on_mount(self) -> None:
        self._draw()

    def choose(self, record: Materialization | None) -> None:
        """Show `record`'s value and steps of this metric."""
        self.chosen = record
        if self.is_mounted:  # else on_mount draws it
            self._draw()

    def _draw(self) -> None:
        record = self.chosen
        value = record.metrics.get(self.metric) if record else None
        steps = [point[1] for point in record.series.get(self.metric, [])] if record else []
        self.value.update(value_text(value))
        self.steps_label.update(f"its {len(steps)} steps" if steps else "")
        self.steps.data = steps
        self.set_class(bool(steps), "with-steps")


class MetricTrends(Vertical):
    """The trends of an asset's metrics; hidden when no version has one."""

    DEFAULT_CSS = """
    MetricTrends { height: auto; padding-bottom: 1; }
    MetricTrends .caption, MetricTrends .more { color: $text-muted; }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.records: dict[str, Materialization] = {}
        self.display = False

    def show(self, records: Sequence[Materialization]) -> None:
        """`records` newest first, as the version table lists them; the newest is chosen."""
        ok = [r for r in reversed(records) if r.ok]
        self.records = {r.id: r for r in ok}
        names = sorted({m for r in ok for m in r.metrics})
        self.remove_children()
        self.display = bool(names)
        newest = ok[-1] if ok else None
        caption = f"{'metric':<14}{'value':>9}  {len(ok)} versions, oldest → newest"
        rows: list[Label | MetricTrend] = [
            Label(caption, classes="caption"),
            *(MetricTrend(n, [float(r.metrics[n]) for r in ok if n in r.metrics], newest) for n in names[:SHOWN]),
        ]
        if len(names) > SHOWN:
            rows.append(Label(Text(f"and {', '.join(names[SHOWN:])}: in the table below"), classes="more"))
        self.mount_all(rows)

    def choose(self, record_id: str) -> None:
        """Show the steps of the version `record_id` (a failed one has none)."""
        record = self.records.get(record_id)
        for trend in self.query(MetricTrend):
            trend.choose(record)
