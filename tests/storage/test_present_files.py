"""Which artifacts of a local store are there: a listing per crowded folder answers as a `stat` per file."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from workbench.storage import artifacts
from workbench.storage.artifacts import present_files


@pytest.mark.parametrize("listed_from", [1, 10_000])  # every folder listed / every file stat'ed
def test_present_files_match_isfile(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, listed_from: int) -> None:
    monkeypatch.setattr(artifacts, "LISTED_FROM", listed_from)
    root = tmp_path / "store"
    for name in ("objects/ab/x.json", "objects/ab/y.bin", "objects/cd/z.json", "top.json"):
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text("{}")
    (root / "objects" / "ab" / "folder.json").mkdir()
    os.symlink(root / "objects" / "cd" / "z.json", root / "objects" / "ab" / "link.json")
    os.symlink(root / "nowhere", root / "objects" / "ab" / "dangling.json")
    (tmp_path / "outside.json").write_text("{}")
    uris = [
        "objects/ab/x.json", "objects/ab/y.bin", "objects/cd/z.json", "top.json", "objects/ab/link.json",
        "objects/ab/gone.json", "objects/ab/folder.json", "objects/ab/dangling.json", "objects/ef/none.json",
        "objects/ab/", "../outside.json", "objects/../../outside.json", str(tmp_path / "outside.json"),
    ]  # fmt: skip

    found = present_files(str(root), uris)

    assert found == {"objects/ab/x.json", "objects/ab/y.bin", "objects/cd/z.json", "top.json", "objects/ab/link.json"}
