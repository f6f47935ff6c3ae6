"""``ecrm import`` end to end on real stores: every kind, mappings, validation, atomicity, idempotence.

Each test runs on a SQLite file in the project folder and on a PostgreSQL database (given as ``$ECRM_STORE``);
the tests about the store file itself (its bytes, where it is created) run on SQLite only."""

from __future__ import annotations

import hashlib
import os
import shutil
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from sqlalchemy import Engine, create_engine, insert, select

from ecrm_dsl.cli import cli as ecrm
from ecrm_dsl.cli.import_cmd import import_command
from ecrm_dsl.store.tables import TABLES
from tests.conftest import BACKENDS

DATA = Path(__file__).parent / "data" / "import"


@dataclass
class Run:
    code: int
    out: str
    err: str


def run(*args: str | Path) -> Run:
    result = CliRunner().invoke(import_command, [str(a) for a in args], catch_exceptions=False)
    return Run(result.exit_code, result.stdout, result.stderr)


@pytest.fixture(params=BACKENDS)
def shop(request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A project folder with the sample files, as the current folder; its store is ecrm.db there, or on
    postgresql the database ``$ECRM_STORE`` names."""
    root = tmp_path / "shop"
    shutil.copytree(DATA / "project", root)
    for path in DATA.iterdir():
        if path.is_file():
            shutil.copy(path, root / path.name)
    monkeypatch.chdir(root)
    monkeypatch.delenv("ECRM_STORE", raising=False)
    if request.param == "postgresql":
        monkeypatch.setenv("ECRM_STORE", request.getfixturevalue("postgres_url"))
    return root


def engine(shop: Path) -> Engine:
    return create_engine(os.environ.get("ECRM_STORE") or f"sqlite:///{shop / 'ecrm.db'}")


def location(shop: Path) -> str:
    """The store as ``ecrm import`` names it."""
    return os.environ.get("ECRM_STORE") or str(shop / "ecrm.db")


def on_sqlite() -> bool:
    return not os.environ.get("ECRM_STORE")


def dump(shop: Path) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every store table (as stored), for comparing whole stores."""
    with engine(shop).connect() as conn:
        return {t.name: sorted(map(tuple, conn.execute(select(t))), key=repr) for t in TABLES.metadata.sorted_tables}


def rows(shop: Path, table: str, **where: Any) -> list[dict[str, Any]]:
    t = TABLES.metadata.tables[table]
    query = select(t).where(*(t.c[k] == v for k, v in where.items()))
    with engine(shop).connect() as conn:
        return [dict(r) for r in conn.execute(query).mappings()]


def write(path: Path, text: str, encoding: str = "utf-8") -> Path:
    path.write_bytes(text.encode(encoding))
    return path


def imported(shop: Path, *kinds: str) -> None:
    for kind in kinds:
        result = run(kind, f"{kind}.csv")
        assert result.code == 0, result.err


# --------------------------------------------------------------------------- good imports of each kind


def test_customers(shop: Path) -> None:
    result = run("customers", "customers.csv")
    assert result.code == 0, result.err
    assert result.out.splitlines()[:2] == ["customers.csv: 3 rows", "  customers: 3 inserted, 0 updated, 0 unchanged"]
    assert f"imported into {location(shop)}" in result.out
    hanako = rows(shop, "customers", id="C001")[0]
    assert hanako["name"] == "佐藤 花子" and hanako["birthday"] == date(1990, 4, 1)
    assert hanako["signed_up_at"] == datetime(2025, 3, 1, 1, 0, tzinfo=UTC)  # 10:00 in Tokyo
    assert (hanako["email_opt_in"], hanako["line_opt_in"], hanako["sms_opt_in"]) == (True, True, False)
    assert hanako["attributes"] == {"skin_type": "dry", "points": 1200, "last_visit_at": "2025-03-10T12:30:00+00:00"}
    taro = rows(shop, "customers", id="C002")[0]
    assert taro["phone"] is None and taro["attributes"] == {} and taro["email_opt_in"] is False
    assert taro["signed_up_at"] == datetime(2025, 2, 14, 9, 0, tzinfo=UTC)
    assert taro["birthday"] == date(1985, 12, 24)
    tags = {(r["customer_id"], r["tag"]) for r in rows(shop, "customer_tags")}
    assert tags == {("C001", "vip"), ("C001", "新規"), ("C003", "リピーター")}


def test_orders_then_items_keep_the_order_placed_event_in_step(shop: Path) -> None:
    imported(shop, "customers")
    result = run("orders", "orders.csv")
    assert result.code == 0, result.err
    assert "  orders: 3 inserted, 0 updated, 0 unchanged" in result.out
    assert "  order.placed events: 3 inserted, 0 updated, 0 unchanged" in result.out
    order = rows(shop, "orders", id="O1003")[0]
    assert order["ordered_at"] == datetime(2025, 3, 19, 23, 0, tzinfo=UTC)
    assert (order["amount"], order["is_subscription"], order["delivery_date"]) == (2480, True, date(2025, 3, 25))
    assert rows(shop, "orders", id="O1001")[0]["amount"] == 3980
    result = run("order_items", "order_items.csv")
    assert result.code == 0, result.err
    assert "  order_items: 4 inserted, 0 updated, 0 unchanged" in result.out
    assert "  order.placed events: 0 inserted, 3 updated, 0 unchanged" in result.out  # now with categories, skus
    events = {e["properties"]["order_id"]: e for e in rows(shop, "events", type="order.placed")}
    assert set(events) == {"O1001", "O1002", "O1003"}
    first = events["O1001"]
    assert first["customer_id"] == "C001" and first["occurred_at"] == datetime(2025, 3, 1, 1, 0, tzinfo=UTC)
    assert first["properties"] == {
        "order_id": "O1001",
        "amount": 3980,
        "ordered_at": "2025-03-01T01:00:00+00:00",
        "paid_at": "2025-03-01T01:05:00+00:00",
        "shipped_at": "2025-03-02T06:00:00+00:00",
        "delivery_date": "2025-03-04",
        "categories": ["skincare"],
        "skus": ["SAMPLE-1", "SERUM-30"],
        "entry_channel": "ad_lp",
        "payment_method": "credit_card",
        "cart_id": "cart-1",
        "is_subscription": False,
    }
    assert events["O1002"]["properties"]["coupon_code"] == "WELCOME10"
    before = dump(shop)
    for kind in ("orders", "order_items"):
        again = run(kind, f"{kind}.csv")
        assert again.code == 0 and " 0 inserted, 0 updated," in again.out, again.out
    assert dump(shop) == before


def test_orders_with_their_lines_in_one_file(shop: Path) -> None:
    imported(shop, "customers")
    result = run("orders", "order_lines.csv")
    assert result.code == 0, result.err
    assert result.out.splitlines()[1:4] == [
        "  orders: 2 inserted, 0 updated, 0 unchanged",
        "  order_items: 4 inserted, 0 updated, 0 unchanged",
        "  order.placed events: 2 inserted, 0 updated, 0 unchanged",
    ]
    items = {(r["order_id"], r["sku"]): (r["category"], r["quantity"], r["price"]) for r in rows(shop, "order_items")}
    assert items == {
        ("O2001", "SERUM-30"): ("skincare", 2, 3480),
        ("O2001", "SAMPLE-1"): (None, 1, 0),
        ("O2001", "MASK-5"): ("skincare", 1, 0),
        ("O2002", "GRANOLA-250"): ("food", 1, 1980),
    }
    event = next(e for e in rows(shop, "events") if e["properties"]["order_id"] == "O2001")
    assert event["properties"]["skus"] == ["MASK-5", "SAMPLE-1", "SERUM-30"]
    assert event["properties"]["categories"] == ["skincare"]


def test_changed_order_updates_its_event_and_keeps_other_properties(shop: Path) -> None:
    imported(shop, "customers", "orders")
    with engine(shop).begin() as conn:  # a property the shop's own pipeline added to the event
        event = conn.execute(select(TABLES.events).where(TABLES.events.c.type == "order.placed")).mappings().first()
        assert event is not None
        conn.execute(
            TABLES.events.update()
            .where(TABLES.events.c.id == event["id"])
            .values(properties={**event["properties"], "landing_page": "lp-spring"})
        )
    order_id = event["properties"]["order_id"]
    text = (shop / "orders.csv").read_text(encoding="utf-8").replace(",cart-1,", ",cart-9,")
    write(shop / "orders_changed.csv", text)
    result = run("orders", "orders_changed.csv")
    assert result.code == 0, result.err
    assert "  orders: 0 inserted, 1 updated, 2 unchanged" in result.out
    assert "  order.placed events: 0 inserted, 1 updated, 2 unchanged" in result.out
    [changed] = [e for e in rows(shop, "events", type="order.placed") if e["properties"]["order_id"] == order_id]
    assert changed["properties"]["cart_id"] == "cart-9" and changed["properties"]["landing_page"] == "lp-spring"
    assert len(rows(shop, "events", type="order.placed")) == 3


def test_subscriptions(shop: Path) -> None:
    imported(shop, "customers")
    result = run("subscriptions", "subscriptions.csv")
    assert result.code == 0, result.err
    assert "  subscriptions: 2 inserted, 0 updated, 0 unchanged" in result.out
    s1 = rows(shop, "subscriptions", id="S001")[0]
    assert s1["started_at"] == datetime(2025, 1, 10, 0, 0, tzinfo=UTC)
    assert (s1["status"], s1["shipments"], s1["next_shipment_date"], s1["skips"]) == ("active", 3, date(2025, 4, 10), 0)
    assert rows(shop, "subscriptions", id="S002")[0]["next_shipment_date"] is None
    before = dump(shop)
    assert "0 inserted, 0 updated, 2 unchanged" in run("subscriptions", "subscriptions.csv").out
    assert dump(shop) == before


def test_events_with_typed_properties_and_dedupe_by_content(shop: Path) -> None:
    imported(shop, "customers")
    result = run("events", "events.csv")
    assert result.code == 0, result.err
    assert "  events: 4 inserted, 0 updated, 0 unchanged" in result.out
    review = rows(shop, "events", type="review.posted")[0]
    assert review["occurred_at"] == datetime(2025, 3, 5, 11, 0, tzinfo=UTC)
    assert review["properties"] == {"review_id": "R1", "rating": 5, "sku": "SERUM-30"}
    survey = rows(shop, "events", type="survey.answered")[0]
    assert survey["properties"] == {"satisfaction": 2, "nps": 6, "comment": "香りが強い"}
    # Two identical rows are two events (opened twice that second); importing again adds neither.
    assert len(rows(shop, "events", type="message.opened")) == 2
    before = dump(shop)
    again = run("events", "events.csv")
    assert "  events: 0 inserted, 0 updated, 4 unchanged" in again.out
    assert dump(shop) == before
    # One more identical row in a later file is a third event.
    write(
        shop / "more.csv",
        (shop / "events.csv").read_text(encoding="utf-8")
        + 'C001,message.opened,2025-03-07 09:00:00+09:00,,,"{""channel"": ""line"", ""scenario"": ""f2_step_mail""}"\n',
    )
    assert "  events: 1 inserted, 0 updated, 4 unchanged" in run("events", "more.csv").out


def test_events_with_an_event_id_column(shop: Path) -> None:
    imported(shop, "customers")
    write(
        shop / "ids.csv",
        "event_id,customer_id,type,occurred_at,prop.channel\n"
        "E1,C001,message.clicked,2025-03-07 09:00,email\n"
        "E1,C001,message.clicked,2025-03-07 09:00,email\n"
        "E2,C001,message.clicked,2025-03-07 09:00,email\n",
    )
    result = run("events", "ids.csv")
    assert result.code == 0, result.err
    assert "  events: 2 inserted, 0 updated, 0 unchanged (1 repeated rows)" in result.out
    assert "0 inserted, 0 updated, 2 unchanged" in run("events", "ids.csv").out


def test_customer_update_merges_attributes_and_keeps_columns_the_file_lacks(shop: Path) -> None:
    imported(shop, "customers")
    write(shop / "update.csv", "id,points,skin_type,tags\nC001,1500,,gold\nC002,10,oily,\n")
    result = run("customers", "update.csv")
    assert result.code == 0, result.err
    assert "  customers: 0 inserted, 2 updated, 0 unchanged" in result.out
    hanako = rows(shop, "customers", id="C001")[0]
    assert hanako["email"] == "hanako@example.jp"  # not in the file: kept
    assert hanako["attributes"] == {"points": 1500, "last_visit_at": "2025-03-10T12:30:00+00:00"}  # skin_type cleared
    assert {r["tag"] for r in rows(shop, "customer_tags", customer_id="C001")} == {"vip", "新規", "gold"}
    assert rows(shop, "customers", id="C002")[0]["attributes"] == {"points": 10, "skin_type": "oily"}


def test_reimport_of_every_kind_changes_nothing(shop: Path) -> None:
    kinds = ("customers", "orders", "order_items", "subscriptions", "events")
    imported(shop, *kinds)
    before = dump(shop)
    db = (shop / "ecrm.db").read_bytes() if on_sqlite() else b""
    for kind in kinds:
        result = run(kind, f"{kind}.csv")
        assert result.code == 0, result.err
        assert all(" 0 inserted, 0 updated, " in line for line in result.out.splitlines()[1:-1]), result.out
    assert dump(shop) == before
    if on_sqlite():  # not a byte written
        assert hashlib.sha256((shop / "ecrm.db").read_bytes()).digest() == hashlib.sha256(db).digest()


def test_dry_run_writes_nothing(shop: Path) -> None:
    imported(shop, "customers")
    before = dump(shop)
    result = run("orders", "orders.csv", "--dry-run")
    assert result.code == 0, result.err
    assert "  orders: 3 inserted, 0 updated, 0 unchanged" in result.out
    assert result.out.splitlines()[-1] == f"dry run: nothing was written to {location(shop)}"
    assert dump(shop) == before


def test_store_option(shop: Path, tmp_path: Path) -> None:
    store = tmp_path / "elsewhere.db"
    assert run("customers", "customers.csv", "--store", store).code == 0
    assert not (shop / "ecrm.db").exists()
    with create_engine(f"sqlite:///{store}").connect() as conn:
        assert len(conn.execute(select(TABLES.customers)).all()) == 3


# --------------------------------------------------------------------------- mappings and encodings


def test_japanese_export_through_the_mapping(shop: Path) -> None:
    mapping = "ja_ec_mapping.toml"
    for kind, counts in [
        ("customers", "  customers: 2 inserted"),
        ("orders", "  orders: 2 inserted"),
        ("subscriptions", "  subscriptions: 2 inserted"),
    ]:
        result = run(kind, f"ja_{kind}.csv", "--mapping", mapping)
        assert result.code == 0, result.err
        assert counts in result.out
    hanako = rows(shop, "customers", id="M0001")[0]
    assert hanako["postal_address"] == "東京都渋谷区神宮前1-2-3\nグリーンハイツ201"
    assert hanako["entry_channel"] == "ad_lp" and hanako["dm_opt_in"] is False and hanako["line_opt_in"] is True
    assert hanako["attributes"] == {"skin_type": "dry", "points": 1500}
    assert rows(shop, "customers", id="M0002")[0]["attributes"] == {"skin_type": "oily", "points": 0}
    order = rows(shop, "orders", id="A-20250301-001")[0]
    assert order["ordered_at"] == datetime(2025, 3, 1, 1, 0, tzinfo=UTC)
    assert (order["amount"], order["payment_method"], order["delivery_date"]) == (6160, "credit_card", date(2025, 3, 5))
    assert len(rows(shop, "order_items", order_id="A-20250301-001")) == 3
    assert rows(shop, "orders", id="A-20250302-007")[0]["payment_method"] == "cod"
    assert rows(shop, "subscriptions", id="T-0002")[0]["status"] == "paused"
    before = dump(shop)
    for kind in ("customers", "orders", "subscriptions"):
        assert " 0 inserted, 0 updated," in run(kind, f"ja_{kind}.csv", "--mapping", mapping).out
    assert dump(shop) == before


def test_shift_jis_export(shop: Path) -> None:
    text = (shop / "ja_customers.csv").read_text(encoding="utf-8")
    write(shop / "sjis.csv", text, "cp932")
    refused = run("customers", "sjis.csv", "--mapping", "ja_ec_mapping.toml")
    assert refused.code == 1
    assert refused.err.splitlines()[0] == (
        "sjis.csv:1: the file is not UTF-8 text — it looks like Shift_JIS (CP932), as Japanese EC exports often "
        "are: add --encoding cp932"
    )
    assert not (shop / "ecrm.db").exists() or dump(shop)["customers"] == []
    result = run("customers", "sjis.csv", "--mapping", "ja_ec_mapping.toml", "--encoding", "cp932")
    assert result.code == 0, result.err
    assert rows(shop, "customers", id="M0001")[0]["name"] == "山田 花子"
    # The mapping may name the platform's encoding instead.
    mapping = (
        (shop / "ja_ec_mapping.toml").read_text(encoding="utf-8").replace('# encoding = "cp932"', 'encoding = "cp932"')
    )
    write(shop / "sjis_mapping.toml", mapping)
    again = run("customers", "sjis.csv", "--mapping", "sjis_mapping.toml")
    assert again.code == 0 and "0 inserted, 0 updated, 2 unchanged" in again.out


def test_shift_jis_yen_sign_is_a_backslash(shop: Path) -> None:
    imported(shop, "customers")
    write(
        shop / "yen.csv",
        "id,customer_id,ordered_at,amount\nO9,C001,2025-03-01 10:00,\\3,000\n".replace("\\3,000", '"\\3,000"'),
        "cp932",
    )
    assert run("orders", "yen.csv", "--encoding", "cp932").code == 0
    assert rows(shop, "orders", id="O9")[0]["amount"] == 3000


def test_undecodable_byte_is_reported_at_its_line(shop: Path) -> None:
    good = "".join(f"C{i:05d},name {i}\n" for i in range(3000))  # the decoder reads ahead in blocks
    (shop / "broken.csv").write_bytes(b"id,name\n" + good.encode() + b"C99999,caf\xe9\n")
    result = run("customers", "broken.csv")
    assert result.code == 1
    assert result.err.splitlines()[0] == (
        "broken.csv:3002: the file is not UTF-8 text — save the file as UTF-8, or give its encoding with --encoding"
    )
    assert dump(shop)["customers"] == []


def test_bom_is_ignored(shop: Path) -> None:
    write(shop / "bom.csv", "\ufeffid,name\nC1,花子\n")
    assert run("customers", "bom.csv").code == 0
    assert rows(shop, "customers", id="C1")[0]["name"] == "花子"


def test_mapping_errors_are_usage_errors(shop: Path) -> None:
    write(shop / "typo.toml", '[orders.columns]\nammount = "合計金額"\n')
    result = run("orders", "orders.csv", "--mapping", "typo.toml")
    assert result.code == 2
    assert result.err == (
        "ecrm import: typo.toml: [orders.columns] ammount: is not a column of this import — did you mean 'amount'?\n"
    )
    write(shop / "kind.toml", '[order.columns]\nid = "受注番号"\n')
    result = run("orders", "orders.csv", "--mapping", "kind.toml")
    assert (result.code, result.err) == (
        2,
        "ecrm import: kind.toml: [order] is not a kind of import — did you mean 'orders'?\n",
    )
    write(shop / "bad.toml", "[orders.columns\n")
    result = run("orders", "orders.csv", "--mapping", "bad.toml")
    assert result.code == 2 and result.err.startswith("ecrm import: bad.toml: the mapping is not valid TOML")


def test_usage_errors(shop: Path) -> None:
    assert run("customers", "customers.csv", "--timezone", "Asia/Tokio").err == (
        "ecrm import: unknown timezone 'Asia/Tokio' — use an IANA name such as Asia/Tokyo\n"
    )
    assert run("customers", "customers.csv", "--encoding", "sjis-ish").code == 2
    assert run("customer", "customers.csv").code == 2
    assert run("customers", "missing.csv").code == 2
    if not on_sqlite():
        return  # the rest is about a file that is not a database
    (shop / "ecrm.db").write_text("not a database", encoding="utf-8")
    result = run("customers", "customers.csv")
    assert result.code == 2
    assert result.err.startswith(f"ecrm import: the store {shop / 'ecrm.db'} failed: file is not a database")


# --------------------------------------------------------------------------- validation


def problems(result: Run) -> list[str]:
    assert result.code == 1, result.out
    *lines, last = (line for line in result.err.splitlines() if not line.startswith("note: "))
    assert last.startswith("ecrm import: nothing imported — ") and last.endswith("; the store is unchanged")
    return lines


def test_every_bad_cell_is_reported_with_its_line(shop: Path) -> None:
    imported(shop, "customers")
    write(
        shop / "bad_orders.csv",
        "\n".join(
            [
                "id,customer_id,ordered_at,paid_at,delivery_date,amount,is_subscription,sku,quantity,price",
                "O1,C001,2025-03-01 10:00,,2025-03-04,3000,false,A,1,3000",  # 2: good
                "O2,,2025-03-01 10:00,,,3000,false,A,1,3000",  # 3: required
                "O3,C001,2025-02-30 10:00,,,3000,false,A,1,3000",  # 4: no such day
                "O4,C001,yesterday,2025-03-01,,3000,false,A,1,3000",  # 5: not a datetime; a date
                "O5,C001,2025-03-01 10:00,,2025-03-04 10:00,3000.5,maybe,A,1,3000",  # 6: date with time, sen, bool
                "O6,C001,2025-03-01 10:00,,,-100,false,A,0,abc",  # 7: negative, quantity, yen
                "O7,C404,2025-03-01 10:00,,,3000,false,A,1,3000",  # 8: unknown customer
                "O1,C001,2025-03-01 10:00,,2025-03-04,3500,false,B,1,500",  # 9: order columns differ
                "O1,C001,2025-03-01 10:00,,2025-03-04,3000,false,A,2,1500",  # 10: same sku, other values
                "O8,C001,2025-03-01 10:00,,,3000,false,A,1",  # 11: a field short
                "",
            ]
        ),
    )
    result = run("orders", "bad_orders.csv")
    assert problems(result) == [
        "bad_orders.csv:3: column 'customer_id': is required, but the cell is empty",
        "bad_orders.csv:4: column 'ordered_at': '2025-02-30 10:00' is not a moment on the calendar"
        " — check the date and the time",
        "bad_orders.csv:5: column 'ordered_at': 'yesterday' is not a date and time — write ISO 8601 such as"
        " 2025-03-01 10:00, 2025-03-01T10:00:00+09:00 or 2025/03/01 10:00:00",
        "bad_orders.csv:5: column 'paid_at': '2025-03-01' is a date without a time"
        " — write the time too: YYYY-MM-DD HH:MM[:SS]",
        "bad_orders.csv:6: column 'delivery_date': '2025-03-04 10:00' has a time, but this is a calendar date"
        " — write only the date: YYYY-MM-DD",
        "bad_orders.csv:6: column 'amount': '3000.5' is not a whole amount of yen — amounts are whole yen (no sen)",
        "bad_orders.csv:6: column 'is_subscription': 'maybe' is not true or false"
        " — write true/false, 1/0, yes/no or はい/いいえ",
        "bad_orders.csv:7: column 'amount': -100 is negative — it must be 0 or more",
        "bad_orders.csv:7: column 'quantity': 0 is less than 1 — it must be 1 or more",
        "bad_orders.csv:7: column 'price': 'abc' is not an amount of yen — write 3000, 3,000, ¥3,000 or 3000円",
        "bad_orders.csv:8: column 'customer_id': customer 'C404' is not in the store"
        " — import the customers first: ecrm import customers FILE",
        "bad_orders.csv:9: column 'id': order 'O1' is also on line 2, with different amount"
        " — every line of an order repeats the same order columns",
        "bad_orders.csv:10: column 'sku': order 'O1' has sku 'A' also on line 2, with different quantity, price"
        " — give each product of an order on one line",
        "bad_orders.csv:11: the row has 9 fields but the header has 10"
        " — a value with a comma or a line break must be in double quotes",
    ]
    assert result.err.splitlines()[-1] == (
        "ecrm import: nothing imported — 14 problems on 9 lines of bad_orders.csv; the store is unchanged"
    )
    assert dump(shop)["orders"] == []


def test_customer_values_checked_against_the_schema(shop: Path) -> None:
    write(
        shop / "bad_customers.csv",
        "\n".join(
            [
                "id,persona,skin_type,points,points_expire_on,favourite_categories,is_member,email_opt_in",
                'C1,parenting,dry,10,2025-12-31,"[""food""]",はい,いいえ',
                'C2,parentng,drry,ten,2025-13-01,"[1]",perhaps,si',
                "C1,student,dry,10,2025-12-31,food,はい,いいえ",
                "",
            ]
        ),
    )
    assert problems(run("customers", "bad_customers.csv")) == [
        "bad_customers.csv:3: column 'persona': 'parentng' is not an allowed value — did you mean 'parenting'?",
        "bad_customers.csv:3: column 'skin_type': 'drry' is not an allowed value — did you mean 'dry'?",
        "bad_customers.csv:3: column 'points': 'ten' is not a whole number — write digits, e.g. 12 or 1,200",
        "bad_customers.csv:3: column 'points_expire_on': '2025-13-01' is not a date on the calendar"
        " — check the month and the day",
        "bad_customers.csv:3: column 'favourite_categories': '[1]' is not a JSON array of strings"
        ' — write ["a", "b"] or a, b',
        "bad_customers.csv:3: column 'is_member': 'perhaps' is not true or false"
        " — write true/false, 1/0, yes/no or はい/いいえ",
        "bad_customers.csv:3: column 'email_opt_in': 'si' is not true or false"
        " — write true/false, 1/0, yes/no or はい/いいえ",
        "bad_customers.csv:4: column 'id': customer 'C1' is also on line 2, with different persona"
        " — give each customer once",
    ]


def test_header_problems(shop: Path) -> None:
    write(shop / "header.csv", "id,name,order_count,shoe_size,emial,name\nC1,a,1,2,b,c\n")
    assert problems(run("customers", "header.csv")) == [
        "header.csv:1: column 'order_count': is computed from orders and events, so it cannot be imported"
        " — remove the column, or list it under ignore in a mapping",
        "header.csv:1: column 'shoe_size': is not a customer attribute of the store or the customer schema"
        " — declare it under attributes in the customer schema, or list it under ignore in a mapping",
        "header.csv:1: column 'emial': is not a customer attribute of the store or the customer schema"
        " — did you mean 'email'? Otherwise declare it under attributes in the customer schema, or list it under"
        " ignore in a mapping",
        "header.csv:1: column 'name': gives name a second time (also in 'name')"
        " — keep one of the two, or ignore one in a mapping",
    ]
    write(shop / "no_id.csv", "name\na\n")
    assert problems(run("customers", "no_id.csv")) == ["no_id.csv:1: the required column id is missing (header 'id')"]
    write(shop / "lines.csv", "id,customer_id,ordered_at,amount,quantity\nO1,C1,2025-03-01 10:00,1,1\n")
    assert problems(run("orders", "lines.csv")) == [
        "lines.csv:1: the required column sku is missing (header 'sku')",
        "lines.csv:1: the required column price is missing (header 'price')",
    ]


def test_event_types_and_properties_checked_against_the_schema(shop: Path) -> None:
    imported(shop, "customers")
    write(
        shop / "bad_events.csv",
        "\n".join(
            [
                "customer_id,type,occurred_at,prop.rating,properties",
                'C001,review.posted,2025-03-05 20:00,5,"{""sku"": ""A""}"',
                "C001,review.postd,2025-03-05 20:00,,",
                "C001,review.posted,2025-03-05 20:00,five,",
                'C001,survey.answered,2025-03-05 20:00,,"{""satisfaction"": ""good"", ""mood"": 1}"',
                "C001,survey.answered,2025-03-05 20:00,3,",
                'C001,survey.answered,2025-03-05 20:00,,"{nps: 9}"',
                'C001,survey.answered,2025-03-05 20:00,,"[1, 2]"',
                "C404,survey.answered,2025-03-05 20:00,,",
                "",
            ]
        ),
    )
    assert problems(run("events", "bad_events.csv")) == [
        "bad_events.csv:3: column 'type': 'review.postd' is not a known event type — did you mean 'review.posted'?",
        "bad_events.csv:4: column 'prop.rating': 'five' is not a whole number — write digits, e.g. 12 or 1,200",
        "bad_events.csv:5: column 'properties': 'good' is not a whole number — write digits, e.g. 12 or 1,200",
        "bad_events.csv:5: column 'properties': 'survey.answered' events have no property 'mood'"
        " — declare it under events.survey.answered.properties in the customer schema",
        "bad_events.csv:6: column 'prop.rating': 'survey.answered' events have no property 'rating'"
        " — declare it under events.survey.answered.properties in the customer schema",
        "bad_events.csv:7: column 'properties': is not valid JSON"
        " (Expecting property name enclosed in double quotes at character 2)"
        ' — write a JSON object such as {"rating": 5}',
        "bad_events.csv:8: column 'properties': is not a JSON object — write a JSON object such as {\"rating\": 5}",
        "bad_events.csv:9: column 'customer_id': customer 'C404' is not in the store"
        " — import the customers first: ecrm import customers FILE",
    ]
    write(shop / "bad_prop.csv", "customer_id,type,occurred_at,prop.ratin\nC001,review.posted,2025-03-05 20:00,5\n")
    assert problems(run("events", "bad_prop.csv")) == [
        "bad_prop.csv:1: column 'prop.ratin': 'ratin' is not a property of any event — did you mean 'rating'?"
        " Otherwise declare it under events in the customer schema",
    ]


def test_subscription_values(shop: Path) -> None:
    imported(shop, "customers")
    write(shop / "bad_subs.csv", "id,customer_id,status,shipments\nS1,C001,stopped,-1\nS2,C404,active,1\n")
    assert problems(run("subscriptions", "bad_subs.csv")) == [
        "bad_subs.csv:2: column 'status': 'stopped' is not an allowed value — allowed: active, paused, cancelled",
        "bad_subs.csv:2: column 'shipments': -1 is negative — it must be 0 or more",
        "bad_subs.csv:3: column 'customer_id': customer 'C404' is not in the store"
        " — import the customers first: ecrm import customers FILE",
    ]


def test_order_items_need_their_order(shop: Path) -> None:
    imported(shop, "customers", "orders")
    write(shop / "items.csv", "order_id,sku,price\nO1001,X,100\nO404,Y,100\n")
    assert problems(run("order_items", "items.csv")) == [
        "items.csv:3: column 'order_id': order 'O404' is not in the store"
        " — import the orders first: ecrm import orders FILE",
    ]


def test_a_header_named_like_a_mapped_column_must_be_ignored(shop: Path) -> None:
    write(shop / "both.csv", "会員ID,id,氏名\nM1,17,花子\n")
    assert problems(run("customers", "both.csv", "--mapping", "ja_ec_mapping.toml")) == [
        "both.csv:1: column 'id': is not read: the mapping takes id from '会員ID' — add it to ignore in the mapping",
    ]


def test_mapped_headers_are_named_in_problems(shop: Path) -> None:
    write(
        shop / "ja_bad.csv",
        "会員ID,保有ポイント,肌タイプ,メルマガ購読\nM1,たくさん,乾燥肌,はい\nM2,1,すべすべ肌,いいえ\n",
    )
    assert problems(run("customers", "ja_bad.csv", "--mapping", "ja_ec_mapping.toml")) == [
        "ja_bad.csv:2: column '保有ポイント' (points): 'たくさん' is not a whole number"
        " — write digits, e.g. 12 or 1,200",
        "ja_bad.csv:3: column '肌タイプ' (skin_type): 'すべすべ肌' is not an allowed value"
        " — allowed: dry, oily, combination, sensitive, normal",
    ]


def test_line_numbers_count_the_lines_inside_quoted_values(shop: Path) -> None:
    # C1 spans lines 2-4, line 5 is blank, C2 spans lines 6-7 (CRLF inside the quotes), C3 is line 8.
    write(
        shop / "multiline.csv",
        'id,postal_address,points\nC1,"東京都\n渋谷区\n1-2-3",1\n\nC2,"大阪府\r\n北区",x\nC3,,y\n',
    )
    assert problems(run("customers", "multiline.csv")) == [
        "multiline.csv:6: column 'points': 'x' is not a whole number — write digits, e.g. 12 or 1,200",
        "multiline.csv:8: column 'points': 'y' is not a whole number — write digits, e.g. 12 or 1,200",
    ]


def test_malformed_csv(shop: Path) -> None:
    write(shop / "quote.csv", 'id,name\nC1,"a"b\n')
    assert problems(run("customers", "quote.csv")) == [
        "quote.csv:2: malformed CSV: ',' expected after '\"'"
        ' — a value with a quote inside must be quoted, the quote doubled: "a ""b"" c"',
    ]
    write(shop / "open.csv", 'id,name\nC1,ok\nC2,"never closed\nC3,x\n')
    assert problems(run("customers", "open.csv")) == [
        "open.csv:3: malformed CSV (read up to line 4): unexpected end of data"
        " — a value opened with a double quote is never closed",
    ]
    write(shop / "nul.csv", "id,name\nC1,a\x00b\n")
    assert problems(run("customers", "nul.csv")) == [
        "nul.csv:2: the line has a NUL character — the file may be UTF-16 or not text at all"
    ]
    write(shop / "empty.csv", "")
    assert problems(run("customers", "empty.csv")) == [
        "empty.csv:1: the file is empty — the first line must be the header row"
    ]


def test_report_is_limited_but_counts_everything(shop: Path) -> None:
    write(shop / "many.csv", "id,points\n" + "".join(f"C{i},x\n" for i in range(10)))
    result = run("customers", "many.csv", "--max-errors", "3")
    assert problems(result) == [
        "many.csv:2: column 'points': 'x' is not a whole number — write digits, e.g. 12 or 1,200",
        "many.csv:3: column 'points': 'x' is not a whole number — write digits, e.g. 12 or 1,200",
        "many.csv:4: column 'points': 'x' is not a whole number — write digits, e.g. 12 or 1,200",
        "… and 7 more problems (first 3 shown)",
    ]
    assert "10 problems on 10 lines" in result.err


# --------------------------------------------------------------------------- atomicity


@pytest.mark.parametrize("kind", ["customers", "orders", "events"])
def test_a_bad_last_row_leaves_the_store_exactly_as_it_was(shop: Path, kind: str) -> None:
    imported(shop, "customers", "orders", "order_items", "events")
    before = dump(shop)
    db = (shop / "ecrm.db").read_bytes() if on_sqlite() else b""
    n = 2500  # more than one batch is written before the bad row is read
    header, row, bad = {
        "customers": ("id,name,points", "N{i},name {i},{i}", "N-bad,x,many"),
        "orders": ("id,customer_id,ordered_at,amount", "N{i},C001,2025-03-01 10:00,{i}", "N-bad,C001,soon,1"),
        "events": (
            "customer_id,type,occurred_at,prop.channel",
            "C001,message.opened,2025-03-01 10:00,{i}",
            "C001,message.opened,never,x",
        ),
    }[kind]
    # An update of a stored row too, so that a change, not only an insert, has to be undone.
    first = {
        "customers": "C001,renamed,1",
        "orders": "O1001,C002,2025-03-01 10:00,1",
        "events": "C001,message.opened,2025-03-05 20:00,x",
    }[kind]
    lines = [header, first, *(row.format(i=i) for i in range(n)), bad]
    write(shop / "big.csv", "\n".join(lines) + "\n")
    result = run(kind, "big.csv")
    assert problems(result)[0].startswith(f"big.csv:{n + 3}: ")
    assert dump(shop) == before
    if on_sqlite():
        assert (shop / "ecrm.db").read_bytes() == db


def test_library_api_with_small_batches_and_a_reused_connection(shop: Path) -> None:
    from ecrm_dsl.importer import ImportRequest, open_engine, run_import
    from ecrm_dsl.project.resources import CustomerSchema

    store = open_engine(shop / "lib.db")
    schema = CustomerSchema.builtin()
    with store.begin() as conn:
        conn.execute(insert(TABLES.customers), [{"id": "C001"}, {"id": "C002"}])
    good = write(
        shop / "lines.csv",
        "id,customer_id,ordered_at,amount,sku,price\n"
        + "".join(f"O{i},C001,2025-03-01 10:00,100,S{j},50\n" for i in range(30) for j in range(2)),
    )
    from zoneinfo import ZoneInfo

    request = ImportRequest("orders", good, ZoneInfo("Asia/Tokyo"), batch_size=7)
    first = run_import(store, request, schema)
    assert first.ok and first.committed
    assert str(first.counts["order_items"]) == "60 inserted, 0 updated, 0 unchanged"
    again = run_import(store, request, schema)  # the same pooled connection, temporary key table and all
    assert str(again.counts["order_items"]) == "0 inserted, 0 updated, 60 unchanged"
    assert str(again.counts["order.placed events"]) == "0 inserted, 0 updated, 30 unchanged"


# --------------------------------------------------------------------------- timezones


def test_naive_times_are_in_the_shop_timezone(shop: Path) -> None:
    write(shop / "tz.csv", "id,signed_up_at\nC1,2025-03-01 10:00\nC2,2025-03-01T10:00:00+00:00\nC3,2025/03/01 10:00Z\n")
    assert run("customers", "tz.csv").code == 0
    moments = {r["id"]: r["signed_up_at"] for r in rows(shop, "customers")}
    assert moments == {
        "C1": datetime(2025, 3, 1, 1, 0, tzinfo=UTC),
        "C2": datetime(2025, 3, 1, 10, 0, tzinfo=UTC),
        "C3": datetime(2025, 3, 1, 10, 0, tzinfo=UTC),
    }
    with engine(shop).connect() as conn:  # stored as UTC text on SQLite, a timestamptz on PostgreSQL
        raw = conn.exec_driver_sql("SELECT signed_up_at FROM customers WHERE id = 'C1'").scalar()
    assert raw == ("2025-03-01 01:00:00.000000" if on_sqlite() else datetime(2025, 3, 1, 1, 0, tzinfo=UTC))
    assert run("customers", "tz.csv", "--timezone", "UTC", "--store", "utc.db").code == 0
    with create_engine(f"sqlite:///{shop / 'utc.db'}").connect() as conn:
        stored = conn.execute(select(TABLES.customers.c.signed_up_at).where(TABLES.customers.c.id == "C1")).scalar()
    assert stored == datetime(2025, 3, 1, 10, 0, tzinfo=UTC)


def test_the_project_timezone_is_the_default(shop: Path) -> None:
    (shop / "policies.yaml").write_text("timezone: America/New_York\n", encoding="utf-8")
    write(shop / "tz.csv", "id,signed_up_at\nC1,2025-03-01 10:00\n")
    assert run("customers", "tz.csv").code == 0
    assert rows(shop, "customers", id="C1")[0]["signed_up_at"] == datetime(2025, 3, 1, 15, 0, tzinfo=UTC)


def test_schema_errors_stop_the_import(shop: Path) -> None:
    (shop / "customer_schema.yaml").write_text(
        "customer_schema: x\nattributes:\n  points: {type: integer}\n", encoding="utf-8"
    )
    result = run("customers", "customers.csv")
    assert result.code == 2
    assert "customer_schema.yaml:3" in result.err
    assert result.err.splitlines()[-1] == "ecrm import: fix the customer schema and policies first"


@pytest.mark.skipif("import" not in ecrm.commands, reason="not registered in ecrm_dsl/cli/__init__.py yet")
def test_through_the_ecrm_command(shop: Path, tmp_path: Path) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    shutil.copy(shop / "customers.csv", elsewhere / "customers.csv")
    args = ["--config", str(shop / "ecrm.toml"), "import", "customers", str(elsewhere / "customers.csv")]
    result = CliRunner().invoke(ecrm, args, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert len(rows(shop, "customers")) == 3  # into the project's store, wherever the file is
