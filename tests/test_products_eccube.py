"""EC-CUBE 4's 商品CSV through the shipped mapping: recognised from its header, read as Shift_JIS, a row per
product class keyed by 商品コード, the category list read as a path, the stock left untracked when unlimited,
公開 status as active — and the 受注CSV's lines take their categories from it."""

from __future__ import annotations

from pathlib import Path

from tests.test_import_cli import write
from tests.test_import_platforms import ok, rows, run, shop

__all__ = ["shop"]


def test_eccube4_products_after_its_orders(shop: Path) -> None:
    ok("orders", "eccube4_orders.csv")
    result = ok("products", "eccube4_products.csv")
    assert "the header row fits the shipped mapping 'eccube4'" in result.stderr
    assert "read as Shift_JIS (cp932)" in result.stderr
    found = {p["sku"]: (p["name"], p["category"], p["price"], p["stock"], p["active"]) for p in rows(shop, "products")}
    assert found == {
        "SERUM-30": ("米麹美容液", "スキンケア/美容液", None, 12, True),  # 販売価格 is before tax: not read
        "GRANOLA-250": ("玄米グラノーラ", "フード/グラノーラ", None, None, True),  # unlimited: not tracked
        "GRANOLA-500": ("玄米グラノーラ", "フード/グラノーラ", None, 0, True),
        "LOTION-OLD": ("旧パッケージ化粧水", "スキンケア", None, 3, False),  # 非公開
    }
    lines = {(i["order_id"], i["sku"]): i["category"] for i in rows(shop, "order_items")}
    assert lines == {
        ("12", "GRANOLA-250"): "フード/グラノーラ",
        ("12", "SERUM-30"): "スキンケア/美容液",
        ("13", "GRANOLA-500"): "フード/グラノーラ",
    }
    placed = {e["properties"]["order_id"]: e["properties"]["categories"] for e in rows(shop, "events")}
    assert placed["12"] == ["スキンケア/美容液", "フード/グラノーラ"]


def test_a_category_separator_is_one_character_and_only_for_products(shop: Path) -> None:
    write(shop / "bad.toml", '[products]\ncategory_separator = ", "\n')
    result = run("products", "eccube4_products.csv", "--mapping", "bad.toml")
    assert result.exit_code == 2 and "category_separator must be one character" in result.stderr
    write(shop / "orders.toml", '[orders]\ncategory_separator = ","\n')
    result = run("orders", "eccube4_orders.csv", "--mapping", "orders.toml")
    assert result.exit_code == 2 and "category_separator is only for [products]" in result.stderr
    write(shop / "slash.csv", "sku,name,category\nA,a,スキンケア > 化粧水/乳液\n")
    write(shop / "gt.toml", '[products]\ncategory_separator = ">"\n')
    result = run("products", "slash.csv", "--mapping", "gt.toml")
    assert result.exit_code == 1
    assert "slash.csv:2: column 'category': category 'スキンケア > 化粧水/乳液' has a level with a '/'" in result.stderr
