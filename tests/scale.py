"""Stores at scale, built fast: layered projects of trivial assets and a metadata index filled by bulk insert.

`layered_project(root, n)` writes `n` assets in layers of 10, each reading 1-3 assets of the layer
above (the shape of the peer benchmark); `fill_store(root, per_asset)` gives each asset
`per_asset` successful records, the newest matching the current code and its parents' newest
data versions (so every asset is fresh), bulk-inserted into the DuckDB index in batches. Only the
index is written: the immutable JSON record files are not, so the store is marked complete and no
command tries to rebuild the index from them. All records share one small artifact file.
"""

from __future__ import annotations

import random
from datetime import datetime, timedelta, timezone
from pathlib import Path

from workbench.core.records import SUCCESS, Materialization
from workbench.workspace import Workspace

WIDTH = 10
BATCH = 50_000
ARTIFACT = "objects/scale-fixture.json"


def layered_project(root: Path, n: int, seed: int = 42) -> Path:
    """`n` assets `a<i>` in layers of `WIDTH`, each with 1-3 parents in the layer above, in one module."""
    rng = random.Random(seed)
    lines = ["from workbench import asset", ""]
    for i in range(n):
        layer = i // WIDTH
        above = range((layer - 1) * WIDTH, layer * WIDTH) if layer else range(0)
        parents = sorted(rng.sample(above, rng.randint(1, 3))) if above else []
        lines += [
            '@asset(code_version="1")',
            f"def a{i}({', '.join(f'a{p}: dict' for p in parents)}) -> dict:",
            f"    return {{'i': {i}}}",
            "",
        ]
    root.mkdir(parents=True, exist_ok=True)
    (root / "pyproject.toml").write_text('[tool.workbench]\nmodules = ["pipeline"]\n')
    (root / "pipeline.py").write_text("\n".join(lines))
    return root


def fill_store(root: Path, per_asset: int = 1) -> int:
    """Give every asset of the project at `root` `per_asset` records, all fresh; returns how many."""
    ws = Workspace.open(root)
    codes, graph = ws.code_versions, ws.graph
    (ws.root / ".workbench" / "artifacts" / ARTIFACT).parent.mkdir(parents=True, exist_ok=True)
    (ws.root / ".workbench" / "artifacts" / ARTIFACT).write_text("{}")
    start = datetime(2026, 1, 1, tzinfo=timezone.utc)
    batch: list[Materialization] = []
    total = 0
    for age in range(per_asset - 1, -1, -1):  # oldest first; the newest (age 0) is the current one
        for n, key in enumerate(graph.order):
            when = start + timedelta(seconds=(per_asset - age) * len(graph.order) + n)
            batch.append(
                Materialization(
                    id=f"{key}-{age}",
                    asset_key=key,
                    status=SUCCESS,
                    code_version=codes[key] if age == 0 else f"old-{age}",
                    run_id=f"run-{age}",
                    trigger="fixture",
                    started_at=when,
                    ended_at=when,
                    data_version=f"{key}-v{age}",
                    input_versions={p: f"{p}-v{age}" for p in graph.parents[key]},
                    artifact_uri=ARTIFACT,
                    serializer="json",
                    size=2,
                )
            )
            if len(batch) == BATCH:
                total += ws.metadata.add_many(batch)
                batch = []
    total += ws.metadata.add_many(batch)
    ws.metadata.mark_complete()
    return total
