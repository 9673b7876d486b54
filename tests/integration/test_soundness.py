"""Soundness of code versions through the real CLI: every edit that can change a result makes the
asset and its downstream stale; untouched code, cosmetic edits and unreachable edits stay fresh.

One project holds every scenario in its own module (`scen/s_NAME.py`, helpers in `lib_NAME/`),
each with an asset `s_NAME` and a downstream `d_NAME`. It is materialized once, checked fresh in a
second process, then every edit is applied at once and one `wb status --json` is read: scenarios
are independent (no shared code), so each edited asset must be stale, each guard fresh.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.conftest import run_wb, write_files

Edit = Callable[[Path], None]


@dataclass(frozen=True)
class Scenario:
    name: str
    module: str  # body of scen/s_NAME.py after the imports; defines asset `s_NAME`
    files: dict[str, str]
    edit: Edit
    stale: bool = True
    env: tuple[str, ...] = ()


def replace(path: str, old: str, new: str, *, keep_mtime: bool = False) -> Edit:
    def apply(root: Path) -> None:
        file = root / path
        text = file.read_text()
        assert old in text, (path, old)
        stat = file.stat()
        file.write_text(text.replace(old, new, 1))
        if keep_mtime:  # as cp -p, rsync -t or tar x leave it
            assert file.stat().st_size == stat.st_size, "the edit must keep the size"
            os.utime(file, ns=(stat.st_atime_ns, stat.st_mtime_ns))

    return apply


def both(*edits: Edit) -> Edit:
    def apply(root: Path) -> None:
        for edit in edits:
            edit(root)

    return apply


def nothing(root: Path) -> None:
    return None


def touch(path: str) -> Edit:
    def apply(root: Path) -> None:
        os.utime(root / path)

    return apply


S = Scenario
SCENARIOS = [
    # imports inside the body
    S("body_import", "def s_body_import():\n    from lib_body_import.util import f\n    return f()\n",
      {"lib_body_import/__init__.py": "", "lib_body_import/util.py": "def f():\n    return 1\n"},
      replace("lib_body_import/util.py", "return 1", "return 2")),
    S("body_import_module", "def s_body_import_module():\n    import lib_body_import_module.util as u\n    return u.f()\n",
      {"lib_body_import_module/__init__.py": "", "lib_body_import_module/util.py": "def g():\n    return 0\n\ndef f():\n    return g()\n"},
      replace("lib_body_import_module/util.py", "return 0", "return 5")),
    S("body_import_relative", "def s_body_import_relative():\n    from .rel_helper import f\n    return f()\n",
      {"scen/rel_helper.py": "def f():\n    return 'a'\n"},
      replace("scen/rel_helper.py", "'a'", "'b'")),
    # module-level values of every kind
    S("dataclass", "from dataclasses import dataclass\n\n@dataclass\nclass Cfg:\n    k: int\n\nCFG = Cfg(k=2)\n\ndef s_dataclass():\n    return CFG.k\n",
      {}, replace("scen/s_dataclass.py", "k=2", "k=3")),
    S("plain_instance", "class Plain:\n    def __init__(self, k):\n        self.k = k\n\nCFG = Plain(2)\n\ndef s_plain_instance():\n    return CFG.k\n",
      {}, replace("scen/s_plain_instance.py", "Plain(2)", "Plain(3)")),
    S("date", "import datetime\nSTART = datetime.date(2026, 1, 1)\n\ndef s_date():\n    return START.isoformat()\n",
      {}, replace("scen/s_date.py", "1, 1)", "1, 2)")),
    S("enum", "import enum\n\nclass Mode(enum.Enum):\n    A = 1\n    B = 2\n\nMODE = Mode.A\n\ndef s_enum():\n    return MODE.value\n",
      {}, replace("scen/s_enum.py", "MODE = Mode.A", "MODE = Mode.B")),
    S("path", "from pathlib import Path\nP = Path('a')\n\ndef s_path():\n    return str(P)\n",
      {}, replace("scen/s_path.py", "Path('a')", "Path('b')")),
    S("regex", "import re\nRX = re.compile('a+')\n\ndef s_regex():\n    return RX.pattern\n",
      {}, replace("scen/s_regex.py", "'a+'", "'b+'")),
    S("polars_expr", "import polars as pl\nEXPR = pl.col('x') * 2\n\ndef s_polars_expr():\n    return pl.DataFrame({'x': [1]}).select(EXPR)\n",
      {}, replace("scen/s_polars_expr.py", "* 2", "* 3")),
    S("toml_config", "import tomllib\nfrom pathlib import Path\nCONF = tomllib.loads((Path(__file__).parent.parent / 'conf.toml').read_text())\n\ndef s_toml_config():\n    return CONF['k']\n",
      {"conf.toml": "start = 2026-01-01\nk = 2\n"}, replace("conf.toml", "k = 2", "k = 3")),
    S("json_config", "import json\nfrom pathlib import Path\nCONF = json.loads((Path(__file__).parent.parent / 'conf.json').read_text())\n\ndef s_json_config():\n    return CONF['k']\n",
      {"conf.json": '{"k": 2, "when": "x"}'}, replace("conf.json", '"k": 2', '"k": 3')),
    S("dict_order", "D = {'a': 1, 'b': 2}\n\ndef s_dict_order():\n    return list(D)\n",
      {}, replace("scen/s_dict_order.py", "{'a': 1, 'b': 2}", "{'b': 2, 'a': 1}")),
    S("big_constant", "import json\nfrom pathlib import Path\nBIG = json.loads((Path(__file__).parent.parent / 'big.json').read_text())\n\ndef s_big_constant():\n    return sum(BIG)\n",
      {"big.json": json.dumps(list(range(20_000)))}, replace("big.json", "19999]", "19990]")),
    S("set_constant_order_free", "TAGS = {'alpha', 'beta', 'gamma', 'delta', 'epsilon'}\n\ndef s_set_constant_order_free():\n    return sorted(TAGS)\n",
      {}, replace("scen/s_set_constant_order_free.py", "'delta'", "'zeta'")),
    # decorators
    S("decorator_args", "import functools\n\ndef times(n):\n    def deco(fn):\n        @functools.wraps(fn)\n        def wrapper():\n            return fn() * n\n        return wrapper\n    return deco\n\n@times(2)\ndef helper():\n    return 1\n\ndef s_decorator_args():\n    return helper()\n",
      {}, replace("scen/s_decorator_args.py", "@times(2)", "@times(3)")),
    S("decorator_body", "import functools\n\ndef twice(fn):\n    @functools.wraps(fn)\n    def wrapper():\n        return fn() * 2\n    return wrapper\n\n@twice\ndef helper():\n    return 1\n\ndef s_decorator_body():\n    return helper()\n",
      {}, replace("scen/s_decorator_body.py", "fn() * 2", "fn() * 4")),
    S("decorator_on_asset", "import functools\n\ndef times(n):\n    def deco(fn):\n        @functools.wraps(fn)\n        def wrapper():\n            return fn() * n\n        return wrapper\n    return deco\n\n@asset\n@times(2)\ndef s_decorator_on_asset():\n    return 1\n",
      {}, replace("scen/s_decorator_on_asset.py", "@times(2)", "@times(3)")),
    S("decorator_in_other_module", "from lib_decorator_in_other_module.deco import twice\n\n@twice\ndef helper():\n    return 1\n\ndef s_decorator_in_other_module():\n    return helper()\n",
      {"lib_decorator_in_other_module/__init__.py": "", "lib_decorator_in_other_module/deco.py": "import functools\n\ndef twice(fn):\n    @functools.wraps(fn)\n    def wrapper():\n        return fn() * 2\n    return wrapper\n"},
      replace("lib_decorator_in_other_module/deco.py", "fn() * 2", "fn() * 3")),
    # functions reached through values
    S("list_of_functions", "def clean(x):\n    return x\n\ndef double(x):\n    return x * 2\n\nSTEPS = [clean, double]\n\ndef s_list_of_functions():\n    x = 1\n    for step in STEPS:\n        x = step(x)\n    return x\n",
      {}, replace("scen/s_list_of_functions.py", "x * 2", "x * 3")),
    S("registry", "import lib_registry.plugins  # noqa: F401  (fills the registry)\nfrom lib_registry.registry import REGISTRY\n\ndef s_registry():\n    return [f() for f in REGISTRY.values()]\n",
      {"lib_registry/__init__.py": "", "lib_registry/registry.py": "REGISTRY = {}\n\ndef register(fn):\n    REGISTRY[fn.__name__] = fn\n    return fn\n",
       "lib_registry/plugins.py": "from lib_registry.registry import register\n\n@register\ndef plugin():\n    return 'v1'\n"},
      replace("lib_registry/plugins.py", "'v1'", "'v2'")),
    S("partial", "import functools\n\ndef scale(k, x):\n    return k * x\n\nSCALE = functools.partial(scale, 2)\n\ndef s_partial():\n    return SCALE(1)\n",
      {}, replace("scen/s_partial.py", "return k * x", "return k * x + 1")),
    S("partial_args", "import functools\n\ndef scale(k, x):\n    return k * x\n\nSCALE = functools.partial(scale, 2)\n\ndef s_partial_args():\n    return SCALE(1)\n",
      {}, replace("scen/s_partial_args.py", "partial(scale, 2)", "partial(scale, 5)")),
    S("getattr_module", "import lib_getattr_module.ops as ops\n\ndef s_getattr_module():\n    return getattr(ops, 'f')()\n",
      {"lib_getattr_module/__init__.py": "", "lib_getattr_module/ops.py": "def f():\n    return 1\n"},
      replace("lib_getattr_module/ops.py", "return 1", "return 2")),
    # globals and branches
    S("global_initial", "COUNTER = 5\n\ndef s_global_initial():\n    global COUNTER\n    COUNTER += 1\n    return COUNTER\n",
      {}, replace("scen/s_global_initial.py", "COUNTER = 5", "COUNTER = 6")),
    S("if_else_class", "import os\nif os.environ.get('WB_TEST_NEVER_SET'):\n    class Model:\n        def value(self):\n            return 'inactive'\nelse:\n    class Model:\n        def value(self):\n            return 'active'\n\ndef s_if_else_class():\n    return Model().value()\n",
      {}, replace("scen/s_if_else_class.py", "'active'", "'ACTIVE'")),
    # options of @asset that change the stored result
    S("io_option", "@asset(io='json')\ndef s_io_option():\n    return {'a': 1}\n", {},
      replace("scen/s_io_option.py", "io='json'", "io='pickle'")),
    # caches the user can set back
    S("mtime_restored", "from lib_mtime_restored.util import f\n\ndef s_mtime_restored():\n    return f()\n",
      {"lib_mtime_restored/__init__.py": "", "lib_mtime_restored/util.py": "def f():\n    return 11\n"},
      replace("lib_mtime_restored/util.py", "11", "12", keep_mtime=True)),
    # environment variables, declared
    S("env_declared", "import os\n\n@asset(env=['WB_SOUND_SEED'])\ndef s_env_declared():\n    return os.environ.get('WB_SOUND_SEED')\n", {},
      nothing, env=("WB_SOUND_SEED",)),
    # guards: these must stay fresh
    S("guard_runtime_objects",
      "import logging\nimport random\nimport threading\nimport http.client\nfrom concurrent.futures import ThreadPoolExecutor\n\nLOCK = threading.Lock()\nLOG = logging.getLogger(__name__)\nRNG = random.Random()\nCLIENT = http.client.HTTPConnection('localhost', 9)\nPOOL = ThreadPoolExecutor(1)\n\nclass Anon:\n    pass\n\nOBJ = Anon()\nOBJ.lock = threading.RLock()\nADDRESSED = object()\nTAGS = {'x', 'y', 'z', 'w'}\n\ndef s_guard_runtime_objects():\n    with LOCK:\n        LOG.debug('%s %s %s %s', RNG, CLIENT, POOL, ADDRESSED)\n        return sorted(TAGS) + [type(OBJ).__name__]\n",
      {}, nothing, stale=False),
    S("guard_cosmetic", "def helper(x):\n    return x + 1\n\n@asset(tags={'team': 'a'})\ndef s_guard_cosmetic():\n    '''Doc.'''\n    return helper(1)\n",
      {}, both(replace("scen/s_guard_cosmetic.py", "'''Doc.'''", "'''Other doc.'''\n    # a comment"),
                replace("scen/s_guard_cosmetic.py", "return x + 1", "return  x+1  # same"),
                replace("scen/s_guard_cosmetic.py", "'team': 'a'", "'team': 'b'")), stale=False),
    S("guard_unreachable", "def used():\n    return 1\n\ndef unused():\n    return 1\n\nOTHER = 1\n\ndef s_guard_unreachable():\n    return used()\n",
      {"lib_guard_unreachable/__init__.py": "", "lib_guard_unreachable/util.py": "def f():\n    return 1\n"},
      both(replace("scen/s_guard_unreachable.py", "def unused():\n    return 1", "def unused():\n    return 2"),
           replace("scen/s_guard_unreachable.py", "OTHER = 1", "OTHER = 2"),
           replace("lib_guard_unreachable/util.py", "return 1", "return 2")), stale=False),
    S("guard_touched", "from lib_guard_touched.util import f\n\ndef s_guard_touched():\n    return f()\n",
      {"lib_guard_touched/__init__.py": "", "lib_guard_touched/util.py": "def f():\n    return 1\n"},
      both(touch("lib_guard_touched/util.py"), touch("scen/s_guard_touched.py")), stale=False),
]


def _module(s: Scenario) -> str:
    body = s.module if "@asset" in s.module else s.module.replace(f"def s_{s.name}(", f"@asset\ndef s_{s.name}(", 1)
    return f"from workbench import asset\n\n{body}\n\n@asset\ndef d_{s.name}(s_{s.name}):\n    return repr(s_{s.name})\n"


def _states(root: Path, env: dict[str, str] | None = None) -> dict[str, tuple[str, list[str]]]:
    result = _wb(root, env, "status", "--json")
    assert result.returncode == 0, result.stderr
    return {row["key"]: (row["state"], row["reasons"]) for row in json.loads(result.stdout)}


def _wb(root: Path, env: dict[str, str] | None, *args: str):  # type: ignore[no-untyped-def]
    saved = {k: os.environ.get(k) for k in (env or {})}
    os.environ.update(env or {})
    try:
        return run_wb(root, *args)
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


@pytest.mark.slow
def test_every_edit_that_can_change_a_result_makes_it_stale(tmp_path: Path) -> None:
    root = tmp_path / "proj"
    files = {"pyproject.toml": '[tool.workbench]\nmodules = ["scen"]\n', "scen/__init__.py": ""}
    for s in SCENARIOS:
        files[f"scen/s_{s.name}.py"] = _module(s)
        files.update(s.files)
    root.mkdir()
    for name, text in files.items():  # exact bytes (write_files dedents)
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)
    env = {"WB_SOUND_SEED": "1"}
    done = _wb(root, env, "materialize")
    assert done.returncode == 0, done.stdout + done.stderr

    before = _states(root, env)  # a second process: everything untouched is fresh
    assert {k for k, (state, _) in before.items() if state != "fresh"} == set()

    for s in SCENARIOS:
        s.edit(root)
    after = _states(root, {"WB_SOUND_SEED": "2"})

    wrong = []
    for s in SCENARIOS:
        expected = "stale" if s.stale else "fresh"
        for key in (f"s_{s.name}", f"d_{s.name}"):
            if after[key][0] != expected:
                wrong.append(f"{key}: {after[key][0]} {after[key][1]} (expected {expected})")
    assert not wrong, "\n".join(wrong)
    assert after["s_body_import"][1] == ["code changed"]
    assert after["d_body_import"][1] == ["upstream s_body_import stale"]


def test_code_outside_the_root_and_symlinked_in_is_project_code(tmp_path: Path) -> None:
    shared = tmp_path / "shared"
    write_files(shared, {"team_lib/__init__.py": "", "team_lib/core.py": "def f():\n    return 1\n", "linked.py": "def g():\n    return 1\n"})
    root = tmp_path / "proj"
    write_files(root, {
        "pyproject.toml": '[tool.workbench]\nmodules = ["pipeline"]\n',
        "pipeline.py": """
            from team_lib.core import f
            from workbench import asset

            @asset
            def outside():
                return f()

            @asset
            def via_link():
                from helpers_link import g
                return g()
        """,
    })
    (root / "helpers_link.py").symlink_to(shared / "linked.py")
    env = {"PYTHONPATH": str(shared)}
    assert _wb(root, env, "materialize").returncode == 0
    assert {s for s, _ in _states(root, env).values()} == {"fresh"}
    (shared / "team_lib" / "core.py").write_text("def f():\n    return 2\n")
    (shared / "linked.py").write_text("def g():\n    return 2\n")
    after = _states(root, env)
    assert after["outside"][0] == "stale" and after["via_link"][0] == "stale", after


def test_folder_source_sees_a_same_size_file_copied_with_its_mtime(tmp_path: Path) -> None:
    root = tmp_path / "proj"
    write_files(root, {
        "pyproject.toml": '[tool.workbench]\nmodules = ["pipeline"]\n',
        "data/a.csv": "x\n1\n",
        "data/b.csv": "x\n2\n",
        "pipeline.py": """
            from pathlib import Path
            from workbench import asset, source

            raw = source("raw", path="data")

            @asset
            def total(raw: Path) -> int:
                return sum(int(p.read_text().split()[1]) for p in sorted(raw.iterdir()))
        """,
    })
    b = root / "data" / "b.csv"
    os.utime(b, ns=(1_000_000_000, 1_000_000_000))  # b is old; a is the newest file
    assert run_wb(root, "materialize").returncode == 0
    copy = root / "copy.csv"
    copy.write_text("x\n9\n")  # same size as b.csv
    os.utime(copy, ns=(1_000_000_000, 1_000_000_000))
    shutil.copy2(copy, b)  # cp -p: same size, same mtime, new bytes
    state = _states(root)["total"]
    assert state[0] == "stale" and state[1] == ["upstream raw changed"], state


def test_library_versions_are_recorded(tmp_path: Path) -> None:
    root = tmp_path / "proj"
    write_files(root, {
        "pyproject.toml": '[tool.workbench]\nmodules = ["pipeline"]\n',
        "pipeline.py": """
            import polars as pl
            from workbench import asset

            @asset
            def frame() -> pl.DataFrame:
                import yaml  # a library imported in the body is recorded too
                return pl.DataFrame({"a": [len(yaml.safe_dump({}))]})
        """,
    })
    assert run_wb(root, "materialize").returncode == 0
    rows = json.loads(run_wb(root, "history", "frame", "--json").stdout)
    import polars
    import yaml

    assert rows[0]["libraries"]["polars"] == polars.__version__
    assert rows[0]["libraries"]["PyYAML"] == yaml.__version__
    assert "python" in rows[0]["libraries"]
