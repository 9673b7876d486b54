"""The editor command for `e`: the line-number form each editor family takes."""

from __future__ import annotations

from workbench.tui.editor import editor_command


def test_plus_line_for_terminal_editors_and_visual_first() -> None:
    assert editor_command("a.py", 12, {"EDITOR": "nvim"}) == ["nvim", "+12", "a.py"]
    assert editor_command("a.py", 12, {"VISUAL": "emacs -nw", "EDITOR": "vi"}) == ["emacs", "-nw", "+12", "a.py"]
    assert editor_command("a.py", 12, {}) == ["vi", "+12", "a.py"]
    assert editor_command("a.py", 0, {"EDITOR": "nano"}) == ["nano", "a.py"]


def test_file_colon_line_for_gui_editors() -> None:
    assert editor_command("a.py", 3, {"EDITOR": "/usr/bin/code --wait"}) == ["/usr/bin/code", "--wait", "-g", "a.py:3"]
    assert editor_command("a.py", 3, {"EDITOR": "subl -w"}) == ["subl", "-w", "a.py:3"]
