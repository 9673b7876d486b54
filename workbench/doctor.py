"""`wb doctor`: check the store, repair what can be repaired, rebuild the index from the records."""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from rich.console import Console
from rich.text import Text

from workbench.errors import StoreError
from workbench.project import ProjectConfig
from workbench.records import Materialization, Run


T = TypeVar("T")


@dataclass
class Report:
    ok: list[str] = field(default_factory=list)
    repaired: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    @property
    def healthy(self) -> bool:
        return not self.problems


def _stores(config: ProjectConfig):  # type: ignore[no-untyped-def]
    from workbench.storage.artifacts import ArtifactStore, RecordProblem
    from workbench.storage.metadata import DuckDBMetadataStore

    return ArtifactStore(config.artifacts_url), DuckDBMetadataStore(config.metadata_path), RecordProblem


def _read_records(config: ProjectConfig, report: Report, index: Any = None) -> list[Materialization]:
    """The readable JSON records; an unreadable one is rewritten from `index` if that still holds it."""
    artifacts, _, problem_type = _stores(config)
    records: list[Materialization] = []
    for item in artifacts.iter_records():
        if not isinstance(item, problem_type):
            records.append(item)
        elif (restored := _restore(artifacts, index, item.uri)) is not None:
            records.append(restored)
            report.repaired.append(f"rewrote the unreadable record {item.uri} from the index")
        else:
            report.problems.append(
                f"unreadable record {item.uri}: {item.message}; it is ignored"
                " (delete it, or put back a copy from a backup)"
            )
    report.ok.append(f"{len(records)} JSON record(s) read from {config.artifacts_url}")
    return records


def _restore(artifacts: Any, index: Any, uri: str) -> Materialization | None:
    """The record named by `uri` (`.../<time>-<id>.json`) from the index, written back to `uri`."""
    if index is None:
        return None
    try:
        record: Materialization | None = index.get(uri.rsplit("-", 1)[-1].removesuffix(".json"))
        if record is None or not uri.startswith(f"records/{record.asset_key}/"):
            return None
        artifacts.write_text(uri, record.to_json())  # atomically replaces the damaged file
    except StoreError:  # the index is damaged too, or the store refuses the write
        return None
    return record


def _check_artifacts(config: ProjectConfig, records: list[Materialization], report: Report) -> None:
    """The newest version of every asset must have its artifact; older ones may be gone (`wb gc`)."""
    artifacts, _, _ = _stores(config)
    newest: dict[str, Materialization] = {}
    for r in records:
        if r.ok and r.artifact_uri and (r.asset_key not in newest or r.ended_at > newest[r.asset_key].ended_at):
            newest[r.asset_key] = r
    missing = [r for r in newest.values() if not artifacts.exists(r.artifact_uri or "")]
    for r in missing:
        report.problems.append(
            f"{r.asset_key}@{(r.data_version or '')[:12]}: artifact {r.artifact_uri} is missing "
            f"(rerun: wb materialize {r.asset_key} --force)"
        )
    if not missing:
        report.ok.append(f"the newest version of each of {len(newest)} asset(s) has its artifact")
    artifacts.clean_scratch()


def _readable(items: Iterable[T | Any], problem_type: type, what: str, report: Report) -> list[T]:
    """The parsed items; each unreadable file becomes a reported problem (left in place)."""
    out: list[T] = []
    for item in items:
        if isinstance(item, problem_type):
            report.problems.append(f"unreadable {what} {item.uri}: {item.message}")
        else:
            out.append(item)
    return out


def _index_extras(config: ProjectConfig, metadata: Any, report: Report) -> int:
    """Alias events and check results from their JSON files into the index; returns how many were new."""
    artifacts, _, problem = _stores(config)
    aliases = _readable(artifacts.iter_alias_events(), problem, "alias event", report)
    checks = _readable(artifacts.iter_check_records(), problem, "check result", report)
    return int(metadata.add_alias_events(aliases)) + int(metadata.add_check_results(checks))


def check(config: ProjectConfig) -> Report:
    """Report problems; re-index JSON records that the DuckDB index lacks, rewrite damaged ones it has."""
    report = Report()
    _, metadata, _ = _stores(config)
    records = _read_records(config, report, index=metadata if config.metadata_path.exists() else None)
    try:
        added = metadata.add_many(records) + _index_extras(config, metadata, report)
        total = metadata.count()
    except StoreError as exc:
        report.problems.append(str(exc))
    else:
        if added:
            report.repaired.append(f"indexed {added} record(s) the DuckDB index was missing")
        report.ok.append(f"metadata index {config.metadata_path} holds {total} record(s)")
    _check_artifacts(config, records, report)
    return report


def rebuild(config: ProjectConfig) -> Report:
    """Rebuild the index (records and runs) from the JSON records in a new file, then swap it in and
    move the old one aside: a rebuild that fails half-way leaves the old index in place."""
    from workbench.storage.metadata import DuckDBMetadataStore

    report = Report()
    path = config.metadata_path
    records = _read_records(config, report, index=_stores(config)[1] if path.exists() else None)
    fresh = path.with_name(f"{path.name}.rebuild-{time.strftime('%Y%m%d-%H%M%S')}")
    for leftover in (fresh, Path(f"{fresh}.wal")):
        leftover.unlink(missing_ok=True)
    metadata = DuckDBMetadataStore(fresh)
    added = metadata.add_many(records)
    _index_extras(config, metadata, report)
    for run in _runs_of(records):
        metadata.record_run(run)
    for old in (path, Path(f"{path}.wal")):
        if old.exists():
            backup = old.with_name(f"{old.name}.bak-{time.strftime('%Y%m%d-%H%M%S')}")
            old.rename(backup)
            report.repaired.append(f"moved the old index aside to {backup.name}")
    if Path(f"{fresh}.wal").exists():
        Path(f"{fresh}.wal").rename(f"{path}.wal")
    fresh.rename(path)
    report.repaired.append(f"rebuilt {path.name}: {added} record(s)")
    _check_artifacts(config, records, report)
    return report


def _runs_of(records: list[Materialization]) -> list[Run]:
    by_run: dict[str, list[Materialization]] = {}
    for r in records:
        by_run.setdefault(r.run_id, []).append(r)
    runs = []
    for run_id, rs in by_run.items():
        failed = sum(1 for r in rs if not r.ok)
        runs.append(
            Run(
                run_id=run_id,
                trigger=rs[0].trigger,
                selection="",
                started_at=min(r.started_at for r in rs),
                ended_at=max(r.ended_at for r in rs),
                status="failed" if failed else "success",
                materialized=len(rs) - failed,
                failed=failed,
            )
        )
    return runs


def print_report(report: Report) -> None:
    console = Console(highlight=False)
    for line in report.ok:
        console.print(Text.assemble(("ok        ", "green"), line))
    for line in report.repaired:
        console.print(Text.assemble(("repaired  ", "cyan"), line))
    for line in report.problems:
        console.print(Text.assemble(("problem   ", "bold red"), line))
    console.print(Text("store is healthy" if report.healthy else f"{len(report.problems)} problem(s)", "bold"))
