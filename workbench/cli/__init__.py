"""The `wb` command line: a thin click layer over `Workspace`, with one error boundary."""

from __future__ import annotations

import gc as collector
import json
import os
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any, TextIO

import click

from workbench.errors import EXIT_INTERNAL, EXIT_INTERRUPTED, EXIT_OK, EXIT_USAGE, ManifestError, WorkbenchError
from workbench.text import redact, terminal_safe

_debug = bool(os.environ.get("WORKBENCH_DEBUG"))


def _set_debug(ctx: click.Context, param: click.Parameter, value: bool) -> bool:
    global _debug
    _debug = _debug or value
    return value


def common(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Every command takes --project and --debug."""
    fn = click.option("--debug", is_flag=True, expose_value=False, is_eager=True, callback=_set_debug,
                      help="Show tracebacks.")(fn)
    return click.option("--project", "-p", "project", default=None, metavar="PATH",
                        help="Project directory (default: the current directory's project).")(fn)


def _workspace(project: str | None, *, recover: bool = True) -> Any:
    """The project's workspace; recovered (the index brought up to the records on disk) unless the
    command never reads the index (`run-asset` reads and writes the shared store only)."""
    from workbench.workspace import Workspace

    with _lasting():
        ws = Workspace.open(project)
        return ws.recover() if recover else ws


@contextmanager
def _lasting() -> Iterator[None]:
    """For objects that live until the command exits (the project, the statuses it prints): no
    collection while they are built, then out of the collector's generations, so no later pass
    scans them (at 100,000 assets each such scan took ~0.4 s)."""
    was_enabled = collector.isenabled()
    collector.disable()
    try:
        yield
    finally:
        collector.freeze()
        if was_enabled:
            collector.enable()


def _unit(ws: Any, text: str) -> Any:
    """`KEY[PARTITION]@REF` parsed and checked against the project (an unknown key or partition: exit 2)."""
    from workbench import present
    from workbench.core.unitref import check_partition, parse_unit

    unit = parse_unit(text)
    present.require_key(ws.graph, unit.key)
    return check_partition(ws.partition_keys, unit)


def _emit_json(doc: object) -> None:
    """Indented for a person at a terminal; compact (3x faster on 10k rows) for a program."""
    indent = 2 if sys.stdout.isatty() else None
    click.echo(json.dumps(doc, indent=indent, default=str))


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="workbench", prog_name="wb")
@click.option("--debug", is_flag=True, expose_value=False, is_eager=True, callback=_set_debug, help="Show tracebacks.")
def cli() -> None:
    """Workbench: versioned data and model assets; reruns only what is stale.

    Exit codes: 0 success; 1 an asset or a blocking check failed; 2 bad input or usage; 3 a store
    problem (damaged, unreachable, or locked too long); 4 an internal error; 130 interrupted.
    """


@cli.command()
@click.argument("selection", nargs=-1)
@click.option("--automation", is_flag=True, help="List schedules and freshness limits with their last and next runs.")
@click.option("--json", "as_json", is_flag=True, help="One JSON document on stdout.")
@common
def status(selection: tuple[str, ...], automation: bool, as_json: bool, project: str | None) -> int:
    """Every asset's state (fresh, stale, missing, failed) and why; what is due or overdue, and the next tick."""
    from workbench import present
    from workbench.cli import automation as shown
    from workbench.core.units import units_of
    from workbench.status_cache import StatusCache

    ws = _workspace(project)
    cache = StatusCache.of(ws) if not selection and not automation else None
    kept = cache.rows() if cache is not None else None
    if kept is not None:
        _print_kept_status(*kept, as_json)
        return 0
    with _lasting():
        states = ws.status()
        keys = ws.select(" ".join(selection) or None, states)
    found = ws.automation(states)
    if automation:
        runs = {k: present.asset_row(ws.graph.nodes[k], [states[u] for u in units_of(ws.partition_keys, k)])["materialized_at"]
                for k in found}  # fmt: skip
        ticks = {t.key: t for t in reversed(ws.metadata.ticks(limit=10_000)) if t.key in found}
        rows = shown.schedule_rows({k: a for k, a in found.items() if k in keys}, runs, ticks)
        if as_json:
            _emit_json(rows)
        else:
            shown.print_schedules(rows)
        return 0
    with _lasting():
        rows = [
            {**present.asset_row(ws.graph.nodes[k], [states[u] for u in units_of(ws.partition_keys, k)]),
             **shown.status_fields(found.get(k))}
            for k in keys
        ]  # fmt: skip
    for row in rows:
        if row["key"] in ws.unmatched:
            row["unmatched"] = ws.unmatched[row["key"]]
            row["reasons"].append(f"{len(row['unmatched'])} file(s) name no partition: {', '.join(row['unmatched'][:3])}")
    if cache is not None:  # no automation either: its rows are all that is printed
        encode = json.JSONEncoder(default=str).encode  # json.dumps(row, default=str) builds one per call
        texts, cells = [encode(row) for row in rows], [present.status_cells(row) for row in rows]
        cache.keep(texts, cells, states)
        _print_kept_status(texts, cells, as_json)
    elif as_json:
        _emit_json(rows)
    else:
        from workbench.cli import views

        views.print_status(rows, shown.automation_note if found else None)
    return 0


def _print_kept_status(texts: list[str], cells: Sequence[Sequence[str]], as_json: bool) -> None:
    """Status rows as JSON texts (joined as `json.dumps` joins a list) and as table cells."""
    if not as_json:
        from workbench.cli import views

        views.print_status_cells(cells)
    elif sys.stdout.isatty():
        _emit_json(json.loads(f"[{','.join(texts)}]"))
    else:
        click.echo(f"[{', '.join(texts)}]")


@cli.command()
@click.argument("selection", nargs=-1)
@click.option("--force", is_flag=True, help="Rerun the selected assets even if fresh.")
@click.option("--dry-run", is_flag=True, help="Print the plan; run nothing.")
@click.option("--only", is_flag=True, help="Restrict to the selection: do not bring upstream up to date.")
@click.option("--jobs", "-j", type=click.IntRange(min=1), default=None, help="Parallel assets (default: cores).")
@click.option("--partition", "partitions", default=None, metavar="KEY|A..B",
              help="Only these partitions of partitioned targets: a key, a range A..B, or a comma list.")
@click.option("--no-reuse", is_flag=True,
              help="Run even when a stored version has the same code and inputs (default: restore it).")
@click.option("--param", "params", multiple=True, metavar="NAME=VALUE",
              help="Run the selected assets with this param (a one-off variant); repeatable.")
@click.option("--json", "as_json", is_flag=True, help="One JSON document on stdout.")
@common
def materialize(
    selection: tuple[str, ...],
    force: bool,
    dry_run: bool,
    only: bool,
    jobs: int | None,
    partitions: str | None,
    no_reuse: bool,
    params: tuple[str, ...],
    as_json: bool,
    project: str | None,
) -> int:
    """Bring the selection (and its upstream) up to date, running only what is stale.

    Ctrl-C (or SIGTERM) starts nothing new and lets running assets finish; a second Ctrl-C stops
    them (their outputs are discarded). Either way every finished asset is recorded; exit 130.
    """
    from workbench.cli import runs

    ws = _workspace(project)
    expr = " ".join(selection) or None
    if params:
        from workbench.core.params import parse_overrides

        ws.vary(expr, parse_overrides(params))
    if dry_run:
        from workbench import present
        from workbench.cli import views

        plan = ws.plan(ws.status(), expr, force=force, only=only, partitions=partitions)
        if as_json:
            _emit_json(present.plan_json(plan))
        else:
            views.print_plan(plan)
        return 0
    reporter = runs.reporter(quiet=as_json)
    result = ws.materialize(
        expr, force=force, only=only, jobs=jobs, trigger="cli", reporter=reporter, partitions=partitions,
        reuse=not no_reuse,
    )
    if as_json:
        _emit_json(result.to_json())
    else:
        runs.print_result(result)
    return 0 if result.ok else 1


@cli.command()
@click.argument("selection", nargs=-1)
@click.option("--upstream", "direction", flag_value="upstream", help="Only the upstream side.")
@click.option("--downstream", "direction", flag_value="downstream", help="Only the downstream side.")
@click.option("--json", "as_json", is_flag=True, help="One JSON document on stdout.")
@click.option("--format", "fmt", type=click.Choice(["text", "mermaid", "dot"]), default="text",
              help="mermaid or dot: the graph with each asset's state, for docs and pull requests.")
@common
def lineage(selection: tuple[str, ...], direction: str | None, as_json: bool, fmt: str, project: str | None) -> int:
    """The graph around KEY; KEY@VERSION gives the exact input versions behind that version.

    With --format mermaid|dot: the graph of KEY's lineage, of a selection, or (none given) of
    every asset, each node with its state.
    """
    from workbench.ops import lineage as lin

    target = " ".join(selection)
    if fmt != "text":
        if as_json:
            raise click.UsageError("--json and --format do not go together")
        return _diagram(target, direction, fmt, project)
    if not target:
        raise click.UsageError("which asset? wb lineage KEY (or --format mermaid|dot for the whole graph)")
    ws = _workspace(project)
    unit = _unit(ws, target)
    key, ref = unit.key, unit.ref
    if ref is not None or unit.partition is not None:
        tree = lin.version_tree(ws, key, ref, partition=unit.partition)
        if as_json:
            _emit_json(tree)
        else:
            from workbench.cli import views

            views.print_version_tree(tree)
        return 0
    if as_json:
        _emit_json(lin.graph_lineage(ws.graph, key, direction))
    else:
        from workbench.cli import views

        views.print_graph_lineage(ws.graph, key, direction)
    return 0


def _diagram(target: str, direction: str | None, fmt: str, project: str | None) -> int:
    """`wb lineage [SEL] --format mermaid|dot`: a key's lineage, or a selection, with states."""
    from workbench import present
    from workbench.core import diagram
    from workbench.core.units import units_of

    ws = _workspace(project)
    if "@" in target:
        raise click.UsageError("--format draws the asset graph: give a key or a selection, not a version")
    units = ws.status()
    states = {k: present.asset_row(ws.graph.nodes[k], [units[u] for u in units_of(ws.partition_keys, k)])["state"]
              for k in ws.graph.order}
    if target in ws.graph:
        wanted = {target}
        wanted |= ws.graph.ancestors([target]) if direction in (None, "upstream") else set()
        wanted |= ws.graph.descendants([target]) if direction in (None, "downstream") else set()
        keys = ws.graph.subset_order(wanted)
    else:
        keys = ws.select(target or None, units)
    click.echo(diagram.render(fmt, ws.graph, keys, states), nl=False)
    return 0


@cli.command()
@click.argument("key")
@click.option("--json", "as_json", is_flag=True, help="One JSON document on stdout.")
@common
def why(key: str, as_json: bool, project: str | None) -> int:
    """What KEY's code version covers: definitions, values, modules, libraries, env vars."""
    from workbench import present

    ws = _workspace(project)
    present.require_key(ws.graph, key)
    if ws.graph.is_source(key):
        raise click.UsageError(f"{key} is a source: its version is the hash of its files, see `wb show {key}`")
    doc = present.coverage_json(key, ws.coverage(key), ws.libraries_of(key))
    if as_json:
        _emit_json(doc)
    else:
        from workbench.cli import views

        views.print_coverage(doc)
    return 0


@cli.command()
@click.argument("selection", nargs=-1)
@click.option("--limit", "-n", type=click.IntRange(min=1), default=50,
              help="At most N versions per asset (with --sort: N rows in all).")
@click.option("--sort", "sort_by", default=None, metavar="METRIC", help="Order by a metric (or a param, or a column).")
@click.option("--desc", is_flag=True, help="With --sort: highest first.")
@click.option("--metric", default=None, metavar="NAME", help="Show the steps of metric NAME as a sparkline per version.")
@click.option("--automation", is_flag=True, help="The automation ticks instead: when due, why, run id, outcome.")
@click.option("--json", "as_json", is_flag=True, help="One JSON document on stdout.")
@common
def history(
    selection: tuple[str, ...], limit: int, sort_by: str | None, desc: bool, metric: str | None, automation: bool,
    as_json: bool, project: str | None,
) -> int:
    """Every materialization of the selected assets: time, versions, git commit, params, metrics.

    One asset gets its own table; several (or --sort) one table with a row per version.
    With --automation: the schedule, freshness and source ticks `wb watch` ran, newest first.
    """
    from workbench import present
    from workbench.api import versions
    from workbench.ops import search

    ws = _workspace(project)
    expr = " ".join(selection) or None
    keys = ws.select(expr)
    if automation:
        from workbench.cli import automation as rendering

        chosen = set(keys) if expr else None
        ticks = [t for t in ws.metadata.ticks(limit=10_000) if chosen is None or t.key in chosen][:limit]
        if as_json:
            _emit_json([rendering.tick_json(t) for t in ticks])
        else:
            rendering.print_ticks(ticks)
        return 0
    single = len(keys) == 1 and sort_by is None
    records = versions(ws, expr, limit=None if sort_by else limit)
    if sort_by is not None:
        by_id = {r.id: r for r in records}
        ordered = search.sort_rows([{**row, "id": r.id} for row, r in zip(search.rows(records), records)], sort_by, desc)
        records = [by_id[row["id"]] for row in ordered[:limit]]
    collected = {r.id for r in records if r.ok and r.artifact_uri and not ws.artifacts.exists(r.artifact_uri)}
    checks = [c for k in keys if ws.graph.checks.get(k) for c in ws.metadata.check_history(k, limit=limit)]
    if as_json:
        mine = [[c for c in checks if c.asset_key == r.asset_key] for r in records]
        _emit_json([{**present.record_json(r, c), "collected": r.id in collected} for r, c in zip(records, mine)])
        return 0
    from workbench.cli import views

    if single:
        shown = checks[: len(ws.graph.checks.get(keys[0], ())) * 3]
        views.print_history(keys[0], records, shown, collected, metric)
    else:
        views.print_search(records, collected, metric)
    return 0


@cli.command()
@click.argument("target")
@click.option("--rows", "-n", type=click.IntRange(min=1), default=10, help="Rows of a table to preview.")
@common
def show(target: str, rows: int, project: str | None) -> int:
    """Preview KEY[@VERSION]: first rows and schema of a table, repr of an object, metrics.

    A partitioned asset lists its partitions with their states; KEY[PARTITION] previews one."""
    from workbench.cli import partition_views, views
    from workbench.core.spec import SourceSpec
    from workbench.core.units import units_of
    from workbench.core.versions import shown

    ws = _workspace(project)
    unit = _unit(ws, target)
    key, ref, partition = unit.key, unit.ref, unit.partition
    if isinstance(node := ws.graph.nodes[key], SourceSpec):
        if ws.partition_keys.get(key):
            partition_views.print_partitioned_source(ws, key, partition)
        else:
            views.print_source(ws, node)
        return 0
    if ws.partition_keys.get(key) and partition is None and ref is None:
        states = ws.status()
        partition_views.print_partitions(key, [states[u] for u in units_of(ws.partition_keys, key)])
        return 0
    record, last = shown(ws.metadata, key, ref, partition)
    checks = ws.metadata.check_history(key, limit=500) if record is not None and ws.graph.checks.get(key) else []
    views.print_show(ws, key, record, last, rows, checks)
    return 0


@cli.command()
@click.argument("target")
@click.option("--json", "as_json", is_flag=True, help="One JSON document on stdout.")
@common
def reproduce(target: str, as_json: bool, project: str | None) -> int:
    """Rerun KEY@REF (or KEY[PARTITION]@REF) from its recorded git commit and inputs; exit 0 when the data version matches."""
    from workbench.cli import views
    from workbench.core.unitref import parse_unit
    from workbench.ops.reproduce import reproduce as rerun

    unit = parse_unit(target)
    outcome = rerun(project, unit.key, unit.ref, unit.partition)
    if as_json:
        _emit_json(outcome.to_json())
    else:
        views.print_reproduction(outcome)
    return 0 if outcome.matches else 1


@cli.command()
@click.option("--rebuild", is_flag=True, help="Build a new DuckDB index from the JSON records; move the old one aside.")
@click.option("--verify", is_flag=True, help="Also hash every stored artifact against its record's data version.")
@common
def doctor(rebuild: bool, verify: bool, project: str | None) -> int:
    """Check the store: index, records and artifacts; repair what can be repaired.

    Plain `doctor` indexes the JSON records, check results and alias events the index lacks,
    rewrites a damaged JSON record from the index, deletes scratch files older than an hour, and
    names what it cannot repair (unreadable records, missing artifacts). `--rebuild` is for a
    damaged index file: it builds a new index from the JSON files alone and moves the old one aside.
    `--verify` also hashes every stored artifact against its record (a replaced or damaged file).
    Exit 0 when the store is healthy, 1 when problems remain.
    """
    from workbench.cli import views
    from workbench.ops import doctor as doc
    from workbench.project import find_project

    config = find_project(project)
    report = doc.rebuild(config) if rebuild else doc.check(config, verify=verify)
    views.print_doctor(report)
    return 0 if report.healthy else 1


@cli.command()
@click.argument("first")
@click.argument("second")
@click.option("--json", "as_json", is_flag=True, help="One JSON document on stdout.")
@common
def diff(first: str, second: str, as_json: bool, project: str | None) -> int:
    """What changed from KEY@A to KEY@B: code, input versions, schema, rows, metrics.

    Either side may name a partition: `wb diff 'events[2026-11-01]' 'events[2026-11-02]'`."""
    from dataclasses import replace

    from workbench.cli import views
    from workbench.core.diff import diff as compare
    from workbench.core.versions import resolve

    ws = _workspace(project)
    a = _unit(ws, first)
    if "@" not in second and "[" not in second and second not in ws.graph:  # `wb diff KEY[P]@A B` means KEY[P]@B
        b = replace(a, ref=second)
    else:
        b = _unit(ws, second)
    doc = compare(resolve(ws.metadata, a.key, a.ref, a.partition), resolve(ws.metadata, b.key, b.ref, b.partition))
    if as_json:
        _emit_json(doc)
    else:
        views.print_diff(doc)
    return 0


@cli.group()
def alias() -> None:
    """Model-registry style names (champion, production) pinned to versions."""


@alias.command("set")
@click.argument("target")
@click.argument("name")
@common
def alias_set(target: str, name: str, project: str | None) -> int:
    """Point NAME at KEY@VERSION or KEY[PARTITION]@VERSION (default: the latest version); moves it if it exists."""
    from workbench.ops.aliases import set_alias

    ws = _workspace(project)
    unit = _unit(ws, target)
    key = unit.key
    event = set_alias(ws, key, unit.ref, name, unit.partition)
    click.echo(f"{key}@{name} -> {event.data_version}")
    return 0


@alias.command("remove")
@click.argument("key")
@click.argument("name")
@common
def alias_remove(key: str, name: str, project: str | None) -> int:
    """Remove alias NAME from KEY."""
    from workbench import present
    from workbench.ops.aliases import remove_alias

    ws = _workspace(project)
    present.require_key(ws.graph, key)
    remove_alias(ws, key, name)
    click.echo(f"removed {key}@{name}")
    return 0


@alias.command("list")
@click.argument("key", required=False)
@click.option("--json", "as_json", is_flag=True, help="One JSON document on stdout.")
@common
def alias_list(key: str | None, as_json: bool, project: str | None) -> int:
    """Every current alias (of KEY, or of all assets), with who set it and when."""
    ws = _workspace(project)
    events = ws.metadata.aliases(key)
    if as_json:
        _emit_json([json.loads(e.to_json()) for e in events])
    else:
        from workbench.cli import views

        views.print_aliases(events)
    return 0


@cli.group()
def partitions() -> None:
    """Dynamic partitions: the keys of each DynamicPartitions(NAME) set, added at run time or here."""


@partitions.command("add")
@click.argument("name")
@click.argument("keys", nargs=-1, required=True)
@common
def partitions_add(name: str, keys: tuple[str, ...], project: str | None) -> int:
    """Add KEYS to the dynamic partition set NAME; their partitions are missing until materialized."""
    from workbench.ops.partitions import change_partitions

    added = change_partitions(_workspace(project), name, keys, add=True)
    click.echo(f"added {len(added)} partition(s) to {name}" + (f": {', '.join(added)}" if added else " (all there already)"))
    return 0


@partitions.command("remove")
@click.argument("name")
@click.argument("keys", nargs=-1, required=True)
@common
def partitions_remove(name: str, keys: tuple[str, ...], project: str | None) -> int:
    """Remove KEYS from the dynamic partition set NAME (their records stay in the store)."""
    from workbench.ops.partitions import change_partitions

    removed = change_partitions(_workspace(project), name, keys, add=False)
    click.echo(f"removed {len(removed)} partition(s) from {name}: {', '.join(removed)}")
    return 0


@partitions.command("list")
@click.argument("name", required=False)
@click.option("--json", "as_json", is_flag=True, help="One JSON document on stdout.")
@common
def partitions_list(name: str | None, as_json: bool, project: str | None) -> int:
    """Every dynamic partition set (or NAME) with its keys and the assets that use it."""
    from workbench.errors import SelectionError
    from workbench.ops.partitions import dynamic_sets

    ws = _workspace(project)
    sets = dynamic_sets(ws)
    if name is not None and name not in sets:
        raise SelectionError(f"no asset uses DynamicPartitions({name!r})")
    doc = [{"name": n, "keys": list(ws.partition_keys_of(n)), "used_by": users}
           for n, users in sorted(sets.items()) if name in (None, n)]  # fmt: skip
    if as_json:
        _emit_json(doc)
    for entry in [] if as_json else doc:
        click.echo(f"{entry['name']} ({len(entry['keys'])} keys; used by {', '.join(entry['used_by'])}): {', '.join(entry['keys'])}")
    return 0


@cli.command()
@click.option("--keep", type=click.IntRange(min=1), default=3, show_default=True,
              help="Newest versions kept per asset (per partition of a partitioned one).")
@click.option("--dry-run", is_flag=True, help="Say what would be deleted; delete nothing.")
@common
def gc(keep: int, dry_run: bool, project: str | None) -> int:
    """Delete artifacts of old versions; never the newest KEEP of an asset or partition, nor an aliased version."""
    from workbench.cli import views
    from workbench.ops.gc import collect

    waiting = lambda: click.echo("waiting for running materializations to finish...", err=True)  # noqa: E731
    plan = collect(_workspace(project), keep, dry_run=dry_run, on_wait=waiting)
    views.print_gc(plan, dry_run)
    return 0


@cli.command()
@click.argument("selection", nargs=-1)
@click.option("--jobs", "-j", type=click.IntRange(min=1), default=None, help="Parallel assets (default: cores).")
@click.option("--quiet", "-q", is_flag=True, help="Only pass results, errors, warnings and hangs on the terminal.")
@click.option("--log", "log_file", type=click.File("a", encoding="utf-8", lazy=False), default=None, metavar="FILE",
              help="Append one JSON object per event to FILE.")
@click.option("--hang-report", type=click.FloatRange(min=0.1), default=10.0, show_default=True, metavar="SECONDS",
              help="How often an import that does not finish is reported.")
@common
def watch(
    selection: tuple[str, ...], jobs: int | None, quiet: bool, log_file: TextIO | None, hang_report: float, project: str | None
) -> int:
    """Watch code and source files; rerun what became stale.

    Ctrl-C (or SIGTERM) stops: running assets finish and are recorded, nothing new starts; press it
    again to stop them too. An import that hangs is reported; saving a fix restarts watch in place.
    """
    from workbench.cli import runs
    from workbench.watch.log import DATED, WatchLog
    from workbench.watch.watcher import Watcher, graceful_signals, reexec

    log = WatchLog(quiet=quiet, file=log_file)
    watcher = Watcher(
        project, " ".join(selection) or None, jobs=jobs, log=log, reporter=lambda: runs.reporter(quiet, stamp=DATED),
        restart=reexec, hang_report=hang_report,
    )  # fmt: skip
    try:
        with graceful_signals():
            watcher.run()
    finally:
        log.close()
    return 0


@cli.command()
@common
def tui(project: str | None) -> int:
    """The terminal UI: the asset graph, what is stale and why, every version, one key to update."""
    from workbench.project import find_project
    from workbench.tui.app import WorkbenchApp

    WorkbenchApp(find_project(project)).run()
    return 0


# Kubernetes backend: the pod entry point, manifests, submission, and importing remote runs.


def _run_options(fn: Callable[..., Any]) -> Callable[..., Any]:
    """The options `wb compile` and `wb push` share."""
    options = (
        click.option("--namespace", "-n", default="default", show_default=True, help="Kubernetes namespace."),
        click.option("--image", envvar="WORKBENCH_IMAGE", default=None,
                     help="Image holding the project (see the Dockerfile)."),
        click.option("--store", envvar="WORKBENCH_STORE", default=None, metavar="URL",
                     help="Artifact store the pods share: s3://, gs://, or a path every node mounts."),
        click.option("--secret", default=None,
                     help="Secret whose keys become the pods' environment (default: workbench-store)."),
        click.option("--run-id", default=None,
                     help="Name the run (default: a new id); pushing an existing run re-attaches to it."),
        click.option("--force", is_flag=True, help="Run the selected assets even if fresh."),
        click.option("--only", is_flag=True, help="Restrict to the selection: do not bring upstream up to date."),
        click.option("--partition", "partitions", default=None, metavar="KEY|A..B",
                     help="Only these partitions of partitioned targets: a key, a range A..B, or a comma list."),
        click.option("--max-parallel", type=click.IntRange(min=0), default=0, show_default=True,
                     help="At most this many asset Jobs at once (0: no limit)."),
        click.option("--store-pvc", "store_pvc", default=None, metavar="CLAIM",
                     help="For a directory store: the ReadWriteMany PersistentVolumeClaim that holds it."),
    )
    for option in reversed(options):
        fn = option(fn)
    return fn


@cli.command("run-asset")
@click.argument("key")
@click.option("--store", envvar="WORKBENCH_STORE", required=True, metavar="URL", help="The shared artifact store.")
@click.option("--run-id", default=None, help="The run this materialization belongs to.")
@click.option("--partition", default="", help="The partition to materialize.")
@click.option("--code", default=None, metavar="SHA256",
              help="Run the project of this code package from the store (default: the project here).")
@click.option("--no-reuse", is_flag=True, help="Run even if a stored version has the same code and inputs.")
@click.option("--checks-only", is_flag=True, help="Only run the asset's checks on its stored version.")
@common
def run_asset_command(
    key: str, store: str, run_id: str | None, partition: str, code: str | None, no_reuse: bool, checks_only: bool,
    project: str | None,
) -> int:
    """Materialize one asset against a shared store (what a pushed asset's pod runs)."""
    from workbench.kube import remote

    ws = remote.workspace_from_package(store, code) if code else _workspace(project, recover=False)
    if checks_only:
        run = remote.check_remote(ws, key, store, run_id, partition)
    else:
        run = remote.run_remote(ws, key, store, run_id, partition, reuse=not no_reuse)
    remote.print_outcome(run)
    return 0 if run.ok else 1


@cli.command("compile")
@click.argument("selection", nargs=-1)
@click.option("--output", "-o", "out", required=True, type=click.Path(file_okay=False),
              help="Directory for the YAML manifests.")
@click.option("--automation", is_flag=True, help="The schedules instead: one CronJob per scheduled asset.")
@_run_options
@common
def compile_command(
    selection: tuple[str, ...], out: str, automation: bool, namespace: str, image: str | None, store: str | None,
    secret: str | None, run_id: str | None, force: bool, only: bool, partitions: str | None, max_parallel: int,
    store_pvc: str | None, project: str | None,
) -> int:
    """Write the Kubernetes manifests (YAML) for the stale selection instead of applying them.

    The code package and the plan go to the store; apply rbac.yaml and driver.yaml to start the
    run. review/ holds the asset Jobs the driver will create, suspended, for review. With
    --automation: rbac.yaml and cronjobs.yaml, a CronJob per scheduled asset in the selection.
    """
    from workbench.cli import views
    from workbench.kube import push as kube

    ws = _workspace(project)
    target = kube.target(ws, namespace=namespace, image=image or "workbench:latest", store=store, secret=secret,
                         max_parallel=max_parallel, pvc=store_pvc)
    if automation:
        from workbench.kube.cronjobs import compile_schedules
        from workbench.kube.settings import read_settings

        keys = ws.select(" ".join(selection) or None)
        annotations = read_settings(ws.root).service_account_annotations
        for path in compile_schedules(ws, keys, target, out, views.PushNotes(), annotations):
            click.echo(str(path))
        click.echo(f"install the schedules with: kubectl apply -n {namespace} -f {out}", err=True)
        return 0
    plan, status = kube.plan_for(ws, " ".join(selection) or None, force=force, only=only, partitions=partitions)
    if plan.empty:
        click.echo(f"nothing to compile: {len(plan.fresh)} asset(s) fresh", err=True)
        return 0
    run = kube.prepare(ws, plan, status, target, run_id, views.PushNotes())
    from workbench.kube.settings import read_settings

    annotations = read_settings(ws.root).service_account_annotations
    for path in kube.compile_run(ws.graph, run, out, annotations):
        click.echo(str(path))
    files = " ".join(f"-f {os.path.join(out, name)}" for name in ("rbac.yaml", "driver.yaml"))
    click.echo(f"start the run with: kubectl apply -n {namespace} {files}", err=True)
    return 0


@cli.command()
@click.argument("selection", nargs=-1)
@click.option("--context", default=None, help="kubeconfig context (default: the current one).")
@click.option("--wait", is_flag=True, help="Stream progress and pod logs until the run ends; Ctrl-C deletes the run.")
@click.option("--driver", is_flag=True, hidden=True, help="In the cluster: apply the stored plan --plan.")
@click.option("--plan", "plan_sha", default=None, hidden=True, help="The sha256 of the plan the driver applies.")
@click.option("--schedule", is_flag=True, help="Install the schedules instead: a CronJob per scheduled asset.")
@click.option("--tick", default=None, hidden=True, metavar="KEY", help="In a CronJob's pod: run KEY's tick.")
@click.option("--code", default=None, hidden=True, metavar="SHA256", help="With --tick: the code package.")
@_run_options
@common
def push(
    selection: tuple[str, ...], context: str | None, wait: bool, driver: bool, plan_sha: str | None, schedule: bool,
    tick: str | None, code: str | None, namespace: str, image: str | None, store: str | None, secret: str | None,
    run_id: str | None, force: bool, only: bool, partitions: str | None, max_parallel: int, store_pvc: str | None,
    project: str | None,
) -> int:
    """Run the stale selection on Kubernetes: one Job per asset, in dependency order.

    With --schedule: create or update a CronJob per scheduled asset in the selection instead.
    """
    from workbench.cli import views
    from workbench.kube import push as kube

    if driver:
        if not (run_id and store and plan_sha):
            raise click.UsageError("--driver needs --run-id, --store and --plan")
        return kube.run_driver(run_id, store, plan_sha, views.PushNotes())
    if tick:
        from workbench.kube.cronjobs import run_tick

        if not (code and store and image):
            raise click.UsageError("--tick needs --code, --store and --image")
        where = kube.Target(namespace, image, store, secret or "workbench-store", None, max_parallel, store_pvc or "")
        return run_tick(tick, code, where, views.PushNotes())
    ws = _workspace(project)
    target = kube.target(ws, namespace=namespace, image=image or "", store=store, secret=secret, context=context,
                         max_parallel=max_parallel, pvc=store_pvc)
    if not target.image and not run_id:

        raise ManifestError("a run needs an image: pass --image IMAGE (or set WORKBENCH_IMAGE)")
    if schedule:
        from workbench.kube.client import Cluster
        from workbench.kube.cronjobs import push_schedules

        cluster = Cluster.connect(target.namespace, target.context)
        for line in push_schedules(ws, ws.select(" ".join(selection) or None), target, cluster, views.PushNotes()):
            click.echo(line, err=True)
        return 0
    expr = " ".join(selection) or None
    notes = views.PushNotes()
    return kube.push(ws, expr, target, run_id=run_id, force=force, only=only, partitions=partitions, wait=wait, notes=notes)


@cli.command()
@click.option("--store", envvar="WORKBENCH_STORE", default=None, metavar="URL",
              help="The shared store (default: the one the last push used).")
@click.option("--json", "as_json", is_flag=True, help="One JSON document on stdout.")
@common
def sync(store: str | None, as_json: bool, project: str | None) -> int:
    """Import the records and artifacts that remote runs wrote to the shared store."""
    from workbench.errors import StoreError
    from workbench.kube import remote
    from workbench.storage.artifacts import ArtifactStore

    ws = _workspace(project)
    url = remote.shared_store_url(ws, store)
    if not ArtifactStore(url).reachable():  # else a wrong URL would read as "imported 0"
        raise StoreError(f"the shared store {redact(url)} cannot be reached or does not exist")
    report = remote.sync(ws, url)
    if as_json:
        doc = {"indexed": report.indexed, "checks": report.checks, "artifacts": report.artifacts}
        _emit_json({"store": redact(url), **doc, "problems": report.problems})
    else:
        counts = f"{report.indexed} record(s), {report.checks} check result(s) and {report.artifacts} artifact(s)"
        click.echo(f"imported {counts} from {redact(url)}", err=True)
        for problem in report.problems:
            click.echo(f"problem: {problem}", err=True)
    return 1 if report.problems else 0


def main(argv: list[str] | None = None) -> None:
    """Console-script entry point; the exit codes are those of `workbench.errors` (README "Exit codes")."""
    try:
        code = cli.main(args=argv, prog_name="wb", standalone_mode=False)
    except click.exceptions.Exit as exc:
        code = exc.exit_code
    except click.ClickException as exc:
        exc.show()
        code = EXIT_USAGE
    except (click.Abort, KeyboardInterrupt):
        click.echo("interrupted", err=True)
        code = EXIT_INTERRUPTED
    except WorkbenchError as exc:
        if _debug:
            raise
        click.echo(f"error: {terminal_safe(str(exc))}", err=True)
        code = exc.exit_code
    except Exception as exc:
        if _debug:
            raise
        click.echo(f"internal error: {type(exc).__name__}: {terminal_safe(str(exc))} (rerun with --debug for the traceback)", err=True)
        code = EXIT_INTERNAL
    _exit(code if isinstance(code, int) else EXIT_OK)


def _exit(code: int) -> None:
    """`sys.exit`; at once when threads the process does not wait for still run (`run.detached`:
    timed-out or stopped assets, a hanging import), as finalizing around them is unsafe."""
    detached = sys.modules.get("workbench.run.detached")
    if detached is not None and detached.running():
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)
    sys.exit(code)


if __name__ == "__main__":  # pragma: no cover
    main()
