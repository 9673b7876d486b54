"""The compact alternative to the graph: assets as a tree grouped by `group`, for very large graphs."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from rich.text import Text
from textual.binding import Binding
from textual.widgets import Tree
from textual.widgets.tree import TreeNode
from workbench.tui import theme
from workbench.tui.messages import AssetHighlighted, AssetSelected


def leaf_label(key: str, state: str | None, why: str = "") -> Text:
    text = Text.assemble((theme.glyph(state), theme.INK.get(state or "", "")), " ", key)
    if why:
        text.append(f"  {why}", style="dim")
    return text


class AssetTree(Tree[str]):
    """One branch per group, one leaf per asset (glyph and colour by state, first reason dimmed)."""

    BINDINGS = [
        Binding("j", "cursor_down", "Down", show=False),
        Binding("k", "cursor_up", "Up", show=False),
    ]
    DEFAULT_CSS = """
    AssetTree { background: $surface; }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__("assets", id=id)
        self.show_root = False
        self.leaves: dict[str, TreeNode[str]] = {}

    def show(self, keys: Sequence[str], groups: Mapping[str, str], states: Mapping[str, str], why: Mapping[str, str]) -> None:
        """Rebuild the tree for `keys`; the cursor stays on the same asset when it is still shown."""
        current = self.cursor_node.data if self.cursor_node is not None else None
        self.clear()
        self.leaves = {}
        branches: dict[str, TreeNode[str]] = {}
        for group in sorted({groups[k] for k in keys}):
            branches[group] = self.root.add(Text(group, style="bold"), expand=True)
        for key in keys:
            self.leaves[key] = branches[groups[key]].add_leaf(leaf_label(key, states.get(key), why.get(key, "")), data=key)
        if current is not None:
            self.focus_key(current)

    def set_states(self, states: Mapping[str, str], why: Mapping[str, str]) -> None:
        for key, node in self.leaves.items():
            node.set_label(leaf_label(key, states.get(key), why.get(key, "")))

    def focus_key(self, key: str) -> None:
        """Put the cursor on `key` once the tree has laid out its lines."""
        self.call_after_refresh(lambda: self.move_cursor(self.leaves[key]) if key in self.leaves else None)

    def on_tree_node_highlighted(self, event: Tree.NodeHighlighted[str]) -> None:
        event.stop()
        if event.node.data is not None:
            self.post_message(AssetHighlighted(event.node.data))

    def on_tree_node_selected(self, event: Tree.NodeSelected[str]) -> None:
        event.stop()
        if event.node.data is not None:
            self.post_message(AssetSelected(event.node.data))
