"""Messages the asset views (graph and list) post upward to the app."""

from __future__ import annotations

from textual.message import Message


class AssetHighlighted(Message):
    """The cursor moved to an asset."""

    def __init__(self, key: str) -> None:
        super().__init__()
        self.key = key


class AssetSelected(Message):
    """Enter on an asset: focus it in the detail pane."""

    def __init__(self, key: str) -> None:
        super().__init__()
        self.key = key
