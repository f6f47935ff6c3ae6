"""The pieces of ``ecrm import``: cell parsers, JSON values, mapping files, the order.placed properties."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from ecrm_dsl.importer.json_values import from_json_value
from ecrm_dsl.importer.mapping import MappingError, load_mapping
from ecrm_dsl.importer.order_events import DERIVED, placed_properties
from ecrm_dsl.importer.values import (
    CellError,
    parse_bool,
    parse_date,
    parse_datetime,
    parse_decimal,
    parse_int,
    parse_list,
    parse_yen,
)
from ecrm_dsl.language import catalog

TOKYO = ZoneInfo("Asia/Tokyo")
DATA = Path(__file__).parent / "data" / "import"


@pytest.mark.parametrize(
    "text, yen",
    [
        ("3000", 3000),
        ("3,000", 3000),
        ("¥3,000", 3000),
        ("￥3,000", 3000),
        ("3000円", 3000),
        ("3,000円", 3000),
        ("３，０００円", 3000),
        ("\\3,000", 3000),
        ("0", 0),
        ("-500", -500),
        ("¥-500", -500),
        ("-¥500", -500),
        ("1,234,567", 1234567),
        ("3000.00", 3000),
        ("3000JPY", 3000),
        ("¥ 3,000", 3000),
    ],
)
def test_yen(text: str, yen: int) -> None:
    assert parse_yen(text) == yen


@pytest.mark.parametrize("text", ["3,00", "3000.5", "abc", "¥", "30,00円", "--5", "-¥-5", "3 000"])
def test_not_yen(text: str) -> None:
    with pytest.raises(CellError) as caught:
        parse_yen(text)
    assert caught.value.hint


@pytest.mark.parametrize(
    "text, value",
    [
        ("true", True),
        ("TRUE", True),
        ("1", True),
        ("yes", True),
        ("はい", True),
        ("false", False),
        ("0", False),
        ("No", False),
        ("いいえ", False),
        ("１", True),
    ],
)
def test_bool(text: str, value: bool) -> None:
    assert parse_bool(text) is value


def test_numbers() -> None:
    assert parse_int("1,200") == 1200 and parse_int("-3") == -3 and parse_int("１２") == 12
    assert parse_decimal("1.5") == 1.5 and parse_decimal("1,200.25") == 1200.25
    for bad in ("1.5", "1,20", "x", ""):
        with pytest.raises(CellError):
            parse_int(bad)
    with pytest.raises(CellError, match="not a number"):
        parse_decimal("nan")


def test_dates() -> None:
    assert parse_date("2025-03-01") == parse_date("2025/3/1") == parse_date("２０２５／０３／０１") == date(2025, 3, 1)
    with pytest.raises(CellError, match="not a date on the calendar"):
        parse_date("2025-02-29")
    with pytest.raises(CellError, match="has a time"):
        parse_date("2025-03-01 10:00")


@pytest.mark.parametrize(
    "text, utc",
    [
        ("2025-03-01 10:00", datetime(2025, 3, 1, 1, 0, tzinfo=UTC)),  # naive: the shop's timezone
        ("2025-03-01T10:00:00", datetime(2025, 3, 1, 1, 0, tzinfo=UTC)),
        ("2025/03/01 10:00:00", datetime(2025, 3, 1, 1, 0, tzinfo=UTC)),
        ("2025/3/1 9:05", datetime(2025, 3, 1, 0, 5, tzinfo=UTC)),
        ("2025-03-01T10:00:00+09:00", datetime(2025, 3, 1, 1, 0, tzinfo=UTC)),
        ("2025-03-01T10:00:00+0900", datetime(2025, 3, 1, 1, 0, tzinfo=UTC)),
        ("2025-03-01T10:00:00Z", datetime(2025, 3, 1, 10, 0, tzinfo=UTC)),
        ("2025-03-01 10:00:00.25-05:00", datetime(2025, 3, 1, 15, 0, 0, 250000, tzinfo=UTC)),
        ("2025-01-01 00:30", datetime(2024, 12, 31, 15, 30, tzinfo=UTC)),
    ],
)
def test_datetimes_are_stored_in_utc(text: str, utc: datetime) -> None:
    moment = parse_datetime(text, TOKYO)
    assert moment == utc and moment.tzinfo is UTC


@pytest.mark.parametrize(
    "text, message",
    [
        ("2025-03-01", "a date without a time"),
        ("10:00", "not a date and time"),
        ("2025-03-01 25:00", "not a moment on the calendar"),
        ("2025-03-01 10:00+25:00", "not a moment"),
    ],
)
def test_bad_datetimes(text: str, message: str) -> None:
    with pytest.raises(CellError, match=message):
        parse_datetime(text, TOKYO)


def test_lists() -> None:
    assert parse_list("vip, 新規 リピーター、gold vip") == ["vip", "新規", "リピーター", "gold"]
    assert parse_list('["a b", "c"]') == ["a b", "c"]
    with pytest.raises(CellError):
        parse_list("[1, 2]")


def test_json_values_take_native_json_or_text() -> None:
    assert from_json_value("int", 5, TOKYO) == 5
    assert from_json_value("money", "¥3,000", TOKYO) == 3000
    assert from_json_value("datetime", "2025-03-01 10:00", TOKYO) == "2025-03-01T01:00:00+00:00"
    assert from_json_value("date", "2025/3/1", TOKYO) == "2025-03-01"
    assert from_json_value("decimal", 2, TOKYO) == 2.0
    assert from_json_value("list", ["a", "a", "b"], TOKYO) == ["a", "b"]
    assert from_json_value("string", 12, TOKYO) == "12"
    assert from_json_value("int", None, TOKYO) is None
    for type_, value in [("int", True), ("int", 1.5), ("bool", 1), ("date", 20250301), ("list", [1])]:
        with pytest.raises(CellError):
            from_json_value(type_, value, TOKYO)


def test_the_example_mapping_loads() -> None:
    mapping = load_mapping(DATA / "ja_ec_mapping.toml")
    orders = mapping.for_kind("orders")
    assert orders.columns["id"] == ("受注番号",) and orders.columns["ordered_at"] == ("注文日時", "受注日時")
    assert orders.values["payment_method"]["代金引換"] == "cod"
    assert "商品名" in orders.ignore
    assert mapping.for_kind("events").columns == {}


@pytest.mark.parametrize(
    "text, message",
    [
        ('encoding = "klingon"', "not a known text encoding"),
        ("[orders]\ncolumn = {}", "unknown key 'column'"),
        ("[orders.columns]\nid = 3", "must be a CSV header or a list of headers"),
        ('[orders]\nignore = "x"', "ignore must be a list"),
        ("[orders.values]\npayment_method = 1", "must be a table"),
        ("orders = 1", "must be a table"),
    ],
)
def test_bad_mappings(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "m.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(MappingError, match=message):
        load_mapping(path)


def test_order_placed_properties_are_the_catalog_ones() -> None:
    assert set(DERIVED) == set(catalog.EVENTS["order.placed"])
    order = {
        "id": "O1",
        "customer_id": "C1",
        "ordered_at": datetime(2025, 3, 1, 1, tzinfo=UTC),
        "paid_at": datetime(2025, 3, 1, 2, tzinfo=UTC),
        "shipped_at": datetime(2025, 3, 2, tzinfo=UTC),
        "delivery_date": date(2025, 3, 4),
        "amount": 3000,
        "entry_channel": "ad_lp",
        "payment_method": "cod",
        "coupon_code": "F2",
        "cart_id": "k1",
        "is_subscription": False,
    }
    items = [{"sku": "B", "category": "food"}, {"sku": "A", "category": None}, {"sku": "C", "category": "food"}]
    properties = placed_properties(order, items)
    assert set(properties) == set(DERIVED)
    assert properties["skus"] == ["A", "B", "C"] and properties["categories"] == ["food"]
    assert properties["delivery_date"] == "2025-03-04" and properties["paid_at"] == "2025-03-01T02:00:00+00:00"
    bare = placed_properties({**order, "paid_at": None, "coupon_code": None}, [])
    assert "paid_at" not in bare and "coupon_code" not in bare and bare["skus"] == []
