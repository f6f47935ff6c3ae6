"""The mappings shipped for EC platforms' exports: chosen from the header row, by name or by path, each read
from a realistic sample (``tests/data/import/platforms/``: Shopify in UTF-8, EC-CUBE 4 in Shift_JIS as it
exports and in UTF-8 with a BOM). Real SQLite stores, the real CLI."""

from __future__ import annotations

import shutil
from datetime import UTC, date, datetime
from importlib import resources
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from sqlalchemy import create_engine, select

from ecrm_dsl.cli.import_cmd import import_command
from ecrm_dsl.importer import shipped
from ecrm_dsl.importer.layouts import KINDS
from ecrm_dsl.store.tables import TABLES

DATA = Path(__file__).parent / "data" / "import"
PLATFORMS = DATA / "platforms"


@pytest.fixture
def shop(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    root = tmp_path / "shop"
    shutil.copytree(DATA / "project", root)
    for path in PLATFORMS.iterdir():
        shutil.copy(path, root / path.name)
    monkeypatch.chdir(root)
    monkeypatch.delenv("ECRM_STORE", raising=False)
    return root


def run(*args: str) -> Any:
    return CliRunner().invoke(import_command, list(args), catch_exceptions=False)


def ok(*args: str) -> Any:
    result = run(*args)
    assert result.exit_code == 0, result.stderr
    return result


def rows(shop: Path, table: str) -> list[dict[str, Any]]:
    t = TABLES.metadata.tables[table]
    with create_engine(f"sqlite:///{shop / 'ecrm.db'}").connect() as conn:
        return [dict(r) for r in conn.execute(select(t).order_by(*t.primary_key.columns)).mappings()]


def dump(shop: Path) -> dict[str, list[Any]]:
    return {t.name: rows(shop, t.name) for t in TABLES.metadata.sorted_tables if t.name != "customer_changes"}


def test_the_shipped_mappings_are_package_data_and_load() -> None:
    packaged = sorted(p.name for p in (resources.files("ecrm_dsl.importer") / "mappings").iterdir())
    assert packaged == ["eccube4.toml", "ecforce.toml", "shopify.toml"]
    for name in shipped.shipped_names():
        mapping = shipped.shipped_mapping(name)
        assert mapping.title and "orders" in mapping.kinds
        assert set(mapping.kinds) <= {"customers", "orders", "products"}
        for kind, kind_mapping in mapping.kinds.items():
            unknown = set(kind_mapping.columns) - set(KINDS[kind])
            assert not unknown, (name, kind, unknown)


def test_list_mappings(shop: Path) -> None:
    result = ok("--list-mappings")
    assert "eccube4    EC-CUBE 4: 会員CSV, 受注CSV" in result.stdout
    assert "shopify    Shopify: customers export, orders export" in result.stdout
    assert "kinds: customers, orders, products; encoding: cp932" in result.stdout
    assert f"file: {shipped.MAPPINGS_DIR / 'shopify.toml'}" in result.stdout


def test_shopify_customers_are_recognised_and_imported(shop: Path) -> None:
    result = ok("customers", "shopify_customers.csv")
    assert "the header row fits the shipped mapping 'shopify'" in result.stderr and "read as UTF-8" in result.stderr
    customers = {c["id"]: c for c in rows(shop, "customers")}
    hanako = customers["hanako@example.jp"]
    assert (hanako["email"], hanako["phone"], hanako["email_opt_in"], hanako["sms_opt_in"]) == (
        "hanako@example.jp",
        "+819012345678",
        True,
        False,
    )
    assert customers["ichiro@example.jp"]["sms_opt_in"] and not customers["ichiro@example.jp"]["email_opt_in"]
    assert {(t["customer_id"], t["tag"]) for t in rows(shop, "customer_tags")} == {
        ("hanako@example.jp", "vip"),
        ("hanako@example.jp", "新規"),
    }


def test_shopify_orders_one_order_per_name_with_its_line_items(shop: Path) -> None:
    ok("orders", "shopify_orders.csv")
    orders = {o["id"]: o for o in rows(shop, "orders")}
    assert set(orders) == {"#1001", "#1002"}
    first = orders["#1001"]
    assert first["customer_id"] == "hanako@example.jp" and first["amount"] == 6160
    assert first["ordered_at"] == datetime(2025, 3, 1, 1, 0, tzinfo=UTC)  # 10:00 +0900
    assert first["paid_at"] == datetime(2025, 3, 1, 1, 2, 11, tzinfo=UTC)
    assert first["shipped_at"] == datetime(2025, 3, 3, 5, 0, tzinfo=UTC)
    assert orders["#1002"]["coupon_code"] == "WELCOME10" and orders["#1002"]["payment_method"] == "代金引換"
    items = [(i["order_id"], i["sku"], i["quantity"], i["price"]) for i in rows(shop, "order_items")]
    assert items == [
        ("#1001", "GRANOLA-250", 1, 620),
        ("#1001", "SERUM-30", 1, 4980),
        ("#1002", "GRANOLA-500", 2, 1500),
    ]
    placed = [e for e in rows(shop, "events") if e["type"] == "order.placed"]
    assert sorted(e["properties"]["skus"] for e in placed) == [["GRANOLA-250", "SERUM-30"], ["GRANOLA-500"]]
    assert {c["id"] for c in rows(shop, "customers")} == {"hanako@example.jp", "ichiro@example.jp"}


def test_a_continuation_line_that_disagrees_is_still_refused(shop: Path) -> None:
    lines = (shop / "shopify_orders.csv").read_text(encoding="utf-8").splitlines()
    header = lines[0].split(",")
    cells = lines[2].split(",")  # #1001's second line item, order cells left empty
    cells[header.index("Total")] = "9999"
    (shop / "bad.csv").write_text("\n".join([lines[0], lines[1], ",".join(cells), lines[3]]) + "\n", encoding="utf-8")
    result = run("orders", "bad.csv")
    assert result.exit_code == 1
    assert "bad.csv:3: column 'Name' (id): order '#1001' is also on line 2, with different amount" in result.stderr


def test_eccube4_customers_in_shift_jis(shop: Path) -> None:
    result = ok("customers", "eccube4_customers.csv")
    assert "the shipped mapping 'eccube4'" in result.stderr and "read as Shift_JIS (cp932)" in result.stderr
    customers = {c["id"]: c for c in rows(shop, "customers")}
    hanako = customers["hanako@example.jp"]
    assert (hanako["phone"], hanako["birthday"]) == ("09012345678", date(1988, 7, 15))
    assert hanako["signed_up_at"] == datetime(2025, 3, 1, 0, 55, 12, tzinfo=UTC)
    assert not hanako["email_opt_in"]  # EC-CUBE 4 exports no opt-in: unknown is not consent
    assert customers["misaki@example.jp"]["birthday"] is None


def test_eccube4_orders_read_only_product_lines_and_guests_by_email(shop: Path) -> None:
    result = ok("orders", "eccube4_orders.csv")
    assert "note: 3 rows were skipped: the mapping reads only rows where '明細区分(名称)' is 商品" in result.stderr
    orders = {o["id"]: o for o in rows(shop, "orders")}
    assert orders["12"]["amount"] == 6160 and orders["12"]["payment_method"] == "cod"
    assert orders["12"]["delivery_date"] == date(2025, 3, 5)
    assert orders["12"]["ordered_at"] == datetime(2025, 3, 1, 1, 0, tzinfo=UTC)
    assert orders["13"]["customer_id"] == "ken@example.jp" and orders["13"]["paid_at"] is None  # a guest order
    items = [(i["order_id"], i["sku"], i["quantity"], i["price"]) for i in rows(shop, "order_items")]
    assert items == [("12", "GRANOLA-250", 1, 620), ("12", "SERUM-30", 1, 4980), ("13", "GRANOLA-500", 2, 1500)]


def test_eccube4_shift_jis_and_utf8_exports_give_the_same_store(shop: Path, tmp_path: Path) -> None:
    ok("orders", "eccube4_orders.csv")
    in_sjis = dump(shop)
    (shop / "ecrm.db").unlink()
    result = ok("orders", "eccube4_orders_utf8.csv")
    assert "read as UTF-8" in result.stderr
    assert dump(shop) == in_sjis


def test_ecforce_orders_in_shift_jis_keyed_by_email(shop: Path) -> None:
    result = ok("orders", "ecforce_orders.csv")
    assert "the header row fits the shipped mapping 'ecforce'" in result.stderr
    assert "read as Shift_JIS (cp932)" in result.stderr
    orders = {o["id"]: o for o in rows(shop, "orders")}
    assert set(orders) == {"ffad31d5fc", "bdbfaf4469", "3c1e9a7b20"}
    first = orders["ffad31d5fc"]
    assert (first["customer_id"], first["amount"]) == ("hanako@example.jp", 5478)
    assert first["entry_channel"] == "美容液LP_Google"
    assert first["ordered_at"] == datetime(2025, 3, 1, 1, 0, tzinfo=UTC)  # 2025/03/01 10:00 in Tokyo
    assert orders["bdbfaf4469"]["amount"] == 1364  # "1,364"
    assert orders["3c1e9a7b20"]["entry_channel"] is None
    assert rows(shop, "order_items") == []  # 購入商品（商品コード） has no prices: no order lines
    assert {c["id"] for c in rows(shop, "customers")} == {"hanako@example.jp", "ken@example.jp"}


def test_a_shipped_mapping_by_name_or_by_path(shop: Path) -> None:
    result = ok("orders", "eccube4_orders.csv", "--mapping", "eccube4")
    assert "fits the shipped mapping" not in result.stderr  # chosen, not detected
    assert len(rows(shop, "orders")) == 2
    shutil.copy(shipped.MAPPINGS_DIR / "shopify.toml", shop / "my_shopify.toml")
    ok("orders", "shopify_orders.csv", "--mapping", "my_shopify.toml")
    assert len(rows(shop, "orders")) == 4


def test_an_unknown_mapping_name(shop: Path) -> None:
    result = run("orders", "shopify_orders.csv", "--mapping", "shopfy")
    assert result.exit_code == 2
    assert "shopfy: 'shopfy' is neither a mapping file nor a shipped mapping — did you mean 'shopify'?" in result.stderr
    result = run("orders", "shopify_orders.csv", "--mapping", "missing.toml")
    assert result.exit_code == 2 and "there is no mapping file missing.toml" in result.stderr


def test_two_fitting_mappings_are_refused(shop: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    mappings = tmp_path / "mappings"
    mappings.mkdir()
    for name in ("shopify", "shopify_jp"):
        shutil.copy(shipped.MAPPINGS_DIR / "shopify.toml", mappings / f"{name}.toml")
    monkeypatch.setattr(shipped, "MAPPINGS_DIR", mappings)
    result = run("orders", "shopify_orders.csv")
    assert result.exit_code == 2
    assert "fits several shipped mappings (shopify, shopify_jp); choose one with --mapping shopify" in result.stderr
    assert not (shop / "ecrm.db").exists()


def test_a_file_with_the_stores_own_columns_fits_no_shipped_mapping(shop: Path) -> None:
    shutil.copy(DATA / "customers.csv", shop / "customers.csv")
    result = ok("customers", "customers.csv")
    assert "shipped mapping" not in result.stderr


def test_columns_a_newer_export_adds_are_skipped_with_a_note(shop: Path) -> None:
    lines = (shop / "shopify_orders.csv").read_text(encoding="utf-8").splitlines()
    (shop / "newer.csv").write_text(
        "\n".join(f"{line},x" for line in lines).replace(",x", ",Receipt Number", 1) + "\n", encoding="utf-8"
    )
    result = ok("orders", "newer.csv")
    assert "note: columns the mapping does not read (ignore_unmapped): 'Receipt Number'" in result.stderr


def test_a_mapping_that_filters_rows_by_a_column_the_file_lacks(shop: Path) -> None:
    (shop / "m.toml").write_text('[orders.only_rows_where]\n"明細区分(名称)" = ["商品"]\n', encoding="utf-8")
    (shop / "o.csv").write_text("id,customer_id,ordered_at,amount\n", encoding="utf-8")
    result = run("orders", "o.csv", "--mapping", "m.toml")
    assert result.exit_code == 1
    assert (
        "o.csv:1: the mapping reads only rows by '明細区分(名称)' (only_rows_where), but the file has no such column"
        in (result.stderr)
    )


def test_strip_names_a_column_of_the_import(shop: Path) -> None:
    (shop / "m.toml").write_text('[customers.strip]\nphon = "\'"\n', encoding="utf-8")
    result = run("customers", "shopify_customers.csv", "--mapping", "m.toml")
    assert result.exit_code == 2
    assert "[customers.strip] phon: is not a column of this import — did you mean 'phone'?" in result.stderr


JOIN_MAPPING = """
[orders]
create_missing_customers = true
date_formats = {ordered_at = "%Y/%m/%d %H%M%S"}

[orders.columns]
id = "注文番号"

[orders.join]
ordered_at = ["日付", "注文時間"]
"""


def test_join_reads_a_date_and_a_time_split_over_two_cells(shop: Path) -> None:
    (shop / "m.toml").write_text(JOIN_MAPPING, encoding="utf-8")
    (shop / "o.csv").write_text(
        "注文時間,注文番号,日付,customer_id,amount\n"
        "103309,P171323551145213731,2022/8/10,c1,1200\n"
        "091502,P171323551145213732,2022/8/11,c2,900\n",
        encoding="utf-8",
    )
    ok("orders", "o.csv", "--mapping", "m.toml")
    orders = {o["id"]: o["ordered_at"] for o in rows(shop, "orders")}
    assert orders == {
        "P171323551145213731": datetime(2022, 8, 10, 1, 33, 9, tzinfo=UTC),  # 10:33:09 in Tokyo
        "P171323551145213732": datetime(2022, 8, 11, 0, 15, 2, tzinfo=UTC),
    }


def test_join_names_the_missing_cell_or_header(shop: Path) -> None:
    (shop / "m.toml").write_text(JOIN_MAPPING, encoding="utf-8")
    (shop / "o.csv").write_text("日付,注文時間,注文番号,customer_id,amount\n2022/8/10,,P1,c1,1200\n", encoding="utf-8")
    result = run("orders", "o.csv", "--mapping", "m.toml")
    assert result.exit_code == 1
    assert "o.csv:2: column '日付+注文時間' (ordered_at): '2022/8/10' does not match the date format" in result.stderr
    (shop / "o.csv").write_text("日付,注文番号,customer_id,amount\n2022/8/10,P1,c1,1200\n", encoding="utf-8")
    result = run("orders", "o.csv", "--mapping", "m.toml")
    assert result.exit_code == 1
    lacking = "o.csv:1: column '日付' (ordered_at): is read joined with '注文時間' (join), "
    lacking += "but the file has no '注文時間'"
    assert lacking in result.stderr


def test_a_shipped_mapping_with_a_join_fits_only_a_header_with_all_its_cells(
    shop: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    mappings = tmp_path / "mappings"
    mappings.mkdir()
    named = 'id = "注文番号"\ncustomer_id = "メールアドレス"\namount = "合計金額"\n'
    (mappings / "cart.toml").write_text(JOIN_MAPPING.replace('id = "注文番号"\n', named), encoding="utf-8")
    monkeypatch.setattr(shipped, "MAPPINGS_DIR", mappings)
    (shop / "both.csv").write_text("日付,注文時間,注文番号,メールアドレス,合計金額\n", encoding="utf-8")
    (shop / "date_only.csv").write_text("日付,注文番号,メールアドレス,合計金額\n", encoding="utf-8")
    assert [m.source for m in shipped.detect(shop / "both.csv", "orders", None).mappings] == ["cart"]
    assert shipped.detect(shop / "date_only.csv", "orders", None).mappings == []


@pytest.mark.parametrize(
    ("join", "message"),
    [
        ('ordered_at = ["日付"]', "[orders] join.ordered_at joins at least two headers"),
        ('ordered_at = ["日付", "日付"]', "[orders] join.ordered_at names a header twice"),
        ('ordered_at = "日付"', "[orders] join.ordered_at must be a list of CSV headers"),
        ('orderd_at = ["日付", "注文時間"]', "[orders.join] orderd_at: is not a column of this import"),
        ('id = ["日付", "注文時間"]', "[orders] id is both in [orders.columns] and in [orders.join]"),
    ],
)
def test_a_malformed_join_is_a_mapping_error(shop: Path, join: str, message: str) -> None:
    (shop / "m.toml").write_text(f'[orders.columns]\nid = "注文番号"\n\n[orders.join]\n{join}\n', encoding="utf-8")
    (shop / "o.csv").write_text("日付,注文時間,注文番号,customer_id,amount\n", encoding="utf-8")
    result = run("orders", "o.csv", "--mapping", "m.toml")
    assert result.exit_code == 2
    assert message in result.stderr
