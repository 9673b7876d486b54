"""Through the real CLI: content-addressed reuse, `wb why`, library versions as a stale reason, env vars."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path

from tests.conftest import run_wb

PIPELINE = """
from workbench import asset

SCALE = 2

@asset
def base() -> dict:
    print("base ran")
    return {"x": 21 * SCALE}

@asset
def child(base: dict) -> dict:
    print("child ran")
    return {"y": base["x"] + 1}
"""


def _json(result) -> object:  # type: ignore[no-untyped-def]
    assert result.returncode == 0, result.stdout + result.stderr
    return json.loads(result.stdout)


def test_reverting_an_edit_restores_the_stored_version_instead_of_running(
    make_project: Callable[..., Path],
) -> None:
    root = make_project({"pipeline.py": PIPELINE})
    first = _json(run_wb(root, "materialize", "--json"))
    assert set(first["materialized"]) == {"base", "child"}  # type: ignore[index]
    original = {r["key"]: r for r in _json(run_wb(root, "status", "--json"))}  # type: ignore[union-attr]

    pipeline = root / "pipeline.py"
    pipeline.write_text(PIPELINE.replace("SCALE = 2", "SCALE = 3"))
    assert set(_json(run_wb(root, "materialize", "--json"))["materialized"]) == {"base", "child"}  # type: ignore[index]

    pipeline.write_text(PIPELINE)  # A -> B -> A
    text = run_wb(root, "materialize")
    assert text.returncode == 0, text.stderr
    output = text.stdout + text.stderr  # progress goes to stderr
    assert output.count("reused version") == 2 and "base ran" not in output
    now = {r["key"]: r for r in _json(run_wb(root, "status", "--json"))}  # type: ignore[union-attr]
    assert all(now[k]["state"] == "fresh" for k in ("base", "child"))
    assert now["base"]["data_version"] == original["base"]["data_version"]
    assert now["child"]["data_version"] == original["child"]["data_version"]
    history = _json(run_wb(root, "history", "base", "--json"))
    assert history[0]["reused_from"] == history[2]["id"] and history[0]["trigger"] == "cli"  # type: ignore[index]
    logs = [r["log"] for r in history]  # type: ignore[union-attr]
    assert logs[0] == "" and "base ran" in logs[2]

    pipeline.write_text(PIPELINE.replace("SCALE = 2", "SCALE = 3"))
    ran = run_wb(root, "materialize", "--no-reuse", "--json")
    assert set(_json(ran)["materialized"]) == {"base", "child"}  # type: ignore[index]
    assert _json(run_wb(root, "history", "base", "--json"))[0]["reused_from"] is None  # type: ignore[index]


def test_reuse_needs_the_artifact_and_the_exact_inputs(make_project: Callable[..., Path]) -> None:
    root = make_project({"pipeline.py": PIPELINE})
    assert run_wb(root, "materialize").returncode == 0
    pipeline = root / "pipeline.py"
    pipeline.write_text(PIPELINE.replace('base["x"] + 1', 'base["x"] + 2'))
    assert run_wb(root, "materialize").returncode == 0
    for path in (root / ".workbench" / "artifacts" / "objects").rglob("*"):  # every artifact gone
        if path.is_file():
            path.unlink()
    pipeline.write_text(PIPELINE)
    out = run_wb(root, "materialize")
    assert out.returncode == 0 and "reused" not in out.stdout + out.stderr
    assert _json(run_wb(root, "history", "child", "--json"))[0]["reused_from"] is None  # type: ignore[index]


def test_why_lists_what_the_version_covers(make_project: Callable[..., Path]) -> None:
    root = make_project({
        "pipeline.py": """
            import polars as pl
            from helpers import clean
            from workbench import asset

            LIMIT = 3

            @asset(env=["WB_WHY_SEED"])
            def table() -> pl.DataFrame:
                from helpers import extra
                return pl.DataFrame({"a": [clean(LIMIT), extra()]})
        """,
        "helpers.py": "def clean(x):\n    return x\n\ndef extra():\n    return 1\n",
    })
    doc = _json(run_wb(root, "why", "table", "--json"))
    covers = doc["covers"]  # type: ignore[index]
    assert {f["name"] for f in covers["function"]} == {"pipeline.table", "helpers.clean", "helpers.extra"}
    assert [v["name"] for v in covers["value"]] == ["pipeline.LIMIT"]
    assert covers["env"] == [{"name": "WB_WHY_SEED", "where": "unset"}]
    assert {"name": "polars", "where": ""} in covers["library"]
    import polars

    assert doc["libraries"]["polars"] == polars.__version__  # type: ignore[index]
    text = run_wb(root, "why", "table")
    assert text.returncode == 0 and "helpers.clean" in text.stdout and "WB_WHY_SEED" in text.stdout
    bad = run_wb(root, "why", "tabel")
    assert bad.returncode == 2 and "did you mean 'table'" in bad.stderr


def test_env_declared_variable_enters_the_version(make_project: Callable[..., Path]) -> None:
    root = make_project({
        "pipeline.py": """
            import os
            from workbench import asset

            @asset(env=["WB_TEST_SEED"])
            def seeded() -> dict:
                return {"seed": os.environ.get("WB_TEST_SEED")}
        """
    })
    os.environ["WB_TEST_SEED"] = "1"
    try:
        assert run_wb(root, "materialize").returncode == 0
        assert _json(run_wb(root, "status", "--json"))[0]["state"] == "fresh"  # type: ignore[index]
        os.environ["WB_TEST_SEED"] = "2"
        assert _json(run_wb(root, "status", "--json"))[0]["state"] == "stale"  # type: ignore[index]
        del os.environ["WB_TEST_SEED"]
        assert _json(run_wb(root, "status", "--json"))[0]["state"] == "stale"  # type: ignore[index]
    finally:
        os.environ.pop("WB_TEST_SEED", None)
    bad = make_project({"pipeline.py": "from workbench import asset\n\n@asset(env='SEED')\ndef a():\n    return 1\n"})
    out = run_wb(bad, "status")
    assert out.returncode == 2 and "env= takes a list of variable names" in out.stderr


def test_library_upgrade_is_recorded_and_a_stale_reason_when_opted_in(make_project: Callable[..., Path]) -> None:
    """A fake installed distribution, upgraded between runs: recorded always, stale only on opt-in."""
    site = make_project({}).parent / "site" / "site-packages"

    def install(version: str) -> None:
        for old in site.glob("wbfakelib-*.dist-info"):
            for f in old.iterdir():
                f.unlink()
            old.rmdir()
        info = site / f"wbfakelib-{version}.dist-info"
        info.mkdir(parents=True)
        (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: wbfakelib\nVersion: {version}\n")
        (info / "top_level.txt").write_text("wbfakelib\n")
        (info / "RECORD").write_text("")
        (site / "wbfakelib").mkdir(exist_ok=True)
        (site / "wbfakelib" / "__init__.py").write_text("def f():\n    return 1\n")
        os.utime(site, ns=(os.stat(site).st_atime_ns, os.stat(site).st_mtime_ns + 10**9))  # a new install

    install("1.0")
    pipeline = """
        import wbfakelib
        from workbench import asset

        @asset
        def uses() -> dict:
            return {"v": wbfakelib.f()}
    """
    root = make_project({"pipeline.py": pipeline})
    env_path = os.environ.get("PYTHONPATH")
    os.environ["PYTHONPATH"] = str(site)
    try:
        assert run_wb(root, "materialize").returncode == 0
        assert _json(run_wb(root, "history", "uses", "--json"))[0]["libraries"]["wbfakelib"] == "1.0"  # type: ignore[index]
        install("1.1")
        assert _json(run_wb(root, "status", "--json"))[0]["state"] == "fresh"  # type: ignore[index]  # not opted in
        (root / "pyproject.toml").write_text('[tool.workbench]\nmodules = ["pipeline"]\nstale_on_library_change = true\n')
        row = _json(run_wb(root, "status", "--json"))[0]  # type: ignore[index]
        assert row["state"] == "stale" and row["reasons"] == ["library changed (wbfakelib 1.0 -> 1.1)"], row
        assert run_wb(root, "materialize").returncode == 0
        diff = run_wb(root, "diff", "uses@latest~1", "uses@latest")
        assert "library changed: wbfakelib 1.0 -> 1.1" in diff.stdout, diff.stdout + diff.stderr
    finally:
        if env_path is None:
            os.environ.pop("PYTHONPATH", None)
        else:
            os.environ["PYTHONPATH"] = env_path


def test_an_alias_is_refused_for_a_collected_version_and_history_marks_it(make_project: Callable[..., Path]) -> None:
    root = make_project({"pipeline.py": PIPELINE})
    pipeline = root / "pipeline.py"
    for scale in (2, 3, 4):
        pipeline.write_text(PIPELINE.replace("SCALE = 2", f"SCALE = {scale}"))
        assert run_wb(root, "materialize", "base", "--no-reuse").returncode == 0
    assert run_wb(root, "gc", "--keep", "1").returncode == 0
    refused = run_wb(root, "alias", "set", "base@latest~2", "champion")
    assert refused.returncode == 2 and "artifact was deleted" in refused.stderr, refused.stderr
    assert run_wb(root, "alias", "set", "base@latest", "champion").returncode == 0
    history = _json(run_wb(root, "history", "base", "--json"))
    assert [r["collected"] for r in history] == [False, True, True]  # type: ignore[index]
    assert "collected" in run_wb(root, "history", "base").stdout
