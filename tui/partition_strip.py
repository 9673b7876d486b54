"""A partitioned asset's partitions: a compact status strip (counts and a bar, like Dagster's
partition health) in the overview, and a list of every partition where `m` runs just one."""

from __future__ import annotations

from collections.abc import Sequence

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.screen import ModalScreen
from textual.widgets import DataTable, Static
from workbench.tui import theme

from workbench.core.partitions import unit_id
from workbench.core.staleness import FAILED, FRESH, MISSING, STALE, Status

ORDER = (FRESH, STALE, MISSING, FAILED)
WORST = {FRESH: 0, MISSING: 1, STALE: 2, FAILED: 3}  # a bar cell standing for several partitions shows the worst


def counts_text(statuses: Sequence[Status]) -> Text:
    """`✔ 28 fresh  ↻ 1 stale  ○ 1 missing  ✘ 0 failed  of 30`."""
    text = Text()
    for state in ORDER:
        n = sum(1 for st in statuses if st.state == state)
        text.append(f"{theme.glyph(state)} {n} {state}  ", style=theme.INK[state] if n else "dim")
    text.append(f"of {len(statuses)}", style="dim")
    return text


def bar(statuses: Sequence[Status], width: int) -> Text:
    """One cell per partition in order, or per run of partitions when there are more than `width`."""
    cells = max(1, min(width, len(statuses)))
    text = Text()
    for i in range(cells):
        chunk = statuses[i * len(statuses) // cells : (i + 1) * len(statuses) // cells]
        state = max((st.state for st in chunk), key=lambda s: WORST.get(s, 0))
        text.append("█", style=theme.INK.get(state, ""))
    return text


def strip(statuses: Sequence[Status], width: int) -> Text:
    """The counts, then the bar with the first and last partition under its ends."""
    if not statuses:
        return Text()
    text = counts_text(statuses)
    text.append("\n")
    text.append_text(bar(statuses, width))
    first, last = statuses[0].partition, statuses[-1].partition
    gap = max(1, min(width, len(statuses)) - len(first) - len(last))
    text.append(f"\n{first}{' ' * gap}{last}" if len(statuses) > 1 else f"\n{first}", style="dim")
    text.append("\nEnter on the asset: every partition; m there runs one", style="dim")
    return text


class PartitionStrip(Static):
    """The strip in the overview; hidden for an unpartitioned asset."""

    DEFAULT_CSS = """
    PartitionStrip { height: auto; margin: 0 0 1 0; display: none; }
    PartitionStrip.-shown { display: block; }
    """

    def show(self, statuses: Sequence[Status]) -> None:
        self.set_class(bool(statuses), "-shown")
        self.update(strip(statuses, max(10, self.size.width or 40)))


class PartitionList(ModalScreen[str | None]):
    """Every partition of one asset with its state and why; `m` runs the highlighted one (and the
    stale upstream it reads), Escape goes back. Dismissed with the unit to run, or None."""

    BINDINGS = [
        Binding("m", "run", "Materialize this partition"),
        Binding("escape", "dismiss_none", "Back"),
    ]
    DEFAULT_CSS = """
    PartitionList { align: center middle; }
    PartitionList > DataTable { width: 90%; height: 80%; border: round $accent; }
    """

    def __init__(self, key: str, statuses: Sequence[Status]) -> None:
        super().__init__()
        self.key, self.statuses = key, list(statuses)

    def compose(self) -> ComposeResult:
        table: DataTable[Text] = DataTable(cursor_type="row", zebra_stripes=True, id="partitions")
        table.border_title = f"{self.key}: {len(self.statuses)} partitions  (m: materialize one, Esc: back)"
        yield table

    def on_mount(self) -> None:
        table = self.query_one(DataTable)
        table.add_columns("partition", "state", "why")
        for st in self.statuses:
            why = "; ".join(str(r) for r in st.reasons)
            table.add_row(Text(st.partition), theme.state_text(st.state), Text(why), key=st.partition)
        table.focus()

    @property
    def highlighted(self) -> str | None:
        table = self.query_one(DataTable)
        if not self.statuses or table.cursor_row < 0:
            return None
        return self.statuses[table.cursor_row].partition

    def action_run(self) -> None:
        partition = self.highlighted
        self.dismiss(unit_id(self.key, partition) if partition else None)

    def action_dismiss_none(self) -> None:
        self.dismiss(None)
