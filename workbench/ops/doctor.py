"""`wb doctor`: check the store, repair what can be repaired, rebuild the index from the records.

Plain `doctor` indexes the JSON records (files and run logs), check results and alias events the
index lacks, rewrites a damaged JSON record (or run log line) from the index, cleans old scratch files, and names what it cannot repair
(unreadable records, missing artifacts). `doctor --rebuild` builds a new index from the JSON files
alone, for an index file that is damaged, and moves the old one aside. `catch_up` is what every
command does by itself when it finds the index missing or behind.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from workbench.core.hashing import file_digest
from workbench.core.records import CheckRecord, Materialization, Run
from workbench.errors import StoreError
from workbench.project import ProjectConfig

if TYPE_CHECKING:
    from workbench.storage.artifacts import ArtifactStore, RecordProblem
    from workbench.storage.metadata import DuckDBMetadataStore

T = TypeVar("T")
OK, REPAIRED, PROBLEM = "ok", "repaired", "problem"


@dataclass
class Report:
    """What doctor found and did, in the order it happened."""

    lines: list[tuple[str, str]] = field(default_factory=list)

    def add(self, kind: str, text: str) -> None:
        self.lines.append((kind, text))

    @property
    def problems(self) -> list[str]:
        return [text for kind, text in self.lines if kind == PROBLEM]

    @property
    def healthy(self) -> bool:
        return not self.problems


@dataclass(frozen=True, slots=True)
class Indexed:
    """How many JSON files of each kind went into the index."""

    records: int = 0
    checks: int = 0
    aliases: int = 0
    ticks: int = 0

    @property
    def total(self) -> int:
        return self.records + self.checks + self.aliases + self.ticks

    def __str__(self) -> str:
        ticks = f", {self.ticks} automation tick(s)" if self.ticks else ""
        return f"{self.records} record(s), {self.checks} check result(s){ticks} and {self.aliases} alias event(s)"


def _stores(config: ProjectConfig) -> tuple[ArtifactStore, DuckDBMetadataStore]:
    from workbench.storage.artifacts import ArtifactStore
    from workbench.storage.metadata import DuckDBMetadataStore

    return ArtifactStore(config.artifacts_url), DuckDBMetadataStore(config.metadata_path)


def _read_records(
    artifacts: ArtifactStore, report: Report, index: Any = None, locks: Path | None = None
) -> tuple[list[Materialization], list[CheckRecord]]:
    """The readable records and check results (run logs read once for both); an unreadable record
    is rewritten from `index` if that still holds it (`locks`: the store's lock folder, for
    rewriting a run log while no run writes)."""
    records: list[Materialization] = []
    checks: list[CheckRecord] = []
    damaged: dict[str, list[RecordProblem]] = {}  # run log -> its unreadable lines
    for item in artifacts.iter_run_records():
        if isinstance(item, Materialization):
            records.append(item)
        elif isinstance(item, CheckRecord):
            checks.append(item)
        elif item.uri.startswith("logs/"):
            damaged.setdefault(item.uri.rsplit(":", 1)[0], []).append(item)
        elif item.uri.startswith("checks/"):
            report.add(PROBLEM, f"unreadable check result {item.uri}: {item.message}")
        elif (restored := _restore(artifacts, index, item.uri)) is not None:
            records.append(restored)
            report.add(REPAIRED, f"rewrote the unreadable record {item.uri} from the index")
        else:
            _unreadable(report, item)
    known = {r.id for r in records}
    for log, lines in damaged.items():
        records += _restore_log(artifacts, index, locks, log, lines, known, report)
    report.add(OK, f"{len(records)} JSON record(s) read from {artifacts.url}")
    return records, checks


def _unreadable(report: Report, item: RecordProblem) -> None:
    report.add(
        PROBLEM, f"unreadable record {item.uri}: {item.message}; it is ignored (delete it, or put back a copy from a backup)"
    )


def _restore(artifacts: ArtifactStore, index: Any, uri: str) -> Materialization | None:
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


def _restore_log(
    artifacts: ArtifactStore, index: Any, locks: Path | None, log: str, lines: list[RecordProblem], known: set[str], report: Report
) -> list[Materialization]:
    """The records of the log's run that the index holds and no readable record does, written back
    into the log (while no run writes), in place of its unreadable lines when they account for all."""
    missing: list[Materialization] = []
    cut: set[int] = set()
    if index is not None and locks is not None:
        from workbench.run.leases import store_lock
        from workbench.storage.run_log import line, run_of

        try:
            missing = [m for m in index.of_run(run_of(log)) if m.id not in known]
            if missing:
                cut = {int(p.uri.rsplit(":", 1)[1]) for p in lines} if len(missing) >= len(lines) else set()
                with store_lock(locks, exclusive=True):
                    kept = artifacts.read_bytes(log).split(b"\n")[:-1]  # without a last line cut short
                    data = b"".join(text + b"\n" for n, text in enumerate(kept, 1) if n not in cut)
                    artifacts.write_bytes(log, data + "".join(line(m) for m in missing).encode())
                report.add(REPAIRED, f"rewrote {len(missing)} unreadable record(s) of {log} from the index")
        except StoreError:  # the index is damaged too, or the store refuses the write
            missing, cut = [], set()
    for item in lines:
        if not cut:
            _unreadable(report, item)
    return missing


def _readable(items: Iterable[T | RecordProblem], what: str, report: Report) -> list[T]:
    """The parsed items; each unreadable file becomes a reported problem (left in place)."""
    from workbench.storage.artifacts import RecordProblem

    out: list[T] = []
    for item in items:
        if isinstance(item, RecordProblem):
            report.add(PROBLEM, f"unreadable {what} {item.uri}: {item.message}")
        else:
            out.append(item)
    return out


def index_store(
    artifacts: ArtifactStore, metadata: DuckDBMetadataStore, report: Report, index: Any = None, locks: Path | None = None
) -> tuple[list[Materialization], Indexed]:
    """Every readable JSON record, check result and alias event into `metadata` (stored ids are
    skipped); returns the records read and how many of each kind were new to the index."""
    records, checks = _read_records(artifacts, report, index, locks)
    return records, _index(artifacts, metadata, records, checks, report)


def _index(
    artifacts: ArtifactStore, metadata: DuckDBMetadataStore, records: list[Materialization], checks: list[CheckRecord], report: Report
) -> Indexed:
    aliases = _readable(artifacts.iter_alias_events(), "alias event", report)
    ticks = _readable(artifacts.iter_ticks(), "automation tick", report)
    return Indexed(
        metadata.add_many(records), metadata.add_check_results(checks), metadata.add_alias_events(aliases),
        sum(metadata.claim_tick(t) for t in ticks),
    )


def catch_up(artifacts: ArtifactStore, metadata: DuckDBMetadataStore) -> tuple[Indexed, int]:
    """Fill an index that is new (its file was missing) or not known to be complete from the JSON
    files, and mark it complete; returns what was indexed and how many files were unreadable."""
    report = Report()
    empty = metadata.count() == 0
    records, added = index_store(artifacts, metadata, report)
    if empty:
        for run in _runs_of(records):
            metadata.record_run(run)
    metadata.mark_complete()
    return added, len(report.problems)


def _check_artifacts(artifacts: ArtifactStore, records: list[Materialization], report: Report) -> None:
    """The newest version of every unit must have its artifact; older ones may be gone (`wb gc`)."""
    newest: dict[tuple[str, str], Materialization] = {}
    for r in records:
        unit = (r.asset_key, r.partition)
        if r.ok and r.artifact_uri and (unit not in newest or r.ended_at > newest[unit].ended_at):
            newest[unit] = r
    missing = [r for r in newest.values() if not artifacts.exists(r.artifact_uri or "")]
    for r in missing:
        report.add(
            PROBLEM,
            f"{r.asset_key}@{(r.data_version or '')[:12]}: artifact {r.artifact_uri} is missing "
            f"(rerun: wb materialize {r.asset_key} --force)",
        )
    if not missing:
        report.add(OK, f"the newest version of each of {len(newest)} asset(s) or partition(s) has its artifact")
    artifacts.clean_scratch()


def _verify_artifacts(artifacts: ArtifactStore, records: list[Materialization], report: Report) -> None:
    """Every stored artifact a successful record names must hash to that record's data version."""
    named = {r.artifact_uri: r for r in records if r.ok and r.artifact_uri and r.data_version}
    bad = 0
    for uri, r in sorted(named.items()):
        try:
            if not artifacts.exists(uri):
                continue  # collected by gc, or reported missing above
            if file_digest(artifacts.local_path(uri)) != r.data_version:
                bad += 1
                report.add(PROBLEM, f"{r.asset_key}@{(r.data_version or '')[:12]}: artifact {uri} does not match its content hash "
                           f"(replaced or damaged; rerun: wb materialize {r.asset_key} --force)")
        except StoreError as exc:
            bad += 1
            report.add(PROBLEM, f"{r.asset_key}: {exc}")
    if not bad:
        report.add(OK, f"{len(named)} artifact(s) match their content hashes")


def check(config: ProjectConfig, *, verify: bool = False) -> Report:
    """Report problems; index the JSON files the index lacks, rewrite damaged records it still has.

    `verify`: also hash every stored artifact and compare it with its record's data version.
    """
    report = Report()
    artifacts, metadata = _stores(config)
    index = metadata if config.metadata_path.exists() else None
    records, checks = _read_records(artifacts, report, index, config.home / "locks")
    try:
        added = _index(artifacts, metadata, records, checks, report)
        held = metadata.count()
        metadata.mark_complete()
    except StoreError as exc:
        report.add(PROBLEM, str(exc))
    else:
        if added.total:
            report.add(REPAIRED, f"indexed {added} that the index was missing")
        report.add(OK, f"the metadata index {config.metadata_path} holds {held} record(s)")
    _check_artifacts(artifacts, records, report)
    if verify:
        _verify_artifacts(artifacts, records, report)
    return report


def rebuild(config: ProjectConfig) -> Report:
    """Rebuild the index (records and runs) from the JSON records in a new file, then swap it in and
    move the old one aside: a rebuild that fails half-way leaves the old index in place."""
    from workbench.storage.metadata import DuckDBMetadataStore

    report = Report()
    artifacts, old_index = _stores(config)
    path = config.metadata_path
    fresh = path.with_name(f"{path.name}.rebuild-{time.strftime('%Y%m%d-%H%M%S')}")
    for leftover in (fresh, Path(f"{fresh}.wal")):
        leftover.unlink(missing_ok=True)
    metadata = DuckDBMetadataStore(fresh)
    records, added = index_store(artifacts, metadata, report, old_index if path.exists() else None, config.home / "locks")
    for run in _runs_of(records):
        metadata.record_run(run)
    metadata.mark_complete()
    for old in (path, Path(f"{path}.wal")):
        if old.exists():
            backup = old.with_name(f"{old.name}.bak-{time.strftime('%Y%m%d-%H%M%S')}")
            old.rename(backup)
            report.add(REPAIRED, f"moved the old index aside to {backup.name}")
    if Path(f"{fresh}.wal").exists():
        Path(f"{fresh}.wal").rename(f"{path}.wal")
    fresh.rename(path)
    report.add(REPAIRED, f"rebuilt {path.name}: {added}")
    _check_artifacts(artifacts, records, report)
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
