"""The immutable asset graph, built from specs with no I/O.

Validation happens here: duplicate keys, unknown dependencies (with a did-you-mean) and
cycles (named in full) fail as `DefinitionError`s that point at the function's file:line.
"""

from __future__ import annotations

import difflib
import heapq
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType

from workbench.core.checks import CheckSpec
from workbench.core.spec import AssetSpec, SourceSpec
from workbench.errors import DefinitionError

Node = AssetSpec | SourceSpec


def suggest(name: str, choices: Iterable[str]) -> str:
    """A ' (did you mean ...?)' suffix naming the nearest choices, or ''."""
    pool = list(choices)
    close = difflib.get_close_matches(name, pool, n=3, cutoff=0.6)
    if not close:
        tail = name.rsplit("/", 1)[-1]
        close = [c for c in pool if c.rsplit("/", 1)[-1] == tail][:3]
    return f" (did you mean {', '.join(repr(c) for c in close)}?)" if close else ""


def _resolve_param(param: str, keys: Mapping[str, Node]) -> str | None:
    if param in keys:
        return param
    matches = [k for k in keys if k.rsplit("/", 1)[-1] == param]
    return matches[0] if len(matches) == 1 else None


@dataclass(frozen=True, slots=True)
class AssetGraph:
    """Nodes by key, with parent/child edges and a deterministic topological order."""

    nodes: Mapping[str, Node]
    parents: Mapping[str, tuple[str, ...]]
    children: Mapping[str, tuple[str, ...]]
    order: tuple[str, ...]
    inputs: Mapping[str, Mapping[str, str]]  # asset key -> {parameter name: parent key}
    checks: Mapping[str, tuple[CheckSpec, ...]] = field(default_factory=dict)  # asset key -> its checks

    @classmethod
    def build(cls, specs: Sequence[Node], checks: Sequence[CheckSpec] = ()) -> AssetGraph:
        nodes: dict[str, Node] = {}
        for spec in specs:
            other = nodes.get(spec.key)
            if other is not None and other is not spec:
                raise DefinitionError(
                    f"duplicate asset key {spec.key!r}: defined at {other.location} and at {spec.location}"
                )
            nodes[spec.key] = spec
        parents: dict[str, tuple[str, ...]] = {}
        inputs: dict[str, dict[str, str]] = {}
        for key, spec in nodes.items():
            if isinstance(spec, SourceSpec):
                parents[key] = ()
                continue
            ins: dict[str, str] = {}
            for param in spec.params:
                parent = param if param in nodes else _resolve_param(param, nodes)
                if parent is None:
                    raise DefinitionError(
                        f"asset {key!r} at {spec.location}: parameter {param!r} names no asset or source"
                        + suggest(param, nodes)
                    )
                ins[param] = parent
            extra = []
            for dep in spec.deps:
                if dep not in nodes:
                    raise DefinitionError(
                        f"asset {key!r} at {spec.location}: unknown dependency {dep!r}" + suggest(dep, nodes)
                    )
                extra.append(dep)
            inputs[key] = ins
            parents[key] = tuple(dict.fromkeys([*ins.values(), *extra]))
            if key in parents[key]:
                raise DefinitionError(f"cycle: {key} -> {key} ({spec.location})")
        children: dict[str, list[str]] = {k: [] for k in nodes}
        for key, ps in parents.items():
            for p in ps:
                children[p].append(key)
        order = _topological_order(nodes, parents, children)
        return cls(
            nodes=MappingProxyType(nodes),
            parents=MappingProxyType(parents),
            children=MappingProxyType({k: tuple(sorted(v)) for k, v in children.items()}),
            order=order,
            inputs=MappingProxyType({k: MappingProxyType(v) for k, v in inputs.items()}),
            checks=MappingProxyType(_checks_by_asset(nodes, checks)),
        )

    def __contains__(self, key: object) -> bool:
        return key in self.nodes

    def __len__(self) -> int:
        return len(self.nodes)

    @property
    def keys(self) -> tuple[str, ...]:
        return self.order

    def assets(self) -> list[AssetSpec]:
        return [n for k in self.order if isinstance(n := self.nodes[k], AssetSpec)]

    def is_source(self, key: str) -> bool:
        return isinstance(self.nodes[key], SourceSpec)

    def ancestors(self, keys: Iterable[str], depth: int | None = None) -> set[str]:
        """Keys upstream of `keys` (excluded), at most `depth` levels up."""
        return self._walk(keys, self.parents, depth)

    def descendants(self, keys: Iterable[str], depth: int | None = None) -> set[str]:
        """Keys downstream of `keys` (excluded), at most `depth` levels down."""
        return self._walk(keys, self.children, depth)

    def _walk(self, keys: Iterable[str], edges: Mapping[str, tuple[str, ...]], depth: int | None) -> set[str]:
        start = set(keys)
        seen: set[str] = set()
        frontier = start
        level = 0
        while frontier and (depth is None or level < depth):
            nxt = {n for k in frontier for n in edges[k]} - seen
            seen |= nxt
            frontier = nxt
            level += 1
        return seen - start if depth is None else seen

    def layers(self) -> list[list[str]]:
        """Longest-path layering: roots in layer 0, each node one below its deepest parent."""
        level: dict[str, int] = {}
        for key in self.order:
            level[key] = 1 + max((level[p] for p in self.parents[key]), default=-1)
        out: list[list[str]] = [[] for _ in range(max(level.values(), default=-1) + 1)]
        for key in self.order:
            out[level[key]].append(key)
        return out

    def subset_order(self, keys: Iterable[str]) -> list[str]:
        wanted = set(keys)
        return [k for k in self.order if k in wanted]


def _checks_by_asset(nodes: Mapping[str, Node], checks: Sequence[CheckSpec]) -> dict[str, tuple[CheckSpec, ...]]:
    by_asset: dict[str, dict[str, CheckSpec]] = {}
    for check in checks:
        target = nodes.get(check.asset)
        if not isinstance(target, AssetSpec):
            what = "is a source" if target is not None else "names no asset" + suggest(check.asset, nodes)
            raise DefinitionError(f"check {check.name!r} at {check.location}: asset {check.asset!r} {what}")
        other = by_asset.setdefault(check.asset, {}).get(check.name)
        if other is not None and other is not check:
            raise DefinitionError(f"duplicate check {check.key!r}: defined at {other.location} and at {check.location}")
        by_asset[check.asset][check.name] = check
    return {k: tuple(v.values()) for k, v in by_asset.items()}


def _topological_order(
    nodes: Mapping[str, Node], parents: Mapping[str, tuple[str, ...]], children: Mapping[str, list[str]]
) -> tuple[str, ...]:
    indegree = {k: len(ps) for k, ps in parents.items()}
    ready = [k for k, d in indegree.items() if d == 0]
    heapq.heapify(ready)
    order: list[str] = []
    while ready:
        key = heapq.heappop(ready)
        order.append(key)
        for child in children[key]:
            indegree[child] -= 1
            if indegree[child] == 0:
                heapq.heappush(ready, child)
    if len(order) != len(nodes):
        cycle = _find_cycle({k for k, d in indegree.items() if d > 0}, parents)
        where = ", ".join(f"{k} at {nodes[k].location}" for k in cycle[:-1])
        raise DefinitionError(f"cycle: {' -> '.join(cycle)} ({where})")
    return tuple(order)


def _find_cycle(remaining: set[str], parents: Mapping[str, tuple[str, ...]]) -> list[str]:
    """One cycle among `remaining`, in dependency direction (upstream first), closed."""
    start = min(remaining)
    path: list[str] = []
    index: dict[str, int] = {}
    key = start
    while key not in index:
        index[key] = len(path)
        path.append(key)
        key = min(p for p in parents[key] if p in remaining)
    cycle = path[index[key]:] + [key]
    cycle.reverse()
    return cycle
