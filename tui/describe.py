"""Rich `Text` for the detail pane: an asset's overview and its last run's error and log.

User strings (keys, reasons, errors, logs, tags) are appended as plain text, never as markup.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from pathlib import Path

from rich.text import Text
from workbench.tui import theme
from workbench.tui.data import relative

from workbench.core.graph import AssetGraph
from workbench.core.records import CheckRecord, Materialization
from workbench.core.spec import AssetSpec
from workbench.core.staleness import CheckState, Status
from workbench.ops.search import sparkline
from workbench.present import human_size, param_text, short
from workbench.run.leases import Holder


def why(status: Status | None) -> str:
    """The reasons of a status in one line."""
    return "; ".join(str(r) for r in status.reasons) if status else ""


def _row(text: Text, name: str, *parts: str | Text | tuple[str, str]) -> None:
    text.append(f"{name:<11}", style="bold")
    for part in parts:
        text.append(part) if not isinstance(part, tuple) else text.append(part[0], style=part[1])
    text.append("\n")


def when(record: Materialization | CheckRecord) -> str:
    return record.ended_at.astimezone().strftime("%Y-%m-%d %H:%M:%S")


def overview(graph: AssetGraph, root: Path, key: str, status: Status | None, holder: Holder | None = None) -> Text:
    """State and reasons, versions, location, tags, and the neighbours of `key`; who runs it now, if another process does."""
    spec = graph.nodes[key]
    text = Text()
    kind = f"{spec.kind} · group {spec.group}"
    _row(text, "asset", (key, "bold"), ("  " + kind, "dim"))
    if holder is not None:
        since = datetime.fromisoformat(holder.since).astimezone().strftime("%Y-%m-%d %H:%M:%S")
        _row(text, "running", theme.state_text(theme.RUNNING, f"in {holder}"), (f"  since {since}  run {holder.run_id[:12]}", "dim"))
    _row(text, "state", theme.state_text(status.state if status else None))
    for reason in status.reasons if status else ():
        _row(text, "", ("• ", "dim"), str(reason))
    if isinstance(spec, AssetSpec):
        _row(text, "code", short(status.code_version if status else None, 16), (f"  {relative(spec.file, root)}:{spec.line}", "dim"))
    else:
        _row(text, "path", spec.path)
    record = status.record if status else None
    if status and status.data_version:
        facts = [human_size(record.size) if record else "", f"{record.rows} rows" if record and record.rows is not None else ""]
        _row(text, "data", short(status.data_version, 16), ("  " + "  ".join(f for f in facts if f), "dim"))
    if record is not None:
        git = f"  git {short(record.git_commit, 8)}{'*' if record.git_dirty else ''}" if record.git_commit else ""
        _row(text, "built", when(record), (f"  {record.trigger}{git}", "dim"))
        for name, param in sorted(record.params.items()):
            _row(text, "param", f"{name} = ", (param_text(param), "cyan"))
        for name, value in sorted(record.metrics.items()):
            steps = record.series.get(name)
            trend = ("  " + sparkline(steps), "green") if steps else ("", "")
            _row(text, "metric", f"{name} = ", (f"{value:.4g}" if isinstance(value, float) else str(value), "cyan"), trend)
    for c in status.checks if status else ():
        style = {"passed": "green", "failed": "bold red"}.get(c.state, "yellow")
        _row(text, "check", c.name, ("  ", ""), (c.state + (" (blocking)" if c.blocking else ""), style))
    if spec.tags:
        _row(text, "tags", ", ".join(f"{k}={v}" for k, v in sorted(spec.tags.items())))
    _row(text, "upstream", ", ".join(graph.parents[key]) or ("none", "dim"))
    _row(text, "downstream", ", ".join(graph.children[key]) or ("none", "dim"))
    text.rstrip()
    return text


def last_run(record: Materialization | None, checks: Iterable[CheckState] = ()) -> Text:
    """The last run's outcome, error, traceback and captured log; then each check's, as for the asset."""
    if record is None:
        return Text("no run recorded yet", style="dim")
    text = Text()
    secs = (record.ended_at - record.started_at).total_seconds()
    _row(text, "last run", theme.state_text("fresh", "success") if record.ok else theme.state_text("failed"), (f"  {when(record)}  {secs:.2f}s  {record.trigger}", "dim"))
    _error_and_log(text, record.error, record.traceback, record.log)
    for c in checks:
        if c.record is None:
            continue
        verdict = ("passed", "green") if c.record.passed else ("failed" + (" (blocking)" if c.blocking else ""), "bold red")
        text.append("\n\n")
        _row(text, "check", (c.name, "bold"), "  ", verdict, (f"  {when(c.record)}", "dim"))
        _error_and_log(text, c.record.error, c.record.traceback, c.record.log)
    return text


def _error_and_log(text: Text, error: str | None, trace: str | None, log: str) -> None:
    if error:
        _row(text, "error", (error, "bold red"))
    if trace:
        text.append(trace.rstrip() + "\n", style="dim")
    text.append("\nlog\n", style="bold")
    text.append(log.rstrip() if log else "(nothing printed or logged)", style="" if log else "dim")
