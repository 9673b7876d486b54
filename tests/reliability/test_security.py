"""Security: nothing escapes the store, user strings are never markup, no shell, pickles only from the store."""

from __future__ import annotations

import json
import pickle
import re
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import pytest
from wbcall import Wb
from workbench.storage.artifacts import ArtifactStore
from workbench.storage.metadata import DuckDBMetadataStore

import workbench
from tests.conftest import REPO, run_wb
from workbench.core.records import Materialization
from workbench.core.spec import check_key
from workbench.errors import DefinitionError, StoreError
from workbench.run.reporting import RichReporter

PIPELINE = """
from workbench import Output, StaticPartitions, asset


@asset
def model() -> object:
    return {1, 2, 3}  # a set: pickled


@asset
def score(model: object) -> dict:
    return {"n": len(model)}


@asset(partitions=StaticPartitions(["eu", "[bold red]p[/]"]))
def regional(partition: str) -> dict:
    return {"p": partition}
"""

MARKUP = """
from workbench import Output, asset


@asset
def good() -> dict:
    return Output({"v": 1}, metadata={"note": "[bold red]meta[/]"}, metrics={"[blink]m[/]": 1.0})


@asset
def bad(good: dict) -> dict:
    print("[bold red]log[/]")
    raise ValueError("[bold red]x[/] [link=https://evil.example]click[/link]")
"""


class Boom:
    """Unpickling this writes a marker file: proof that a pickle was loaded."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):  # type: ignore[no-untyped-def]
        return (Path.write_text, (self.marker, "pwned"))


@pytest.fixture
def project(make_project, wb: Wb) -> Path:  # type: ignore[no-untyped-def]
    root = make_project({"pipeline.py": PIPELINE})
    assert wb(root, "materialize")[0] == 0
    return root


@pytest.mark.parametrize("name", ["../x", "a/../b", "/etc/passwd", "a\\b", "..", "a/./b", "a b", "x[y]", ""])
def test_asset_keys_that_could_leave_the_store_are_refused(name: str) -> None:
    with pytest.raises(DefinitionError):
        check_key(name, "here")


@pytest.mark.parametrize("key", ["../../x", "/abs", "a/../../b"])
def test_a_record_cannot_be_written_outside_the_store(tmp_path: Path, key: str) -> None:
    store = ArtifactStore(str(tmp_path / "store"))
    record = Materialization(id="r", asset_key=key, status="success", code_version="c", run_id="r",
                             trigger="cli", started_at=workbench.core.records.utcnow(), ended_at=workbench.core.records.utcnow())  # fmt: skip
    with pytest.raises(StoreError):
        store.write_record(record)
    assert list(tmp_path.rglob("*.json")) == []


@pytest.mark.parametrize(
    "args",
    [
        ["show", "model@../../../etc/passwd"],
        ["show", "model@/etc/passwd"],
        ["show", "../model"],
        ["history", "../../etc/passwd"],
        ["diff", "model@latest", "model@..%2F..%2Fx"],
        ["lineage", "model@../x"],
        ["alias", "set", "model@latest", "../../champion"],
        ["materialize", "regional", "--partition", "../../etc"],
    ],
)
def test_references_that_try_to_leave_the_store_are_bad_input(project: Path, wb: Wb, args: list[str]) -> None:
    code, out, err = wb(project, *args)
    assert code == 2 and err.startswith("error: "), out + err
    if args[0] == "show":
        real = run_wb(project, *args)  # and the console script says the same
        assert real.returncode == 2 and real.stderr == err


@pytest.mark.parametrize("uri", ["../../evil.pkl", "ABSOLUTE", "objects/../../../evil.pkl"])
def test_pickles_load_only_from_the_projects_own_store(project: Path, wb: Wb, uri: str) -> None:
    """A tampered record naming a pickle outside the store: refused, never unpickled, and rebuilt."""
    marker = project / "pwned"
    evil = project / "evil.pkl"
    evil.write_bytes(pickle.dumps(Boom(marker)))
    uri = str(evil) if uri == "ABSOLUTE" else uri
    store = DuckDBMetadataStore(project / ".workbench" / "metadata.duckdb")
    (good,) = store.history("model", limit=1)
    store.add(replace(good, id="tampered", artifact_uri=uri, ended_at=good.ended_at + timedelta(milliseconds=1)))

    code, out, _ = wb(project, "status", "--json")
    row = next(r for r in json.loads(out) if r["key"] == "model")
    assert row["state"] == "stale" and f"artifact missing ({uri})" in row["reasons"]
    code, _, err = wb(project, "show", "model")
    assert code == 3 and "not a plain relative path inside the store" in err  # a damaged store
    with pytest.raises(StoreError):
        workbench.load("model", project=project)
    code, _, err = wb(project, "materialize", "score", "--only", "--no-reuse")
    assert code == 1 and "not a plain relative path inside the store" in err  # its input is refused
    assert wb(project, "materialize")[0] == 0  # the model is rebuilt inside the store
    assert workbench.load("model", project=project) == {1, 2, 3}
    assert not marker.exists()


def test_user_strings_are_printed_literally_never_as_markup(make_project) -> None:  # type: ignore[no-untyped-def]
    root = make_project({"pipeline.py": MARKUP})
    run = run_wb(root, "materialize")
    assert run.returncode == 1 and "[bold red]x[/] [link=https://evil.example]click[/link]" in run.stderr
    status = run_wb(root, "status")
    assert "failed (ValueError: [bold red]x[/] [link=https://evil.example]click[/link])" in status.stdout
    history = run_wb(root, "history", "bad")
    assert "[bold red]x[/]" in history.stdout and "[link=https://evil.example]" in history.stdout
    show = run_wb(root, "show", "bad")
    assert "[bold red]x[/]" in show.stdout and "[bold red]log[/]" in show.stdout
    good = run_wb(root, "history", "good")
    assert "[blink]m[/]" in good.stdout
    assert "[blink]m[/]" in run_wb(root, "show", "good").stdout
    assert "[bold red]meta[/]" in run_wb(root, "history", "good", "--json").stdout


def test_the_progress_line_does_not_read_partitions_as_markup() -> None:
    reporter = RichReporter()
    reporter.started("regional[[bold red]p[/]]")
    from rich.text import Text

    (task,) = reporter.progress.tasks
    assert Text.from_markup(task.description).plain == "running regional[[bold red]p[/]]"


def _sources() -> list[Path]:
    return [p for folder in ("workbench", "storage", "tui") for p in (REPO / folder).rglob("*.py")]


def test_no_shell_and_no_string_commands() -> None:
    """No `shell=True`, `os.system` or `os.popen`; subprocess calls pass argument lists."""
    offenders = []
    for path in _sources():
        text = path.read_text(encoding="utf-8")
        for pattern in (r"shell\s*=\s*True", r"\bos\.system\(", r"\bos\.popen\(", r"subprocess\.\w+\(\s*f?[\"']"):
            offenders += [f"{path.relative_to(REPO)}: {m.group(0)}" for m in re.finditer(pattern, text)]
    assert offenders == []


def test_pickle_is_read_in_two_places_only() -> None:
    """One `pickle.load` reads a path the artifact store handed out (checked by the test above); the
    other, a run's worker process and `wb` reading each other on the socket pair made at the fork."""
    users = [p.relative_to(REPO) for p in _sources() if re.search(r"pickle\.loads?\(", p.read_text(encoding="utf-8"))]
    assert sorted(users) == [Path("workbench/run/processes.py"), Path("workbench/run/serializers.py")]



# The TUI (its own tests cover keys, errors, logs and preview cells; these add reasons, metrics, partitions).

MARKUP_RECORD = Materialization(
    id="m1", asset_key="good", status="failed", code_version="c", run_id="r", trigger="tui",
    started_at=workbench.core.records.utcnow(), ended_at=workbench.core.records.utcnow(), partition="[bold red]p[/]",
    error="ValueError: [bold red]x[/]", log="[blink]log[/]", metrics={"[blink]m[/]": 1.0},
)  # fmt: skip


def test_the_tui_detail_pane_shows_user_strings_verbatim() -> None:
    from workbench.tui import describe

    from workbench.core.graph import AssetGraph
    from workbench.core.spec import AssetSpec
    from workbench.core.staleness import R_FAILED, Reason, Status

    graph = AssetGraph.build([AssetSpec(key="good", fn=lambda: None, params=())])
    status = Status("good", "failed", (Reason(R_FAILED, detail="[bold red]x[/]"),), "c", None, MARKUP_RECORD, MARKUP_RECORD)
    overview = describe.overview(graph, REPO, "good", status).plain
    assert "failed ([bold red]x[/])" in overview and "[blink]m[/] = " in overview
    run = describe.last_run(MARKUP_RECORD).plain
    assert "ValueError: [bold red]x[/]" in run and "[blink]log[/]" in run


def test_the_tui_version_table_shows_metric_names_and_partitions_verbatim() -> None:
    import asyncio

    from textual.app import App, ComposeResult
    from workbench.tui.version_table import VersionTable

    class Host(App[None]):
        def compose(self) -> ComposeResult:
            yield VersionTable()

    async def labels() -> tuple[list[str], list[str]]:
        async with Host().run_test() as pilot:
            table = pilot.app.query_one(VersionTable)
            table.show([MARKUP_RECORD])
            return [c.label.plain for c in table.columns.values()], [str(c) for c in table.get_row_at(0)]

    columns, row = asyncio.run(labels())
    assert "[bold red]p[/]" in row
    assert "[blink]m[/]" in columns
