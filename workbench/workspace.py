"""A loaded project with its stores: the I/O edge that `status`, `materialize` and the TUI share."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterable, Mapping
from functools import cached_property, lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from workbench.core.partitions import dynamic_names, unit_id
from workbench.core.records import Latest, SourceObservation
from workbench.core.spec import SourceSpec
from workbench.core.staleness import Status, asset_states, compute_status
from workbench.core.units import partition_keys
from workbench.errors import SelectionError
from workbench.project import Project, ProjectConfig, find_project, load_project
from workbench.run import detached

if TYPE_CHECKING:
    from workbench.core.automation import Automation
    from workbench.core.graph import AssetGraph
    from workbench.core.plan import Plan
    from workbench.run.executor import Result
    from workbench.run.reporting import Reporter
    from workbench.storage.artifacts import ArtifactStore
    from workbench.storage.base import MetadataStore
    from workbench.storage.metadata import DuckDBMetadataStore
    from workbench.versioning.codeversion import CodeInfo
    from workbench.versioning.libraries import Libraries


class Workspace:
    """One project, its metadata store and its artifact store.

    The stores are the project's own (the DuckDB index and the artifact folder or bucket its
    config names) unless others are handed in, e.g. an in-memory index for tests. Opening does no
    repair: commands call `recover()` first.
    """

    def __init__(
        self, project: Project, *, metadata: MetadataStore | None = None, artifacts: ArtifactStore | None = None
    ) -> None:
        self.project = project
        self._metadata, self._artifacts = metadata, artifacts
        self.unmatched: dict[str, list[str]] = {}  # files of partitioned sources that name no partition

    @classmethod
    def open(cls, path: str | Path | None = None, *, fresh: bool = True) -> Workspace:
        return cls(load_project(find_project(path), fresh=fresh))

    @classmethod
    def from_config(cls, config: ProjectConfig) -> Workspace:
        return cls(load_project(config))

    @property
    def root(self) -> Path:
        return self.project.root

    @property
    def graph(self) -> AssetGraph:
        return self.project.graph

    @property
    def metadata(self) -> MetadataStore:
        if self._metadata is None:
            from workbench.storage.metadata import DuckDBMetadataStore
            from workbench.versioning.gitinfo import ignore_in_git

            ignore_in_git(self.project.config.home)
            config = self.project.config
            self._metadata = DuckDBMetadataStore(config.metadata_path, cache=config.cache_dir / "newest-records.msgpack")
        return self._metadata

    def recover(self) -> Workspace:
        """Bring the index up to what is on disk, the first step of every command: index the JSON
        records a new or behind index lacks, and what runs that were killed wrote (their journals)."""
        from workbench.storage.metadata import DuckDBMetadataStore

        store = self.metadata
        if isinstance(store, DuckDBMetadataStore) and not store.complete:  # a new (deleted) or never checked index
            self._catch_up(store)
        journals = self.project.config.home / "journal"
        if journals.is_dir() and any(journals.iterdir()):  # a run is going on, or one was killed
            from workbench.run.leases import recover

            recover(journals, self.artifacts, store)
        return self

    def _catch_up(self, store: DuckDBMetadataStore) -> None:
        """Index the JSON records a missing or behind index lacks, saying so on stderr."""
        from workbench.ops.doctor import catch_up

        added, unreadable = catch_up(self.artifacts, store)
        if added.total:
            skipped = f"; {unreadable} unreadable file(s) skipped (`wb doctor` names them)" if unreadable else ""
            print(
                f"note: the metadata index {store.path} was missing or behind the JSON records;"
                f" indexed {added} from them{skipped}",
                file=sys.stderr,
            )

    @property
    def artifacts(self) -> ArtifactStore:
        if self._artifacts is None:
            from workbench.storage.artifacts import ArtifactStore

            self._artifacts = ArtifactStore(self.project.config.artifacts_url)
        return self._artifacts

    @cached_property
    def code(self) -> dict[str, CodeInfo]:
        """What each asset's and check's code version covers, by key (checks as `asset:name`)."""
        from workbench.storage.rows import paused_gc
        from workbench.versioning.codeversion import CodeVersions

        with paused_gc():  # many small objects and no cycles: the collector's passes cost ~40%
            versions = CodeVersions(self.root, self.project.config.cache_dir / "code_versions.json")
            out = {spec.key: versions.info(spec) for spec in self.graph.assets()}
            out.update((c.key, versions.info(c)) for checks in self.graph.checks.values() for c in checks)
        versions.save()
        return out

    def coverage(self, key: str) -> CodeInfo:
        """What the code version of asset `key` covers (for `wb why`)."""
        from workbench.versioning.codeversion import CodeVersions

        return CodeVersions(self.root, self.project.config.cache_dir / "code_versions.json", explain=True).info(
            self.graph.nodes[key]
        )

    @cached_property
    def code_versions(self) -> dict[str, str]:
        return {key: info.version for key, info in self.code.items()}

    @cached_property
    def _libraries(self) -> Libraries:
        from workbench.versioning.libraries import Libraries, user_cache_file

        return Libraries(user_cache_file())

    def libraries_of(self, key: str) -> dict[str, str]:
        """Versions of the installed distributions that the code of asset `key` reaches."""
        return dict(self._library_versions(self.code[key].modules))

    @cached_property
    def _library_versions(self) -> Callable[[tuple[str, ...]], dict[str, str]]:
        """`Libraries.versions`, once per set of modules (many assets reach the same ones)."""
        return lru_cache(maxsize=None)(self._libraries.versions)

    def vary(self, selection: str | None, overrides: Mapping[str, Any]) -> None:
        """Run the assets `selection` names with `overrides` of their params (`--param`), from now on."""
        from dataclasses import replace

        from workbench.core.params import vary

        self.project = replace(self.project, graph=vary(self.graph, self.select(selection), overrides))
        for computed in ("code", "code_versions"):  # a `status:` selection computed them for the declared graph
            self.__dict__.pop(computed, None)

    def observe_sources(self) -> dict[str, SourceObservation]:
        """Current source observations by unit id (one per partition of a partitioned source); new
        hashes are saved so the next look is cheap. Files of a partitioned source that name no
        partition are kept in `unmatched`, by source key."""
        from workbench.versioning.sources import observe_all

        specs = [n for n in self.graph.nodes.values() if isinstance(n, SourceSpec)]
        if not specs:
            return {}
        previous = self.metadata.observations()
        current, unmatched = observe_all(specs, self.root, previous, self.partition_keys)
        self.unmatched = {k: [p.relative_to(self.root).as_posix() for p in paths] for k, paths in unmatched.items()}
        changed = [o for k, o in current.items() if previous.get(k) != o]
        if changed:
            self.metadata.observe(changed)
        return current

    def automation(self, status: Mapping[str, Status]) -> dict[str, Automation]:
        """What each asset with a schedule or a freshness limit has due now (by key), judged on `status`."""
        from workbench.clock import now
        from workbench.core.automation import automation_of

        specs = [s for s in self.graph.assets() if s.schedule is not None or s.freshness is not None]
        if not specs:
            return {}
        return automation_of(specs, status, self.partition_keys, self.metadata.newest_ticks(), now())

    def refresh_partitions(self) -> None:
        """Forget the partition keys: daily partitions grow with the clock (a long-lived `wb watch`)."""
        self.__dict__.pop("partition_keys", None)

    @cached_property
    def partition_keys(self) -> dict[str, tuple[str, ...]]:
        """Every node's partition keys by key (() when unpartitioned)."""
        return partition_keys(self.graph, self.dynamic_keys)

    @cached_property
    def dynamic_keys(self) -> dict[str, tuple[str, ...]]:
        """The keys of each dynamic partition set, read from the store only when the project has one."""
        from workbench.core.dynamic import PartitionEvent, current_keys

        if not any(dynamic_names(n.partitions) for n in self.graph.nodes.values()):
            return {}
        return current_keys(e for e in self.artifacts.iter_partition_events() if isinstance(e, PartitionEvent))

    def partition_keys_of(self, name: str) -> tuple[str, ...]:
        return self.dynamic_keys.get(name, ())

    def forget_partition_keys(self) -> None:
        """Read partition keys afresh (a dynamic key was added or removed)."""
        for computed in ("partition_keys", "dynamic_keys"):
            self.__dict__.pop(computed, None)

    def status(self) -> dict[str, Status]:
        """The status of every unit (asset, or partition of one), keyed by unit id."""
        from workbench.storage.rows import paused_gc

        with paused_gc():  # thousands of records and statuses, all kept: no garbage to find
            return self._status()

    def _status(self) -> dict[str, Status]:
        # The store's reads wait on DuckDB, which lets go of the GIL, while this thread computes the
        # code versions (in the main thread: imports they trigger may install signal handlers).
        stored: dict[str, Any] = {}

        def read() -> None:
            stored["sources"] = {k: o.data_version for k, o in self.observe_sources().items()}
            stored["latest"] = {unit_id(k, p): found for (k, p), found in self.metadata.latest_all().items()}
            stored["checks"] = self.metadata.latest_checks() if self.graph.checks else {}

        done = _in_background(read)
        try:
            self.code  # noqa: B018 - computed here, meanwhile
        finally:
            done()
        sources, latest, checks = stored["sources"], stored["latest"], stored["checks"]
        lost = self._lost_artifacts(latest)
        libraries = {k: self.libraries_of(k) for k in self.code} if self.project.config.stale_on_library_change else None
        return compute_status(
            self.graph, self.code_versions, latest, sources, self.partition_keys, checks, lost, libraries
        )

    def _lost_artifacts(self, latest: Mapping[str, Latest]) -> frozenset[str]:
        """Units whose latest successful artifact is gone from a local store, or named by a uri that leaves it."""
        uris = {
            unit: found.success.artifact_uri
            for unit, found in latest.items()
            if found.success is not None and found.success.artifact_uri
        }
        missing = self.missing_artifacts(uris.values())
        return frozenset(unit for unit, uri in uris.items() if uri in missing) if missing else frozenset()

    def missing_artifacts(self, uris: Iterable[str]) -> set[str]:
        """The `uris` with no file in a local store, or that leave it (without importing fsspec;
        remote stores are not checked: none)."""
        from workbench.storage.artifacts import present_files

        url = self.project.config.artifacts_url
        if "://" in url and not url.startswith("file://"):
            return set()
        wanted = set(uris)
        return wanted - present_files(url.removeprefix("file://"), wanted)

    def select(self, expression: str | None, status: Mapping[str, Status] | None = None) -> tuple[str, ...]:
        """The keys `expression` selects; `status:` filters read `status` (computed when not given).

        A selection that matches nothing is bad input, unless it filters by state (`status:stale`
        matches nothing when everything is fresh)."""
        if not (expression and expression.strip()):
            return self.graph.order  # everything: no expression to parse (nor its module to import)
        from workbench.core.selection import needs_states, parse, select

        states = None
        if needs_states(parse(expression or "")):
            states = asset_states(self.status() if status is None else status, self.partition_keys)
        keys = select(self.graph, expression, states)
        if expression and expression.strip() and not keys and states is None:
            raise SelectionError(f"the selection {expression!r} matched no asset")
        return keys

    def materialize(
        self,
        selection: str | None = None,
        *,
        force: bool = False,
        only: bool = False,
        jobs: int | None = None,
        trigger: str = "api",
        reporter: Reporter | None = None,
        partitions: str | None = None,
        reuse: bool = True,
    ) -> Result:
        from workbench.run.executor import execute
        from workbench.run.reporting import NullReporter

        status = self.status()
        plan = self.plan(status, selection, force=force, only=only, partitions=partitions)
        return execute(
            self,
            plan,
            status,
            reporter or NullReporter(),
            jobs=jobs or os.cpu_count() or 1,
            trigger=trigger,
            selection=selection or "",
            reuse=reuse,
        )

    def plan(
        self,
        status: dict[str, Status],
        selection: str | None,
        *,
        force: bool = False,
        only: bool = False,
        partitions: str | None = None,
    ) -> Plan:
        from workbench.core.plan import make_plan
        from workbench.core.unitref import split_selection

        selected = self.select(selection, status)
        named = split_selection(selection)[1]
        return make_plan(
            self.graph, status, selected, force=force, only=only, keys=self.partition_keys, partitions=partitions,
            named=named,
        )


def _in_background(work: Callable[[], object]) -> Callable[[], None]:
    """Start `work` in a thread; the function returned waits for it and raises what it raised."""
    failed: list[BaseException] = []

    def run() -> None:
        try:
            work()
        except BaseException as exc:  # handed to the caller's thread
            failed.append(exc)

    thread = detached.start(run, "wb-store-read")  # an interrupted command does not wait for it

    def wait() -> None:
        thread.join()
        if failed:
            raise failed[0]

    return wait

