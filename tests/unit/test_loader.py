"""The project loader: sources kept as compiled, signed bytecode, library detection, clean reloads."""

from __future__ import annotations

import json
import marshal
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import run_wb, write_files
from workbench.versioning import loader


def test_library_files_are_told_from_project_files(tmp_path: Path) -> None:
    import polars
    import xxhash

    assert loader.is_library_file(polars.__file__ or "")
    assert loader.is_library_file(xxhash.__file__ or "")
    assert loader.is_library_file(loader.__file__)  # Workbench itself
    assert loader.is_library_file(sys.modules["os"].__file__ or "")
    assert loader.is_library_file("<frozen posixpath>")
    assert not loader.is_library_file(str(tmp_path / "assets" / "x.py"))
    assert not loader.is_library_file("<string>")  # exec'd code is hashed by bytecode, as project code
    assert loader.is_library_file(str(tmp_path / ".venv" / "lib" / "python3.11" / "site-packages" / "x.py"))


@pytest.fixture
def compiled(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, Path]:
    """A one-asset project after its first `wb status`, and its bytecode in the user's cache folder."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    root = tmp_path / "proj"
    write_files(root, {
        "pyproject.toml": '[tool.workbench]\nmodules = ["pipeline"]\n',
        "pipeline.py": "from workbench import asset\n\n@asset\ndef a() -> int:\n    return 1\n",
    })
    assert run_wb(root, "status").returncode == 0
    (cached,) = (tmp_path / "cache" / "workbench" / "pyc").glob("*.pyc")
    return root, cached


def test_planted_bytecode_is_never_run(tmp_path: Path, compiled: tuple[Path, Path]) -> None:
    root, cached = compiled
    data = cached.read_bytes()
    marker = tmp_path / "pwned"
    evil = compile(f"open({str(marker)!r}, 'w').close()\nfrom workbench import asset\n", str(root / "pipeline.py"), "exec")
    header_end = len(data) - len(marshal.dumps(compile((root / "pipeline.py").read_bytes(), str(root / "pipeline.py"), "exec")))
    cached.write_bytes(data[:header_end] + marshal.dumps(evil))  # same signature and source hash, other code
    out = run_wb(root, "status")
    assert out.returncode == 0, out.stderr
    assert not marker.exists()
    assert cached.read_bytes() == data  # recompiled and signed again


def test_a_new_store_does_not_compile_the_project_again(compiled: tuple[Path, Path]) -> None:
    root, cached = compiled
    written = cached.stat().st_mtime_ns
    subprocess.run(["rm", "-rf", str(root / ".workbench")], check=True)
    assert run_wb(root, "materialize").returncode == 0
    assert cached.stat().st_mtime_ns == written  # read back, not compiled and written again
    (root / "pipeline.py").write_text("from workbench import asset\n\n@asset\ndef a() -> int:\n    return 2\n")
    assert run_wb(root, "status").returncode == 0
    assert cached.stat().st_mtime_ns != written  # another source: compiled again


def test_bytecode_cache_round_trip_and_refusals(tmp_path: Path) -> None:
    cache = loader._BytecodeCache(tmp_path / "pyc", b"k" * loader.KEY_BYTES)
    source = b"X = 1\n"
    code = compile(source, "/p/m.py", "exec")
    cache.store("/p/m.py", source, code)
    assert cache.load("/p/m.py", source) == code
    assert cache.load("/p/m.py", b"X = 2\n") is None  # another source
    other = loader._BytecodeCache(tmp_path / "pyc", b"o" * loader.KEY_BYTES)
    assert other.load("/p/m.py", source) is None  # another user's key


def test_notebook_api_leaves_user_modules_and_sys_path_alone(tmp_path: Path) -> None:
    import workbench

    root = tmp_path / "nb"
    write_files(root, {
        "pyproject.toml": '[tool.workbench]\nmodules = ["nbpipe"]\n',
        "nbpipe.py": "from workbench import asset\nfrom nbtypes import Box\n\n@asset\ndef boxed():\n    return Box(2)\n",
        "nbtypes.py": "class Box:\n    def __init__(self, n):\n        self.n = n\n",
    })
    outer_meta = list(sys.meta_path)  # an in-process test before may have left a CLI-style loader active
    sys.meta_path[:] = [f for f in sys.meta_path if not isinstance(f, loader._ProjectFinder)]
    path_before, meta_before = list(sys.path), list(sys.meta_path)
    sys.path.insert(0, str(root))
    try:
        import nbtypes  # the user's own import, before the API is used

        mine = sys.modules["nbtypes"]
        path_before = list(sys.path)
        workbench.materialize(project=root)
        value = workbench.load("boxed", project=root)
        assert sys.path == path_before and sys.meta_path == meta_before
        assert sys.modules["nbtypes"] is mine  # not evicted
        assert isinstance(value, nbtypes.Box) and value.n == 2
        again = workbench.load("boxed", project=root)
        assert isinstance(again, nbtypes.Box)
    finally:
        sys.meta_path[:] = outer_meta
        sys.path[:] = [p for p in sys.path if p != str(root)]
        for name in ("nbtypes", "nbpipe"):
            sys.modules.pop(name, None)


def test_third_party_imports_during_a_load_keep_their_bytecode_cache(tmp_path: Path) -> None:
    """The project's own bytecode goes to .workbench; the process-wide settings stay as they were."""
    root = tmp_path / "proj"
    write_files(root, {
        "pyproject.toml": '[tool.workbench]\nmodules = ["pipeline"]\n',
        "pipeline.py": (
            "import sys\nfrom workbench import asset\n\n"
            "SEEN = (sys.dont_write_bytecode, sys.pycache_prefix)\n\n"
            "@asset\ndef seen() -> list:\n    return list(SEEN)\n"
        ),
    })
    assert run_wb(root, "materialize").returncode == 0
    seen = json.loads(next((root / ".workbench" / "artifacts" / "objects").rglob("*.json")).read_text())
    plain = subprocess.run(
        [sys.executable, "-c", "import json, sys; print(json.dumps([sys.dont_write_bytecode, sys.pycache_prefix]))"],
        capture_output=True, text=True, check=True,
    )
    assert seen == json.loads(plain.stdout)  # what this interpreter does anyway
    assert not list(root.rglob("__pycache__"))  # and the work tree stays clean


def test_a_script_in_the_project_keeps_its_main_module(tmp_path: Path) -> None:
    root = tmp_path / "proj"
    write_files(root, {
        "pyproject.toml": '[tool.workbench]\nmodules = ["pipeline"]\n',
        "pipeline.py": "from workbench import asset\n\n@asset\ndef a() -> int:\n    return 1\n",
        "run.py": (
            "import sys\nimport workbench\n\nMARK = 'still here'\n"
            "print(workbench.materialize().ok, workbench.load('a'))\n"
            "print(sys.modules['__main__'].MARK)\n"
        ),
    })
    done = subprocess.run([sys.executable, "run.py"], cwd=root, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["True", "1", "still", "here"]
