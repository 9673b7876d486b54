"""Rendering for the CLI: rich tables and trees on a terminal, plain text in pipes.

User-provided strings are always wrapped in `Text`, never parsed as rich markup.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterable, Mapping, Sequence
from collections.abc import Set as AbstractSet
from typing import TYPE_CHECKING, Any

import click
from rich.cells import cell_len, set_cell_size
from rich.color import ColorSystem
from rich.console import Console
from rich.style import Style
from rich.table import Table
from rich.text import Text
from rich.tree import Tree

from workbench.core.graph import AssetGraph
from workbench.core.partitions import unit_id
from workbench.core.records import CheckRecord, Materialization
from workbench.errors import StoreError
from workbench.ops.doctor import OK, PROBLEM, REPAIRED
from workbench.present import artifact_text, checks_of, diff_text, human_size, metric_text, param_text, short, status_cells, version_label
from workbench.text import terminal_safe

if TYPE_CHECKING:
    from workbench.core.plan import Plan
    from workbench.core.spec import SourceSpec
    from workbench.ops.doctor import Report
    from workbench.run.executor import Result
    from workbench.workspace import Workspace

STATE_STYLE = {"fresh": "green", "stale": "yellow", "missing": "blue", "failed": "bold red"}
# In a pipe there is no terminal width to respect: keep tables whole rather than truncate them.
PIPE_WIDTH = None if sys.stdout.isatty() or "COLUMNS" in os.environ else 240
console = Console(highlight=False, soft_wrap=False, width=PIPE_WIDTH)


def _t(value: object, style: str = "") -> Text:
    return Text("" if value is None else terminal_safe(str(value)), style=style)


def print_status(rows: list[dict[str, Any]], automation: Callable[[Mapping[str, Any]], str] | None = None) -> None:
    """The status table as aligned plain text (rich's table layout costs ~0.3 ms a row: 3 s at 10k);
    `automation` (when the project has any) fills a column of what is due."""
    notes = [(automation(row), "yellow" if row.get("due") or row.get("overdue") else "dim") for row in rows] if automation else None
    print_status_cells([status_cells(row) for row in rows], notes)


def print_status_cells(rows: Sequence[Sequence[str]], notes: list[Cell] | None = None) -> None:
    """The status table of rows given as `status_cells`, with an automation column when `notes` are given."""
    lines = [
        (
            (terminal_safe(key), "dim" if kind == "source" else ""),
            (state, STATE_STYLE.get(state, "")),
            (terminal_safe(why), ""),
            (version, "dim"),
            (when, "dim"),
            *((notes[i],) if notes is not None else ()),
        )
        for i, (key, kind, state, why, version, when) in enumerate(rows)
    ]
    names = ("asset", "state", "why", "data version", "materialized", *(("automation",) if notes is not None else ()))
    header = tuple((name, "bold") for name in names)
    counts: dict[str, int] = {}
    for row in rows:
        counts[row[2]] = counts.get(row[2], 0) + 1
    summary = ", ".join(f"{n} {state}" for state, n in sorted(counts.items()))
    print_plain_table([header, *lines], fold=2)
    console.print(_t(f"{len(rows)} nodes: {summary}", "bold"))


Cell = tuple[str, str]  # (text, rich style)


def print_plain_table(lines: list[tuple[Cell, ...]], fold: int) -> None:
    """Columns aligned by two spaces, styled on a terminal; on one, column `fold` is cut with an
    ellipsis so that every line fits its width (in a pipe lines are kept whole)."""
    widths = [max(_cells(line[i][0]) for line in lines) for i in range(len(lines[0]))]
    if console.is_terminal:
        room = console.width - sum(widths) - 2 * (len(widths) - 1) + widths[fold]
        widths[fold] = min(widths[fold], max(room, 20))
    paint = _painter()
    out = []
    for line in lines:
        cells = []
        for (text, style), width in zip(line, widths, strict=True):
            if _cells(text) > width:
                text = set_cell_size(text, width - 1) + "…"
            cells.append(paint(text, style) + " " * (width - _cells(text)))
        out.append("  ".join(cells).rstrip())
    console.file.write("\n".join(out) + "\n")


def _cells(text: str) -> int:
    """The width of `text` on a terminal: its length when it is printable ASCII (most cells, 5x faster)."""
    return len(text) if text.isascii() and text.isprintable() else cell_len(text)


def _painter() -> Callable[[str, str], str]:
    """`paint(text, style)`: the text with the style's escape codes when the console shows colour."""
    if console.color_system is None:
        return lambda text, style: text
    system = {"standard": ColorSystem.STANDARD, "256": ColorSystem.EIGHT_BIT}.get(console.color_system, ColorSystem.TRUECOLOR)
    styles: dict[str, Style] = {}

    def paint(text: str, style: str) -> str:
        if not style or not text:
            return text
        return styles.setdefault(style, Style.parse(style)).render(text, color_system=system)

    return paint


def print_plan(plan: Plan) -> None:
    if plan.empty:
        console.print(_t(f"nothing to do: {len(plan.fresh)} asset(s) fresh", "green"))
        return
    console.print(_t(f"would run {len(plan.to_run)} asset(s), skip {len(plan.fresh)} fresh:", "bold"))
    for key in plan.to_run:
        console.print(Text.assemble("  ", (key, "bold"), "  ", _t("; ".join(str(r) for r in plan.reasons[key]), "dim")))


class PushNotes:
    """`wb push` and its in-cluster driver on the terminal: notes on stderr, the result as `materialize` prints it."""

    def note(self, text: str) -> None:
        click.echo(terminal_safe(text), err=True)

    def result(self, result: Result) -> None:
        from workbench.cli.runs import print_result

        print_result(result)


def print_history(
    key: str,
    records: list[Materialization],
    checks: Iterable[Any] = (),
    collected: AbstractSet[str] = frozenset(),
    metric: str | None = None,
) -> None:
    """`collected`: ids of successful records whose artifact `wb gc` deleted (shown as such);
    `metric`: a sparkline of that metric's steps per version."""
    if not records:
        console.print(_t(f"{key} has never been materialized", "dim"))
        return
    table = Table(box=None, pad_edge=False, header_style="bold", title=Text(key, "bold"), title_justify="left")
    partitioned = any(r.partition for r in records)
    columns = ("partition",) * partitioned + ("time", "status", "version", "code", "git", "size", "rows", "secs", "trigger")
    for col in columns:
        table.add_column(_t(col), justify="right" if col in ("size", "rows", "secs") else "left", no_wrap=True)
    extra = _run_columns(table, records, metric)
    for r in records:
        git = short(r.git_commit, 8) + ("*" if r.git_dirty else "")
        secs = (r.ended_at - r.started_at).total_seconds()
        table.add_row(
            *([_t(r.partition, "cyan")] if partitioned else []),
            _t(r.ended_at.strftime("%m-%d %H:%M:%S")),
            _status_cell(r, collected),
            _t(short(r.data_version, 10)),
            _t(short(r.code_version, 8), "dim"),
            _t(git, "dim"),
            _t(human_size(r.size)),
            _t(r.rows),
            _t(f"{secs:.2f}"),
            _t(r.trigger + (" variant" if "variant" in r.metadata else ""), "dim"),
            *extra(r),
        )
    console.print(table)
    for c in checks:
        verdict = Text("passed", "green") if c.passed else Text("failed" + (" (blocking)" if c.blocking else ""), "bold red")
        when = c.ended_at.strftime("%m-%d %H:%M:%S")
        where = f"[{c.partition}] " if c.partition else ""
        console.print(Text.assemble("check ", (c.name, "bold"), f" {where}on {short(c.asset_data_version, 10)} ", verdict, f"  {when}", _t(f"  {c.error}" if c.error else "")))
    latest = records[0]
    if not latest.ok:
        where = f" ({unit_id(key, latest.partition)})" if latest.partition else ""
        console.print(Text.assemble((f"\nlatest run failed{where}: ", "bold red"), _t(latest.error)))
        if latest.traceback:
            console.print(_t(latest.traceback.rstrip(), "dim"))


def _status_cell(r: Materialization, collected: AbstractSet[str]) -> Text:
    return _t("collected" if r.id in collected else r.status, "dim" if r.id in collected else "green" if r.ok else "bold red")


def _run_columns(table: Table, records: list[Materialization], metric: str | None) -> Any:
    """Add a column per param and metric (and `metric`'s sparkline) to `table`; returns a row's cells."""
    from workbench.ops.search import sparkline

    params = sorted({p for r in records for p in r.params})
    metrics = sorted({m for r in records for m in r.metrics})
    for name in params:
        table.add_column(_t(name), style="cyan", no_wrap=True)  # param and metric names are user text
    for name in metrics:
        table.add_column(_t(name), justify="right", no_wrap=True)
    if metric is not None:
        table.add_column(_t(f"{metric} by step"), no_wrap=True)

    def cells(r: Materialization) -> list[Text]:
        out = [_t(param_text(r.params[p]) if p in r.params else "") for p in params]
        out += [_t(metric_text(r.metrics.get(m))) for m in metrics]
        if metric is not None:
            out.append(_t(sparkline(r.series.get(metric, []))))
        return out

    return cells


def print_search(records: list[Materialization], collected: AbstractSet[str], metric: str | None = None) -> None:
    """Versions of several assets in one table (`wb history SEL`, `--sort`), in the order given."""
    if not records:
        console.print(_t("no versions", "dim"))
        return
    table = Table(box=None, pad_edge=False, header_style="bold")
    for col in ("asset", "partition", "time", "status", "version", "code", "git"):
        table.add_column(_t(col), no_wrap=True)
    extra = _run_columns(table, records, metric)
    for r in records:
        table.add_row(
            _t(r.asset_key, "bold"),
            _t(r.partition),
            _t(r.ended_at.strftime("%m-%d %H:%M:%S")),
            _status_cell(r, collected),
            _t(short(r.data_version, 10)),
            _t(short(r.code_version, 8), "dim"),
            _t(short(r.git_commit, 8) + ("*" if r.git_dirty else ""), "dim"),
            *extra(r),
        )
    console.print(table)


def print_source(ws: Workspace, spec: SourceSpec) -> None:
    obs = ws.observe_sources()[spec.key]
    console.print(Text.assemble(("source ", "bold"), (spec.key, "bold"), _t(f"  {spec.path}")))
    console.print(_t(f"data version {obs.data_version or '(missing)'}, {human_size(obs.size)}"))


def print_show(
    ws: Workspace, key: str, record: Materialization | None, last: Materialization | None, rows: int,
    checks: Iterable[CheckRecord] = (),
) -> None:  # fmt: skip
    """Preview `record`; `last` when the latest run failed; the newest result of each check of `record`'s version."""
    from workbench.ops.search import sparkline
    from workbench.run import serializers

    if last is not None and not last.ok:
        console.print(Text.assemble(("latest run failed: ", "bold red"), _t(last.error)))
        _print_trace_and_log(last.traceback, last.log)
    if record is None:
        if last is None:
            console.print(_t(f"{key} has never been materialized", "dim"))
        return
    facts = [f"data version {record.data_version}", record.serializer or "", human_size(record.size)]
    if record.rows is not None:
        facts.append(f"{record.rows} rows")
    if record.git_commit:
        dirty = " with uncommitted changes" + (" (kept as a patch)" if record.git_patch else "") if record.git_dirty else ""
        facts.append(f"git {short(record.git_commit, 8)}{dirty}")
    name = unit_id(key, record.partition)
    console.print(Text.assemble((name, "bold"), "  ", _t(", ".join(f for f in facts if f), "dim")))
    variant = record.metadata.get("variant")
    for name, value in sorted(record.params.items()):
        note = " (variant)" if isinstance(variant, dict) and name in variant else ""
        console.print(Text.assemble(("param  ", "cyan"), _t(f"{name} = {param_text(value)}{note}")))
    for name, value in sorted(record.metrics.items()):
        steps = record.series.get(name)
        trend = f"  {sparkline(steps)} ({len(steps)} steps)" if steps else ""
        console.print(Text.assemble(("metric ", "cyan"), _t(f"{name} = {metric_text(value)}{trend}")))
    for c in checks_of(record, checks):
        verdict = Text("passed", "green") if c.passed else Text("failed" + (" (blocking)" if c.blocking else ""), "bold red")
        console.print(Text.assemble(("check ", "blue"), _t(c.name, "bold"), " ", verdict, _t(f"  {c.error}" if c.error else "")))
        _print_trace_and_log(c.traceback, c.log)
    assert record.artifact_uri and record.serializer
    if not ws.artifacts.exists(record.artifact_uri):
        raise StoreError(
            f"{name}@{short(record.data_version)}: artifact {record.artifact_uri} is missing from the store"
            f" (`wb doctor` lists every missing artifact); `wb materialize {name}` rebuilds the current version"
        )
    path = ws.artifacts.local_path(record.artifact_uri)
    if record.serializer == "parquet":
        import polars as pl

        frame = pl.scan_parquet(path)
        console.print(_t(", ".join(f"{k}: {v}" for k, v in frame.collect_schema().items()), "dim"))
        with pl.Config(tbl_rows=rows, tbl_cols=12, fmt_str_lengths=40):
            console.print(_t(str(frame.head(rows).collect())))
        return
    console.print(_t(artifact_text(serializers.read(path, record.serializer), record.serializer)))


def _print_trace_and_log(trace: str | None, log: str) -> None:
    if trace:
        console.print(_t(trace.rstrip(), "dim"))
    if log:
        console.print(Text.assemble(("log:\n", "bold"), _t(log.rstrip(), "dim")))


def print_version_tree(tree: Mapping[str, Any]) -> None:
    def add(branch: Tree, node: Mapping[str, Any]) -> None:
        for child in node.get("inputs", []):
            add(branch.add(version_label(child)), child)

    root = Tree(version_label(tree))
    add(root, tree)
    console.print(root)


def print_graph_lineage(graph: AssetGraph, key: str, direction: str | None) -> None:
    def grow(branch: Tree, node: str, edges: Mapping[str, Iterable[str]], seen: frozenset[str]) -> None:
        for nxt in edges[node]:
            leaf = branch.add(Text(nxt, "dim" if graph.is_source(nxt) else ""))
            if nxt not in seen:
                grow(leaf, nxt, edges, seen | {nxt})

    if direction in (None, "upstream"):
        up = Tree(Text.assemble((key, "bold"), (" upstream", "dim")))
        grow(up, key, graph.parents, frozenset({key}))
        console.print(up)
    if direction in (None, "downstream"):
        down = Tree(Text.assemble((key, "bold"), (" downstream", "dim")))
        grow(down, key, graph.children, frozenset({key}))
        console.print(down)


def print_diff(doc: Mapping[str, Any]) -> None:
    console.print(diff_text(doc))


def print_aliases(events: Iterable[Any]) -> None:
    table = Table(box=None, pad_edge=False, header_style="bold")
    for col in ("asset", "alias", "version", "set by", "set at"):
        table.add_column(col, no_wrap=True)
    rows = 0
    for e in events:
        rows += 1
        table.add_row(_t(e.asset_key, "bold"), _t(e.name, "cyan"), _t(short(e.data_version)), _t(e.set_by), _t(e.set_at.strftime("%Y-%m-%d %H:%M:%S")))
    console.print(table if rows else _t("no aliases", "dim"))


def print_gc(plan: Any, dry_run: bool) -> None:
    verb = "would delete" if dry_run else "deleted"
    console.print(_t(f"{verb} {len(plan.delete)} artifact(s) of {plan.dropped} old version(s); kept {plan.kept} version(s)"))


COVERAGE_TITLES = {
    "function": "functions",
    "class": "classes",
    "value": "values read by the code (hashed by value)",
    "module": "whole modules (named as modules, imported in a body, or star-imported)",
    "binding": "module-level names covered by the statements that bind them",
    "env": "environment variables (declared with @asset(env=...))",
    "library": "third-party modules (named, not hashed; versions recorded)",
    "option": "pinned by code_version=",
    "opaque": "named only (no source to read)",
}


def print_coverage(doc: Mapping[str, Any]) -> None:
    console.print(Text.assemble((doc["key"], "bold"), "  code version ", (short(doc["code_version"], 12), "cyan")))
    for kind, title in COVERAGE_TITLES.items():
        items = doc["covers"].get(kind)
        if not items:
            continue
        console.print(_t(f"{title}:", "bold"))
        for item in items:
            console.print(_t(f"  {item['name']}" + (f"  {item['where']}" if item["where"] else "")))
    if doc["libraries"]:
        versions = ", ".join(f"{name} {version}" for name, version in doc["libraries"].items())
        console.print(_t("library versions recorded: ", "bold") + _t(versions))


def print_reproduction(outcome: Any) -> None:
    """`wb reproduce`: whether the rerun at the recorded commit gave the recorded data version."""
    record = outcome.record
    name = f"{record.asset_key}[{record.partition}]" if record.partition else record.asset_key
    console.print(Text.assemble((name, "bold"), "@", (short(record.data_version), "cyan"), "  git ", _t(short(record.git_commit, 8))))
    if outcome.error:
        console.print(Text.assemble(("the rerun failed: ", "bold red"), _t(outcome.error)))
    elif outcome.matches:
        console.print(_t(f"reproduced: data version {short(outcome.data_version)} matches", "bold green"))
    else:
        console.print(_t(f"not reproduced: data version {short(outcome.data_version)} differs from {short(record.data_version)}", "bold red"))
    for note in outcome.notes:
        console.print(_t(f"note: {note}", "yellow"))


def print_doctor(report: Report) -> None:
    styles = {OK: "green", REPAIRED: "cyan", PROBLEM: "bold red"}
    for kind, line in report.lines:
        console.print(Text.assemble((f"{kind:<10}", styles[kind]), line))
    console.print(Text("store is healthy" if report.healthy else f"{len(report.problems)} problem(s)", "bold"))
