"""Version references: an alias name, a full data version, a unique prefix, `latest`, `latest~N`, `best:METRIC`."""

from __future__ import annotations

import re
from typing import Protocol

from workbench.core.records import AliasEvent, Materialization
from workbench.errors import VersionRefError

LATEST = re.compile(r"latest(?:~(\d+))?")  # all three are used with fullmatch: `$` lets "x\n" through
HEX = re.compile(r"[0-9a-f]{1,64}")
BEST = re.compile(r"best:(-?)(.+)")  # best:accuracy (highest), best:-loss (lowest)
ALIAS = re.compile(r"[A-Za-z_][A-Za-z0-9_.-]{0,63}")


class History(Protocol):
    def history(self, key: str, partition: str | None = None, limit: int | None = None) -> list[Materialization]: ...
    def find_versions(self, key: str, prefix: str) -> list[Materialization]: ...
    def aliases(self, key: str | None = None) -> list[AliasEvent]: ...


def split_ref(text: str) -> tuple[str, str | None]:
    """`KEY@REF` -> (KEY, REF); a bare KEY -> (KEY, None)."""
    key, sep, ref = text.partition("@")
    if sep and not ref:
        raise VersionRefError(f"empty version reference in {text!r}: use KEY@VERSION, KEY@ALIAS, KEY@latest or KEY@latest~N")
    return key, (ref if sep else None)


def resolve(store: History, key: str, ref: str | None) -> Materialization:
    """The successful materialization of `key` that `ref` names (None means latest)."""
    ref = (ref or "latest").strip()
    match = LATEST.fullmatch(ref)
    if match:
        back = int(match.group(1) or 0)
        versions = [m for m in store.history(key) if m.ok]
        if back >= len(versions):
            have = f"only {len(versions)} successful version(s)" if versions else "no successful version yet"
            raise VersionRefError(f"{key}@{ref}: {key} has {have}")
        return versions[back]
    best = BEST.fullmatch(ref)
    if best:
        return _best(store, key, best.group(2), lowest=bool(best.group(1)))
    alias = next((a for a in store.aliases(key) if a.name == ref), None)
    if alias is not None and alias.data_version:
        return resolve(store, key, alias.data_version)
    if not HEX.fullmatch(ref.lower()):
        raise VersionRefError(f"{key}@{ref}: no such alias, and not a version (a data version, a prefix, latest~N)")
    found: dict[str | None, Materialization] = {}
    for m in store.find_versions(key, ref.lower()):  # newest first: keep the newest record per version
        found.setdefault(m.data_version, m)
    if not found:
        raise VersionRefError(f"{key}@{ref}: no version of {key} starts with {ref!r}")
    if len(found) > 1:
        raise VersionRefError(f"{key}@{ref}: ambiguous prefix, matches {', '.join(sorted(v or '' for v in found)[:5])}")
    return next(iter(found.values()))


def _best(store: History, key: str, metric: str, lowest: bool) -> Materialization:
    """The successful version (of any partition) with the highest (or lowest) `metric`; the newest on a tie."""
    scored = [m for m in store.history(key) if m.ok and isinstance(m.metrics.get(metric), (int, float))]
    if not scored:
        raise VersionRefError(f"{key}@best:{'-' if lowest else ''}{metric}: no successful version of {key} has metric {metric!r}")
    pick = min if lowest else max
    return pick(scored, key=lambda m: m.metrics[metric])


def shown(store: History, key: str, ref: str | None) -> tuple[Materialization | None, Materialization | None]:
    """What `wb show KEY[@REF]` shows: the version `ref` names (default: the latest successful one,
    unless the latest attempt failed) and, without `ref`, the latest attempt of any status."""
    last = next(iter(store.history(key, limit=1)), None)
    record = resolve(store, key, ref) if (ref or (last and last.ok)) else None
    return record, (last if ref is None else None)


def diff_refs(first: str, second: str) -> tuple[tuple[str, str | None], tuple[str, str | None]]:
    """The two versions `wb diff FIRST SECOND` compares: `KEY@A B` means `KEY@A KEY@B`."""
    (key_a, ref_a), (key_b, ref_b) = split_ref(first), split_ref(second)
    if key_b != key_a and "@" not in second:
        key_b, ref_b = key_a, second
    return (key_a, ref_a), (key_b, ref_b)
