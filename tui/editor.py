"""`e`: the command that opens a file at a line in the user's editor ($VISUAL, then $EDITOR)."""

from __future__ import annotations

import os
import shlex
from collections.abc import Mapping
from pathlib import PurePath

FALLBACK = "vi"
COLON_STYLE = {"subl", "zed", "hx", "helix"}  # `editor FILE:LINE`
GOTO_STYLE = {"code", "code-insiders", "codium", "cursor"}  # `editor -g FILE:LINE`


def editor_command(file: str, line: int, env: Mapping[str, str] = os.environ) -> list[str]:
    """argv opening `file` at `line`: `+LINE FILE`, which vi, vim, nano, emacs, micro and kak take,
    or the FILE:LINE form of the editors that want it."""
    words = shlex.split(env.get("VISUAL") or env.get("EDITOR") or FALLBACK)
    name = PurePath(words[0]).name if words else FALLBACK
    if name in GOTO_STYLE:
        return [*words, "-g", f"{file}:{line}"]
    if name in COLON_STYLE:
        return [*words, f"{file}:{line}"]
    return [*words, f"+{line}", file] if line else [*words, file]
