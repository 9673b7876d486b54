"""The pure parts of issue 14: unit names, partition sets (dynamic, two-dimensional), mappings
between them, and reasons summarised per upstream asset."""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

import pytest

from workbench.core.dynamic import PartitionEvent, check_partition_key, current_keys
from workbench.core.partitions import (
    AllPartitions,
    DailyPartitions,
    Dimension,
    DynamicPartitions,
    MultiPartitions,
    StaticPartitions,
    default_mapping,
    keys_of,
    parent_partitions,
    select_partitions,
)
from workbench.core.spec import source
from workbench.core.staleness import R_UPSTREAM_STALE, Reason, summarize
from workbench.core.summary import key_ranges, ranges_text, units_text
from workbench.core.unitref import UnitRef, check_partition, parse_unit, split_selection
from workbench.errors import DefinitionError, SelectionError, VersionRefError
from workbench.versioning.sources import partition_files, source_location, source_pattern

DAYS = DailyPartitions(start="2026-11-01", end="2026-11-03")
REGIONS = StaticPartitions(["eu", "us"])
SALES = MultiPartitions(date=DAYS, region=REGIONS)


@pytest.mark.parametrize(
    ("text", "unit"),
    [
        ("events", UnitRef("events")),
        ("events@latest~1", UnitRef("events", None, "latest~1")),
        ("events[2026-11-01]", UnitRef("events", "2026-11-01")),
        ("events[2026-11-01]@abc123", UnitRef("events", "2026-11-01", "abc123")),
        ("sales[2026-11-01|eu]@champion", UnitRef("sales", "2026-11-01|eu", "champion")),
        ("prefix/model[layers=[64, 32]:lr=0.1]@best:-loss", UnitRef("prefix/model", "layers=[64, 32]:lr=0.1", "best:-loss")),
    ],
)
def test_units_parse_and_print_back(text: str, unit: UnitRef) -> None:
    assert parse_unit(text) == unit
    assert str(unit) == text


@pytest.mark.parametrize("text", ["events[]", "events]x[", "events[2026-11-01]x", "events[2026-11-01"])
def test_malformed_units_are_bad_input(text: str) -> None:
    with pytest.raises(SelectionError, match="cannot read"):
        parse_unit(text)
    with pytest.raises(VersionRefError, match="empty version reference"):
        parse_unit("events[2026-11-01]@")


def test_a_named_partition_is_checked_against_the_asset() -> None:
    keys = {"events": keys_of(DAYS, {}), "total": ()}
    assert check_partition(keys, parse_unit("events[2026-11-02]")).unit == "events[2026-11-02]"
    with pytest.raises(SelectionError, match="unknown partition '2026-12-01'"):
        check_partition(keys, parse_unit("events[2026-12-01]"))
    with pytest.raises(SelectionError, match="total is not partitioned"):
        check_partition(keys, parse_unit("total[x]"))
    with pytest.raises(SelectionError, match="names several partitions"):
        check_partition(keys, parse_unit("events[2026-11-01..2026-11-02]"))


def test_selections_name_partitions_per_key() -> None:
    assert split_selection("events[2026-11-01..2026-11-02]+ or total") == ("events+ or total", {"events": "2026-11-01..2026-11-02"})
    assert split_selection("(a[x]),a[y] b") == ("(a),a b", {"a": "x,y"})
    assert split_selection("+a[x]*") == ("+a*", {"a": "x"})
    assert split_selection("group:prep") == ("group:prep", {})
    with pytest.raises(SelectionError, match="empty partition"):
        split_selection("a[ ]")


def test_two_dimensional_keys_and_selecting_one_dimension() -> None:
    keys = keys_of(SALES, {})
    assert keys[:3] == ("2026-11-01|eu", "2026-11-01|us", "2026-11-02|eu") and len(keys) == 6
    assert select_partitions(keys, "2026-11-02") == ["2026-11-02|eu", "2026-11-02|us"]
    assert select_partitions(keys, "2026-11-02..2026-11-03") == list(keys[2:])
    assert select_partitions(keys, "us") == ["2026-11-01|us", "2026-11-02|us", "2026-11-03|us"]
    assert select_partitions(keys, "2026-11-01|us,2026-11-03") == ["2026-11-01|us", "2026-11-03|eu", "2026-11-03|us"]
    with pytest.raises(SelectionError, match="no dimension has 'asia'"):
        select_partitions(keys, "asia")
    with pytest.raises(DefinitionError, match="at least two dimensions"):
        MultiPartitions(date=DAYS)
    with pytest.raises(DefinitionError, match="may not contain"):
        MultiPartitions(date=DAYS, region=StaticPartitions(["a|b"]))


def test_mappings_between_a_two_dimensional_asset_and_its_dimensions() -> None:
    assert default_mapping(SALES, DAYS) == Dimension("date")  # sales[day|region] reads daily[day]
    assert default_mapping(DAYS, SALES) == Dimension("date")  # daily[day] reads every region of its day
    assert default_mapping(SALES, REGIONS) == Dimension("region")
    assert default_mapping(None, SALES) == AllPartitions()
    day_keys, sales_keys = keys_of(DAYS, {}), keys_of(SALES, {})
    assert parent_partitions(Dimension("date"), "2026-11-02|us", day_keys, SALES, DAYS) == ["2026-11-02"]
    assert parent_partitions(Dimension("date"), "2026-11-02", sales_keys, DAYS, SALES) == ["2026-11-02|eu", "2026-11-02|us"]
    assert parent_partitions(Dimension("region"), "2026-11-03|eu", ("eu", "us"), SALES, REGIONS) == ["eu"]


def test_dynamic_keys_are_folded_from_events_in_time_order() -> None:
    def at(second: int, key: str, added: bool = True) -> PartitionEvent:
        return PartitionEvent(f"id{second}", "customers", key, added, "me", datetime(2026, 11, 1, 0, 0, second, tzinfo=timezone.utc))

    events = [at(3, "globex", added=False), at(1, "globex"), at(2, "acme"), at(4, "initech")]
    assert current_keys(events) == {"customers": ("acme", "initech")}
    assert PartitionEvent.from_json(at(1, "acme").to_json()) == at(1, "acme")
    assert keys_of(DynamicPartitions("customers"), current_keys(events)) == ("acme", "initech")
    assert keys_of(DynamicPartitions("customers"), {}) == ()
    assert keys_of(MultiPartitions(customer=DynamicPartitions("customers"), region=REGIONS), {"customers": ["a"]}) == ("a|eu", "a|us")
    for bad in ("", " x", "a|b", "a,b", "a..b", "x]"):
        with pytest.raises(SelectionError, match="invalid partition key"):
            check_partition_key(bad)
    with pytest.raises(DefinitionError, match="letters, digits"):
        DynamicPartitions("no spaces")


def test_partitioned_source_paths_name_their_dimensions(tmp_path: Path) -> None:
    orders = source("orders", path="data/{date}.csv", partitions=DAYS)
    assert orders.partitions == DAYS and source_pattern(orders) == "data/*.csv"  # what `wb watch` watches
    (tmp_path / "data").mkdir()
    for name in ("2026-11-01.csv", "2026-11-03.csv", "2026-12-01.csv", "notes.csv"):
        (tmp_path / "data" / name).write_text("x\n")
    found, unmatched = partition_files(orders, tmp_path, keys_of(DAYS, {}))
    assert sorted(found) == ["2026-11-01", "2026-11-03"] and [p.name for p in unmatched] == ["2026-12-01.csv", "notes.csv"]
    by_region = source("sales", path="data/{region}/{date}.csv", partitions=SALES)
    assert source_location(by_region, tmp_path, "2026-11-02|us") == tmp_path / "data" / "us" / "2026-11-02.csv"
    assert source("sales", path="data/{region}/{date}.csv", partitions=SALES).path == "data/{region}/{date}.csv"
    with pytest.raises(DefinitionError, match=r"needs one \{placeholder\}"):
        source("orders", path="data/*.csv", partitions=DAYS)
    with pytest.raises(DefinitionError, match=r"needs \{date\}, \{region\}"):
        source("sales", path="data/{day}/{region}.csv", partitions=SALES)


def test_ranges_of_consecutive_partitions() -> None:
    keys = [f"k{i:02}" for i in range(10)]
    assert key_ranges(keys, ["k01", "k02", "k03", "k07", "k09"]) == [("k01", "k03"), ("k07", "k07"), ("k09", "k09")]
    assert ranges_text(key_ranges(keys, ["k00", "k02", "k04", "k06", "k08"])) == "k00, k02, k04, and 2 more range(s)"


def test_many_stale_partitions_of_one_upstream_make_one_reason() -> None:
    days = [f"2025-{m:02}-{d:02}" for m in range(1, 13) for d in range(1, 29)]
    parents = tuple(f"orders[{d}]" for d in days) + ("prices",)
    stale = [Reason(R_UPSTREAM_STALE, f"orders[{d}]") for d in days[:3]] + [Reason(R_UPSTREAM_STALE, "prices")]
    (one, other) = summarize(stale, parents)
    assert str(one) == f"upstream orders: 3 of {len(days)} partitions stale (2025-01-01..2025-01-03)"
    assert one.to_json() == {
        "kind": "upstream stale", "upstream": "orders",
        "partitions": {"count": 3, "of": len(days), "ranges": [["2025-01-01", "2025-01-03"]]},
    }  # fmt: skip
    assert str(other) == "upstream prices stale"
    same = [Reason(R_UPSTREAM_STALE, "orders[2025-01-02]")]  # one partition read: named as before
    assert summarize(same, ("orders[2025-01-02]",)) == same


def test_added_and_removed_partitions_are_counted_per_asset() -> None:
    among = [f"orders[d{i}]" for i in range(6)] + ["prices"]
    assert units_text(["orders[d1]", "orders[d2]", "orders[d4]", "prices"], among) == "orders: 3 partitions (d1..d2, d4), prices"
    assert units_text(["orders[d5]"], among) == "orders[d5]"
