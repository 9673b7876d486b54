"""The lineage of one version: the exact input versions it read, recursively down to the sources."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from rich.text import Text
from textual.message import Message
from textual.widgets import Tree
from textual.widgets.tree import TreeNode, UnknownNodeID

from workbench.present import version_label


class LineageTree(Tree[tuple[str, str]]):
    """A `version_tree` document as a tree; a node cut short (`more`) loads its inputs when expanded."""

    DEFAULT_CSS = """
    LineageTree { height: 1fr; }
    """

    class Wanted(Message):
        """The inputs of a version cut short were asked for: answer with `graft()`."""

        def __init__(self, node: TreeNode[tuple[str, str]], key: str, version: str) -> None:
            super().__init__()
            self.node, self.key, self.version = node, key, version

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__("lineage", id=id)
        self.asked: set[int] = set()  # nodes whose inputs were already asked for

    def show(self, tree: Mapping[str, Any] | str | None) -> None:
        """A version tree; None: there is no version yet; a string: the error that stopped the lookup."""
        self.clear()
        self.asked.clear()
        if tree is None:
            self.root.set_label(Text("no successful version yet", style="dim"))
            return
        if isinstance(tree, str):
            self.root.set_label(Text(tree, style="bold red"))
            return
        self.root.set_label(version_label(tree))
        self._grow(self.root, tree)
        self.root.expand()

    def graft(self, node: TreeNode[tuple[str, str]], tree: Mapping[str, Any] | str | None) -> None:
        """Add the inputs found for a node that was cut short (or the error that stopped the lookup)."""
        try:
            self.get_node_by_id(node.id)
        except UnknownNodeID:
            return  # the tree was redrawn for another version meanwhile
        if isinstance(tree, str):
            node.add_leaf(Text(tree, style="bold red"))
            return
        self._grow(node, tree or {})
        node.allow_expand = bool(node.children)

    def _grow(self, branch: TreeNode[tuple[str, str]], node: Mapping[str, Any]) -> None:
        for child in node.get("inputs", []):
            data = (child["key"], child.get("data_version") or "")
            if child.get("inputs"):
                self._grow(branch.add(version_label(child), data=data, expand=True), child)
            elif child.get("more"):
                branch.add(version_label(child), data=data, allow_expand=True)
            else:
                branch.add_leaf(version_label(child), data=data)

    def on_tree_node_expanded(self, event: Tree.NodeExpanded[tuple[str, str]]) -> None:
        event.stop()
        node = event.node
        if node.data is not None and not node.children and node.id not in self.asked:
            self.asked.add(node.id)
            self.post_message(self.Wanted(node, *node.data))
