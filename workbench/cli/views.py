"""Rendering for the CLI: rich tables and trees on a terminal, plain text in pipes.

User-provided strings are always wrapped in `Text`, never parsed as rich markup.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterable, Mapping
from collections.abc import Set as AbstractSet
from typing import TYPE_CHECKING, Any

from rich.console import Console
from rich.table import Table
from rich.text import Text
from rich.tree import Tree

from workbench.core.graph import AssetGraph, suggest
from workbench.core.partitions import split_unit
from workbench.core.records import CheckRecord, Materialization
from workbench.core.spec import AssetSpec, SourceSpec
from workbench.core.staleness import Status, overall_state
from workbench.errors import SelectionError, StoreError
from workbench.text import terminal_safe

if TYPE_CHECKING:
    from workbench.core.plan import Plan
    from workbench.run.executor import Result
    from workbench.run.reporting import Reporter
    from workbench.workspace import Workspace

STATE_STYLE = {"fresh": "green", "stale": "yellow", "missing": "blue", "failed": "bold red"}
# In a pipe there is no terminal width to respect: keep tables whole rather than truncate them.
PIPE_WIDTH = None if sys.stdout.isatty() or "COLUMNS" in os.environ else 240
console = Console(highlight=False, soft_wrap=False, width=PIPE_WIDTH)


def _t(value: object, style: str = "") -> Text:
    return Text("" if value is None else terminal_safe(str(value)), style=style)


def short(version: str | None, n: int = 12) -> str:
    return (version or "")[:n]


def human_size(size: int | None) -> str:
    if size is None:
        return ""
    value = float(size)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if value < 1024 or unit == "GiB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return str(size)


def require_key(graph: AssetGraph, key: str) -> None:
    if key not in graph:
        raise SelectionError(f"unknown asset {key!r}" + suggest(key, graph.nodes))


def status_row(node: AssetSpec | SourceSpec, st: Status) -> dict[str, Any]:
    record, last = st.record, st.last
    row: dict[str, Any] = {"key": st.key, "partition": st.partition} if st.partition else {"key": st.key}
    row.update(
        kind=node.kind,
        group=node.group,
        state=st.state,
        reasons=[str(r) for r in st.reasons],
        data_version=st.data_version,
        code_version=st.code_version,
        materialized_at=record.ended_at.isoformat() if record else None,
        last_status=last.status if last else None,
        error=last.error if last and not last.ok else None,
    )
    if st.checks:
        row["checks"] = [{"name": c.name, "state": c.state, "blocking": c.blocking} for c in st.checks]
    return row


def asset_row(node: AssetSpec | SourceSpec, statuses: list[Status]) -> dict[str, Any]:
    """One row per asset; a partitioned asset's row summarises its partitions and lists them."""
    if len(statuses) == 1 and not statuses[0].partition:
        return status_row(node, statuses[0])
    parts = [status_row(node, st) for st in statuses]
    counts: dict[str, int] = {}
    for st in statuses:
        counts[st.state] = counts.get(st.state, 0) + 1
    fresh = counts.pop("fresh", 0)
    summary = ", ".join([f"{fresh}/{len(statuses)} fresh", *(f"{n} {state}" for state, n in sorted(counts.items()))])
    state = overall_state(st.state for st in statuses)
    newest = max((p["materialized_at"] for p in parts if p["materialized_at"]), default=None)
    return {
        "key": node.key,
        "kind": node.kind,
        "group": node.group,
        "state": state,
        "reasons": [summary],
        "data_version": None,
        "code_version": statuses[0].code_version if statuses else None,
        "materialized_at": newest,
        "partitions": parts,
    }


def print_status(rows: list[dict[str, Any]]) -> None:
    table = Table(box=None, pad_edge=False, header_style="bold")
    for col in ("asset", "state", "why", "data version", "materialized"):
        table.add_column(col)
    for row in rows:
        when = (row["materialized_at"] or "")[:19].replace("T", " ")
        table.add_row(
            _t(row["key"], "dim" if row["kind"] == "source" else ""),
            _t(row["state"], STATE_STYLE.get(row["state"], "")),
            _t("; ".join(row["reasons"] + _check_notes(row))),
            _t(short(row["data_version"]), "dim"),
            _t(when, "dim"),
        )
    console.print(table)
    counts: dict[str, int] = {}
    for row in rows:
        counts[row["state"]] = counts.get(row["state"], 0) + 1
    summary = ", ".join(f"{n} {state}" for state, n in sorted(counts.items()))
    console.print(_t(f"{len(rows)} nodes: {summary}", "bold"))


def _check_notes(row: Mapping[str, Any]) -> list[str]:
    """'check X failed' for every check that did not pass on the current version."""
    return [
        f"check {c['name']} {c['state']}" + (" (blocking)" if c["blocking"] and c["state"] == "failed" else "")
        for c in row.get("checks", [])
        if c["state"] != "passed"
    ]


def plan_json(plan: Plan) -> dict[str, Any]:
    def unit(u: str) -> dict[str, Any]:
        key, partition = split_unit(u)
        return {"key": key, "partition": partition} if partition else {"key": key}

    return {
        "dry_run": True,
        "to_run": [{**unit(u), "reasons": [str(r) for r in plan.reasons[u]]} for u in plan.to_run],
        "materialized": [],
        "skipped": [unit(u) if split_unit(u)[1] else u for u in plan.fresh],
        "failed": [],
    }


def print_plan(plan: Plan) -> None:
    if plan.empty:
        console.print(_t(f"nothing to do: {len(plan.fresh)} asset(s) fresh", "green"))
        return
    console.print(_t(f"would run {len(plan.to_run)} asset(s), skip {len(plan.fresh)} fresh:", "bold"))
    for key in plan.to_run:
        console.print(Text.assemble("  ", (key, "bold"), "  ", _t("; ".join(str(r) for r in plan.reasons[key]), "dim")))


def reporter(quiet: bool, stamp: str = "%H:%M:%S") -> Reporter:
    """Progress on stderr: a rich progress bar on a terminal, else one line per event stamped with `stamp`."""
    from workbench.run.reporting import NullReporter, PlainReporter, RichReporter

    if quiet:
        return NullReporter()
    return RichReporter() if sys.stderr.isatty() else PlainReporter(stamp=stamp)


def print_result(result: Result) -> None:
    err = Console(stderr=True, highlight=False)
    if not result.materialized and not result.failed and not result.blocked:
        err.print(_t(f"everything is fresh: nothing to do ({len(result.skipped)} asset(s) skipped)", "green"))
        return
    parts = [f"materialized {len(result.materialized)}", f"skipped {len(result.skipped)}", f"failed {len(result.failed)}"]
    err.print(_t(", ".join(parts), "bold red" if result.failed else "bold green"))
    for key in result.failed:
        err.print(Text.assemble(("failed  ", "bold red"), (key, "bold"), _t(f": {result.errors.get(key, '')}")))
    for key, cause in result.blocked.items():
        err.print(Text.assemble(("skipped ", "yellow"), (key, "bold"), f": upstream {cause} failed"))
    if result.failed:
        err.print(_t(f"see the traceback with: wb history {result.failed[0]}", "dim"))


def record_json(record: Materialization, checks: Iterable[Any] = ()) -> dict[str, Any]:
    """A record as JSON, with the results of the checks that ran on its version."""
    doc = record.to_dict()
    doc.pop("format", None)
    ran = [c for c in checks if c.asset_data_version == record.data_version and c.partition == record.partition]
    if ran:
        doc["checks"] = [
            {"name": c.name, "passed": c.passed, "blocking": c.blocking, "metadata": dict(c.metadata), "error": c.error,
             "traceback": c.traceback, "log": c.log}
            for c in ran
        ]  # fmt: skip
    return doc


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
    for col in ("time", "status", "version", "code", "git", "size", "rows", "secs", "trigger"):
        table.add_column(_t(col), justify="right" if col in ("size", "rows", "secs") else "left", no_wrap=True)
    extra = _run_columns(table, records, metric)
    for r in records:
        git = short(r.git_commit, 8) + ("*" if r.git_dirty else "")
        secs = (r.ended_at - r.started_at).total_seconds()
        table.add_row(
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
        console.print(Text.assemble(("\nlatest run failed: ", "bold red"), _t(latest.error)))
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
        out += [_t(_fmt_metric(r.metrics.get(m))) for m in metrics]
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


def param_text(value: object) -> str:
    """A param as declared: text as is, anything else as JSON."""
    import json

    return value if isinstance(value, str) else json.dumps(value)


def _fmt_metric(value: object) -> str:
    if value is None:
        return ""
    return f"{value:.4g}" if isinstance(value, float) else str(value)


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
        facts.append(f"git {short(record.git_commit, 8)}" + (" with uncommitted changes" if record.git_dirty else ""))
    console.print(Text.assemble((key, "bold"), "  ", _t(", ".join(f for f in facts if f), "dim")))
    variant = record.metadata.get("variant")
    for name, value in sorted(record.params.items()):
        note = " (variant)" if isinstance(variant, dict) and name in variant else ""
        console.print(Text.assemble(("param  ", "cyan"), _t(f"{name} = {param_text(value)}{note}")))
    for name, value in sorted(record.metrics.items()):
        steps = record.series.get(name)
        trend = f"  {sparkline(steps)} ({len(steps)} steps)" if steps else ""
        console.print(Text.assemble(("metric ", "cyan"), _t(f"{name} = {_fmt_metric(value)}{trend}")))
    for c in checks_of(record, checks):
        verdict = Text("passed", "green") if c.passed else Text("failed" + (" (blocking)" if c.blocking else ""), "bold red")
        console.print(Text.assemble(("check ", "blue"), _t(c.name, "bold"), " ", verdict, _t(f"  {c.error}" if c.error else "")))
        _print_trace_and_log(c.traceback, c.log)
    assert record.artifact_uri and record.serializer
    if not ws.artifacts.exists(record.artifact_uri):
        raise StoreError(
            f"{key}@{short(record.data_version)}: artifact {record.artifact_uri} is missing from the store"
            f" (`wb doctor` lists every missing artifact); `wb materialize {key}` rebuilds the current version"
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


def checks_of(record: Materialization, checks: Iterable[CheckRecord]) -> list[CheckRecord]:
    """The newest result of each check that ran on `record`'s version (`checks` newest first)."""
    newest: dict[str, CheckRecord] = {}
    for c in checks:
        if c.asset_data_version == record.data_version and c.partition == record.partition:
            newest.setdefault(c.check_key, c)
    return list(newest.values())


def _print_trace_and_log(trace: str | None, log: str) -> None:
    if trace:
        console.print(_t(trace.rstrip(), "dim"))
    if log:
        console.print(Text.assemble(("log:\n", "bold"), _t(log.rstrip(), "dim")))


def artifact_text(value: object, serializer: str, limit: int = 4000) -> str:
    """A non-table artifact as text: decoded bytes, indented JSON or repr, cut to `limit` chars."""
    if isinstance(value, bytes):
        try:
            text = value.decode()
        except UnicodeDecodeError:
            text = f"<{len(value)} bytes>"
    elif serializer == "json":
        import json

        text = json.dumps(value, indent=2, default=str)
    else:
        text = repr(value)
    return text[:limit] + ("\n..." if len(text) > limit else "")


def version_label(node: Mapping[str, Any]) -> Text:
    """One node of a `version_tree`: `key@version  git abc123*  2026-01-02 10:00:00  note`."""
    name = f"{node['key']}[{node['partition']}]" if node.get("partition") else node["key"]
    parts: list[str | tuple[str, str]] = [(name, "bold"), "@", (short(node.get("data_version")), "cyan")]
    if node.get("git_commit"):
        parts += ["  git ", (short(node["git_commit"], 8) + ("*" if node.get("git_dirty") else ""), "dim")]
    if node.get("materialized_at"):
        parts += ["  ", (str(node["materialized_at"])[:19].replace("T", " "), "dim")]
    if node.get("note"):
        parts += ["  ", (terminal_safe(str(node["note"])), "yellow")]
    return Text.assemble(*parts)


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
    a, b = doc["a"], doc["b"]
    console.print(Text.assemble((doc["key"], "bold"), "  ", (short(a["data_version"]), "cyan"), " -> ", (short(b["data_version"]), "cyan")))
    if doc["same_data"]:
        console.print(_t("same data (identical bytes)", "green"))
    code = doc["code"]
    console.print(_t(f"code      {short(code['a'], 8)} -> {short(code['b'], 8)}" if code["changed"] else "code      unchanged"))
    for change in doc["inputs"]:
        console.print(_t(f"input     {change['key']}: {short(change['a'])} -> {short(change['b'])}"))
    for lib in doc["libraries"]:
        console.print(_t(f"library changed: {lib['name']} {lib['a'] or '(none)'} -> {lib['b'] or '(none)'}", "yellow"))
    schema = doc["schema"]
    for col, kind in schema["added"].items():
        console.print(_t(f"column  + {col}: {kind}", "green"))
    for col, kind in schema["removed"].items():
        console.print(_t(f"column  - {col}: {kind}", "red"))
    for col, (old, new) in schema["retyped"].items():
        console.print(_t(f"column  ~ {col}: {old} -> {new}", "yellow"))
    rows = doc["rows"]
    if rows["delta"] is not None:
        console.print(_t(f"rows      {rows['a']} -> {rows['b']} ({rows['delta']:+d})"))
    for param in doc["params"]:
        old, new = (param_text(param[s]) if param[s] is not None else "(none)" for s in ("a", "b"))
        console.print(_t(f"param     {param['name']} {old} -> {new}", "cyan"))
    for metric in doc["metrics"]:
        delta = f" ({metric['delta']:+.4g})" if metric["delta"] is not None else ""
        console.print(_t(f"metric    {metric['name']}: {_fmt_metric(metric['a'])} -> {_fmt_metric(metric['b'])}{delta}"))


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


def coverage_json(key: str, info: Any, libraries: Mapping[str, str]) -> dict[str, Any]:
    """What an asset's code version covers, grouped by kind."""
    groups: dict[str, list[dict[str, str]]] = {}
    seen: set[tuple[str, str]] = set()
    for item in info.covered:
        if (item.kind, item.name) not in seen:
            seen.add((item.kind, item.name))
            groups.setdefault(item.kind, []).append({"name": item.name, "where": item.where})
    return {"key": key, "code_version": info.version, "covers": groups, "libraries": dict(libraries)}


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
