"""Lineage: the graph around an asset, and the exact input versions behind one version."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from workbench.core.graph import AssetGraph
from workbench.core.partitions import split_unit
from workbench.core.versions import resolve

if TYPE_CHECKING:
    from workbench.core.records import Materialization
    from workbench.workspace import Workspace


def graph_lineage(graph: AssetGraph, key: str, direction: str | None) -> dict[str, Any]:
    doc: dict[str, Any] = {"key": key}
    if direction in (None, "upstream"):
        doc["upstream"] = sorted(graph.ancestors([key]))
        doc["parents"] = list(graph.parents[key])
    if direction in (None, "downstream"):
        doc["downstream"] = sorted(graph.descendants([key]))
        doc["children"] = list(graph.children[key])
    return doc


def version_tree(
    ws: Workspace, key: str, ref: str | None, levels: int | None = None, *, partition: str | None = None
) -> dict[str, Any]:
    """The version `ref` of `key` (of its partition `partition`, if named) and, recursively, the
    exact versions of the inputs it read.

    With `levels`, inputs deeper than that are not looked up; a node cut there has `"more": True`.
    """
    return _node(ws, resolve(ws.metadata, key, ref, partition), depth=0, levels=levels)


def _node(ws: Workspace, record: Materialization, depth: int, levels: int | None = None) -> dict[str, Any]:
    node: dict[str, Any] = {
        "key": record.asset_key,
        "data_version": record.data_version,
        "code_version": record.code_version,
        "git_commit": record.git_commit,
        "git_dirty": record.git_dirty,
        "materialized_at": record.ended_at.isoformat(),
        "run_id": record.run_id,
        "inputs": [],
    }
    if levels is not None and depth >= levels:
        node["more"] = bool(record.input_versions)
        return node
    if record.partition:
        node["partition"] = record.partition
    for unit, version in sorted(record.input_versions.items()):
        parent, partition = split_unit(unit)  # inputs are units: `key` or `key[partition]`
        if parent in ws.graph and ws.graph.is_source(parent):
            source = {"key": parent, "data_version": version, "kind": "source", "inputs": []}
            node["inputs"].append({**source, "partition": partition} if partition else source)
            continue
        found = ws.metadata.find_versions(parent, version) if version else []
        exact = [m for m in found if m.data_version == version and m.partition == partition]
        if not exact or depth > 100:
            missing = {"key": parent, "data_version": version, "note": "version not in the store", "inputs": []}
            node["inputs"].append({**missing, "partition": partition} if partition else missing)
        else:
            node["inputs"].append(_node(ws, exact[-1], depth + 1, levels))
    return node
