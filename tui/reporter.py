"""A `Reporter` that turns run progress into Textual messages for the app.

The executor calls it from its scheduling thread; `post_message` is thread-safe and, unlike
`call_from_thread`, never makes a run wait for the screen.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from textual.message import Message
from textual.message_pump import MessagePump

if TYPE_CHECKING:
    from workbench.core.plan import Plan

STARTED = "started"


class TuiReporter:
    """Posts `Planned` once, then a `Progress` per started or finished asset."""

    class Planned(Message):
        def __init__(self, keys: tuple[str, ...]) -> None:
            super().__init__()
            self.keys = keys

    class Progress(Message):
        """`outcome` is `started` or one of the reporting outcomes (materialized, fresh, failed...)."""

        def __init__(self, key: str, outcome: str, detail: str = "", seconds: float = 0.0) -> None:
            super().__init__()
            self.key, self.outcome, self.detail, self.seconds = key, outcome, detail, seconds

    def __init__(self, target: MessagePump) -> None:
        self.target = target

    def planned(self, plan: Plan) -> None:
        self.target.post_message(self.Planned(plan.to_run))

    def started(self, key: str) -> None:
        self.target.post_message(self.Progress(key, STARTED))

    def finished(self, key: str, outcome: str, seconds: float, detail: str = "") -> None:
        self.target.post_message(self.Progress(key, outcome, detail, seconds))

    def flush(self) -> None:
        pass

    def closed(self) -> None:
        pass
