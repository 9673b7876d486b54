"""The neutral presentation layer the CLI and the TUI share: labels, sizes, rows, reasons and JSON shapes.

Nothing here prints: `workbench/cli/views.py` renders these for a terminal or a pipe, `tui/` for the
screen. User-provided strings in labels are `Text`, never parsed as rich markup; rich is imported
by the functions that make them, so that `--json` output and runs do without it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

from workbench.core.graph import AssetGraph, suggest
from workbench.core.partitions import split_unit, unit_id
from workbench.core.records import CheckRecord, Materialization
from workbench.core.spec import AssetSpec, SourceSpec
from workbench.core.staleness import R_PARTITIONS, Reason, Status, overall_state
from workbench.errors import SelectionError
from workbench.text import terminal_safe

if TYPE_CHECKING:
    from rich.text import Text

    from workbench.core.plan import Plan


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
        causes=[r.to_json() for r in st.reasons],
        data_version=st.data_version,
        code_version=st.code_version,
        materialized_at=record.ended_at.isoformat() if record else None,
        last_status=last.status if last else None,
        error=last.error if last and not last.ok else None,
    )
    if st.checks:
        row["checks"] = [{"name": c.name, "state": c.state, "blocking": c.blocking} for c in st.checks]
    return row


def state_counts(statuses: Iterable[Status]) -> dict[str, int]:
    """How many units are in each state, fresh first."""
    counts: dict[str, int] = {"fresh": 0}
    for st in statuses:
        counts[st.state] = counts.get(st.state, 0) + 1
    return counts


def partitions_summary(statuses: Iterable[Status]) -> str:
    """`3/5 fresh, 2 stale`: how a partitioned asset's partitions stand."""
    counts = state_counts(statuses)
    fresh = counts.pop("fresh")
    total = fresh + sum(counts.values())
    return ", ".join([f"{fresh}/{total} fresh", *(f"{n} {state}" for state, n in sorted(counts.items()))])


def asset_status(key: str, statuses: list[Status]) -> Status:
    """One status per asset: a partitioned asset's sums up its partitions (its newest build, one reason)."""
    if len(statuses) == 1 and not statuses[0].partition:
        return statuses[0]
    built = [st.record for st in statuses if st.record is not None]
    newest = max(built, key=lambda r: r.ended_at, default=None)
    reason = Reason(R_PARTITIONS, detail=partitions_summary(statuses))
    state = overall_state(st.state for st in statuses)
    code = statuses[0].code_version if statuses else None
    return Status(key, state, (reason,), code, newest.data_version if newest else None, newest, newest)


def asset_row(node: AssetSpec | SourceSpec, statuses: list[Status]) -> dict[str, Any]:
    """One row per asset; a partitioned asset's row summarises its partitions and lists them."""
    summary = asset_status(node.key, statuses)
    if summary is statuses[0]:
        return status_row(node, summary)
    parts = [status_row(node, st) for st in statuses]
    return {
        "key": node.key,
        "kind": node.kind,
        "group": node.group,
        "state": summary.state,
        "reasons": [str(r) for r in summary.reasons],
        "causes": [{"kind": R_PARTITIONS, "count": len(statuses), "states": state_counts(statuses)}],
        "data_version": None,
        "code_version": summary.code_version,
        "materialized_at": summary.record.ended_at.isoformat() if summary.record else None,
        "partitions": parts,
    }


def check_notes(row: Mapping[str, Any]) -> list[str]:
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


def param_text(value: object) -> str:
    """A param as declared: text as is, anything else as JSON."""
    import json

    return value if isinstance(value, str) else json.dumps(value)


def metric_text(value: object) -> str:
    if value is None:
        return ""
    return f"{value:.4g}" if isinstance(value, float) else str(value)


def checks_of(record: Materialization, checks: Iterable[CheckRecord]) -> list[CheckRecord]:
    """The newest result of each check that ran on `record`'s version (`checks` newest first)."""
    newest: dict[str, CheckRecord] = {}
    for c in checks:
        if c.asset_data_version == record.data_version and c.partition == record.partition:
            newest.setdefault(c.check_key, c)
    return list(newest.values())


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
    from rich.text import Text

    name = f"{node['key']}[{node['partition']}]" if node.get("partition") else node["key"]
    parts: list[str | tuple[str, str]] = [(name, "bold"), "@", (short(node.get("data_version")), "cyan")]
    if node.get("git_commit"):
        parts += ["  git ", (short(node["git_commit"], 8) + ("*" if node.get("git_dirty") else ""), "dim")]
    if node.get("materialized_at"):
        parts += ["  ", (str(node["materialized_at"])[:19].replace("T", " "), "dim")]
    if node.get("note"):
        parts += ["  ", (terminal_safe(str(node["note"])), "yellow")]
    return Text.assemble(*parts)


def coverage_json(key: str, info: Any, libraries: Mapping[str, str]) -> dict[str, Any]:
    """What an asset's code version covers, grouped by kind."""
    groups: dict[str, list[dict[str, str]]] = {}
    seen: set[tuple[str, str]] = set()
    for item in info.covered:
        if (item.kind, item.name) not in seen:
            seen.add((item.kind, item.name))
            groups.setdefault(item.kind, []).append({"name": item.name, "where": item.where})
    return {"key": key, "code_version": info.version, "covers": groups, "libraries": dict(libraries)}


def diff_text(doc: Mapping[str, Any]) -> Text:
    """What `wb diff` shows, one line per change (the TUI's History shows it too)."""
    from rich.text import Text

    lines: list[Text] = []
    a, b = doc["a"], doc["b"]
    name_a, name_b = unit_id(doc["key"], a.get("partition", "")), unit_id(doc["key"], b.get("partition", ""))
    head = Text.assemble((name_a, "bold"), "  ", (short(a["data_version"]), "cyan"), " -> ")
    if name_b != name_a:
        head.append_text(Text.assemble((name_b, "bold"), " "))
    lines.append(head.append(short(b["data_version"]), "cyan"))
    if doc["same_data"]:
        lines.append(_plain("same data (identical bytes)", "green"))
    code = doc["code"]
    lines.append(_plain(f"code      {short(code['a'], 8)} -> {short(code['b'], 8)}" if code["changed"] else "code      unchanged"))
    for change in doc["inputs"]:
        lines.append(_plain(f"input     {change['key']}: {short(change['a'])} -> {short(change['b'])}"))
    for lib in doc["libraries"]:
        lines.append(_plain(f"library changed: {lib['name']} {lib['a'] or '(none)'} -> {lib['b'] or '(none)'}", "yellow"))
    schema = doc["schema"]
    for col, kind in schema["added"].items():
        lines.append(_plain(f"column  + {col}: {kind}", "green"))
    for col, kind in schema["removed"].items():
        lines.append(_plain(f"column  - {col}: {kind}", "red"))
    for col, (old, new) in schema["retyped"].items():
        lines.append(_plain(f"column  ~ {col}: {old} -> {new}", "yellow"))
    rows = doc["rows"]
    if rows["delta"] is not None:
        lines.append(_plain(f"rows      {rows['a']} -> {rows['b']} ({rows['delta']:+d})"))
    for param in doc["params"]:
        old, new = (param_text(param[s]) if param[s] is not None else "(none)" for s in ("a", "b"))
        lines.append(_plain(f"param     {param['name']} {old} -> {new}", "cyan"))
    for metric in doc["metrics"]:
        delta = f" ({metric['delta']:+.4g})" if metric["delta"] is not None else ""
        lines.append(_plain(f"metric    {metric['name']}: {metric_text(metric['a'])} -> {metric_text(metric['b'])}{delta}"))
    return Text("\n").join(lines)


def _plain(value: object, style: str = "") -> Text:
    """User text as `Text`: control characters escaped, never markup."""
    from rich.text import Text

    return Text("" if value is None else terminal_safe(str(value)), style=style)


StatusCells = tuple[str, str, str, str, str, str]  # key, kind, state, why, data version, materialized


def status_cells(row: Mapping[str, Any]) -> StatusCells:
    """What the status table shows of one row, unstyled (kept with the rows, so no renderer is needed to keep them)."""
    why = "; ".join(row["reasons"] + check_notes(row))
    return row["key"], row["kind"], row["state"], why, short(row["data_version"]), (row["materialized_at"] or "")[:19].replace("T", " ")
