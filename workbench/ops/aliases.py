"""Model-registry style aliases (`champion`, `production`): names pinned to one version of an asset."""

from __future__ import annotations

import getpass
import os
import uuid
from typing import TYPE_CHECKING

from workbench.core.records import AliasEvent, utcnow
from workbench.core.versions import ALIAS, HEX, LATEST, resolve
from workbench.errors import VersionRefError

if TYPE_CHECKING:
    from workbench.workspace import Workspace


def who() -> str:
    try:
        return os.environ.get("WORKBENCH_USER") or getpass.getuser()
    except (KeyError, OSError):  # no login name in some containers
        return "unknown"


def check_name(name: str) -> str:
    if not ALIAS.fullmatch(name) or LATEST.fullmatch(name) or HEX.fullmatch(name):
        raise VersionRefError(
            f"invalid alias name {name!r}: use a word such as 'champion' (letters, digits, _ . -), "
            "not 'latest' or something that reads as a version"
        )
    return name


def set_alias(ws: Workspace, key: str, ref: str | None, name: str) -> AliasEvent:
    """Point `name` at the version of `key` that `ref` names (moving it if it was elsewhere)."""
    record = resolve(ws.metadata, key, ref)
    if not record.artifact_uri or not ws.artifacts.exists(record.artifact_uri):
        raise VersionRefError(
            f"{key}@{ref or 'latest'} ({(record.data_version or '')[:12]}): its artifact was deleted (wb gc), "
            "so the alias could not be loaded; materialize that version again first"
        )
    return _record(ws, AliasEvent(uuid.uuid4().hex, key, check_name(name), record.data_version, record.id, who(), utcnow()))


def remove_alias(ws: Workspace, key: str, name: str) -> AliasEvent:
    if not any(a.name == name for a in ws.metadata.aliases(key)):
        raise VersionRefError(f"{key} has no alias {name!r}")
    return _record(ws, AliasEvent(uuid.uuid4().hex, key, name, None, None, who(), utcnow()))


def _record(ws: Workspace, event: AliasEvent) -> AliasEvent:
    """JSON first (the store of truth), then the index."""
    ws.artifacts.write_alias_event(event)
    ws.metadata.add_alias_events([event])
    return event
