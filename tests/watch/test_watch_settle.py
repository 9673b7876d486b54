"""`wb watch` waits until writes settle: a file written slowly, or a big folder copy, is one pass
on the complete data, never passes on partial versions.

The assertions look at what the pass recorded: a pass on partial data would record fewer numbers.
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Callable
from pathlib import Path

from tests.watch.test_watch_cli import Watch, artifact, history, watch  # noqa: F401 (fixture)

NUMBERS = """
from workbench import asset, source

raw = source("raw", path="data/raw.txt")


@asset
def numbers(raw) -> list:
    return raw.read_text().split()
"""

FOLDER = """
from workbench import asset, source

images = source("images", path="data/images")


@asset
def count(images) -> dict:
    return {"files": sum(1 for p in images.rglob("*") if p.is_file())}
"""


def test_a_file_written_over_3_seconds_runs_once(make_project, watch: Callable[..., Watch]) -> None:  # type: ignore[no-untyped-def]
    root: Path = make_project({"pipeline.py": NUMBERS, "data/raw.txt": "0\n"})
    w = watch(root)
    w.until_pass(1)

    with (root / "data" / "raw.txt").open("w") as f:  # a slow download: 30 chunks over 3 s
        for n in range(30):
            f.write(f"{n}\n")
            f.flush()
            time.sleep(0.1)  # the writer's pace, not a wait for the watcher
    lines = w.until_pass(2)
    assert artifact(root, "numbers") == [str(n) for n in range(30)]  # on the complete file
    assert len(history(root, "numbers")) == 2  # one run for the whole write
    assert any("waiting for writes to settle: data/raw.txt" in line for line in lines), lines
    assert w.stop() == 0


def test_a_folder_copy_of_3000_files_is_one_pass(make_project, watch: Callable[..., Watch], tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    root: Path = make_project({"pipeline.py": FOLDER, "data/images/first.txt": "x"})
    staging = tmp_path / "staging"
    for n in range(30):
        folder = staging / f"d{n:02}"
        folder.mkdir(parents=True)
        for m in range(100):
            (folder / f"f{m:03}.txt").write_text(f"{n} {m}\n")
    w = watch(root)
    w.until_pass(1)

    shutil.copytree(staging, root / "data" / "images" / "batch")
    w.until_pass(2)
    assert artifact(root, "count") == {"files": 3001}  # the pass saw the whole copy
    assert len(history(root, "count")) == 2
    assert w.stop() == 0
