"""Each record has one definition, its dataclass: the index tables, row codecs and checks follow it."""

from __future__ import annotations

from dataclasses import fields

import pytest
from workbench.storage import rows, schema

from workbench.core.records import AliasEvent, CheckRecord, Materialization, Run, SourceObservation

PAIRS = [
    (Materialization, schema.MATERIALIZATIONS, rows.MATERIALIZATIONS),
    (Run, schema.RUNS, rows.RUNS),
    (SourceObservation, schema.SOURCE_OBSERVATIONS, rows.OBSERVATIONS),
    (AliasEvent, schema.ALIAS_EVENTS, rows.ALIAS_EVENTS),
    (CheckRecord, schema.CHECK_RESULTS, rows.CHECKS),
]


@pytest.mark.parametrize(("record", "table", "codec"), PAIRS, ids=lambda p: getattr(p, "__name__", ""))
def test_table_and_codec_have_the_dataclass_fields_in_order(record: type, table: object, codec: rows.Codec[object]) -> None:
    names = tuple(f.name for f in fields(record))
    assert tuple(c.name for c in table.columns) == names  # type: ignore[attr-defined]
    assert codec.names == names and codec.table == table.name  # type: ignore[attr-defined]


def test_column_types_and_nullability_follow_the_type_hints() -> None:
    columns = {c.name: c for c in schema.MATERIALIZATIONS.columns}
    assert str(columns["size"].type) == "BIGINT" and columns["size"].nullable
    assert str(columns["started_at"].type) == "DATETIME" and not columns["started_at"].nullable
    assert not columns["metrics"].nullable and not columns["partition"].nullable
    assert str(columns["git_dirty"].type) == "BOOLEAN" and columns["git_dirty"].nullable
    assert [c.name for c in schema.MATERIALIZATIONS.primary_key] == ["id"]
    json_columns = {rows.MATERIALIZATIONS.names[i] for i in rows.MATERIALIZATIONS.json_indexes}
    assert json_columns == {"input_versions", "metadata", "metrics", "libraries", "params", "series"}


GOOD = (
    '{"id": "x", "asset_key": "a", "status": "success", "code_version": "c", "run_id": "r", "trigger": "cli",'
    ' "started_at": "2026-11-01T12:00:00", "ended_at": "2026-11-01T12:00:01+00:00", "format": 1, "metrics": {"loss": NaN}}'
)


def test_a_record_file_is_checked_against_the_type_hints() -> None:
    m = Materialization.from_json(GOOD)
    assert m.started_at.tzinfo is not None  # a zoneless time is UTC
    for bad, message in [
        (GOOD.replace('"status": "success"', '"status": "done"'), "matching regex"),
        (GOOD.replace('"format": 1', '"size": 9223372036854775808'), "<= 9223372036854775807"),
        (GOOD.replace('"format": 1', '"rows": true'), "got `bool`"),
        (GOOD.replace('"format": 1', '"series": {"loss": [[1, 2, 3]]}'), "length <= 2"),
        (GOOD.replace('"format": 1', '"input_versions": {"a": 1}'), "Expected `str`"),
        (GOOD.replace('"id": "x", ', ""), "missing required field `id`"),
    ]:
        with pytest.raises(ValueError, match=message):
            Materialization.from_json(bad)
