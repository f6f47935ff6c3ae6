"""The mapping keys for real purchase-history exports, on small files: delimiter, header/fields, date formats,
currency conversion, derived order ids and creating missing customers (``ecrm_dsl/importer/options.py``)."""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from sqlalchemy import create_engine, select

from ecrm_dsl.cli.import_cmd import import_command
from ecrm_dsl.importer import MappingError, load_mapping
from ecrm_dsl.store.tables import TABLES

DATA = Path(__file__).parent / "data" / "import"

ORIGINAL_CDNOW = """\
 00001 19970101  1   11.77
 00002 19970112  1   12.00
 00002 19970112  5   77.00
 00003 19970102  2   20.76
 00003 19970330  2   20.76
"""
HEADERLESS = """\
[orders]
delimiter = "whitespace"
header = false
fields = ["customer_id", "ordered_at", "number_of_cds", "amount"]
ignore = ["number_of_cds"]
date_format = "%Y%m%d"
derive_id = true
create_missing_customers = true
currency = "USD"
yen_per_unit = "120.89"
"""


@dataclass
class Run:
    code: int
    out: str
    err: str


def run(*args: str | Path) -> Run:
    result = CliRunner().invoke(import_command, [str(a) for a in args], catch_exceptions=False)
    return Run(result.exit_code, result.stdout, result.stderr)


@pytest.fixture
def shop(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    root = tmp_path / "shop"
    shutil.copytree(DATA / "project", root)
    monkeypatch.chdir(root)
    monkeypatch.delenv("ECRM_STORE", raising=False)
    return root


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def rows(shop: Path, table: str) -> list[dict[str, Any]]:
    t = TABLES.metadata.tables[table]
    with create_engine(f"sqlite:///{shop / 'ecrm.db'}").connect() as conn:
        return [dict(r) for r in conn.execute(select(t).order_by(*t.primary_key.columns)).mappings()]


def import_orders(shop: Path, data: str, mapping: str) -> Run:
    write(shop / "orders.txt", data)
    write(shop / "m.toml", mapping)
    return run("orders", "orders.txt", "--mapping", "m.toml")


# --------------------------------------------------------------------------- the original, headerless CDNOW


def test_headerless_whitespace_file_with_derived_ids_and_converted_dollars(shop: Path) -> None:
    result = import_orders(shop, ORIGINAL_CDNOW, HEADERLESS)
    assert result.code == 0, result.err
    assert "customers: 3 inserted" in result.out and "orders: 5 inserted" in result.out
    assert "note: amount: USD converted to yen at 120.89 yen per USD" in result.err
    orders = {o["id"]: o for o in rows(shop, "orders")}
    assert sorted(orders) == [
        "00001-19970101-1",
        "00002-19970112-1",
        "00002-19970112-2",
        "00003-19970102-1",
        "00003-19970330-1",
    ]
    assert orders["00002-19970112-2"]["amount"] == 9309  # $77.00 × 120.89 = 9308.53 → ¥9,309
    assert orders["00001-19970101-1"]["ordered_at"] == datetime(1996, 12, 31, 15, 0, tzinfo=UTC)  # 00:00 JST
    assert [c["id"] for c in rows(shop, "customers")] == ["00001", "00002", "00003"]
    assert not any(c["email_opt_in"] or c["email"] for c in rows(shop, "customers"))  # id only

    again = import_orders(shop, ORIGINAL_CDNOW, HEADERLESS)
    assert "customers: 0 inserted, 0 updated, 3 unchanged" in again.out
    assert "orders: 0 inserted, 0 updated, 5 unchanged" in again.out
    assert "order.placed events: 0 inserted, 0 updated, 5 unchanged" in again.out


def test_appended_rows_keep_the_ids_of_the_earlier_ones(shop: Path) -> None:
    import_orders(shop, ORIGINAL_CDNOW, HEADERLESS)
    result = import_orders(shop, ORIGINAL_CDNOW + " 00002 19970112  1   5.00\n", HEADERLESS)
    assert "orders: 1 inserted, 0 updated, 5 unchanged" in result.out
    assert rows(shop, "orders")[2]["id"] == "00002-19970112-2"
    assert any(o["id"] == "00002-19970112-3" for o in rows(shop, "orders"))


def test_headerless_problems_are_at_their_physical_line(shop: Path) -> None:
    data = ORIGINAL_CDNOW + "\n 00004 19970231 1 1.00\n 00005 19970101 1\n 00006 1997-01-01 1 $1.00\n"
    result = import_orders(shop, data, HEADERLESS)
    assert result.code == 1
    lines = [line for line in result.err.splitlines() if line.startswith("orders.txt:")]
    assert lines == [
        "orders.txt:7: column 'ordered_at': '19970231' is not a date on the calendar — check the month and the day",
        "orders.txt:8: the row has 3 fields but the mapping's fields name 4"
        " — fields are separated by spaces, so a value cannot contain one",
        "orders.txt:9: column 'ordered_at': '1997-01-01' does not match the date format '%Y%m%d'"
        " — the mapping gives the format (date_format or date_formats)",
    ]
    assert rows(shop, "orders") == []


# --------------------------------------------------------------------------- delimiters and date formats


def test_semicolon_file_with_per_column_date_formats(shop: Path) -> None:
    mapping = """\
[orders]
delimiter = ";"
date_format = "%d.%m.%Y %H:%M"
create_missing_customers = true
[orders.date_formats]
delivery_date = "%d.%m.%Y"
paid_at = "%Y-%m-%dT%H:%M:%S%z"
"""
    data = (
        "id;customer_id;ordered_at;paid_at;delivery_date;amount;payment_method\n"
        'A1;C1;01.03.2025 10:30;2025-03-01T02:00:00+0100;05.03.2025;3000;"card; visa"\n'
    )
    result = import_orders(shop, data, mapping)
    assert result.code == 0, result.err
    [order] = rows(shop, "orders")
    assert order["ordered_at"] == datetime(2025, 3, 1, 1, 30, tzinfo=UTC)  # 10:30 in Tokyo
    assert order["paid_at"] == datetime(2025, 3, 1, 1, 0, tzinfo=UTC)  # its own offset
    assert order["delivery_date"] == date(2025, 3, 5)
    assert order["payment_method"] == "card; visa"


def test_tab_separated_file(shop: Path) -> None:
    mapping = '[orders]\ndelimiter = "tab"\ncreate_missing_customers = true\n'
    result = import_orders(shop, "id\tcustomer_id\tordered_at\tamount\nA1\tC1\t2025-03-01 10:00\t¥3,000\n", mapping)
    assert result.code == 0, result.err
    assert rows(shop, "orders")[0]["amount"] == 3000


def test_a_date_column_refuses_a_time(shop: Path) -> None:
    mapping = '[orders]\ncreate_missing_customers = true\n[orders.date_formats]\ndelivery_date = "%Y/%m/%d %H:%M"\n'
    data = "id,customer_id,ordered_at,amount,delivery_date\nA1,C1,2025-03-01 10:00,100,2025/03/05 10:00\n"
    result = import_orders(shop, data, mapping)
    assert "'2025/03/05 10:00' has a time, but this is a calendar date" in result.err


def test_glued_numbers_need_two_digits(shop: Path) -> None:
    mapping = '[orders]\ndate_format = "%Y%m%d"\ncreate_missing_customers = true\n'
    result = import_orders(shop, "id,customer_id,ordered_at,amount\nA1,C1,1997111,100\n", mapping)
    assert "'1997111' does not match the date format '%Y%m%d'" in result.err  # 1997-11-01 or 1997-01-11?


# --------------------------------------------------------------------------- currency


@pytest.mark.parametrize(
    ("cell", "yen"),
    [("1.005", 101), ("0.004", 0), ("$1,234.50", 123450), ("USD 2", 200), ("2.00 USD", 200), ("$.50", 50)],
)
def test_dollars_are_converted_exactly_and_rounded_half_up(shop: Path, cell: str, yen: int) -> None:
    mapping = '[orders]\ncurrency = "USD"\nyen_per_unit = 100\ncreate_missing_customers = true\n'
    result = import_orders(shop, f'id,customer_id,ordered_at,amount\nA1,C1,2025-03-01 10:00,"{cell}"\n', mapping)
    assert result.code == 0, result.err
    assert rows(shop, "orders")[0]["amount"] == yen


@pytest.mark.parametrize(
    ("cell", "message"),
    [
        ("¥300", "'¥300' is written in yen, but the mapping says this file's money is USD"),
        ("300円", "is written in yen"),
        ("€3", "'€3' is not an amount of USD — write e.g. 12.34, 1,234.50 or $12.34"),
        ("-$3.00", "-$3.00 is negative — it must be 0 or more"),
        ("3.0.0", "is not an amount of USD"),
    ],
)
def test_money_that_is_not_dollars_is_refused(shop: Path, cell: str, message: str) -> None:
    mapping = '[orders]\ncurrency = "USD"\nyen_per_unit = "150"\ncreate_missing_customers = true\n'
    result = import_orders(shop, f"id,customer_id,ordered_at,amount\nA1,C1,2025-03-01 10:00,{cell}\n", mapping)
    assert result.code == 1 and message in result.err
    assert rows(shop, "orders") == []


def test_line_prices_are_converted_too(shop: Path) -> None:
    mapping = '[orders]\ncurrency = "EUR"\nyen_per_unit = "160.5"\ncreate_missing_customers = true\n'
    data = "id,customer_id,ordered_at,amount,sku,price\nA1,C1,2025-03-01 10:00,€10.00,S1,€10\n"
    result = import_orders(shop, data, mapping)
    assert result.code == 0, result.err
    assert "note: amount, price: EUR converted to yen at 160.5 yen per EUR" in result.err
    assert rows(shop, "order_items")[0]["price"] == 1605


# --------------------------------------------------------------------------- orders options


def test_missing_customers_are_an_error_unless_the_mapping_creates_them(shop: Path) -> None:
    data = "id,customer_id,ordered_at,amount\nA1,C1,2025-03-01 10:00,100\n"
    result = import_orders(shop, data, "[orders]\n")
    assert result.code == 1 and "customer 'C1' is not in the store" in result.err
    assert rows(shop, "customers") == []


def test_derived_ids_refuse_an_id_column_and_order_lines(shop: Path) -> None:
    mapping = "[orders]\nderive_id = true\ncreate_missing_customers = true\n"
    result = import_orders(shop, "id,customer_id,ordered_at,amount\nA1,C1,2025-03-01 10:00,100\n", mapping)
    assert "column 'id': is not read: the mapping derives order ids (derive_id = true)" in result.err
    data = "customer_id,ordered_at,amount,sku\nC1,2025-03-01 10:00,100,S1\n"
    result = import_orders(shop, data, mapping)
    assert "column 'sku': is an order line column, but with derive_id = true every row is one order" in result.err


def test_derived_ids_with_times(shop: Path) -> None:
    mapping = "[orders]\nderive_id = true\ncreate_missing_customers = true\n"
    data = "customer_id,ordered_at,amount\nC1,2025-03-01 10:30,100\nC1,2025-03-01 10:30,200\n"
    assert import_orders(shop, data, mapping).code == 0
    assert [o["id"] for o in rows(shop, "orders")] == ["C1-20250301T103000-1", "C1-20250301T103000-2"]


# --------------------------------------------------------------------------- mapping errors


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('[orders]\ndelimiter = "ab"', "[orders] delimiter 'ab' is not one character"),
        ("[orders]\nheader = false", "[orders] header = false needs fields"),
        ('[orders]\nfields = ["a"]', "[orders] fields names the columns of a file without a header row"),
        ('[orders]\nheader = false\nfields = ["a", "a"]', "[orders] fields names 'a' twice"),
        ('[orders]\ndate_format = "%H:%M"', "does not give a year, a month and a day"),
        ('[orders]\ndate_format = "YYYYMMDD"', "date_format must be a strptime format"),
        ('[orders]\ncurrency = "USD"', "currency USD needs yen_per_unit"),
        ('[orders]\ncurrency = "usd"\nyen_per_unit = 1', "currency 'usd' is not an ISO 4217 code"),
        ("[orders]\nyen_per_unit = 1", "yen_per_unit is only for a currency other than JPY"),
        ('[orders]\ncurrency = "USD"\nyen_per_unit = 0', "yen_per_unit 0 must be a positive number"),
        ('[orders]\ncurrency = "USD"\nyen_per_unit = "abc"', "yen_per_unit 'abc' is not a number"),
        ('[events]\ncurrency = "USD"\nyen_per_unit = 1', "currency is not supported for events"),
        ("[customers]\nderive_id = true", "derive_id is only for [orders]"),
        ('[subscriptions]\ncreate_missing_customers = "yes"', "create_missing_customers is only for [orders]"),
        ('[orders]\nderive_id = "yes"', "derive_id must be true or false"),
    ],
)
def test_bad_option_shapes(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(MappingError) as caught:
        load_mapping(write(tmp_path / "m.toml", text))
    assert message in caught.value.message


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            '[orders.date_formats]\nordered_on = "%Y%m%d"',
            "[orders.date_formats] ordered_on: is not a date or datetime column of this import",
        ),
        ('[orders.date_formats]\namount = "%Y%m%d"', "amount: is not a date or datetime column"),
        ('[orders]\nheader = false\nfields = ["customer_id", "cds"]', "[orders] fields: 'cds' is not a column"),
        ('[orders]\nderive_id = true\n[orders.columns]\nid = "No"', "[orders.columns] id: is not read"),
    ],
)
def test_options_checked_against_the_columns(shop: Path, text: str, message: str) -> None:
    result = import_orders(shop, "id\n", text)
    assert result.code == 2 and message in result.err


def test_the_cdnow_mapping_loads() -> None:
    orders = load_mapping(DATA / "cdnow_mapping.toml").for_kind("orders")
    assert orders.options.shape.delimiter == "whitespace" and orders.options.shape.header
    assert orders.options.currency.code == "USD" and str(orders.options.currency.yen_per_unit) == "120.89"
    assert orders.options.derive_id and orders.options.create_missing_customers
    assert orders.columns == {"ordered_at": ("date",), "amount": ("dollar_value",)}
