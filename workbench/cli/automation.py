"""Rendering of automation for the CLI: due/overdue in `wb status`, `--automation` tables, tick history."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any

from workbench.core.automation import Automation, span
from workbench.core.records import TickRecord

if TYPE_CHECKING:
    from rich.table import Table

_WHEN = "%Y-%m-%d %H:%M"


def status_fields(found: Automation | None) -> dict[str, Any]:
    """What `wb status` adds to every asset row: `due`, `overdue`, `next_tick` (and the reasons)."""
    if found is None:
        return {"due": False, "overdue": False, "next_tick": None}
    return {
        "due": bool(found.due),
        "due_reasons": [t.reason for t in found.due],
        "overdue": found.overdue,
        "overdue_by": None if found.overdue_by is None else round(found.overdue_by, 3),
        "next_tick": found.next_tick.isoformat() if found.next_tick else None,
        "schedule": str(found.schedule) if found.schedule else None,
        "freshness": found.freshness,
    }


def automation_note(row: Mapping[str, Any]) -> str:
    """The `automation` column of `wb status`: what is due, how late, the next tick."""
    parts = [f"due: {reason}" for reason in row.get("due_reasons", []) if not reason.startswith("overdue")]
    if row.get("overdue"):
        parts.append(f"overdue by {span(row['overdue_by'])}")
    if row.get("next_tick"):
        parts.append(f"next {_local(row['next_tick'])}")
    return "; ".join(parts)


def _local(iso: str | None) -> str:
    return datetime.fromisoformat(iso).astimezone().strftime(_WHEN) if iso else ""


def schedule_rows(automation: Mapping[str, Automation], last_run: Mapping[str, str | None],
                  ticks: Mapping[str, TickRecord]) -> list[dict[str, Any]]:  # fmt: skip
    """`wb status --automation`: every asset with a schedule or a freshness limit, its last and next runs."""
    rows = []
    for key, found in automation.items():
        tick = ticks.get(key)
        rows.append({
            "key": key,
            **status_fields(found),
            "last_run": last_run.get(key),
            "last_tick": None if tick is None else {"due_at": tick.due_at.isoformat(), "reason": tick.reason,
                                                    "outcome": tick.outcome, "run_id": tick.run_id},
        })  # fmt: skip
    return rows


def print_schedules(rows: list[dict[str, Any]]) -> None:
    from workbench.cli.views import _t, console

    if not rows:
        console.print(_t("no asset has a schedule or a freshness limit"))
        return
    table = _table()
    for col in ("asset", "schedule", "freshness", "last run", "last tick", "next tick", "now"):
        table.add_column(col)
    for row in rows:
        tick = row["last_tick"]
        now = "; ".join([*(r for r in row["due_reasons"] if not r.startswith("overdue")),
                         *([f"overdue by {span(row['overdue_by'])}"] if row["overdue"] else [])])  # fmt: skip
        table.add_row(
            _t(row["key"]),
            _t(row["schedule"] or ""),
            _t(span(row["freshness"]) if row["freshness"] else ""),
            _t(_local(row["last_run"]), "dim"),
            _t(f"{_local(tick['due_at'])} {tick['outcome']}" if tick else "", "dim"),
            _t(_local(row["next_tick"])),
            _t(now or "-", "yellow" if now else "dim"),
        )
    console.print(table)


def tick_json(tick: TickRecord) -> dict[str, Any]:
    return {
        "id": tick.id, "key": tick.key, "partition": tick.partition, "kind": tick.kind,
        "due_at": tick.due_at.isoformat(), "reason": tick.reason, "claimed_at": tick.claimed_at.isoformat(),
        "claimed_by": tick.claimed_by, "run_id": tick.run_id, "outcome": tick.outcome,
        "ended_at": tick.ended_at.isoformat() if tick.ended_at else None,
    }  # fmt: skip


def print_ticks(ticks: list[TickRecord]) -> None:
    from workbench.cli.views import _t, console

    if not ticks:
        console.print(_t("no automation ticks recorded yet (`wb watch` runs them)"))
        return
    table = _table()
    for col in ("due", "asset", "why", "outcome", "run", "by"):
        table.add_column(col)
    for t in ticks:
        target = f"{t.key}[{t.partition}]" if t.partition else t.key
        table.add_row(_t(_local(t.due_at.isoformat())), _t(target), _t(t.reason), _t(t.outcome),
                      _t(t.run_id[:12], "dim"), _t(t.claimed_by, "dim"))  # fmt: skip
    console.print(table)


def _table() -> Table:
    """A borderless table with bold headings (rich is imported by the commands that print one)."""
    from rich.table import Table

    return Table(box=None, pad_edge=False, header_style="bold")
