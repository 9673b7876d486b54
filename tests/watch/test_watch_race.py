"""The version recorded is the version of the code that ran, even when a file changes mid-pass.

A project module blocks while it imports (as a heavy top-level import such as torch does) until
the test releases it. The test edits the asset, waits until the pass is importing, edits it again
and releases the import: the pass runs the first edit and must record the first edit's version, so
the second edit leaves the asset stale and the next pass runs it.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from tests.conftest import run_wb
from tests.watch.test_watch_cli import TIMEOUT, Watch, edit, history, watch  # noqa: F401 (fixture)

PIPELINE = """
import heavy  # noqa: F401  (slow to import)
from workbench import asset


@asset
def value() -> dict:
    return {"v": "v1"}
"""

HEAVY = """
import time
from pathlib import Path

HERE = Path(__file__).parent
if (HERE / "block").exists():
    (HERE / "importing").touch()
    while not (HERE / "release").exists():
        time.sleep(0.01)
"""


def test_edit_during_import_is_not_recorded_as_fresh(make_project, watch: Callable[..., Watch]) -> None:  # type: ignore[no-untyped-def]
    root: Path = make_project({"pipeline.py": PIPELINE, "heavy.py": HEAVY})
    w = watch(root)
    w.until_pass(1)
    assert _value(root) == "v1"

    (root / "block").touch()
    edit(root / "pipeline.py", '"v1"', '"v2"')
    deadline_marker = root / "importing"
    w.expect(r"pass 2: changed pipeline.py")
    _wait_for(deadline_marker)
    edit(root / "pipeline.py", '"v2"', '"v3"')  # lands while pass 2 is importing the first edit
    (root / "block").unlink()
    (root / "release").touch()

    w.until_pass(2)
    ran = history(root, "value")[0]
    assert _artifact_value(root, ran) == "v2"  # pass 2 ran the code it imported
    w.until_pass(3)  # the second edit was queued: one more pass
    w.stop()
    status = json.loads(run_wb(root, "status", "--json").stdout)
    assert status[0]["state"] == "fresh", status
    assert _value(root) == "v3"  # the fresh result is the result of the code on disk


def _wait_for(path: Path) -> None:
    import time

    deadline = time.monotonic() + TIMEOUT
    while not path.exists():
        assert time.monotonic() < deadline, f"{path} never appeared"
        time.sleep(0.01)


def _value(root: Path) -> str:
    return _artifact_value(root, history(root, "value")[0])


def _artifact_value(root: Path, record) -> str:  # type: ignore[no-untyped-def]
    path = root / ".workbench" / "artifacts" / record.artifact_uri
    return json.loads(path.read_text())["v"]  # type: ignore[no-any-return]
