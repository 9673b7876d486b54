"""The rows of `wb status` kept between commands, under a key over everything that decides them.

At 100,000 assets, reading the newest records, judging every asset and building its row costs
seconds of Python per command, while a project and its store rarely change between two looks.
The key covers every input of the answer, taken afresh each time: the graph as imported now
(each node's key, kind, group, parents and source path), every code version, the ids of each
asset's newest record and newest successful record (records are immutable, so the ids fix every
value shown), the sources' data versions and unmatched files, and this workbench's own code.
Whether the artifacts the rows rely on are still in the store is checked again on every look.
Any difference is a miss: the rows are computed as before, and kept under the new key. Projects
with checks, partitions, schedules, freshness limits or `stale_on_library_change` are not kept:
their answer also depends on check results, the clock or installed libraries. The file is signed
with the user's key (`workbench.versioning.signed`), so one planted in the project is ignored.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from pathlib import Path

import msgspec
import xxhash

from workbench.core.spec import SourceSpec
from workbench.core.staleness import R_ARTIFACT_MISSING, Status
from workbench.versioning import signed
from workbench.workspace import Workspace

__all__ = ["StatusCache"]

FORMAT = "status-rows-2"


class StatusCache:
    """The kept rows of one project's `wb status`, in graph order: as JSON texts, and as the cells
    of its table (lists of text, as the front end gives them)."""

    def __init__(self, ws: Workspace) -> None:
        self.ws = ws
        self.path = ws.project.config.cache_dir / "status-rows.msgpack"

    @classmethod
    def of(cls, ws: Workspace) -> StatusCache | None:
        """The cache of `ws`, or None when its answer depends on more than the key covers."""
        graph = ws.graph
        plain = not ws.project.config.stale_on_library_change and not any(graph.checks.values())
        if plain and all(
            n.partitions is None and getattr(n, "schedule", None) is None and getattr(n, "freshness", None) is None
            for n in graph.nodes.values()
        ):
            return cls(ws)
        return None

    def rows(self) -> tuple[list[str], list[list[str]]] | None:
        """The kept rows (texts, cells) if every input is as it was when they were kept, else None."""
        sources = {unit: found.data_version for unit, found in self.ws.observe_sources().items()}
        ids = self.ws.metadata.newest_ids()
        newest = [ids.get((key, "")) for key in self.ws.graph.order]
        body = signed.read(self.path, FORMAT, self._key(newest, sources))
        if body is None:
            return None
        try:
            texts, cells, uris, missing = msgspec.msgpack.decode(body)
        except (ValueError, TypeError, msgspec.DecodeError):
            return None
        return (texts, cells) if self.ws.missing_artifacts(uris) == set(missing) else None

    def keep(self, texts: list[str], cells: Sequence[Sequence[str]], status: Mapping[str, Status]) -> None:
        """Keep the rows computed from `status` (the inputs are read back from it)."""
        found = {st.key: (st.last.id, st.record.id if st.record else None) for st in status.values() if st.last}
        newest = [found.get(key) for key in self.ws.graph.order]
        sources = {st.key: st.data_version for st in status.values() if self.ws.graph.is_source(st.key)}
        built = {st.record.artifact_uri: st for st in status.values() if st.record is not None and st.record.artifact_uri}
        uris = sorted(built)
        missing = sorted(uri for uri, st in built.items() if any(r.kind == R_ARTIFACT_MISSING for r in st.reasons))
        try:
            body = msgspec.msgpack.encode([texts, cells, uris, missing])
        except ValueError:  # text msgpack cannot hold (a lone surrogate from user code): computed each time
            return
        signed.write(self.path, FORMAT, body, self._key(newest, sources))

    def _key(self, newest: list[tuple[str, str | None] | None], sources: Mapping[str, str | None]) -> str:
        """`newest`: the ids of each node's newest record and newest successful one, in graph order."""
        graph, codes = self.ws.graph, self.ws.code_versions
        order, nodes = graph.order, graph.nodes
        shown = [(key, source.shown) for key, source in nodes.items() if isinstance(source, SourceSpec)]
        parts = [
            FORMAT,
            _own_code(),
            order,
            [graph.parents[key] for key in order],
            [nodes[key].group for key in order],
            shown,
            [codes.get(key) for key in order],
            newest,
            [sources.get(key) for key, _ in shown],
            sorted(self.ws.unmatched.items()),
        ]
        return xxhash.xxh3_128_hexdigest(json.dumps(parts).encode())


def _own_code() -> list[tuple[str, int, int]]:
    """This workbench's version and the stamp of each of its source files (an edited checkout counts)."""
    import workbench.storage

    found = [(workbench.__version__, 0, 0)]
    for package in (workbench.__file__, workbench.storage.__file__):
        for folder, _, files in os.walk(Path(str(package)).parent):
            for name in sorted(files):
                if name.endswith(".py"):
                    stat = os.stat(os.path.join(folder, name))
                    found.append((os.path.join(folder, name), stat.st_mtime_ns, stat.st_size))
    return sorted(found)
