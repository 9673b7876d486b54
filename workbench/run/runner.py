"""Running one asset: load its inputs, call it inside the user-code boundary, store and record the output."""

from __future__ import annotations

import inspect
import shutil
import time
import traceback
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from functools import lru_cache, partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

from workbench.core.checks import CheckSpec
from workbench.core.hashing import digest
from workbench.core.kinds import annotation_name
from workbench.core.partitions import cell_params, unit_id
from workbench.core.records import FAILED, SUCCESS, CheckRecord, Materialization, utcnow
from workbench.core.spec import AssetSpec, Output, SourceSpec
from workbench.core.staleness import Status
from workbench.core.units import InputRef
from workbench.errors import InputError
from workbench.run import serializers
from workbench.run.capture import captured, tail
from workbench.run.checks import run_check
from workbench.run.context import AssetContext, Upstream, running
from workbench.run.deadline import within
from workbench.run.handoff import Handoff
from workbench.run.ids import new_id
from workbench.versioning.gitinfo import GitInfo
from workbench.versioning.sources import source_location

if TYPE_CHECKING:
    from workbench.storage.artifacts import ArtifactStore


@dataclass(frozen=True, slots=True)
class RunContext:
    """What every asset of one run shares."""

    run_id: str
    trigger: str
    git: GitInfo
    root: Path
    partition: str = ""
    checkpoints: Path | None = None  # where assets keep checkpoints across failed attempts
    resumable: bool = True  # `checkpoints` may hold folders of earlier attempts (False: it did not exist when the run began)
    handoff: Handoff | None = None  # tables written in this run, handed on in memory


def parameter_annotations(fn: Any) -> dict[str, Any]:
    """Parameter annotations, evaluated when possible and left as strings otherwise."""
    return dict(_parameters(fn)[1])


def _parameters(fn: Any) -> tuple[frozenset[str], tuple[tuple[str, Any], ...]]:
    """The names of `fn`'s parameters, and their annotations (evaluated when possible)."""
    try:
        return _signature_of(fn)
    except TypeError:  # an unhashable callable: not cached
        return _signature_of.__wrapped__(fn)


@lru_cache(maxsize=4096)  # an asset's function is the same object for every unit of a run
def _signature_of(fn: Any) -> tuple[frozenset[str], tuple[tuple[str, Any], ...]]:
    code = getattr(fn, "__code__", None)
    if inspect.isfunction(fn) and code is not None and not hasattr(fn, "__wrapped__"):  # a plain function: no Signature (~40 us)
        names = code.co_varnames[: code.co_argcount + code.co_kwonlyargcount + bool(code.co_flags & inspect.CO_VARARGS) + bool(code.co_flags & inspect.CO_VARKEYWORDS)]
        try:
            found = inspect.get_annotations(fn, eval_str=True)
        except Exception:  # unresolvable string annotations: fall back to the raw ones
            found = inspect.get_annotations(fn)
        return frozenset(names), tuple((name, found[name]) for name in names if name in found)
    try:
        sig = inspect.signature(fn, eval_str=True)
    except Exception:  # unresolvable string annotations: fall back to the raw ones
        sig = inspect.signature(fn)
    annotated = tuple((name, p.annotation) for name, p in sig.parameters.items() if p.annotation is not p.empty)
    return frozenset(sig.parameters), annotated


def versions_read(inputs: Mapping[str, InputRef], upstream: Mapping[str, Status]) -> dict[str, str]:
    """The data version of every input unit a run reads, by unit id."""
    return {u: upstream[u].data_version or "" for ref in inputs.values() for u in ref.units}


def restore(
    previous: Materialization,
    code_version: str,
    input_versions: Mapping[str, str],
    ctx: RunContext,
    libraries: Mapping[str, str],
) -> Materialization:
    """A new record that restores `previous` (same code, same inputs) instead of running again."""
    now = utcnow()
    return replace(
        previous,
        id=new_id(),
        code_version=code_version,
        run_id=ctx.run_id,
        trigger=ctx.trigger,
        started_at=now,
        ended_at=now,
        input_versions=dict(input_versions),
        log="",
        git_commit=ctx.git.commit,
        git_dirty=ctx.git.dirty,
        git_patch=ctx.git.patch,
        libraries=dict(libraries),
        reused_from=previous.id,
    )


def run_asset(
    spec: AssetSpec,
    inputs: Mapping[str, InputRef],
    upstream: Mapping[str, Status],
    nodes: Mapping[str, AssetSpec | SourceSpec],
    code_version: str,
    artifacts: ArtifactStore,
    ctx: RunContext,
    libraries: Mapping[str, str] | None = None,
) -> Materialization:
    """Materialize `spec` once; failures come back as a failed record, never as an exception.

    `libraries`: the versions of the installed distributions the asset's code reaches.
    """
    input_versions = versions_read(inputs, upstream)
    record = _record(spec, input_versions, code_version, ctx, libraries)
    with captured() as log:
        try:
            checkpoint = partial(_checkpoint_root, spec, ctx, code_version, input_versions)
            compute = partial(_compute_and_store, spec, inputs, upstream, nodes, artifacts, ctx, checkpoint)
            fields = within(spec.timeout, compute, f"wb-asset-{spec.key}")  # abandoned when it runs too long
        except Exception as exc:
            return record(
                status=FAILED,
                ended_at=utcnow(),
                error=f"{type(exc).__name__}: {exc}",
                traceback=_user_traceback(exc),
                log=tail(log.getvalue()),
            )
    return record(status=SUCCESS, ended_at=utcnow(), log=tail(log.getvalue()), **fields)


def unfinished(
    spec: AssetSpec,
    inputs: Mapping[str, InputRef],
    upstream: Mapping[str, Status],
    code_version: str,
    ctx: RunContext,
    libraries: Mapping[str, str] | None,
    error: str,
) -> Materialization:
    """The failed record of a run of `spec` that ended without one (its worker process died)."""
    return _record(spec, versions_read(inputs, upstream), code_version, ctx, libraries)(status=FAILED, ended_at=utcnow(), error=error)


def _record(
    spec: AssetSpec, input_versions: dict[str, str], code_version: str, ctx: RunContext, libraries: Mapping[str, str] | None
) -> partial[Materialization]:
    """A record of `spec` starting now, to complete with its outcome."""
    return partial(
        Materialization,
        id=new_id(),
        asset_key=spec.key,
        code_version=code_version,
        run_id=ctx.run_id,
        trigger=ctx.trigger,
        started_at=utcnow(),
        partition=ctx.partition,
        input_versions=input_versions,
        git_commit=ctx.git.commit,
        git_dirty=ctx.git.dirty,
        git_patch=ctx.git.patch,
        libraries=dict(libraries or {}),
    )


def _compute_and_store(
    spec: AssetSpec,
    inputs: Mapping[str, InputRef],
    upstream: Mapping[str, Status],
    nodes: Mapping[str, AssetSpec | SourceSpec],
    artifacts: ArtifactStore,
    ctx: RunContext,
    checkpoint: Callable[[], Path | None],
) -> dict[str, Any]:
    annotations = parameter_annotations(spec.fn)
    connection = None
    if any(annotation_name(a) == "DuckDBPyRelation" for a in annotations.values()):
        import duckdb

        connection = duckdb.connect()
    try:
        kwargs = {
            param: _load_ref(ref, nodes[ref.key], upstream, annotations.get(param), artifacts, ctx, connection)
            for param, ref in inputs.items()
            if param in spec.params
        }
        params = _parameters(spec.fn)[0]
        asset_ctx = AssetContext(
            spec.key,
            ctx.run_id,
            ctx.partition,
            checkpoint,
            params={**spec.hparams, **cell_params(spec.partitions, ctx.partition)},
            upstream=_upstream_facts(inputs, upstream),
        )
        if "partition" in params:
            kwargs["partition"] = ctx.partition
        if "context" in params:
            kwargs["context"] = asset_ctx
        with running(asset_ctx):
            value = spec.fn(**kwargs)
        root = asset_ctx.checkpoint_root if asset_ctx.checkpointed or ctx.resumable else None  # made now, or by an earlier attempt
        if root is not None and root.is_dir():
            shutil.rmtree(root, ignore_errors=True)
        metadata: dict[str, Any] = {**spec.metadata, **asset_ctx.metadata}
        metrics: dict[str, float] = dict(asset_ctx.metrics)
        if isinstance(value, Output):
            metadata.update(value.metadata)
            metrics.update(value.metrics)
            value = value.value
        kind = spec.io or serializers.kind_of_value(value)
        passed = _passed_through(value, kind, kwargs, inputs, upstream, nodes, artifacts)
        if passed is not None:  # the input object itself, unchanged: its stored artifact, not a new pickle
            facts: dict[str, Any] = {}
            uri, data_version, size, rows = passed.artifact_uri, passed.data_version, passed.size, None
        else:
            scratch: list[Path] = []  # the file a large value is written to, made only then

            def file(ext: str) -> Path:
                scratch.append(artifacts.scratch_path(f".{ext}"))
                return scratch[-1]

            try:
                kind, rows, facts, digest, data = serializers.serialize(value, kind, file, explicit=spec.io is not None)
                ext = serializers.EXTENSIONS[kind]
                handoff = ctx.handoff if kind == "parquet" else None
                kept = handoff.exact(value, scratch[-1] if data is None else data) if handoff is not None else None
                if data is None:
                    uri, data_version, size = artifacts.put_file(scratch[-1], ext, digest)
                else:
                    uri, data_version, size = artifacts.put_bytes(data, ext, digest)
                if handoff is not None and kept is not None:
                    handoff.keep(uri, kept)
            finally:
                for path in scratch:
                    path.unlink(missing_ok=True)
    finally:
        if connection is not None:
            connection.close()
    metadata.update(facts)
    return dict(
        data_version=data_version,
        artifact_uri=uri,
        serializer=kind,
        size=size,
        rows=rows,
        metadata=metadata,
        metrics=metrics,
        params=dict(asset_ctx.params),
        series={name: points for name, points in asset_ctx.series.items() if points},
    )


def _upstream_facts(inputs: Mapping[str, InputRef], upstream: Mapping[str, Status]) -> dict[str, dict[str, Upstream]]:
    """Per input parameter and partition, the params and metrics of the version read (sweeps pick by them)."""
    facts: dict[str, dict[str, Upstream]] = {}
    for param, ref in inputs.items():
        for unit in ref.units:
            record = upstream[unit].record
            if record is not None:
                facts.setdefault(param, {})[record.partition] = Upstream(
                    record.partition, record.data_version or "", dict(record.params), dict(record.metrics)
                )
    return facts


def _passed_through(
    value: Any,
    kind: str,
    kwargs: Mapping[str, Any],
    inputs: Mapping[str, InputRef],
    upstream: Mapping[str, Status],
    nodes: Mapping[str, AssetSpec | SourceSpec],
    artifacts: ArtifactStore,
) -> Materialization | None:
    """The record of the pickled input (or input partition) that `value` is, the very object unchanged, if any.

    Pickling an unpickled object need not give its original bytes, so `def chosen(model): return
    model` would get a new data version on every run and defeat early cutoff downstream. An input
    changed in place (`return model.fit(X, y)`) is told apart: its pickle now differs from a pickle
    of the stored original, and it is stored anew.
    """
    if kind != "pickle":
        return None  # tables and JSON are written canonically already
    for param, ref in inputs.items():
        if param not in kwargs or not isinstance(nodes[ref.key], AssetSpec):
            continue
        given = kwargs[param]
        if not ref.many:
            candidates = [(given, ref.units[0])]
        elif isinstance(given, dict):  # partitions by key (a sweep's cells): `return cells[best]`
            candidates = [(v, unit_id(ref.key, p)) for p, v in given.items() if unit_id(ref.key, p) in upstream]
        else:
            continue
        for obj, unit in candidates:
            record = upstream[unit].record
            if obj is not value or record is None or not record.artifact_uri or record.serializer != "pickle":
                continue
            now = serializers.pickled(value)
            path = artifacts.local_path(record.artifact_uri)
            if now == path.read_bytes() or now == serializers.pickled(serializers.read(path, "pickle")):
                return record
    return None


def _checkpoint_root(spec: AssetSpec, ctx: RunContext, code_version: str, inputs: Mapping[str, str]) -> Path | None:
    """Checkpoints are keyed by code and input versions: a changed asset never resumes stale work."""
    if ctx.checkpoints is None:
        return None
    parts = [part for key in sorted(inputs) for part in (key, inputs[key])]
    return ctx.checkpoints / spec.key / digest(code_version, ctx.partition, *parts)[:16]


def _load_ref(
    ref: InputRef,
    node: AssetSpec | SourceSpec,
    upstream: Mapping[str, Status],
    annotation: Any,
    artifacts: ArtifactStore,
    ctx: RunContext,
    connection: Any,
) -> Any:
    """One value, or for several partitions a frame over all of them (tables) or a dict by partition."""
    if not ref.many:
        if not ref.units:
            raise InputError(f"input {ref.key!r} has no partition {ctx.partition!r}")
        return _load_input(node, upstream[ref.units[0]], annotation, artifacts, ctx, connection)
    statuses = [upstream[u] for u in ref.units]
    if isinstance(node, SourceSpec) and annotation_name(annotation) in ("DataFrame", "LazyFrame"):
        import polars as pl

        frames = [_load_input(node, s, pl.LazyFrame, artifacts, ctx, connection) for s in statuses]
        lazy = pl.concat(frames, how="diagonal_relaxed") if frames else pl.LazyFrame()
        return lazy if annotation_name(annotation) == "LazyFrame" else lazy.collect()
    if annotation_name(annotation) in ("DataFrame", "LazyFrame"):
        paths = [_artifact_path(ref.key, s, artifacts) for s in statuses]
        import polars as pl

        frame = pl.scan_parquet(paths) if paths else pl.LazyFrame()
        return frame if annotation_name(annotation) == "LazyFrame" else frame.collect()
    return {s.partition: _load_input(node, s, None, artifacts, ctx, connection) for s in statuses}


def _artifact_path(key: str, status: Status, artifacts: ArtifactStore) -> Path:
    record = status.record
    if record is None or record.artifact_uri is None or record.serializer != "parquet":
        raise InputError(f"input {status.unit} has never been materialized as a table")
    return artifacts.local_path(record.artifact_uri)


def _load_input(
    node: AssetSpec | SourceSpec,
    status: Status,
    annotation: Any,
    artifacts: ArtifactStore,
    ctx: RunContext,
    connection: Any,
) -> Any:
    if isinstance(node, SourceSpec):
        where = source_location(node, ctx.root, status.partition)
        if status.data_version is None:
            missing = node.shown if node.observed else where.relative_to(ctx.root).as_posix()
            raise InputError(f"source {status.unit!r} has no file at {missing}")
        if node.observed:  # a URL is handed in as text; a function's source as its version
            return node.url or status.data_version
        return serializers.read_source(where, annotation, connection)
    record = status.record
    if record is None or record.artifact_uri is None or record.serializer is None:
        raise InputError(f"input {node.key!r} has never been materialized")
    if ctx.handoff is not None and record.serializer == "parquet" and serializers.reads_frame(annotation):
        frame = ctx.handoff.take(record.artifact_uri)
        if frame is not None:
            return frame
    return serializers.read(artifacts.local_path(record.artifact_uri), record.serializer, annotation, connection)


def _user_traceback(exc: BaseException) -> str:
    """The traceback from the first frame of user code on: the workbench's own frames are noise."""
    tb = exc.__traceback__
    here = Path(__file__).resolve().parent
    while tb is not None and Path(tb.tb_frame.f_code.co_filename).resolve().parent == here:
        tb = tb.tb_next
    return "".join(traceback.format_exception(type(exc), exc, tb))


def retry_delays(spec: AssetSpec) -> list[float]:
    """Seconds to wait before each retry: `retry_delay`, doubled each time (exponential backoff)."""
    return [spec.retry_delay * 2**n for n in range(spec.retries)]


def attempt(
    spec: AssetSpec,
    run: Callable[[], Materialization],
    on_retry: Callable[[str, int, str], None],
    sleep: Callable[[float], None] = time.sleep,
    again: Callable[[], bool] = lambda: True,
) -> Materialization:
    """Call `run()` up to 1 + spec.retries times while it returns a failed record (and `again()`)."""
    record = run()
    for n, delay in enumerate(retry_delays(spec)):
        if record.ok or not again():
            break
        on_retry(spec.key, n + 1, record.error or "")
        sleep(delay)
        record = run()
    return record


def run_checks(
    specs: tuple[CheckSpec, ...],
    record: Materialization,
    artifacts: ArtifactStore,
    versions: Mapping[str, str],
    run_id: str,
) -> list[CheckRecord]:
    """Run `specs` against the artifact of `record` (each check gets the value its annotation asks for)."""
    if not specs or record.artifact_uri is None or record.serializer is None or record.data_version is None:
        return []
    path = artifacts.local_path(record.artifact_uri)
    out = []
    for spec in specs:
        annotation = next(iter(parameter_annotations(spec.fn).values()), None)
        with captured():
            value = serializers.read(path, record.serializer, annotation)
            out.append(
                run_check(
                    spec,
                    value,
                    partition=record.partition,
                    data_version=record.data_version,
                    code_version=versions[spec.key],
                    run_id=run_id,
                )
            )
    return out
