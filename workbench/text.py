"""Text from user code and stores, made safe to print on a terminal."""

from __future__ import annotations

import re

__all__ = ["redact", "terminal_safe"]

_CREDENTIALS = re.compile(r"(?<=://)[^/@\s]+@")

# C0 controls (but tab and newline), DEL and C1 controls: ESC starts CSI/OSC sequences that can
# rewrite the screen, set the window title or hide a link; all are shown as visible escapes.
_CONTROLS = {c: f"\\x{c:02x}" for c in (*range(0x00, 0x09), *range(0x0B, 0x20), 0x7F, *range(0x80, 0xA0))}


def terminal_safe(text: str) -> str:
    """`text` with control characters other than tab and newline written as `\\xNN`."""
    if text.isascii() and text.isprintable():  # most text: 10x faster than translating it
        return text
    return text.translate(_CONTROLS)


def redact(url: str) -> str:
    """A URL with any `user:password@` replaced by `***@`, for output and manifests."""
    return _CREDENTIALS.sub("***@", url)
