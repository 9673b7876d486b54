"""Params: `--param NAME=VALUE` overrides that run a one-off variant of an asset (pure)."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import replace
from typing import Any

from workbench.core.graph import AssetGraph
from workbench.core.spec import AssetSpec, check_params
from workbench.errors import SelectionError


def parse_overrides(texts: Sequence[str]) -> dict[str, Any]:
    """`["lr=0.03", "opt=adam"]` -> {"lr": 0.03, "opt": "adam"}: a value is JSON, else text."""
    out: dict[str, Any] = {}
    for text in texts:
        name, sep, raw = text.partition("=")
        if not sep or not name.strip():
            raise SelectionError(f"--param {text!r}: use NAME=VALUE, e.g. --param lr=0.03")
        try:
            value = json.loads(raw)
        except ValueError:
            value = raw
        out[name.strip()] = value
    return check_params(out, "--param")


def vary(graph: AssetGraph, keys: Iterable[str], overrides: Mapping[str, Any]) -> AssetGraph:
    """`graph` with `overrides` applied to the params of the assets `keys` that declare them.

    The variant's code version is that of the asset declared with these params; its records say
    which params were overridden (`variant` in their metadata). Every name must be declared by a target.
    """
    targets = [graph.nodes[k] for k in keys]
    specs = [s for s in targets if isinstance(s, AssetSpec)]
    unknown = sorted(n for n in overrides if not any(n in s.hparams for s in specs))
    if unknown:
        declared = sorted({n for s in specs for n in s.hparams})
        raise SelectionError(
            f"--param {', '.join(unknown)}: no selected asset declares it"
            + (f" (declared: {', '.join(declared)})" if declared else " (declare it with @asset(params={...}))")
        )
    nodes = dict(graph.nodes)
    for spec in specs:
        mine = {n: v for n, v in overrides.items() if n in spec.hparams}
        if mine:
            metadata = {**spec.metadata, "variant": mine}
            nodes[spec.key] = replace(spec, hparams={**spec.hparams, **mine}, metadata=metadata)
    return replace(graph, nodes=nodes)
