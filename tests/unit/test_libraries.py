"""The table of installed distributions is read once per Python environment, not once per store."""

from __future__ import annotations

from pathlib import Path

import pytest

from workbench.versioning import libraries
from workbench.versioning.libraries import Libraries, user_cache_file


def test_a_new_store_reuses_the_environments_table(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    scans: list[int] = []

    def scan() -> dict[str, dict[str, str]]:
        scans.append(1)
        return {"polars": {"polars": "9.9"}}

    monkeypatch.setattr(libraries, "_scan", scan)
    where = user_cache_file()
    assert where is not None and where.parent == tmp_path / "cache" / "workbench"

    assert Libraries(where).versions(["polars"])["polars"] == "9.9"
    assert Libraries(user_cache_file()).versions(["polars"])["polars"] == "9.9"  # another project, same environment
    assert len(scans) == 1

    where.write_text(where.read_text().replace('"stamp": [', '"stamp": ["an older install", '))
    Libraries(user_cache_file()).versions(["polars"])  # something installed since: scanned again
    assert len(scans) == 2
