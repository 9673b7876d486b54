"""Domain values shared by the core and the stores: materialization records, runs, observations.

A `Materialization` is immutable; its JSON form (`to_json`/`from_json`) is the record file
written to the artifact store, from which the DuckDB index can always be rebuilt.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import Field, dataclass, field, fields, replace
from datetime import datetime, timezone
from operator import attrgetter
from typing import Annotated, Any, TypeVar

import msgspec
from msgspec import Meta

from workbench.clock import now

RECORD_FORMAT = 1
SUCCESS = "success"
FAILED = "failed"
TRIGGERS = frozenset({"cli", "watch", "tui", "push", "api"})


def utcnow() -> datetime:
    return now()


# Field types with the bounds a record must keep to (checked when a record is read: `from_json`).
# The dataclasses below are the one definition of each record: validation (msgspec, from their
# type hints), JSON, and the DuckDB tables and rows (`workbench.storage.schema` and `.rows`) follow.
BigInt = Annotated[int, Meta(ge=-(2**63), le=2**63 - 1)]  # fits DuckDB's BIGINT
RecordStatus = Annotated[str, Meta(pattern=f"^({SUCCESS}|{FAILED})$")]
CheckKey = Annotated[str, Meta(pattern=r"^[^:]+:.+$")]  # "asset:check_name"
Point = Annotated[list[float], Meta(min_length=2, max_length=2)]  # [step, value]


def _utc(value: datetime) -> datetime:
    """A timestamp without a zone is taken as UTC, so that it compares with the others."""
    return value if value.tzinfo else value.replace(tzinfo=timezone.utc)


R = TypeVar("R")


def is_mapping(f: Field[Any]) -> bool:
    """A mapping field: JSON text in the index."""
    return str(f.type).startswith("Mapping[")


def is_time(f: Field[Any]) -> bool:
    """A timestamp field: TIMESTAMPTZ in the index, ISO text in JSON."""
    return str(f.type).startswith("datetime")


_ENCODE = json.JSONEncoder(sort_keys=True, default=str).encode  # what json.dumps(..., sort_keys=True, default=str) makes, without a new encoder per call
_FAST_ENCODE = msgspec.json.Encoder(order="sorted").encode  # ~4x faster; the same JSON for plain values
_PLAIN = (str, int, type(None))  # values both write alike (bool is an int); a float may be NaN, which msgspec writes as null
_CANNOT = (msgspec.EncodeError, OverflowError, TypeError, ValueError)  # an integer past 64 bits, a lone surrogate


def _plain(value: object) -> bool:
    """Whether `value` holds only strings, integers, booleans, None, lists and string-keyed dicts."""
    if isinstance(value, dict):
        return all(isinstance(k, str) and _plain(v) for k, v in value.items())
    if isinstance(value, list):
        return all(_plain(v) for v in value)
    return isinstance(value, _PLAIN)


def _encode(doc: dict[str, Any], free: tuple[str, ...]) -> str:
    """`doc` as JSON with sorted keys: by msgspec when its `free` fields (user values) are plain,
    else by Python's writer (NaN and Infinity kept, anything else written as its `str`)."""
    if all(_plain(doc[name]) for name in free):
        try:
            return _FAST_ENCODE(doc).decode()
        except _CANNOT:
            pass
    return _ENCODE(doc)


def _decode(text: str | bytes, kind: type[R], what: str) -> R:
    """Parse and check one record against its dataclass's type hints; `ValueError` on anything malformed.

    Python's JSON reader first: record files may hold `NaN` and `Infinity` (a metric can be either)."""
    return convert(json.loads(text), kind, what)


def convert(document: object, kind: type[R], what: str) -> R:
    """Check one parsed JSON record (`json.loads`) against its dataclass's type hints; `ValueError`
    on anything malformed."""
    try:
        value = msgspec.convert(document, type=kind)
    except msgspec.ValidationError as exc:  # "Expected `str`, got `int` - at `$.id`"
        raise ValueError(f"malformed {what}: {exc}") from exc
    times = {name: getattr(value, name) for name in _TIME_FIELDS[kind]}
    naive = {name: _utc(t) for name, t in times.items() if t is not None and t.tzinfo is None}
    return replace(value, **naive) if naive else value  # type: ignore[type-var]


@dataclass(frozen=True, slots=True)
class Materialization:
    """One attempt to materialize one asset (partition): what went in, what came out."""

    id: str
    asset_key: str
    status: RecordStatus
    code_version: str
    run_id: str
    trigger: str
    started_at: datetime
    ended_at: datetime
    partition: str = ""
    data_version: str | None = None
    input_versions: Mapping[str, str] = field(default_factory=dict)
    artifact_uri: str | None = None
    serializer: str | None = None
    size: BigInt | None = None
    rows: BigInt | None = None
    error: str | None = None
    traceback: str | None = None
    log: str = ""
    metadata: Mapping[str, Any] = field(default_factory=dict)
    metrics: Mapping[str, float] = field(default_factory=dict)
    git_commit: str | None = None
    git_dirty: bool | None = None
    libraries: Mapping[str, str] = field(default_factory=dict)  # distribution -> version, "python" too
    reused_from: str | None = None  # the id of the record whose artifact this one restored
    params: Mapping[str, Any] = field(default_factory=dict)  # the params it ran with (`context.params`)
    series: Mapping[str, list[Point]] = field(default_factory=dict)  # metric -> [[step, value], ...]
    git_patch: str | None = None  # when dirty: the artifact uri of the uncommitted changes (a binary git patch)

    @property
    def ok(self) -> bool:
        return self.status == SUCCESS

    def to_dict(self) -> dict[str, Any]:
        out = dict(zip(_NAMES, _VALUES(self), strict=True))  # asdict() deep-copies: 10x slower
        for name in _MAPPINGS:
            out[name] = dict(out[name])
        out["started_at"] = self.started_at.isoformat()
        out["ended_at"] = self.ended_at.isoformat()
        out["format"] = RECORD_FORMAT
        return out

    def to_json(self) -> str:
        return _encode(self.to_dict(), _FREE)

    def __reduce__(self) -> tuple[type[Materialization], tuple[Any, ...]]:
        """Pickled as its field values (a worker process sends records): the dataclass default
        copies them one by one in Python, 2x slower."""
        return type(self), _VALUES(self)

    @classmethod
    def from_json(cls, text: str | bytes) -> Materialization:
        """Parse a record file; raises `ValueError` on anything malformed."""
        return _decode(text, cls, "record")


_NAMES = tuple(f.name for f in fields(Materialization))
_VALUES = attrgetter(*_NAMES)  # every field's value, in one call
_MAPPINGS = tuple(f.name for f in fields(Materialization) if is_mapping(f))
_FREE = ("metadata", "metrics", "params", "series")  # the mappings of user values


@dataclass(frozen=True, slots=True)
class SourceObservation:
    """What a source looked like when last hashed; an unchanged size and stamp skip rehashing."""

    key: str
    path: str
    data_version: str | None  # None: the path does not exist (or matches nothing)
    size: BigInt
    mtime_ns: BigInt  # the stamp: the newest mtime or ctime of its files and folders
    observed_at: datetime


@dataclass(frozen=True, slots=True)
class Run:
    """One `materialize` invocation."""

    run_id: str
    trigger: str
    selection: str
    started_at: datetime
    ended_at: datetime | None = None
    status: str = "running"
    materialized: int = 0
    failed: int = 0
    skipped: int = 0


@dataclass(frozen=True, slots=True)
class Latest:
    """The latest successful record of an asset and its latest record of any status."""

    success: Materialization | None
    last: Materialization | None


@dataclass(frozen=True, slots=True)
class AliasEvent:
    """An alias set on (or removed from) one version of an asset; the newest event per name wins."""

    id: str
    asset_key: str
    name: str
    data_version: str | None  # None: the alias was removed
    record_id: str | None
    set_by: str
    set_at: datetime

    def to_json(self) -> str:
        doc = {f.name: getattr(self, f.name) for f in fields(self)}
        doc["set_at"] = self.set_at.isoformat()
        return json.dumps(doc, sort_keys=True)

    @classmethod
    def from_json(cls, text: str | bytes) -> AliasEvent:
        return _decode(text, cls, "alias event")


@dataclass(frozen=True, slots=True)
class CheckRecord:
    """One run of one asset check against one version of the asset (partition)."""

    id: str
    check_key: CheckKey
    asset_key: str
    partition: str
    passed: bool
    blocking: bool
    asset_data_version: str
    code_version: str
    run_id: str
    started_at: datetime
    ended_at: datetime
    metadata: Mapping[str, Any] = field(default_factory=dict)
    error: str | None = None
    traceback: str | None = None
    log: str = ""  # what the check printed or logged

    @property
    def name(self) -> str:
        return self.check_key.split(":", 1)[1]

    def to_json(self) -> str:
        doc = {f.name: getattr(self, f.name) for f in fields(self)}
        doc["metadata"] = dict(self.metadata)
        doc["started_at"], doc["ended_at"] = self.started_at.isoformat(), self.ended_at.isoformat()
        return _ENCODE(doc)

    @classmethod
    def from_json(cls, text: str | bytes) -> CheckRecord:
        return _decode(text, cls, "check record")


TICK_RUNNING, TICK_SKIPPED = "running", "skipped"  # besides SUCCESS and FAILED


@dataclass(frozen=True, slots=True)
class TickRecord:
    """One automation tick: when it was due, what it ran (a run id) and how that ended.

    Its id is the tick's (`workbench.core.automation.Tick.id`), so the first process to store it
    is the one that runs it: two watchers never run one tick twice.
    """

    id: str
    key: str  # the asset (for a source change: the source)
    partition: str
    kind: str  # schedule, freshness or source
    due_at: datetime
    reason: str
    claimed_at: datetime
    claimed_by: str  # "pid 4242 (watch)"
    run_id: str = ""
    outcome: str = TICK_RUNNING  # running, success, failed or skipped
    ended_at: datetime | None = None

    def to_json(self) -> str:
        doc = {f.name: getattr(self, f.name) for f in fields(self)}
        for name in ("due_at", "claimed_at", "ended_at"):
            doc[name] = doc[name].isoformat() if doc[name] else None
        return json.dumps(doc, sort_keys=True)

    @classmethod
    def from_json(cls, text: str | bytes) -> TickRecord:
        return _decode(text, cls, "automation tick")


_TIME_FIELDS: dict[type, tuple[str, ...]] = {
    kind: tuple(f.name for f in fields(kind) if is_time(f))
    for kind in (Materialization, AliasEvent, CheckRecord, TickRecord)
}
