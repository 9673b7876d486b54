"""Every sample README is run as written: its shell blocks line by line, its Python blocks, and its
"change `A` to `B`" edits, in order, in a copy of the sample; each command must exit as documented.
Two kinds of comment on a command are claims that are checked: one that starts with a quoted text
(`# "everything is fresh: nothing to do"`) must be in the command's output, and one on `wb
materialize` that starts with a count (`# 21 units: ...`, `# 5 assets`) must be what it materialized.

A Python block is a step when it starts with `import workbench` (the others quote the sample's code).
Left out, and said so here: the k8s README's "Run it on a cluster" section (it needs a cluster,
a registry and an object store). Comments that show output are not compared; the sample tests in
test_samples.py check the claims that matter.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO

SAMPLES = REPO / "samples"
SKIPPED_SECTIONS = {"k8s": {"Run it on a cluster"}}
BLOCK = re.compile(r"^ *```(bash|python)\n(.*?)^ *```", re.S | re.M)
EDIT = re.compile(r"In `([^`]+)`, change `([^`]+)` to `([^`]+)`")
EXIT = re.compile(r"exit code (\d+)")
QUOTED = re.compile(r'^"([^"]+)"')  # a comment that starts with the text the command prints
COUNT = re.compile(r"^(\d+) (?:units|assets)\b")  # a comment on `wb materialize` that counts what runs


def steps(readme: str, skipped: set[str]) -> list[tuple[str, str]]:
    """("bash", line) / ("python", code) / ("edit", "file\\0old\\0new"), in the order they appear."""
    out: list[tuple[int, str, str]] = []
    sections = [(m.start(), m.group(1)) for m in re.finditer(r"^## (.+)$", readme, re.M)]

    def section(at: int) -> str:
        return next((name for start, name in reversed(sections) if start <= at), "")

    for m in BLOCK.finditer(readme):
        if section(m.start()) in skipped:
            continue
        body = "\n".join(line.strip() for line in m.group(2).splitlines())
        out.append((m.start(), m.group(1), body))
    out += [(m.start(), "edit", "\0".join(m.groups())) for m in EDIT.finditer(readme) if section(m.start()) not in skipped]
    return [(kind, text) for _, kind, text in sorted(out)]


def commands(block: str) -> list[tuple[str, int, str]]:
    """The command lines of a shell block with the exit code its comments document (default 0) and
    the comment on the command's own line."""
    found: list[tuple[str, int, str]] = []
    for line in block.splitlines():
        if line.startswith("#") or not line.strip():
            match = EXIT.search(line)
            if match and found:
                found[-1] = (found[-1][0], int(match.group(1)), found[-1][2])
            continue
        command, _, comment = line.partition("  #")
        match = EXIT.search(comment)
        found.append((command.strip(), int(match.group(1)) if match else 0, comment.strip()))
    return found


def check_claims(command: str, comment: str, output: str) -> None:
    """The claims a command's comment makes about its output (see the module docstring)."""
    quoted = QUOTED.match(comment)
    assert quoted is None or quoted.group(1) in output, f"`{command}` did not print {quoted and quoted.group(1)!r}:\n{output}"
    count = COUNT.match(comment) if command.startswith("wb materialize") else None
    if count is not None:
        ran = re.search(r"materialized (\d+), skipped", output)
        assert ran and ran.group(1) == count.group(1), f"`{command}`: the README says {count.group(0)}, the run says:\n{output}"


@pytest.mark.parametrize("name", sorted(p.name for p in SAMPLES.iterdir() if (p / "README.md").exists()))
def test_sample_readme_runs_as_written(name: str, tmp_path: Path) -> None:
    shutil.copytree(SAMPLES / name, tmp_path / "samples" / name, ignore=shutil.ignore_patterns(".workbench", "__pycache__"))
    env = {k: v for k, v in os.environ.items() if not k.startswith(("WORKBENCH_", "WB_SAMPLE_"))}
    env.update(PATH=f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}", NO_COLOR="1", COLUMNS="200")
    cwd = tmp_path
    ran = 0
    for kind, text in steps((SAMPLES / name / "README.md").read_text(), SKIPPED_SECTIONS.get(name, set())):
        if kind == "edit":
            file, old, new = text.split("\0")
            path = cwd / file
            assert old in path.read_text(), f"README edit: {old!r} is not in {file}"
            path.write_text(path.read_text().replace(old, new))
            continue
        if kind == "python" and not text.startswith("import workbench"):
            continue  # an excerpt of the sample's code, not a step to run
        if kind == "python":
            done = subprocess.run([sys.executable, "-c", text], cwd=tmp_path, env=env, capture_output=True, text=True)
            assert done.returncode == 0, f"{name} README python block failed:\n{text}\n{done.stderr}"
            ran += 1
            continue
        for command, code, comment in commands(text):
            if command.startswith("cd "):
                cwd = (cwd / command[3:].strip()).resolve()
                continue
            done = subprocess.run(["bash", "-c", command], cwd=cwd, env=env, capture_output=True, text=True, timeout=300)
            assert done.returncode == code, f"{name} README: `{command}` exited {done.returncode}, not {code}:\n{done.stderr}"
            check_claims(command, comment, done.stdout + done.stderr)
            ran += 1
    assert ran >= 4  # the README has runnable steps, and they were found
