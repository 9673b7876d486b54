"""Kill `wb materialize` with SIGKILL at chosen points, trial after trial, and check what each kill left.

Run by `test_crash_safety.py` as `python crash_trials.py PROJECT SEED PLAN`; prints one JSON
document. This launcher imports workbench once (but neither polars nor pyarrow, whose import starts
threads) and forks a child for every `wb` command, which runs the CLI's own `main()`; so a trial
costs the work, not an interpreter start. The child kills itself, always at its trial's point and
never by a timer, so every trial is the kill it claims to be (the seed picks n and the variants):

  asset     halfway through the n-th asset's body (the project's assets call `halfway(key)`, which
            kills the process when the environment names that asset)
  artifact  the n-th artifact's scratch file is cut short while written, then the process dies
  publish   just before or just after the n-th artifact is renamed to its content address
  record    while the run log appends the n-th job's records (cut short), or just after
  index     inside the index session: after the INSERT, before the DuckDB file is released
  line      at the n-th line the run executes (any thread) in the code that runs assets and writes
            the store (`workbench/run/`, `storage/`), n drawn from the lines a forced run executes
            there: a kill anywhere on the write path, where no point was armed

After every kill: `wb status` must work; no file at an artifact's final name is partial; every
record parses (a run log's last line may be cut short) and no successful record points at a
missing or partial artifact; the next
`wb materialize` succeeds and leaves every asset fresh.
"""

from __future__ import annotations

import itertools
import json
import os
import random
import re
import signal
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from types import FrameType
from typing import Any

import workbench.storage.artifacts as artifacts_module
import workbench.storage.metadata as metadata_module
import workbench.storage.run_log as run_log_module
from workbench.storage.artifacts import ArtifactStore, RecordProblem

import workbench.cli
import workbench.cli.views
import workbench.run.executor
import workbench.run.runner
import workbench.run.serializers
import workbench.workspace  # noqa: F401 - preloaded so that children start fast
from workbench.core.hashing import file_digest
from workbench.core.records import Materialization

POINTS = ("asset", "artifact", "publish", "record", "index", "line")
ASSETS = ("blob", "table", "summary", "report")  # the project's, in the order of the graph
REPO = Path(__file__).resolve().parents[2]
KILL_IN = "CRASH_TRIAL_KILL_IN"  # the asset whose body kills the process (read by the project's `halfway`)
# where `line` kills land: the code that runs assets and writes the store (not loading or planning)
WRITE_PATH = tuple(str(Path(m.__file__).resolve().parent) + os.sep for m in (workbench.run.runner, artifacts_module))


def die() -> None:
    os.kill(os.getpid(), signal.SIGKILL)


def trace_lines(nth: int) -> Callable[[], int]:
    """Count the lines of `WRITE_PATH` code this process runs from now on, in every thread it starts,
    and kill it at the `nth` (0: never), saying where on stderr; returns the count so far."""
    lines = itertools.count(1)
    ran = 0

    def line(frame: FrameType, event: str, arg: Any) -> Any:
        nonlocal ran
        if event == "line":
            ran = next(lines)
            if ran == nth:
                os.write(2, f"killed at {frame.f_code.co_filename}:{frame.f_lineno}\n".encode())
                die()
        return line

    def call(frame: FrameType, event: str, arg: Any) -> Any:
        return line if frame.f_code.co_filename.startswith(WRITE_PATH) else None

    threading.settrace(call)
    sys.settrace(call)
    return lambda: ran


def arm(point: str, nth: int, rng: random.Random) -> None:
    """Patch the child so that it kills itself at `point`, the `nth` time it gets there."""
    calls = itertools.count(1)

    def hit() -> bool:
        return next(calls) == nth

    if point == "asset":
        os.environ[KILL_IN] = ASSETS[nth - 1]
    elif point == "line":
        trace_lines(nth)
    elif point == "artifact":
        real_serialize = workbench.run.serializers.serialize

        def serialize(value: Any, kind: str, file: Callable[[str], Path], **options: Any) -> Any:
            made: list[Path] = []

            def tracked(ext: str) -> Path:
                made.append(file(ext))
                return made[-1]

            out = real_serialize(value, kind, tracked, **options)
            if hit():  # killed halfway through writing the artifact's scratch file
                if out.data is not None:
                    file("bin").write_bytes(bytes(out.data)[: int(len(out.data) * rng.random())])
                else:
                    os.truncate(made[-1], int(made[-1].stat().st_size * rng.random()))
                die()
            return out

        workbench.run.serializers.serialize = serialize  # type: ignore[assignment]
    elif point == "publish":
        real_move = artifacts_module._move
        before = rng.random() < 0.5

        def move(source: Path, dest: Path) -> None:
            if not dest.parent.is_dir():  # fails; the store makes the folder and moves again
                return real_move(source, dest)
            if hit():
                if before:
                    die()
                real_move(source, dest)
                die()
            real_move(source, dest)

        artifacts_module._move = move
    elif point == "record":
        real_write = run_log_module.RunLog._write
        partial = rng.random() < 0.5

        def write(self: Any, data: bytes) -> None:
            """The run log's own append of the n-th job's records, killed after a part of its bytes or just after."""
            if hit():
                real_write(self, data[: rng.randrange(len(data))] if partial else data)
                die()
            real_write(self, data)

        run_log_module.RunLog._write = write  # type: ignore[method-assign]
    elif point == "index":
        real_insert = metadata_module._insert_many

        def insert_many(conn: Any, verb: str, codec: Any, values: Any) -> int:
            n = real_insert(conn, verb, codec, values)
            if codec.table == "materializations" and hit():
                die()
            return n

        metadata_module._insert_many = insert_many


def run(*commands: list[str], point: str = "", nth: int = 0, rng: random.Random | None = None,
        count_lines: bool = False, timeout: float = 120.0) -> list[dict[str, Any]]:
    """`wb COMMAND` for each command, one after the other, in one forked child (a fresh process after
    a kill, without an interpreter start); killed at `point` (armed). `count_lines`: each result
    also says how many `WRITE_PATH` lines the child had run when its command ended."""
    files = [(tempfile.TemporaryFile(), tempfile.TemporaryFile(), tempfile.TemporaryFile()) for _ in commands]
    started = time.perf_counter()
    pid = os.fork()
    if pid == 0:  # the child: never returns
        try:
            if point:
                arm(point, nth, rng or random.Random())
            counted = trace_lines(0) if count_lines else None
            for args, (out, err, code) in zip(commands, files, strict=True):
                os.dup2(out.fileno(), 1)
                os.dup2(err.fileno(), 2)
                try:
                    workbench.cli.main(args)
                except SystemExit as exc:
                    code.write(str(exc.code if isinstance(exc.code, int) else 0).encode())
                    code.flush()
                except BaseException as exc:  # noqa: BLE001 - report anything, the parent judges
                    print(f"launcher child crashed: {exc!r}", file=sys.stderr)
                if counted is not None:
                    print(f"lines run: {counted()}", file=sys.stderr)
                sys.stdout.flush()
                sys.stderr.flush()
        finally:
            os._exit(0)
    deadline = time.monotonic() + timeout
    while not os.waitpid(pid, os.WNOHANG)[0]:
        if time.monotonic() > deadline:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
            raise TimeoutError(f"wb {commands} did not end in {timeout} s")
        time.sleep(0.005)
    seconds = time.perf_counter() - started
    results = []
    for out, err, code in files:
        out.seek(0), err.seek(0), code.seek(0)
        exit_code = code.read().decode()
        results.append({
            "code": int(exit_code) if exit_code else None,  # None: killed before it ended
            "out": out.read().decode(errors="replace"),
            "err": err.read().decode(errors="replace"),
            "seconds": seconds,
        })
    return results


class Store:
    """File-level checks of the artifact store, remembering which objects were already verified."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.verified: set[str] = set()

    def problems(self) -> list[str]:
        found = []
        for path in sorted((self.root / "objects").rglob("*")):
            if path.is_file() and str(path) not in self.verified:
                if file_digest(path) != path.name.split(".", 1)[0]:
                    found.append(f"partial artifact at its final name: {path.relative_to(self.root)}")
                else:
                    self.verified.add(str(path))
        for record in ArtifactStore(str(self.root)).iter_records():
            if isinstance(record, RecordProblem):
                found.append(f"unreadable record {record.uri}: {record.message}")
                continue
            if record.ok and str(self.root / (record.artifact_uri or "-")) not in self.verified:
                target = self.root / (record.artifact_uri or "-")
                if not target.is_file():
                    found.append(f"record {record.id} points at a missing artifact {record.artifact_uri}")
                elif file_digest(target) != record.data_version:
                    found.append(f"record {record.id} points at a partial artifact {record.artifact_uri}")
        return found


def counts(store: Store) -> tuple[int, int]:
    """(records, scratch files) in the store."""
    scratch = store.root / "tmp"
    written = sum(isinstance(r, Materialization) for r in ArtifactStore(str(store.root)).iter_records())
    return written, len(list(scratch.iterdir())) if scratch.is_dir() else 0


def trial(project: Path, store: Store, point: str, rng: random.Random, lines: int) -> dict[str, Any]:
    """One forced run killed at `point`, then `wb status`, `wb materialize` and `wb status` again.
    `lines`: how many `WRITE_PATH` lines a forced run executes (the range of a `line` kill)."""
    p = ["-p", str(project)]
    records_before, scratch_before = counts(store)
    nth = {"index": 1, "line": rng.randint(1, lines * 9 // 10)}.get(point) or rng.randint(1, len(ASSETS))
    (crash,) = run(["materialize", "--force", *p], point=point, nth=nth, rng=rng)
    problems = store.problems()
    records_after, scratch_after = counts(store)
    status, recover, after = run(["status", "--json", *p], ["materialize", "--json", *p], ["status", "--json", *p])
    where = re.search(r"killed at (.*)", crash["err"])
    outcome: dict[str, Any] = {
        "point": point, "nth": nth, "killed": crash["code"] is None, "problems": problems,
        "records_written": records_after - records_before, "scratch_left": scratch_after - scratch_before,
        "where": os.path.relpath(where.group(1), REPO) if where else None,
    }  # fmt: skip
    for name, result in (("status", status), ("recover", recover), ("status_after", after)):
        clean = result["code"] == 0 and "Traceback" not in result["err"] and "internal error" not in result["err"]
        outcome[name] = "ok" if clean else f"exit {result['code']}: {result['err'][-2000:]}"
    if outcome["status_after"] == "ok":
        outcome["stale_after"] = sorted(row["key"] for row in json.loads(after["out"]) if row["state"] != "fresh")
    if outcome["recover"] == "ok":
        outcome["recovered"] = json.loads(recover["out"])["materialized"]
    return outcome


def main() -> None:
    project, seed, plan = Path(sys.argv[1]), int(sys.argv[2]), sys.argv[3].split(",")
    os.environ["NO_COLOR"] = "1"
    os.environ.pop("WORKBENCH_HOME", None)
    rng = random.Random(seed)
    store = Store(project / ".workbench" / "artifacts")
    (first,) = run(["materialize", "--json", "-p", str(project)])
    assert first["code"] == 0, first["err"]
    assert sorted(json.loads(first["out"])["materialized"]) == sorted(ASSETS), first["out"]
    (forced,) = run(["materialize", "--force", "-p", str(project)], count_lines=True)
    lines = int(re.findall(r"lines run: (\d+)", forced["err"])[-1])
    trials = [trial(project, store, point, rng, lines) for point in plan]
    print(json.dumps({"seed": seed, "forced_run_seconds": forced["seconds"], "forced_run_lines": lines, "trials": trials}))


if __name__ == "__main__":
    main()
