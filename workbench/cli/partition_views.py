"""Rendering partitions for the CLI: an asset's partitions with their states, a partitioned source."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from rich.table import Table
from rich.text import Text

from workbench.cli.views import STATE_STYLE, _t, console
from workbench.core.spec import SourceSpec
from workbench.core.staleness import Status
from workbench.present import human_size, partitions_summary, short

if TYPE_CHECKING:
    from workbench.workspace import Workspace


def print_partitions(key: str, statuses: Sequence[Status]) -> None:
    """`wb show KEY` of a partitioned asset: every partition with its state, version and why."""
    console.print(Text.assemble((key, "bold"), "  ", _t(f"{len(statuses)} partitions: {partitions_summary(statuses)}", "dim")))
    table = Table(box=None, pad_edge=False, header_style="bold")
    for col in ("partition", "state", "data version", "materialized", "why"):
        table.add_column(col, no_wrap=col != "why")
    for st in statuses:
        when = st.record.ended_at.strftime("%Y-%m-%d %H:%M:%S") if st.record else ""
        table.add_row(
            _t(st.partition, "cyan"),
            _t(st.state, STATE_STYLE.get(st.state, "")),
            _t(short(st.data_version), "dim"),
            _t(when, "dim"),
            _t("; ".join(str(r) for r in st.reasons)),
        )
    console.print(table)
    console.print(_t(f"show one with: wb show {key}[{statuses[0].partition}]", "dim"))


def print_partitioned_source(ws: Workspace, key: str, partition: str | None) -> None:
    """A partitioned source: each partition's file and data version, and the files naming none."""
    from workbench.core.partitions import unit_id

    observed = ws.observe_sources()
    keys = ws.partition_keys[key] if partition is None else (partition,)
    spec = ws.graph.nodes[key]
    assert isinstance(spec, SourceSpec)
    console.print(Text.assemble(("source ", "bold"), (key, "bold"), _t(f"  {spec.path}, {len(keys)} partition(s)")))
    for p in keys:
        obs = observed[unit_id(key, p)]
        found = f"{short(obs.data_version)}  {human_size(obs.size)}" if obs.data_version else "(missing)"
        console.print(Text.assemble(("  ", ""), (p, "cyan"), "  ", _t(obs.path, "dim"), "  ", _t(found)))
    for path in ws.unmatched.get(key, []):
        console.print(Text.assemble(("  unmatched ", "yellow"), _t(path), _t("  names no partition", "dim")))
