"""The asset DAG as a layered diagram: a Line-API scroll view that draws only the visible rows."""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence

from rich.segment import Segment
from textual.binding import Binding
from textual.events import Click
from textual.geometry import Region, Size
from textual.reactive import reactive
from textual.scroll_view import ScrollView
from textual.strip import Strip
from workbench.tui import navigate
from workbench.tui.canvas import Edge
from workbench.tui.layout import Layout, layout
from workbench.tui.messages import AssetHighlighted, AssetSelected
from workbench.tui.render import render_row


class GraphView(ScrollView, can_focus=True):
    """Nodes coloured by state; arrows/hjkl move, p/c jump to parents/children, Enter selects.

    The focused asset's lineage (everything upstream and downstream of it) is underlined and its
    edges drawn bright; `f` dims everything else.
    """

    BINDINGS = [
        Binding("up,k", "move('up')", "Up", show=False),
        Binding("down,j", "move('down')", "Down", show=False),
        Binding("left,h", "move('left')", "Left", show=False),
        Binding("right,l", "move('right')", "Right", show=False),
        Binding("p", "jump('parents')", "Parent", show=False),
        Binding("c", "jump('children')", "Child", show=False),
        Binding("f", "toggle_dim", "Dim the rest", show=False),
        Binding("enter", "select", "Details", show=False),
    ]
    DEFAULT_CSS = """
    GraphView { background: $surface; }
    """

    cursor: reactive[str | None] = reactive(None, always_update=True)
    dim: reactive[bool] = reactive(False)  # dim what is outside the focused asset's lineage

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.diagram: Layout = layout((), {})
        self.up: Mapping[str, Sequence[str]] = {}
        self.down: Mapping[str, Sequence[str]] = {}
        self.states: Mapping[str, str] = {}
        self.sources: frozenset[str] = frozenset()
        self._jump: tuple[str, str] | None = None  # (direction, origin) of the last p/c press
        self.upstream: frozenset[str] = frozenset()  # the cursor's ancestors
        self.downstream: frozenset[str] = frozenset()  # the cursor's descendants
        self.related: frozenset[str] = frozenset()  # both: the cursor's lineage
        self.faint: Collection[str] = frozenset()  # what `f` dims: everything outside that lineage

    def show(
        self,
        diagram: Layout,
        parents: Mapping[str, Sequence[str]],
        children: Mapping[str, Sequence[str]],
        sources: frozenset[str] = frozenset(),
    ) -> None:
        """Draw `diagram`; the cursor stays on its node if still shown, else goes to the first one."""
        self.diagram = diagram
        self.up, self.down, self.sources = parents, children, sources
        self.virtual_size = Size(diagram.width, diagram.height)
        keep = self.cursor if self.cursor in diagram.nodes else None
        first = next((column[0] for column in diagram.columns if column), None)
        self.cursor = keep or first
        self.refresh()

    def set_states(self, states: Mapping[str, str]) -> None:
        self.states = states
        self.refresh()

    def render_line(self, y: int) -> Strip:
        scroll_x, scroll_y = self.scroll_offset
        width = self.scrollable_content_region.width
        if not self.diagram.nodes:
            return Strip([Segment(" " * width)], width)
        rank = self.edge_rank if self.cursor else None
        row = render_row(self.diagram, scroll_y + y, scroll_x, width, self.states, self.cursor, self.related, self.sources, rank, self.faint)
        return Strip(row, width)

    def edge_rank(self, edge: Edge) -> int:
        """2: on a path through the focused asset; 1: any other edge (0 when dimmed)."""
        parent, child = edge
        up, down, cursor = self.upstream, self.downstream, self.cursor
        hot = (parent in up and (child in up or child == cursor)) or (child in down and (parent in down or parent == cursor))
        return 2 if hot else 0 if self.dim else 1

    def watch_cursor(self, key: str | None) -> None:
        self.upstream = _closure(key, self.up)
        self.downstream = _closure(key, self.down)
        self.related = self.upstream | self.downstream
        self.watch_dim(self.dim)
        if key is None or key not in self.diagram.nodes:
            return
        box = self.diagram.nodes[key]
        self.scroll_to_region(Region(box.x, box.y - 1, box.width, 3), animate=False, force=True)
        self.refresh()
        self.post_message(AssetHighlighted(key))

    def action_move(self, direction: str) -> None:
        if (cursor := self.cursor) in self.diagram.nodes and cursor is not None:
            self._jump = None
            self.cursor = navigate.step(self.diagram, cursor, direction)

    def action_jump(self, direction: str) -> None:
        """Nearest parent (child); pressed again, the next one of the same node, in turn."""
        cursor = self.cursor
        if cursor is None or cursor not in self.diagram.nodes:
            return
        edges = self.up if direction == "parents" else self.down
        if self._jump and self._jump[0] == direction and cursor in edges.get(self._jump[1], ()):
            origin = self._jump[1]
            ring = navigate.ordered(self.diagram, edges[origin])
            target: str | None = ring[(ring.index(cursor) + 1) % len(ring)]
        else:
            origin = cursor
            target = navigate.nearest(self.diagram, edges.get(origin, ()), self.diagram.nodes[origin].y)
        if target is not None:
            self._jump = (direction, origin)
            self.cursor = target
        else:
            self.notify(f"{origin} has no {direction} here", timeout=2, markup=False)

    def watch_dim(self, dim: bool) -> None:
        cursor = self.cursor
        self.faint = self.diagram.nodes.keys() - self.related - {cursor} if dim and cursor else frozenset()

    def action_toggle_dim(self) -> None:
        self.dim = not self.dim
        self.refresh()

    def action_select(self) -> None:
        if self.cursor is not None:
            self.post_message(AssetSelected(self.cursor))

    def on_click(self, event: Click) -> None:
        x, y = event.x + int(self.scroll_x), event.y + int(self.scroll_y)
        if 0 <= y < self.diagram.height:
            hit = next((b.key for b in self.diagram.rows[y] if b.x <= x < b.x + b.width), None)
            if hit is not None:
                self._jump = None
                self.cursor = hit
                if event.chain == 2:
                    self.action_select()


def _closure(key: str | None, edges: Mapping[str, Iterable[str]]) -> frozenset[str]:
    """Every node reachable from `key` along `edges` (parents: its ancestors), `key` excluded."""
    seen: set[str] = set()
    todo = list(edges.get(key, ())) if key is not None else []
    while todo:
        node = todo.pop()
        if node not in seen:
            seen.add(node)
            todo.extend(edges.get(node, ()))
    return frozenset(seen)
