"""`wb reproduce KEY@REF`: rerun a recorded version from its git commit and recorded inputs.

The commit is checked out in a temporary git worktree; the asset runs there with the exact input
versions the record names (read from this project's store) into a scratch store, and the new data
version is compared with the recorded one. Nothing is recorded: a reproduction is a check.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
import uuid
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from workbench.core.partitions import split_unit
from workbench.core.records import Materialization
from workbench.core.staleness import Status
from workbench.core.versions import resolve
from workbench.errors import VersionRefError, WorkbenchError
from workbench.project import ProjectConfig, find_project
from workbench.versioning.gitinfo import GitInfo


@dataclass(frozen=True, slots=True)
class Reproduction:
    """What a rerun of `record` at its commit gave."""

    record: Materialization
    code_version: str  # computed from the checked-out code
    data_version: str | None  # None: the rerun failed
    error: str | None
    notes: tuple[str, ...]  # why it may not match: a dirty tree, a changed source, ...

    @property
    def matches(self) -> bool:
        return self.data_version is not None and self.data_version == self.record.data_version

    def to_json(self) -> dict[str, object]:
        return {
            "key": self.record.asset_key,
            "partition": self.record.partition,
            "git_commit": self.record.git_commit,
            "recorded": {"data_version": self.record.data_version, "code_version": self.record.code_version},
            "reproduced": {"data_version": self.data_version, "code_version": self.code_version},
            "matches": self.matches,
            "error": self.error,
            "notes": list(self.notes),
        }


def reproduce(project: str | None, key: str, ref: str | None) -> Reproduction:
    from workbench.storage.artifacts import ArtifactStore
    from workbench.storage.metadata import DuckDBMetadataStore

    config = find_project(project)
    store = DuckDBMetadataStore(config.metadata_path)
    artifacts = ArtifactStore(config.artifacts_url)
    record = resolve(store, key, ref)
    if not record.git_commit:
        raise VersionRefError(f"{key}@{ref or 'latest'} was not made in a git repository: there is no commit to check out")
    top = _git(config.root, "rev-parse", "--show-toplevel").strip()
    scratch = Path(tempfile.mkdtemp(prefix="wb-reproduce-"))
    tree = scratch / "tree"
    try:
        _git(config.root, "worktree", "add", "--detach", str(tree), record.git_commit)
        try:
            here = replace(
                find_project(tree / config.root.resolve().relative_to(Path(top).resolve())),
                home=scratch / "home",
                artifacts_url=str(scratch / "artifacts"),
            )
            return _rerun(here, record, store, artifacts, ArtifactStore(here.artifacts_url))
        finally:
            _git(config.root, "worktree", "remove", "--force", str(tree))
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def _rerun(config: ProjectConfig, record: Materialization, store: Any, artifacts: Any, scratch: Any) -> Reproduction:
    from workbench.core.spec import AssetSpec, SourceSpec
    from workbench.core.units import unit_inputs
    from workbench.run.runner import RunContext, run_asset
    from workbench.workspace import Workspace

    ws = Workspace.from_config(config).recover()
    spec = ws.graph.nodes.get(record.asset_key)
    if not isinstance(spec, AssetSpec):
        raise WorkbenchError(f"{record.asset_key} is not an asset at commit {(record.git_commit or '')[:12]}")
    variant = {k: v for k, v in record.params.items() if k in spec.hparams and spec.hparams[k] != v}
    if variant:  # a `--param` run: rerun it with the params it ran with
        ws.vary(spec.key, variant)
        spec = ws.graph.nodes[spec.key]
        assert isinstance(spec, AssetSpec)
    notes = ["the version was made with uncommitted changes, which were not stored"] if record.git_dirty else []
    inputs = unit_inputs(ws.graph, ws.partition_keys, spec.key, record.partition)
    sources = ws.observe_sources()
    upstream: dict[str, Status] = {}
    for ref in inputs.values():
        for unit in ref.units:
            key, partition = split_unit(unit)
            wanted = record.input_versions.get(unit)
            if isinstance(ws.graph.nodes[key], SourceSpec):
                found = sources[key].data_version
                if found != wanted:
                    notes.append(f"source {key} at that commit is not the file the version read")
                upstream[unit] = Status(key, "fresh", (), None, found, None, None, partition)
                continue
            parent = _stored(store, key, partition, wanted)
            if parent is None:
                raise WorkbenchError(f"input {unit}@{(wanted or '')[:12]} is no longer in the store (wb gc?)")
            _copy(artifacts, scratch, parent.artifact_uri or "")
            upstream[unit] = Status(key, "fresh", (), parent.code_version, parent.data_version, parent, parent, partition)
    code_version = ws.code_versions[spec.key]
    if code_version != record.code_version:
        notes.append("the code version computed at that commit differs from the recorded one")
    ctx = RunContext(uuid.uuid4().hex, "cli", GitInfo(record.git_commit, False), config.root, record.partition)
    rerun = run_asset(spec, inputs, upstream, ws.graph.nodes, code_version, scratch, ctx, ws.libraries_of(spec.key))
    return Reproduction(record, code_version, rerun.data_version if rerun.ok else None, rerun.error, tuple(notes))


def _copy(source: Any, dest: Any, uri: str) -> None:
    """Put the artifact `uri` of store `source` into store `dest` (under the same content address)."""
    local = dest.scratch_path(Path(uri).suffix)
    shutil.copyfile(source.local_path(uri), local)
    copied, _, _ = dest.put_file(local, Path(uri).suffix)
    if copied != uri:
        raise WorkbenchError(f"artifact {uri} does not hold the bytes its name says")


def _stored(store: Any, key: str, partition: str, data_version: str | None) -> Materialization | None:
    if not data_version:
        return None
    found = [m for m in store.find_versions(key, data_version) if m.partition == partition and m.artifact_uri]
    return found[0] if found else None


def _git(cwd: Path, *args: str) -> str:
    try:
        done = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, check=True)
    except FileNotFoundError as exc:
        raise WorkbenchError("wb reproduce needs git on the PATH") from exc
    except subprocess.CalledProcessError as exc:
        raise WorkbenchError(f"git {' '.join(args[:2])} failed: {exc.stderr.strip()}") from exc
    return done.stdout
