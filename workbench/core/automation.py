"""Automation declarations and when they make an asset due: pure functions of specs, records and a time.

A `Schedule` (cron text, a time zone, a catch-up policy) makes an asset due at each tick; a
partitioned asset's tick targets the partition that just closed. A freshness limit makes it
`overdue` once its newest materialization is older than the limit. Each reason to run is a
`Tick` with a deterministic id, so that two watchers that see the same tick claim it once.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from workbench.core.hashing import digest
from workbench.core.partitions import DailyPartitions, Partitions
from workbench.errors import DefinitionError

if TYPE_CHECKING:
    from workbench.core.spec import AssetSpec
    from workbench.core.staleness import Status

LATEST, ALL = "latest", "all"
CATCH_UP = (LATEST, ALL)
MAX_CATCH_UP = 1000  # missed ticks looked at, at most (a schedule every minute, a week away: the newest)
SCHEDULE, FRESHNESS, SOURCE = "schedule", "freshness", "source"


@dataclass(frozen=True, slots=True)
class Schedule:
    """`cron` ticks in `timezone`; after missed ticks, run the `latest` one only or `all` of them."""

    cron: str
    timezone: str = "UTC"
    catch_up: str = LATEST

    def __post_init__(self) -> None:
        from croniter import croniter

        if not isinstance(self.cron, str) or not croniter.is_valid(self.cron):
            raise DefinitionError(f"schedule {self.cron!r} is not a cron expression (e.g. '0 6 * * *')")
        try:
            ZoneInfo(self.timezone)
        except (ZoneInfoNotFoundError, ValueError, TypeError) as exc:
            raise DefinitionError(f"schedule {self.cron!r}: unknown time zone {self.timezone!r}") from exc
        if self.catch_up not in CATCH_UP:
            raise DefinitionError(f"schedule {self.cron!r}: catch_up must be one of {list(CATCH_UP)}, not {self.catch_up!r}")

    def __str__(self) -> str:
        zone = "" if self.timezone == "UTC" else f" {self.timezone}"
        return f"{self.cron}{zone}" + ("" if self.catch_up == LATEST else " (catch up all)")


def as_schedule(value: object, where: str) -> Schedule | None:
    """`schedule=` as given: None, cron text (UTC, latest), or a `Schedule`."""
    if value is None or isinstance(value, Schedule):
        return value
    if isinstance(value, str):
        try:
            return Schedule(value)
        except DefinitionError as exc:
            raise DefinitionError(f"{where}: {exc}") from None
    raise DefinitionError(f"{where}: schedule= takes cron text or a Schedule, got {value!r:.80}")


def _iterator(schedule: Schedule, start: datetime):  # type: ignore[no-untyped-def]
    from croniter import croniter

    return croniter(schedule.cron, start.astimezone(ZoneInfo(schedule.timezone)))


def next_tick(schedule: Schedule, now: datetime) -> datetime:
    """The first tick after `now` (UTC)."""
    found: datetime = _iterator(schedule, now).get_next(datetime)
    return found.astimezone(timezone.utc)


def ticks_between(schedule: Schedule, after: datetime, upto: datetime) -> list[datetime]:
    """Ticks t with after < t <= upto, oldest first (UTC), at most the newest `MAX_CATCH_UP`."""
    if upto <= after:
        return []
    ticks: list[datetime] = []
    it = _iterator(schedule, upto + timedelta(microseconds=1))
    while len(ticks) < MAX_CATCH_UP:
        tick: datetime = it.get_prev(datetime).astimezone(timezone.utc)
        if tick <= after:
            break
        ticks.append(tick)
    return ticks[::-1]


def closed_partition(partitions: Partitions | None, keys: Sequence[str], tick: datetime) -> list[str]:
    """The partitions a tick targets: for days, the one that just closed (a tick at 00:10 -> yesterday);
    for other partitions every key; [""] for an unpartitioned asset."""
    if partitions is None:
        return [""]
    if isinstance(partitions, DailyPartitions):
        day = (tick.astimezone(timezone.utc) - timedelta(days=1)).date().isoformat()
        return [day] if day in keys else []
    return list(keys)


@dataclass(frozen=True, slots=True)
class Tick:
    """One reason to run one unit now: a schedule tick, a freshness deadline passed, or a source change."""

    key: str  # the asset (for a source change: the source)
    partition: str
    kind: str  # SCHEDULE, FRESHNESS or SOURCE
    at: datetime  # the tick's time; the deadline that passed; when the change was seen
    reason: str  # how the log says it: "scheduled 06:00", "overdue by 12m", "source s3://... changed"
    salt: str = ""  # what else tells ticks apart (the record a deadline was judged on, a source version)

    @property
    def id(self) -> str:
        """The same in every process that sees this tick: by its time, or by its salt when it has one."""
        return digest(self.kind, self.key, self.partition, self.salt or self.at.isoformat())


@dataclass(frozen=True, slots=True)
class Automation:
    """What an asset's declarations say now: ticks due, how long overdue, the next tick."""

    key: str
    schedule: Schedule | None
    freshness: float | None  # seconds
    due: tuple[Tick, ...] = ()
    overdue_by: float | None = None  # seconds past the freshness limit
    next_tick: datetime | None = None

    @property
    def overdue(self) -> bool:
        return self.overdue_by is not None


def schedule_ticks(
    key: str,
    schedule: Schedule,
    partitions: Partitions | None,
    keys: Sequence[str],
    handled: datetime | None,
    last_run: Mapping[str, datetime],
    now: datetime,
) -> tuple[Tick, ...]:
    """The schedule ticks due now, after the catch-up policy.

    `handled`: the newest tick already recorded (older ones are never looked at again); without
    one only the newest tick counts, so a new schedule does not replay the past. `last_run`: when
    each partition ("" unpartitioned) last ended a run: a tick whose target ran after it is done.
    """
    if handled is None:
        newest = last_tick(schedule, now)
        ticks = [newest] if newest else []
    else:
        ticks = ticks_between(schedule, handled, now)
    if schedule.catch_up == LATEST:
        ticks = ticks[-1:]
    label = "%H:%M" if schedule.timezone == "UTC" else "%H:%M %Z"
    due = []
    for tick in ticks:
        local = tick.astimezone(ZoneInfo(schedule.timezone))
        for partition in closed_partition(partitions, keys, tick):
            ran = last_run.get(partition)
            if ran is None or ran < tick:
                target = f" for {partition}" if partition else ""
                due.append(Tick(key, partition, SCHEDULE, tick, f"scheduled {local.strftime(label)}{target}"))
    return tuple(due)


def overdue_by(limit: float, newest: datetime | None, now: datetime) -> float | None:
    """Seconds the asset is past its freshness limit (None when fresh enough, or never materialized)."""
    if newest is None:
        return None
    late = (now - newest).total_seconds() - limit
    return late if late > 0 else None


def freshness_tick(key: str, partition: str, limit: float, newest: datetime, record_id: str, late: float) -> Tick:
    deadline = newest + timedelta(seconds=limit)
    return Tick(key, partition, FRESHNESS, deadline, f"overdue by {span(late)}", salt=record_id)


def span(seconds: float) -> str:
    """12m, 2h05m, 3d4h, 40s."""
    total = int(seconds)
    days, rest = divmod(total, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    if days:
        return f"{days}d{hours}h" if hours else f"{days}d"
    if hours:
        return f"{hours}h{minutes:02d}m" if minutes else f"{hours}h"
    return f"{minutes}m" if minutes else f"{secs}s"


def automation_of(
    specs: Iterable[AssetSpec],
    status: Mapping[str, Status],
    keys: Mapping[str, Sequence[str]],
    handled: Mapping[tuple[str, str], datetime],
    now: datetime,
) -> dict[str, Automation]:
    """What each asset with a schedule or a freshness limit has due now, by key.

    `status` is by unit id (`key` or `key[partition]`); `handled` the newest recorded tick per
    (key, kind) (`MetadataStore.newest_ticks`).
    """
    from workbench.core.partitions import unit_id

    out = {}
    for spec in specs:
        if spec.schedule is None and spec.freshness is None:
            continue
        units = {p: status.get(unit_id(spec.key, p)) for p in keys.get(spec.key) or ("",)}
        due: list[Tick] = []
        late = None
        if spec.schedule is not None:
            last_run = {p: st.last.ended_at for p, st in units.items() if st is not None and st.last is not None}
            schedule_keys = keys.get(spec.key) or ()
            found = schedule_ticks(
                spec.key, spec.schedule, spec.partitions, schedule_keys, handled.get((spec.key, SCHEDULE)), last_run, now
            )
            due.extend(found)
        if spec.freshness is not None:
            done = [(st.record.ended_at, p, st.record.id) for p, st in units.items() if st is not None and st.record]
            if done:
                newest, partition, record_id = max(done)
                late = overdue_by(spec.freshness, newest, now)
                if late is not None:
                    due.append(freshness_tick(spec.key, partition, spec.freshness, newest, record_id, late))
        upcoming = next_tick(spec.schedule, now) if spec.schedule is not None else None
        out[spec.key] = Automation(spec.key, spec.schedule, spec.freshness, tuple(due), late, upcoming)
    return out


def last_tick(schedule: Schedule, now: datetime) -> datetime | None:
    """The newest tick at or before `now` (within a year), UTC."""
    found = ticks_between(schedule, now - timedelta(days=366), now)
    return found[-1] if found else None
