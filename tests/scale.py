"""Stores at scale, built fast: layered projects of trivial assets and a metadata index filled by bulk insert.

`layered_project(root, n)` writes `n` assets in layers of 10, each reading 1-3 assets of the layer
above (the shape of the peer benchmark); `fill_store(root, per_asset)` gives each asset
`per_asset` successful records, the newest matching the current code and its parents' newest
data versions (so every asset is fresh), bulk-inserted into the DuckDB index in batches. Only the
index is written: the immutable JSON record files are not, so the store is marked complete and no
command tries to rebuild the index from them. All records share one small artifact file.
"""

from __future__ import annotations

import json
import random
from pathlib import Path

import polars as pl

from workbench.core.records import SUCCESS
from workbench.workspace import Workspace

WIDTH = 10
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


def fill_store(root: Path | str, per_asset: int = 1) -> int:
    """Give every asset of the project at `root` `per_asset` records, all fresh; returns how many.

    One INSERT ... SELECT over (assets x ages) in DuckDB: a million records in seconds, where
    building and inserting them one by one takes a minute."""
    ws = Workspace.open(root)
    codes, graph = ws.code_versions, ws.graph
    artifact = ws.root / ".workbench" / "artifacts" / ARTIFACT
    artifact.parent.mkdir(parents=True, exist_ok=True)
    artifact.write_text("{}")
    units = {
        "key": list(graph.order),
        "n": list(range(len(graph.order))),
        "code": [codes[key] for key in graph.order],
        "inputs": [json.dumps({p: f"{p}-v@" for p in graph.parents[key]}) for key in graph.order],
    }
    store = ws.metadata
    with store._session(write=True) as conn:  # noqa: SLF001 - bulk load of a test fixture
        conn.register("units", pl.DataFrame(units))
        conn.execute(
            f"""
            INSERT INTO wb.materializations (id, asset_key, status, code_version, run_id, "trigger", started_at,
                ended_at, data_version, input_versions, artifact_uri, serializer, size, "partition", log, metadata, metrics,
                libraries, params, series)
            SELECT key || '-' || age, key, '{SUCCESS}', CASE WHEN age = 0 THEN code ELSE 'old-' || age END,
                'run-' || age, 'fixture', stamp, stamp, key || '-v' || age, replace(inputs, '@', age::VARCHAR),
                '{ARTIFACT}', 'json', 2, '', '', '{{}}', '{{}}', '{{}}', '{{}}', '{{}}'
            FROM (SELECT *, TIMESTAMPTZ '2026-01-01 00:00:00+00' + to_seconds(({per_asset} - age) * {len(graph.order)} + n) AS stamp
                  FROM units, range({per_asset}) AS ages(age))
            """
        )
        conn.unregister("units")
    store.mark_complete()
    return int(store.count())
