"""Nothing the project does can wedge `wb watch`: an import that never ends is reported and its fix
picked up, and an asset that runs too long fails at its `@asset(timeout=...)`.

Each test synchronizes on the watcher's stderr lines; the outcome is checked in the store.
"""

from __future__ import annotations

import json
import signal
from collections.abc import Callable
from pathlib import Path

from tests.conftest import run_wb
from tests.watch.test_watch_cli import Watch, history, watch  # noqa: F401 (fixture)

PIPELINE = """
from workbench import asset


@asset
def ok() -> dict:
    return {"ok": True}
"""

HANG = """
while True:  # never finishes importing
    pass
"""

FIXED = """
from workbench import asset


@asset
def fixed() -> dict:
    return {"fixed": True}
"""

FOREVER = """
import time
from workbench import asset


@asset(timeout=1)
def forever() -> dict:
    while True:  # runs until the process ends
        time.sleep(0.01)


@asset
def after(forever: dict) -> dict:
    return forever


@asset
def other() -> dict:
    return {"other": True}
"""


def test_a_hanging_import_is_reported_and_its_fix_picked_up(make_project, watch: Callable[..., Watch]) -> None:  # type: ignore[no-untyped-def]
    root: Path = make_project({"pipeline.py": PIPELINE, "hang.py": HANG}, modules=("pipeline", "hang"))
    w = watch(root, "--hang-report", "1")
    w.expect(r"still importing hang \(1 s\)\.\.\.$")
    w.expect(r"still importing hang \(2 s\)\.\.\.$")  # repeated while it hangs

    (root / "hang.py").write_text(FIXED)
    w.expect(r"hang\.py changed while hang was still importing: restarting watch")
    lines = w.until_pass(1)  # the restarted watcher's first pass
    assert "materialized 2" in lines[-1], lines
    assert [r.status for r in history(root, "fixed")] == ["success"]
    assert w.stop() == 0


def test_a_signal_stops_watch_while_an_import_hangs(make_project, watch: Callable[..., Watch]) -> None:  # type: ignore[no-untyped-def]
    root: Path = make_project({"pipeline.py": PIPELINE, "hang.py": HANG}, modules=("pipeline", "hang"))
    w = watch(root, "--hang-report", "1")
    w.expect(r"still importing hang \(1 s\)\.\.\.$")
    assert w.stop(signal.SIGTERM) == 0  # the hung import's thread does not hold the process


def test_an_asset_past_its_timeout_fails_and_watch_goes_on(make_project, watch: Callable[..., Watch]) -> None:  # type: ignore[no-untyped-def]
    root: Path = make_project({"pipeline.py": FOREVER})
    w = watch(root)
    lines = w.until_pass(1)
    assert lines[-1].endswith("materialized 1, skipped 0, failed 1 (forever), blocked 1 (after)"), lines
    [record] = history(root, "forever")
    assert record.status == "failed" and "timed out after 1 s" in (record.error or "")
    assert history(root, "after") == [] and len(history(root, "other")) == 1

    (root / "pipeline.py").write_text(FOREVER.replace("@asset(timeout=1)", "@asset(timeout='1s')"))
    w.expect(r"pass 2: changed pipeline\.py")  # still watching with the abandoned thread spinning
    assert w.stop(signal.SIGTERM) == 0  # the abandoned asset does not hold the process at exit


def test_materialize_fails_an_asset_at_its_timeout_and_exits(make_project) -> None:  # type: ignore[no-untyped-def]
    root: Path = make_project({"pipeline.py": FOREVER})
    done = run_wb(root, "materialize", "--json", timeout=60)
    assert done.returncode == 1, done.stderr
    result = json.loads(done.stdout)
    assert result["failed"] == ["forever"] and result["blocked"] == {"after": "forever"}
    assert "timed out after 1 s" in result["errors"]["forever"]
    assert history(root, "forever")[0].status == "failed"
