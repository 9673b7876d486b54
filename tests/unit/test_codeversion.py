"""Code versions: which edits change an asset's version, and the on-disk digest cache."""

from __future__ import annotations

import ast
import importlib
import itertools
import json
import os
import sys
import textwrap
from collections.abc import Callable, Iterator
from pathlib import Path
from types import ModuleType

import pytest

from workbench.core.spec import AssetSpec, spec_of
from workbench.versioning import codeversion
from workbench.versioning.codeversion import CodeVersions

Version = Callable[..., str]
Project = Callable[..., tuple[Path, ModuleType]]

BASE = """
    import json
    from workbench.core.spec import asset

    SCALE = 2

    def helper(x):
        return x + 1

    @asset(tags={"team": "a"})
    def out():
        '''Docstring.'''
        # a comment
        return json.dumps(helper(SCALE))
"""


def _spec(module: ModuleType, name: str) -> AssetSpec:
    return _spec_of(getattr(module, name))


def _spec_of(fn: object) -> AssetSpec:
    spec = spec_of(fn)
    assert isinstance(spec, AssetSpec)
    return spec


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Project]:
    """Writes files into a fresh root and imports `assets` from it, with `root/path` on sys.path."""
    monkeypatch.setattr(sys, "dont_write_bytecode", True)
    counter, names = itertools.count(), set()

    def load(files: dict[str, str], path: str = "") -> tuple[Path, ModuleType]:
        root = tmp_path / f"p{next(counter)}"
        for name, text in files.items():
            (root / name).parent.mkdir(parents=True, exist_ok=True)
            (root / name).write_text(textwrap.dedent(text))
        module_names = {Path(n).with_suffix("").as_posix().replace("/", ".") for n in files} | {"assets"}
        names.update(module_names)
        for name in module_names:
            sys.modules.pop(name, None)
        for entry in {root, root / path}:
            monkeypatch.syspath_prepend(str(entry))
        return root, importlib.import_module("assets")

    yield load
    for name in names:
        sys.modules.pop(name, None)


@pytest.fixture
def version(project: Project) -> Version:
    """Code version of asset `name` in a project of `assets.py` and other modules given by name."""

    def compute(assets: str, name: str = "out", **files: str) -> str:
        root, module = project({"assets.py": assets, **{f"{k}.py": v for k, v in files.items()}})
        return CodeVersions(root).of(_spec(module, name))

    return compute


@pytest.mark.parametrize(
    "edited",
    [
        BASE.replace("# a comment", "# another comment\n        # and more"),
        BASE.replace("'''Docstring.'''", "'''A different\n        docstring.'''"),
        BASE.replace("'''Docstring.'''", ""),
        BASE.replace("def out():", "\n\n\n    def out(\n    ):").replace(
            "json.dumps(helper(SCALE))", "json.dumps( helper( SCALE ) )"
        ),
        BASE.replace('tags={"team": "a"}', 'tags={"team": "b"}, group="g"'),
        BASE.replace("def helper(x):", "def helper(x):  # helper\n        '''Helper doc.'''\n"),
        "\n    # leading comment shifts every line\n" + BASE,
    ],
    ids=["comment", "docstring", "docstring-removed", "whitespace", "decorator-args", "helper-doc", "shifted"],
)
def test_cosmetic_edits_keep_version(version: Version, edited: str) -> None:
    assert version(edited) == version(BASE)


@pytest.mark.parametrize(
    "edited",
    [
        BASE.replace("helper(SCALE))", "helper(SCALE) + 1)"),
        BASE.replace("return x + 1", "return x + 2"),
        BASE.replace("SCALE = 2", "SCALE = 3"),
        BASE.replace("SCALE = 2", "SCALE = 2.0"),
        BASE.replace("def helper", "def helper2").replace("helper(SCALE)", "helper2(SCALE)"),
    ],
    ids=["logic", "helper-logic", "constant", "constant-type", "helper-renamed"],
)
def test_meaningful_edits_change_version(version: Version, edited: str) -> None:
    assert version(edited) != version(BASE)


def test_nested_function_and_class_docstrings_are_ignored(version: Version) -> None:
    src = """
        from workbench.core.spec import asset

        class Box:
            '''Box doc.'''
            def get(self):
                '''Get doc.'''
                return 1

        @asset
        def out():
            def inner():
                '''Inner doc.'''
                return Box().get()
            return inner()
    """
    assert version(src) == version(src.replace("doc.'''", "changed doc.'''"))
    assert version(src) != version(src.replace("return 1", "return 2"))


def test_local_names_do_not_hide_globals_read_elsewhere(version: Version) -> None:
    src = BASE.replace(
        "return json.dumps(helper(SCALE))",
        "fmt = lambda helper: [SCALE for SCALE in helper]\n        return fmt(helper(SCALE))",
    )
    assert version(src) != version(src.replace("return x + 1", "return x + 2"))
    assert version(src) != version(src.replace("SCALE = 2", "SCALE = 3"))


FROM_IMPORT = """
    from helpers import clean
    from workbench.core.spec import asset

    @asset
    def out():
        return clean(" x ")
"""
MODULE_IMPORT = """
    import helpers
    from workbench.core.spec import asset

    @asset
    def out():
        return helpers.clean(" x ")
"""
HELPERS = """
    import settings

    def clean(s):
        return _strip(s)

    def _strip(s):
        return s.strip()[: settings.LIMIT]
"""


@pytest.mark.parametrize("assets", [FROM_IMPORT, MODULE_IMPORT], ids=["from-import", "module-import"])
def test_helpers_in_other_modules_are_followed_transitively(version: Version, assets: str) -> None:
    def with_helpers(helpers: str = HELPERS, settings: str = "LIMIT = 3") -> str:
        return version(assets, helpers=helpers, settings=settings)

    base = with_helpers()
    assert with_helpers(HELPERS.replace("def clean(s):", 'def clean(s):  # comment\n        """Doc."""\n')) == base
    assert with_helpers(settings="LIMIT = 3  # same") == base
    assert with_helpers(HELPERS.replace("return _strip(s)", "return _strip(s) * 2")) != base
    assert with_helpers(HELPERS.replace("s.strip()", "s.lstrip()")) != base  # a helper of a helper
    assert with_helpers(settings="LIMIT = 4") != base  # a constant read through `settings.LIMIT`


def test_library_code_is_not_hashed(project: Project, monkeypatch: pytest.MonkeyPatch) -> None:
    src = """
        import json
        from lib import clean
        from workbench.core.spec import asset

        @asset
        def out():
            return json.dumps(clean(" x "))
    """
    library = "def clean(s):\n    return s.strip()\n"

    def compute(lib: str, installed: bool) -> str:
        site = ".venv/lib/python3/site-packages" if installed else ""
        sys.modules.pop("lib", None)
        root, module = project({"assets.py": src, f"{site}/lib.py".lstrip("/"): lib}, path=site)
        return CodeVersions(root).of(_spec(module, "out"))

    changed = library.replace("strip", "lstrip")
    assert compute(changed, installed=True) == compute(library, installed=True)
    assert compute(changed, installed=False) != compute(library, installed=False)  # inside the project it counts
    sys.modules.pop("lib", None)


def test_mutual_recursion_terminates_and_tracks_both(version: Version) -> None:
    src = """
        from workbench.core.spec import asset

        def even(n):
            return True if n == 0 else odd(n - 1)

        def odd(n):
            return False if n == 0 else even(n - 1)

        @asset
        def out():
            return out if even(4) else None
    """
    assert version(src) != version(src.replace("return False if", "return None if"))
    assert version(src) != version(src.replace("return True if", "return None if"))


def test_other_assets_are_followed_like_helpers(version: Version) -> None:
    src = """
        from workbench.core.spec import asset

        @asset(tags={"a": "b"})
        def first():
            return 1

        @asset
        def out():
            return first() + 1
    """
    assert version(src) == version(src.replace('tags={"a": "b"}', ""))
    assert version(src) != version(src.replace("return 1", "return 2"))


def test_explicit_code_version_is_used_and_body_ignored(version: Version) -> None:
    src = BASE.replace('@asset(tags={"team": "a"})', '@asset(code_version="v1")')
    pinned = version(src)
    assert version(src.replace("return x + 1", "return x + 2")) == pinned
    assert version(src.replace('code_version="v1"', 'code_version="v2"')) != pinned
    assert version(src.replace('code_version="v1"', 'code_version="v1", io="pickle"')) != pinned  # io= still counts


def test_factory_functions_differ_by_captured_values(project: Project) -> None:
    root, module = project(
        {
            "assets.py": """
                from workbench.core.spec import asset

                def make(n, label):
                    @asset(name=f"a{n}")
                    def f():
                        return label * n
                    return f

                def make_default(n):
                    @asset(name=f"d{n}")
                    def g(k=n):
                        return k
                    return g

                made = [make(n, "x") for n in (1, 2)] + [make(1, "y"), make(1, "x")]
                defaulted = [make_default(n) for n in (1, 2)]
            """
        }
    )
    versions = CodeVersions(root)
    made = [versions.of(_spec_of(f)) for f in module.made]
    assert len(set(made[:3])) == 3 and made[3] == made[0]
    defaulted = [versions.of(_spec_of(f)) for f in module.defaulted]
    assert defaulted[0] != defaulted[1]


def test_source_less_function_falls_back_to_bytecode(tmp_path: Path) -> None:
    namespace: dict[str, object] = {}
    exec("from workbench.core.spec import asset\n@asset\ndef out():\n    return 1\n", namespace)
    other: dict[str, object] = {}
    exec("from workbench.core.spec import asset\n@asset\ndef out():\n    return 2\n", other)
    versions = CodeVersions(tmp_path)
    assert versions.of(_spec_of(namespace["out"])) != versions.of(_spec_of(other["out"]))


def test_persisted_cache_gives_identical_results(
    project: Project, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root, module = project({"assets.py": MODULE_IMPORT, "helpers.py": HELPERS, "settings.py": "LIMIT = 3"})
    cache = tmp_path / "cache" / "code_versions.json"
    cold = CodeVersions(root, cache)
    expected = cold.of(_spec(module, "out"))
    cold.save()
    assert cache.exists() and not list(cache.parent.glob("*.tmp"))
    written = cache.stat().st_mtime_ns

    def no_parsing(*args: object, **kwargs: object) -> None:
        raise AssertionError("warm cache should not parse")

    with monkeypatch.context() as patched:
        patched.setattr(ast, "parse", no_parsing)
        warm = CodeVersions(root, cache)
        assert warm.of(_spec(module, "out")) == expected
        warm.save()
    assert cache.stat().st_mtime_ns == written  # nothing changed, nothing written

    sys.modules["settings"].LIMIT = 4  # type: ignore[attr-defined]
    assert CodeVersions(root, cache).of(_spec(module, "out")) != expected  # constants are read live


def test_cache_is_refreshed_when_a_file_changes(project: Project, tmp_path: Path) -> None:
    root, module = project({"assets.py": MODULE_IMPORT, "helpers.py": HELPERS, "settings.py": "LIMIT = 3"})
    cache = tmp_path / "code_versions.json"
    versions = CodeVersions(root, cache)
    before = versions.of(_spec(module, "out"))
    versions.save()
    helpers = root / "helpers.py"
    helpers.write_text(helpers.read_text().replace("s.strip()", "s.lstrip()"))
    os.utime(helpers, ns=(0, 1))  # mtime set back: the cache is keyed by content, not by stamps
    for name in ("assets", "helpers", "settings"):  # the edited code is what a new import runs
        sys.modules.pop(name, None)
    module = importlib.import_module("assets")
    assert CodeVersions(root, cache).of(_spec(module, "out")) != before


@pytest.mark.parametrize("content", ["{not json", '{"format": 1}', "[]", '{"format": "%s", "files": {"x": 1}}'])
def test_corrupt_cache_is_ignored(project: Project, tmp_path: Path, content: str) -> None:
    root, module = project({"assets.py": BASE})
    cache = tmp_path / "code_versions.json"
    cache.write_text(content.replace("%s", codeversion.CACHE_FORMAT))
    versions = CodeVersions(root, cache)
    assert versions.of(_spec(module, "out")) == CodeVersions(root).of(_spec(module, "out"))
    versions.save()
    assert CodeVersions(root, cache).of(_spec(module, "out")) == versions.of(_spec(module, "out"))


def test_a_big_shared_list_of_functions_is_followed_from_every_asset(project: Project) -> None:
    src = """
        from workbench.core.spec import asset

        def step(x):
            return x + 1

        STEPS = [step] * 500

        @asset
        def first():
            return sum(f(0) for f in STEPS)

        @asset
        def second():
            return len(STEPS)
    """

    def both(text: str) -> tuple[str, str]:
        root, module = project({"assets.py": text})
        versions = CodeVersions(root)  # one instance: the list is encoded once and reused
        return versions.of(_spec(module, "first")), versions.of(_spec(module, "second"))

    before = both(src)
    after = both(src.replace("x + 1", "x + 2"))
    assert before[0] != after[0] and before[1] != after[1]
    assert both(src) == before


def test_a_cache_edited_by_someone_else_is_ignored(project: Project, tmp_path: Path) -> None:
    """The cache lives in a checkout's .workbench: it is signed with this user's key, so a planted
    entry (say, an old digest for an edited function) cannot make a changed asset look fresh."""
    root, module = project({"assets.py": BASE})
    cache = tmp_path / "code_versions.json"
    versions = CodeVersions(root, cache)
    expected = versions.of(_spec(module, "out"))
    versions.save()
    header, _, body = cache.read_bytes().partition(b"\n")
    entry = json.loads(body)
    for table in entry.values():
        for fn in table["index"]["f"].values():
            fn[0] = "0" * 32  # a forged digest
    cache.write_bytes(header + b"\n" + json.dumps(entry).encode())
    assert CodeVersions(root, cache).of(_spec(module, "out")) == expected
