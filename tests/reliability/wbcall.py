"""`wb` in-process through the CLI's own `main()`: the same error boundary without an interpreter start."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from workbench.cli import main

Wb = Callable[..., tuple[int, str, str]]


def in_process(capsys: pytest.CaptureFixture[str]) -> Wb:
    """`wb ARGS -p PROJECT` -> (exit code, stdout, stderr); a traceback fails the calling test.

    Rich wraps long lines to the capture's width, so stdout comes back with whitespace runs joined
    (except for `--json` output).
    """

    def call(project: Path, *args: str) -> tuple[int, str, str]:
        try:
            main([*args, "-p", str(project)])
            code = 0
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else 0
        out, err = capsys.readouterr()
        assert "Traceback" not in out + err and "internal error" not in err, out + err
        return code, out if "--json" in args else " ".join(out.split()), err

    return call
