"""Code packages: the project's code as a content-addressed archive in the shared store.

`wb push` packs the project's Python files, `pyproject.toml`, the files of the sources the plan
reads and any `include` patterns into a deterministic `.tar.gz`, stored as `code/<sha256>.tar.gz`.
Pods fetch it, check that its bytes hash to its name, and run the project from it, so the image
holds only Python and the libraries: an edit needs a new package, never a new image. The archive
also carries the laptop's git commit, which remote records report.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import os
import shutil
import tarfile
import tempfile
import uuid
from collections.abc import Iterable, Mapping
from pathlib import Path, PurePosixPath

from workbench.core.spec import SourceSpec
from workbench.errors import StoreError
from workbench.storage.artifacts import ArtifactStore
from workbench.versioning.gitinfo import GitInfo
from workbench.versioning.loader import is_library_file, source_of
from workbench.versioning.sources import source_files

MANIFEST = ".workbench-package.json"
FOLDER = "code"
SKIP_DIRS = frozenset({".git", ".hg", ".workbench", "__pycache__", "node_modules", ".tox", ".nox", ".venv", "venv"})


def uri(sha: str) -> str:
    return f"{FOLDER}/{sha}.tar.gz"


def project_files(root: Path, sources: Iterable[SourceSpec], include: Iterable[str] = ()) -> dict[str, bytes]:
    """Relative path -> bytes: every project `.py` file (as imported), pyproject.toml, source and included files."""
    paths: set[Path] = set()
    for folder, dirs, names in os.walk(root):
        here = Path(folder)
        dirs[:] = sorted(d for d in dirs if d not in SKIP_DIRS and not (here / d / "pyvenv.cfg").exists())
        paths.update(here / n for n in names if n.endswith(".py") and not is_library_file(str(here / n)))
    for spec in sources:
        paths.update(source_files(spec, root))
    for pattern in include:
        paths.update(p for p in root.glob(pattern) if p.is_file())
    if (root / "pyproject.toml").is_file():
        paths.add(root / "pyproject.toml")
    out = {}
    for path in sorted(paths):
        name = path.relative_to(root).as_posix()
        data = source_of(str(path)) if name.endswith(".py") else None  # the bytes that were imported
        out[name] = data if data is not None else path.read_bytes()
    return out


def pack(files: Mapping[str, bytes], git: GitInfo) -> tuple[str, bytes]:
    """(sha256, archive): the same files and commit always give the same bytes."""
    manifest = json.dumps({"git_commit": git.commit, "git_dirty": git.dirty}, sort_keys=True).encode()
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for name, data in sorted({**files, MANIFEST: manifest}.items()):
            info = tarfile.TarInfo(name)
            info.size, info.mode, info.mtime = len(data), 0o644, 0
            tar.addfile(info, io.BytesIO(data))
    archive = gzip.compress(raw.getvalue(), mtime=0)
    return hashlib.sha256(archive).hexdigest(), archive


def upload(store: ArtifactStore, sha: str, archive: bytes) -> bool:
    """Put the archive in the store unless it is there; True if it was uploaded."""
    if store.exists(uri(sha)):
        return False
    store.write_bytes(uri(sha), archive)
    return True


def fetch(store: ArtifactStore, sha: str, into: Path) -> Path:
    """The project root the package unpacks to (`into/<sha>`), downloaded and verified once."""
    root = into / sha
    if (root / MANIFEST).is_file():
        return root
    archive = store.read_bytes(uri(sha))
    if hashlib.sha256(archive).hexdigest() != sha:
        raise StoreError(f"code package {uri(sha)} in {store.url} does not match its hash")
    into.mkdir(parents=True, exist_ok=True)
    temp = Path(tempfile.mkdtemp(prefix=f".{uuid.uuid4().hex}", dir=into))
    try:
        with tarfile.open(fileobj=io.BytesIO(archive), mode="r:gz") as tar:
            for member in tar.getmembers():
                parts = PurePosixPath(member.name).parts
                if not member.isfile() or member.name.startswith("/") or ".." in parts:
                    raise StoreError(f"code package {uri(sha)} holds an unsafe entry {member.name!r}")
            tar.extractall(temp, filter="data")
        try:
            os.rename(temp, root)
        except OSError:  # another process unpacked it meanwhile
            if not (root / MANIFEST).is_file():
                raise
    finally:
        shutil.rmtree(temp, ignore_errors=True)
    return root


def git_of(root: Path) -> GitInfo | None:
    """The git commit a package was made from; None if `root` is not an unpacked package."""
    try:
        doc = json.loads((root / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return GitInfo(doc.get("git_commit"), doc.get("git_dirty"))
