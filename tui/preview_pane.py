"""A version's data: schema and first rows of a table in a DataTable, the text of anything else."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.widgets import DataTable, Static
from workbench.tui.data import Preview


class PreviewPane(VerticalScroll):
    """Shows a `Preview`: a schema line and a table, or the artifact's text."""

    DEFAULT_CSS = """
    PreviewPane > DataTable { height: auto; max-height: 24; }
    PreviewPane > #preview-text { width: auto; }
    """

    def compose(self) -> ComposeResult:
        yield Static(id="preview-schema")
        yield DataTable(id="preview-table", zebra_stripes=True)
        yield Static(id="preview-text")

    def show(self, preview: Preview) -> None:
        table = self.query_one("#preview-table", DataTable)
        table.clear(columns=True)
        table.display = bool(preview.schema)
        schema = Text()
        for name, dtype in preview.schema:
            schema.append(name, style="bold").append(f": {dtype}  ", style="dim")
        self.query_one("#preview-schema", Static).update(schema)
        if preview.schema:
            table.add_columns(*(Text(name) for name, _ in preview.schema))
            table.add_rows([[Text(v) for v in row] for row in preview.rows])
        self.query_one("#preview-text", Static).update(Text(preview.text))
