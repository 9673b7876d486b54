"""The metadata store interface shared by the DuckDB store and the in-memory fake."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Protocol

from workbench.core.records import AliasEvent, CheckRecord, Latest, Materialization, Run, SourceObservation, TickRecord

SCHEMA_VERSION = 8


class MetadataStore(Protocol):
    """The fast index over materialization records, runs and source observations."""

    def add(self, m: Materialization) -> None:
        """Store one record; a record whose id is already stored is ignored."""

    def add_many(self, ms: Sequence[Materialization]) -> int:
        """Store many records, skipping stored ids; returns how many were inserted."""

    def latest(self, partition: str = "") -> dict[str, Latest]:
        """Per asset key: its latest successful record and its latest record of any status."""

    def latest_all(self) -> dict[tuple[str, str], Latest]:
        """The same for every (asset key, partition), unpartitioned ones under partition ''."""

    def newest_ids(self) -> dict[tuple[str, str], tuple[str, str | None]]:
        """The ids of what `latest_all` returns: (latest record, latest successful one) by (key, partition)."""

    def history(self, key: str, partition: str | None = None, limit: int | None = None) -> list[Materialization]:
        """Records of `key` (of one partition, or all when None), newest first."""

    def get(self, id: str) -> Materialization | None:
        """The record with this id, if stored."""

    def find_versions(self, key: str, prefix: str) -> list[Materialization]:
        """Successful records of `key` whose data version starts with `prefix`, newest first."""

    def with_code(self, codes: Mapping[str, str]) -> list[Materialization]:
        """Successful records of asset `key` made by code version `codes[key]`, newest first (for reuse)."""

    def record_run(self, run: Run) -> None:
        """Insert or replace a run by its run id."""

    def runs(self, limit: int = 20) -> list[Run]:
        """The most recently started runs, newest first."""

    def observations(self) -> dict[str, SourceObservation]:
        """The last observation of every source, by source key."""

    def observe(self, obs: Sequence[SourceObservation]) -> None:
        """Insert or replace observations by source key."""

    def count(self) -> int:
        """How many materialization records are stored."""

    def add_alias_events(self, events: Sequence[AliasEvent]) -> int:
        """Store alias events, skipping stored ids; returns how many were inserted."""

    def aliases(self, key: str | None = None) -> list[AliasEvent]:
        """The current alias of every (asset, name), removed ones left out, sorted by asset and name."""

    def add_check_results(self, results: Sequence[CheckRecord]) -> int:
        """Store check results, skipping stored ids; returns how many were inserted."""

    def latest_checks(self) -> dict[tuple[str, str], CheckRecord]:
        """The newest result of every (check key, partition)."""

    def check_history(self, asset_key: str, limit: int = 20) -> list[CheckRecord]:
        """Results of the checks of one asset, newest first."""

    def claim_tick(self, tick: TickRecord) -> bool:
        """Store a tick that is about to run; False (and nothing stored) when its id is stored already."""

    def end_tick(self, tick: TickRecord) -> None:
        """Replace a claimed tick by its ended form (run id, outcome, end time)."""

    def ticks(self, key: str | None = None, limit: int = 50) -> list[TickRecord]:
        """Ticks (of one asset or source), newest due first."""

    def newest_ticks(self) -> dict[tuple[str, str], datetime]:
        """The newest `due_at` per (key, kind)."""

    def release(self) -> None:
        """Let go of what is kept open between operations (a connection and its threads: before
        the process forks); the next operation opens it again."""
