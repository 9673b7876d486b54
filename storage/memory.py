"""An in-memory metadata store: the fake that tests use in place of DuckDB."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime

from workbench.core.records import AliasEvent, CheckRecord, Latest, Materialization, Run, SourceObservation, TickRecord

__all__ = ["InMemoryMetadataStore"]


def current_aliases(events: Iterable[AliasEvent]) -> list[AliasEvent]:
    """The newest event per (asset, name), without removed aliases, sorted by asset and name."""
    newest: dict[tuple[str, str], AliasEvent] = {}
    for event in sorted(events, key=lambda e: (e.set_at, e.id)):
        newest[(event.asset_key, event.name)] = event
    return [e for _, e in sorted(newest.items()) if e.data_version is not None]


def _newest_first(ms: list[Materialization]) -> list[Materialization]:
    return sorted(ms, key=lambda m: (m.ended_at, m.id), reverse=True)


class InMemoryMetadataStore:
    """Keeps everything in dicts; same behaviour as `DuckDBMetadataStore`."""

    def __init__(self) -> None:
        self._records: dict[str, Materialization] = {}
        self._runs: dict[str, Run] = {}
        self._observations: dict[str, SourceObservation] = {}
        self._alias_events: dict[str, AliasEvent] = {}
        self._checks: dict[str, CheckRecord] = {}
        self._ticks: dict[str, TickRecord] = {}

    def add(self, m: Materialization) -> None:
        self._records.setdefault(m.id, m)

    def add_many(self, ms: Sequence[Materialization]) -> int:
        before = len(self._records)
        for m in ms:
            self.add(m)
        return len(self._records) - before

    def latest(self, partition: str = "") -> dict[str, Latest]:
        return {key: found for (key, p), found in self.latest_all().items() if p == partition}

    def latest_all(self) -> dict[tuple[str, str], Latest]:
        success: dict[tuple[str, str], Materialization] = {}
        last: dict[tuple[str, str], Materialization] = {}
        for m in _newest_first(list(self._records.values())):
            last.setdefault((m.asset_key, m.partition), m)
            if m.ok:
                success.setdefault((m.asset_key, m.partition), m)
        return {unit: Latest(success=success.get(unit), last=m) for unit, m in last.items()}

    def newest_ids(self) -> dict[tuple[str, str], tuple[str, str | None]]:
        return {u: (f.last.id, f.success.id if f.success else None) for u, f in self.latest_all().items() if f.last}

    def history(self, key: str, partition: str | None = None, limit: int | None = None) -> list[Materialization]:
        found = _newest_first(
            [m for m in self._records.values() if m.asset_key == key and partition in (None, m.partition)]
        )
        return found if limit is None else found[: max(limit, 0)]

    def get(self, id: str) -> Materialization | None:
        return self._records.get(id)

    def find_versions(self, key: str, prefix: str) -> list[Materialization]:
        return [
            m for m in self.history(key) if m.ok and m.data_version is not None and m.data_version.startswith(prefix)
        ]

    def with_code(self, codes: Mapping[str, str]) -> list[Materialization]:
        return _newest_first([m for m in self._records.values() if m.ok and codes.get(m.asset_key) == m.code_version])

    def record_run(self, run: Run) -> None:
        self._runs[run.run_id] = run

    def runs(self, limit: int = 20) -> list[Run]:
        ordered = sorted(self._runs.values(), key=lambda r: (r.started_at, r.run_id), reverse=True)
        return ordered[: max(limit, 0)]

    def observations(self) -> dict[str, SourceObservation]:
        return dict(self._observations)

    def observe(self, obs: Sequence[SourceObservation]) -> None:
        self._observations.update((o.key, o) for o in obs)

    def count(self) -> int:
        return len(self._records)

    def add_alias_events(self, events: Sequence[AliasEvent]) -> int:
        before = len(self._alias_events)
        for event in events:
            self._alias_events.setdefault(event.id, event)
        return len(self._alias_events) - before

    def aliases(self, key: str | None = None) -> list[AliasEvent]:
        return current_aliases(e for e in self._alias_events.values() if key in (None, e.asset_key))

    def add_check_results(self, results: Sequence[CheckRecord]) -> int:
        before = len(self._checks)
        for r in results:
            self._checks.setdefault(r.id, r)
        return len(self._checks) - before

    def latest_checks(self) -> dict[tuple[str, str], CheckRecord]:
        newest: dict[tuple[str, str], CheckRecord] = {}
        for r in sorted(self._checks.values(), key=lambda r: (r.ended_at, r.id)):
            newest[(r.check_key, r.partition)] = r
        return newest

    def check_history(self, asset_key: str, limit: int = 20) -> list[CheckRecord]:
        found = sorted((r for r in self._checks.values() if r.asset_key == asset_key), key=lambda r: (r.ended_at, r.id))
        return found[::-1][: max(limit, 0)]

    def claim_tick(self, tick: TickRecord) -> bool:
        return self._ticks.setdefault(tick.id, tick) is tick

    def end_tick(self, tick: TickRecord) -> None:
        self._ticks[tick.id] = tick

    def ticks(self, key: str | None = None, limit: int = 50) -> list[TickRecord]:
        found = sorted((t for t in self._ticks.values() if key in (None, t.key)), key=lambda t: (t.due_at, t.id))
        return found[::-1][: max(limit, 0)]

    def newest_ticks(self) -> dict[tuple[str, str], datetime]:
        newest: dict[tuple[str, str], datetime] = {}
        for t in self._ticks.values():
            newest[(t.key, t.kind)] = max(t.due_at, newest.get((t.key, t.kind), t.due_at))
        return newest

    def release(self) -> None:
        """Nothing is open."""
