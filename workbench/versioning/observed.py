"""Observed sources: a version from a cheap look instead of file bytes, taken every `poll` seconds.

An fsspec URL is versioned by what its store says about the object (the ETag where there is one,
else size and modification time: S3, GCS, HTTP, local files); a function by the text it returns
(Dagster's observable source assets). A look newer than the poll interval is reused.
"""

from __future__ import annotations

from datetime import datetime

from workbench.clock import now
from workbench.core.hashing import digest
from workbench.core.records import SourceObservation
from workbench.core.spec import SourceSpec
from workbench.errors import ObservationError

_ETAGS = ("ETag", "etag", "md5Hash", "md5", "crc32c")
_TIMES = ("LastModified", "last_modified", "mtime", "updated", "modified")


def observe_observed(spec: SourceSpec, previous: SourceObservation | None) -> SourceObservation:
    """A new observation, or `previous` while it is younger than the poll interval."""
    at = now()
    if previous is not None and previous.path == spec.shown and 0 <= _age(previous.observed_at, at) < spec.poll:
        return previous
    version, size = _look_at_function(spec) if spec.observe is not None else _look_at_url(spec.url)
    return SourceObservation(spec.key, spec.shown, version, size, 0, at)


def _age(then: datetime, at: datetime) -> float:
    return (at - then).total_seconds()


def _look_at_function(spec: SourceSpec) -> tuple[str, int]:
    assert spec.observe is not None
    try:
        value = spec.observe()
    except Exception as exc:  # the user's function: its error is the message
        raise ObservationError(f"source {spec.key!r}: {spec.shown} raised {type(exc).__name__}: {exc}") from exc
    if not isinstance(value, str):
        raise ObservationError(f"source {spec.key!r}: {spec.shown} returned {type(value).__name__}, not a version string")
    return digest("observed", value), len(value)


def _look_at_url(url: str) -> tuple[str | None, int]:
    """(version, size) of the object at `url`; (None, 0) when there is none."""
    from fsspec.core import url_to_fs

    try:
        fs, path = url_to_fs(url)
        info = fs.info(path)
    except FileNotFoundError:
        return None, 0
    except ImportError as exc:
        raise ObservationError(f"cannot observe {url}: its fsspec driver is not installed ({exc})") from exc
    except Exception as exc:  # network, credentials: one line, and watch tries again at the next poll
        raise ObservationError(f"cannot observe {url}: {type(exc).__name__}: {exc}") from exc
    size = int(info.get("size") or 0)
    etag = next((str(info[k]) for k in _ETAGS if info.get(k)), "")
    stamp = "" if etag else next((str(info[k]) for k in _TIMES if info.get(k)), "")
    return digest("url", etag, str(size), stamp), size
