"""The versions of an asset, newest first; Enter on a row asks for that version's lineage."""

from __future__ import annotations

from collections.abc import Sequence

from rich.text import Text
from textual.message import Message
from textual.widgets import DataTable
from workbench.tui import theme
from workbench.tui.describe import when

from workbench.core.records import Materialization
from workbench.present import human_size, param_text, short


class VersionTable(DataTable[Text]):
    """time, status, data version, one column per param and metric, then rows, size, seconds, code, git, trigger."""

    DEFAULT_CSS = """
    VersionTable { height: 1fr; }
    """

    class Chosen(Message):
        """A version was chosen: show the exact input versions behind it."""

        def __init__(self, data_version: str) -> None:
            super().__init__()
            self.data_version = data_version

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id, cursor_type="row", zebra_stripes=True)
        self.versions: dict[str, str | None] = {}

    def show(self, records: Sequence[Materialization]) -> None:
        self.clear(columns=True)
        params = sorted({p for r in records for p in r.params})
        metrics = sorted({m for r in records for m in r.metrics})
        partitioned = any(r.partition for r in records)
        self.add_columns("time", *(["partition"] if partitioned else []), "status", "data version",
                         *(Text(p) for p in params), *(Text(m) for m in metrics),  # user text: never markup
                         "rows", "size", "secs", "code", "git", "trigger")
        for r in records:
            secs = (r.ended_at - r.started_at).total_seconds()
            values = [r.metrics.get(m) for m in metrics]
            self.add_row(
                Text(when(r)),
                *([Text(r.partition)] if partitioned else []),
                theme.state_text("fresh", "success") if r.ok else theme.state_text("failed"),
                Text(short(r.data_version)),
                *(Text(param_text(r.params[p]) if p in r.params else "", style="cyan") for p in params),
                *(Text("" if v is None else f"{v:.4g}" if isinstance(v, float) else str(v), justify="right") for v in values),
                Text("" if r.rows is None else str(r.rows), justify="right"),
                Text(human_size(r.size), justify="right"),
                Text(f"{secs:.2f}", justify="right"),
                Text(short(r.code_version, 8), style="dim"),
                Text(short(r.git_commit, 8) + ("*" if r.git_dirty else ""), style="dim"),
                Text(r.trigger, style="dim"),
                key=r.id,
            )
        self.versions = {r.id: r.data_version for r in records}

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        event.stop()
        version = self.versions.get(str(event.row_key.value))
        if version:
            self.post_message(self.Chosen(version))
