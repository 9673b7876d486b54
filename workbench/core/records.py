"""Domain values shared by the core and the stores: materialization records, runs, observations.

A `Materialization` is immutable; its JSON form (`to_json`/`from_json`) is the record file
written to the artifact store, from which the DuckDB index can always be rebuilt.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from datetime import datetime, timezone
from typing import Any

RECORD_FORMAT = 1
SUCCESS = "success"
FAILED = "failed"
TRIGGERS = frozenset({"cli", "watch", "tui", "push", "api"})
MAPPINGS = ("input_versions", "metadata", "metrics", "libraries", "params", "series")


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


_NONE = type(None)
_TEXT, _MAYBE_TEXT, _MAYBE_INT, _FLAG, _MAYBE_FLAG = (str,), (str, _NONE), (int, _NONE), (bool,), (bool, _NONE)


def _check_types(doc: Mapping[str, Any], types: Mapping[str, tuple[type, ...]]) -> None:
    """`ValueError` unless every field of `doc` named in `types` has one of its types (ints fit BIGINT)."""
    for name, allowed in types.items():
        if name not in doc:
            continue
        value = doc[name]
        ok = isinstance(value, allowed) and (bool in allowed or not isinstance(value, bool))
        if ok and isinstance(value, int) and not isinstance(value, bool):
            ok = -(2**63) <= value < 2**63
        if not ok:
            raise ValueError(f"record field {name} is not {' or '.join(t.__name__ for t in allowed)}: {value!r:.40}")


def _is_series(value: Any) -> bool:
    number = (int, float)
    return isinstance(value, list) and all(
        isinstance(p, list) and len(p) == 2 and all(isinstance(x, number) and not isinstance(x, bool) for x in p)
        for p in value
    )


def _time(value: Any) -> datetime:
    """An ISO timestamp; one without a zone is taken as UTC (so that it compares with the others)."""
    if not isinstance(value, str):
        raise ValueError(f"timestamp {value!r:.40} is not ISO text")
    parsed = datetime.fromisoformat(value)
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)


_MATERIALIZATION_TYPES = {
    **dict.fromkeys(("id", "asset_key", "status", "code_version", "run_id", "trigger", "partition", "log"), _TEXT),
    **dict.fromkeys(
        ("data_version", "artifact_uri", "serializer", "error", "traceback", "git_commit", "reused_from"), _MAYBE_TEXT
    ),
    **dict.fromkeys(("size", "rows"), _MAYBE_INT),
    "git_dirty": _MAYBE_FLAG,
}


@dataclass(frozen=True, slots=True)
class Materialization:
    """One attempt to materialize one asset (partition): what went in, what came out."""

    id: str
    asset_key: str
    status: str
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
    size: int | None = None
    rows: int | None = None
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
    series: Mapping[str, list[list[float]]] = field(default_factory=dict)  # metric -> [[step, value], ...]

    @property
    def ok(self) -> bool:
        return self.status == SUCCESS

    def to_dict(self) -> dict[str, Any]:
        out = {f.name: getattr(self, f.name) for f in fields(self)}  # asdict() deep-copies: 10x slower
        for name in MAPPINGS:
            out[name] = dict(out[name])
        out["started_at"] = self.started_at.isoformat()
        out["ended_at"] = self.ended_at.isoformat()
        out["format"] = RECORD_FORMAT
        return out

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), sort_keys=True, default=str)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Materialization:
        """Parse a record; raises `ValueError` on anything malformed."""
        if not isinstance(data, Mapping):
            raise ValueError("record is not a JSON object")
        names = {f.name for f in fields(cls)}
        kwargs = {k: v for k, v in data.items() if k in names}
        missing = {"id", "asset_key", "status", "code_version", "run_id", "trigger", "started_at", "ended_at"} - set(kwargs)
        if missing:
            raise ValueError(f"record lacks {', '.join(sorted(missing))}")
        _check_types(kwargs, _MATERIALIZATION_TYPES)
        for key in ("started_at", "ended_at"):
            kwargs[key] = _time(kwargs[key])
        for key in MAPPINGS:
            if not isinstance(kwargs.get(key, {}), Mapping):
                raise ValueError(f"record field {key} is not an object")
        for key in ("input_versions", "libraries"):
            if not all(isinstance(v, str) for v in kwargs.get(key, {}).values()):
                raise ValueError(f"record field {key} maps to something other than versions")
        if not all(_is_series(v) for v in kwargs.get("series", {}).values()):
            raise ValueError("record field series maps to something other than [[step, value], ...]")
        if kwargs["status"] not in (SUCCESS, FAILED):
            raise ValueError(f"record status {kwargs['status']!r} is unknown")
        return cls(**kwargs)

    @classmethod
    def from_json(cls, text: str) -> Materialization:
        return cls.from_dict(json.loads(text))


@dataclass(frozen=True, slots=True)
class SourceObservation:
    """What a source looked like when last hashed; an unchanged size and stamp skip rehashing."""

    key: str
    path: str
    data_version: str | None  # None: the path does not exist (or matches nothing)
    size: int
    mtime_ns: int  # the stamp: the newest mtime or ctime of its files and folders
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
    def from_json(cls, text: str) -> AliasEvent:
        doc = json.loads(text)
        if not isinstance(doc, dict) or not {"id", "asset_key", "name", "set_by", "set_at"} <= set(doc):
            raise ValueError("alias event lacks required fields")
        _check_types(doc, {**dict.fromkeys(("id", "asset_key", "name", "set_by"), _TEXT),
                           **dict.fromkeys(("data_version", "record_id"), _MAYBE_TEXT)})  # fmt: skip
        doc["set_at"] = _time(doc["set_at"])
        values: dict[str, Any] = {f.name: doc.get(f.name) for f in fields(cls)}
        return cls(**values)


@dataclass(frozen=True, slots=True)
class CheckRecord:
    """One run of one asset check against one version of the asset (partition)."""

    id: str
    check_key: str  # "asset:check_name"
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
        return json.dumps(doc, sort_keys=True, default=str)

    @classmethod
    def from_json(cls, text: str) -> CheckRecord:
        doc = json.loads(text)
        names = [f.name for f in fields(cls)]
        if not isinstance(doc, dict) or not set(names) - {"metadata", "error", "traceback", "log"} <= set(doc):
            raise ValueError("check record lacks required fields")
        _check_types(doc, {**dict.fromkeys(("id", "check_key", "asset_key", "partition", "asset_data_version",
                                            "code_version", "run_id", "log"), _TEXT),
                           "passed": _FLAG, "blocking": _FLAG, "error": _MAYBE_TEXT, "traceback": _MAYBE_TEXT})  # fmt: skip
        if ":" not in doc["check_key"] or not isinstance(doc.get("metadata", {}), Mapping):
            raise ValueError("check record has a malformed check_key or metadata")
        for key in ("started_at", "ended_at"):
            doc[key] = _time(doc[key])
        return cls(**{n: doc[n] for n in names if n in doc})
