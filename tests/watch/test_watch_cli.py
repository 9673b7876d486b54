"""`wb watch` end to end: the real command and the real watchdog observer in temp projects.

Each test reads the watcher's stderr lines with a timeout and synchronizes on its `pass N done`
lines; the outcome is checked in the metadata store, never by sleeping alone.
"""

from __future__ import annotations

import json
import os
import re
import signal
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from workbench.storage.metadata import DuckDBMetadataStore

from tests.conftest import TIMEOUT, WbProcess, run_wb, wait_for
from workbench.core.records import Materialization

PIPELINE = """
from workbench import asset, source

raw = source("raw", path="data/raw.txt")


@asset
def numbers(raw):
    return [int(v) for v in raw.read_text().split()]


@asset
def doubled(numbers: list) -> list:
    return [n * 2 for n in numbers]


@asset
def total(doubled: list) -> dict:
    return {"total": sum(doubled)}


@asset
def independent() -> dict:
    return {"ok": True}
"""

SLOW = """
import time
from pathlib import Path
from workbench import asset, source

raw = source("raw", path="data/raw.txt")


@asset
def slow(raw) -> str:
    Path("../slow.started").touch()  # the watcher runs in the project folder
    while not Path("../slow.release").exists():  # the test decides when the asset is done
        time.sleep(0.01)
    return raw.read_text()


@asset
def after(slow: str) -> str:
    return slow.upper()
"""


class Watch(WbProcess):
    """A running `wb watch` whose stderr is read line by line in a thread."""

    def __init__(self, root: Path, *args: str) -> None:
        super().__init__(root, "watch", *args)

    def until_pass(self, n: int) -> list[str]:
        """The lines up to the end of pass `n` (done or failed)."""
        start = len(self.seen)
        self.expect(rf"pass {n} (done|failed)")
        return self.seen[start:]


@pytest.fixture
def watch() -> Iterator[Callable[..., Watch]]:
    started: list[Watch] = []

    def start(root: Path, *args: str) -> Watch:
        started.append(Watch(root, *args))
        return started[-1]

    yield start
    for w in started:
        w.kill()


def history(root: Path, key: str) -> list[Materialization]:
    return DuckDBMetadataStore(root / ".workbench" / "metadata.duckdb").history(key)


def artifact(root: Path, key: str) -> Any:
    """The stored value of the latest materialization of a JSON asset."""
    return json.loads((root / ".workbench" / "artifacts" / (history(root, key)[0].artifact_uri or "")).read_text())


def runs(root: Path) -> dict[str, int]:
    return {k: len(history(root, k)) for k in ("numbers", "doubled", "total", "independent")}


def stale_keys(lines: list[str]) -> list[str]:
    return [m.group(1) for line in lines if (m := re.search(r"stale  (\S+):", line))]


def edit(path: Path, old: str, new: str, *, atomic: bool = False) -> None:
    """Replace text in a file, in place or as editors' atomic save (temp file, then rename)."""
    text = path.read_text()
    assert old in text
    target = path.with_name(f".{path.name}.tmp") if atomic else path
    target.write_text(text.replace(old, new))
    if atomic:
        os.replace(target, path)


@pytest.fixture
def project(make_project) -> Path:  # type: ignore[no-untyped-def]
    return make_project({"pipeline.py": PIPELINE, "data/raw.txt": "1 2 3\n"})


def test_code_edit_reruns_exactly_the_stale_assets(project: Path, watch: Callable[..., Watch]) -> None:
    w = watch(project)
    w.until_pass(1)
    assert runs(project) == {"numbers": 1, "doubled": 1, "total": 1, "independent": 1}
    assert {r.trigger for k in ("numbers", "total") for r in history(project, k)} == {"watch"}

    edit(project / "pipeline.py", "n * 2", "n * 3", atomic=True)
    lines = w.until_pass(2)
    assert any(line.endswith("pass 2: changed pipeline.py") for line in lines), lines  # the temp file is ignored
    assert stale_keys(lines) == ["doubled", "total"]
    assert any("stale  doubled: code changed" in line for line in lines)
    assert runs(project) == {"numbers": 1, "doubled": 2, "total": 2, "independent": 1}
    assert history(project, "total")[0].trigger == "watch"

    edit(project / "pipeline.py", "def total(", "# a comment only\ndef total(")
    assert "nothing stale" in w.until_pass(3)[-1]
    assert runs(project) == {"numbers": 1, "doubled": 2, "total": 2, "independent": 1}
    assert w.stop(signal.SIGINT) == 0  # Ctrl-C while idle
    w.expect(r"stopped")


def test_source_change_reruns_downstream_and_touch_changes_nothing(project: Path, watch: Callable[..., Watch]) -> None:
    w = watch(project, "total")  # a selection: `independent` is out of scope
    w.until_pass(1)
    assert runs(project) == {"numbers": 1, "doubled": 1, "total": 1, "independent": 0}
    raw = project / "data" / "raw.txt"

    os.utime(raw)  # metadata only: not even a pass
    raw.write_text(raw.read_text())  # rewritten with the same bytes: a pass that finds nothing stale
    lines = w.until_pass(2)
    assert "pass 2: changed data/raw.txt" in lines[0] and "nothing stale" in lines[-1]
    assert runs(project) == {"numbers": 1, "doubled": 1, "total": 1, "independent": 0}

    raw.write_text("1 2 4\n")
    lines = w.until_pass(3)
    assert stale_keys(lines) == ["numbers", "doubled", "total"]
    assert any("stale  numbers: upstream raw changed" in line for line in lines)
    assert runs(project) == {"numbers": 2, "doubled": 2, "total": 2, "independent": 0}
    assert history(project, "numbers")[0].input_versions["raw"] != history(project, "numbers")[1].input_versions["raw"]


def test_a_burst_of_new_files_is_one_pass(make_project, watch: Callable[..., Watch]) -> None:  # type: ignore[no-untyped-def]
    files = {
        "pipeline.py": """
        from workbench import asset, source

        inbox = source("inbox", path="inbox")

        @asset
        def count(inbox) -> dict:
            return {"files": sum(1 for p in inbox.iterdir() if p.is_file())}
        """,
        "inbox/first.txt": "0",
    }
    root = make_project(files)
    inbox = root / "inbox"
    w = watch(root)
    w.until_pass(1)
    # "Many files copied at once": the copy holds its first file open while the others arrive, so
    # the pass waits for it whatever the machine's pace (a timing-free stand-in for a fast burst).
    with (inbox / "f00.txt").open("w") as first:
        first.write("0")
        first.flush()
        w.expect(r"waiting for writes to settle: inbox/f00\.txt")
        (inbox / ".f00.txt.swp").write_text("")  # ignored: an editor's swap file
        for i in range(1, 30):
            (inbox / f"f{i:02}.txt").write_text(str(i))
    lines = w.until_pass(2)
    assert any(line.endswith("pass 2: changed inbox/f00.txt, inbox/f01.txt, inbox/f02.txt, inbox/f03.txt, "
                             "inbox/f04.txt and 25 more") for line in lines), lines  # fmt: skip
    assert w.quiet(1.0) == []  # and no further pass
    assert len(history(root, "count")) == 2
    assert artifact(root, "count") == {"files": 32}  # the one pass saw every file (first.txt and the .swp too)


def test_definition_and_asset_errors_keep_the_watcher_alive(project: Path, watch: Callable[..., Watch]) -> None:
    w = watch(project)
    w.until_pass(1)
    code = project / "pipeline.py"

    edit(code, "def doubled(numbers: list) -> list:", "def doubled(numbers: list) -> list")
    lines = w.until_pass(2)
    assert any(re.search(r"error: syntax error in .*pipeline\.py:\d+", line) for line in lines), lines
    assert "still watching" in lines[-1] and w.proc.poll() is None

    edit(code, "def doubled(numbers: list) -> list", "def doubled(numbers: list, total: dict) -> list:")
    lines = w.until_pass(3)
    assert any("error: cycle: " in line for line in lines) and w.proc.poll() is None, lines

    edit(code, "def doubled(numbers: list, total: dict) -> list:", "def doubled(numbers: list) -> list:")
    lines = w.until_pass(4)  # fixed: back to normal work, nothing changed since the last good pass
    assert "nothing stale" in lines[-1]

    edit(code, "return [n * 2 for n in numbers]", "return [n / 0 for n in numbers]")
    lines = w.until_pass(5)
    assert any(re.search(r"failed\s+doubled .*ZeroDivisionError", line) for line in lines), lines
    assert lines[-1].endswith("materialized 0, skipped 2, failed 1 (doubled), blocked 1 (total)"), lines
    assert w.proc.poll() is None
    assert history(project, "doubled")[0].status == "failed" and len(history(project, "total")) == 1

    edit(code, "return [n / 0 for n in numbers]", "return [n * 2 for n in numbers]")
    lines = w.until_pass(6)
    assert stale_keys(lines) == ["doubled", "total"]
    assert history(project, "doubled")[0].ok
    assert w.stop() == 0


def test_changes_during_a_run_queue_for_exactly_one_more_pass(make_project, watch: Callable[..., Watch]) -> None:  # type: ignore[no-untyped-def]
    root = make_project({"pipeline.py": SLOW, "data/raw.txt": "a\n"})
    raw, started, release = root / "data" / "raw.txt", root.parent / "slow.started", root.parent / "slow.release"
    release.touch()
    w = watch(root)
    w.until_pass(1)
    started.unlink()
    release.unlink()
    raw.write_text("b\n")
    wait_for(started)  # pass 2 is under way: `slow` runs until released
    for text in ("c\n", "d\n", "e\n"):
        raw.write_text(text)
        time.sleep(0.2)  # separate saves, each after the debounce window
    release.touch()
    w.until_pass(2)
    w.expect(r"queued: \d+ change\(s\) arrived during the pass")
    lines = w.until_pass(3)
    assert "pass 3: changed data/raw.txt" in lines[0]
    assert w.quiet(1.0) == []  # and no further pass
    slow = history(root, "slow")
    assert len(slow) == 3 and all(r.ok and r.trigger == "watch" for r in slow)
    assert {row["state"] for row in _status(root)} == {"fresh"}  # the last save ("e") was picked up


def test_sigterm_mid_run_lets_the_running_asset_finish(make_project, watch: Callable[..., Watch]) -> None:  # type: ignore[no-untyped-def]
    root = make_project({"pipeline.py": SLOW, "data/raw.txt": "a\n"})
    w = watch(root)
    wait_for(root.parent / "slow.started")  # the asset's body is running
    w.proc.send_signal(signal.SIGTERM)
    w.expect(r"finishing 1 running asset\(s\); Ctrl\+C again to stop them")
    assert w.quiet(0.5) == [] and w.proc.poll() is None  # still waiting for the running asset
    (root.parent / "slow.release").touch()
    assert w.proc.wait(timeout=TIMEOUT) == 0
    w.expect(r"materialized\s+slow")
    w.expect(r"interrupted pass 1")
    w.expect(r"stopped")
    slow = history(root, "slow")
    assert len(slow) == 1 and slow[0].ok and slow[0].trigger == "watch"  # the running asset finished
    assert history(root, "after") == []  # nothing new started
    assert list((root / ".workbench" / "artifacts" / "tmp").glob("*")) == []  # no half-written artifact
    states = {row["key"]: row["state"] for row in _status(root)}
    assert states == {"raw": "fresh", "slow": "fresh", "after": "missing"}
    doctor = run_wb(root, "doctor")
    assert doctor.returncode == 0 and "indexed" not in doctor.stdout, doctor.stdout  # index matches the records


def test_a_second_signal_stops_the_running_asset(make_project, watch: Callable[..., Watch]) -> None:  # type: ignore[no-untyped-def]
    root = make_project({"pipeline.py": SLOW, "data/raw.txt": "a\n"})
    w = watch(root)
    wait_for(root.parent / "slow.started")
    w.proc.send_signal(signal.SIGINT)
    w.expect(r"finishing 1 running asset\(s\)")
    w.proc.send_signal(signal.SIGTERM)  # the asset never ends by itself: only the second signal ends the watcher
    w.expect(r"stopped 1 running asset\(s\): slow; their partial outputs are discarded")
    assert w.proc.wait(timeout=TIMEOUT) == 0
    assert history(root, "slow") == [] and history(root, "after") == []
    assert list((root / ".workbench" / "artifacts" / "tmp").glob("*")) == []
    assert {row["key"]: row["state"] for row in _status(root)} == {"raw": "fresh", "slow": "missing", "after": "missing"}


POLARS = """
import polars as pl
from workbench import asset


@asset
def table() -> pl.DataFrame:
    return pl.DataFrame({"a": [1, 2]})
"""


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_a_signal_stops_an_idle_watcher_in_a_project_that_imports_polars(make_project, watch, sig: int) -> None:  # type: ignore[no-untyped-def]
    w = watch(make_project({"pipeline.py": POLARS}))
    w.until_pass(1)  # polars is imported: it put its own SIGINT handler in front of Python's
    assert w.quiet(0.5) == []  # idle: blocked waiting for a file event
    w.proc.send_signal(sig)
    code = w.proc.wait(timeout=3)  # not only at the next file event
    assert code == 0, "\n".join(w.seen + w.quiet(0.5))  # what it said, should it fail (once in CI: exit 4)
    w.expect(r"stopped")


def test_bad_input_exits_2(project: Path, tmp_path: Path) -> None:
    out = run_wb(project, "watch", "totl")
    assert out.returncode == 2 and "total" in out.stderr and "Traceback" not in out.stderr
    nowhere = tmp_path / "empty"
    nowhere.mkdir()
    out = run_wb(nowhere, "watch")
    assert out.returncode == 2 and "error: no workbench project" in out.stderr
    (project / "pyproject.toml").write_text('[tool.workbench]\nmodules = ["pipeline"]\nwatch_ignore = 3\n')
    out = run_wb(project, "watch")
    assert out.returncode == 2 and "watch_ignore must be a list" in out.stderr


def _status(root: Path) -> list[dict[str, object]]:
    out = run_wb(root, "status", "--json")
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)  # type: ignore[no-any-return]
