"""`wb watch` for long sessions: dated lines, `--quiet`, `--log FILE` (one JSON object per event),
and a deleted module names the assets that left the graph."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path

from tests.watch.test_watch_cli import Watch, watch  # noqa: F401 (fixture)

KEPT = """
from workbench import asset


@asset
def kept() -> int:
    return 1
"""

GOING = """
from workbench import asset


@asset
def b_two() -> int:
    return 2


@asset
def b_one(b_two: int) -> int:
    return b_two + 1
"""


def test_quiet_log_file_dates_and_assets_that_left(make_project, watch: Callable[..., Watch], tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    root: Path = make_project(
        {"assets/__init__.py": "", "assets/kept.py": KEPT, "assets/going.py": GOING}, modules=("assets",)
    )
    log = tmp_path / "watch.jsonl"
    w = watch(root, "--quiet", "--log", str(log))
    w.expect(r"pass 1 done in [\d.]+s: materialized 3, skipped 0$")

    (root / "assets" / "going.py").unlink()
    w.expect(r"left the graph: b_one, b_two$")
    w.expect(r"pass 2 done in [\d.]+s: nothing stale \(1 fresh\)$")
    assert w.stop() == 0

    assert all(re.match(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d ", line) for line in w.seen), w.seen  # dated
    assert not [line for line in w.seen if re.search(r"watching|pass \d+:|stale  |start ", line)], w.seen  # quiet

    events = [json.loads(line) for line in log.read_text().splitlines()]
    kinds = [e["event"] for e in events]
    assert kinds[0] == "watching" and kinds[-1] == "stopped", kinds
    assert kinds.count("pass") == 2 and kinds.count("done") == 2 and kinds.count("stale") == 3, kinds
    done = [e for e in events if e["event"] == "done"]
    assert sorted(done[0]["materialized"]) == ["b_one", "b_two", "kept"] and done[0]["blocked"] == []
    assert sorted(e["asset"] for e in events if e["event"] == "asset") == ["b_one", "b_two", "kept"]
    [removed] = [e for e in events if e["event"] == "removed"]
    assert removed["assets"] == ["b_one", "b_two"]
    assert events[kinds.index("pass", kinds.index("pass") + 1)]["changed"] == ["assets/going.py"]
    assert all(re.match(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}[+-]\d\d:\d\d$", e["time"]) for e in events)
