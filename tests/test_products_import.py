"""``ecrm import products`` on SQLite and PostgreSQL: the catalogue's columns, re-imports that update and never
duplicate, positioned errors, and the categories order lines take from their products (at either import order)."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from tests.test_import_cli import dump, imported, problems, rows, run, shop, write

__all__ = ["shop"]  # the fixture, on both backends


def products(shop: Path) -> dict[str, tuple[object, ...]]:
    return {
        r["sku"]: (r["name"], r["category"], r["price"], r["launched_on"], r["stock"], r["active"])
        for r in rows(shop, "products")
    }


def line_categories(shop: Path) -> dict[tuple[str, str], str | None]:
    return {(r["order_id"], r["sku"]): r["category"] for r in rows(shop, "order_items")}


def placed_categories(shop: Path) -> dict[str, list[str]]:
    events = rows(shop, "events", type="order.placed")
    return {e["properties"]["order_id"]: e["properties"]["categories"] for e in events}


def test_products_are_imported_with_typed_columns(shop: Path) -> None:
    result = run("products", "products.csv")
    assert result.code == 0, result.err
    assert result.out.splitlines()[:2] == ["products.csv: 3 rows", "  products: 3 inserted, 0 updated, 0 unchanged"]
    assert products(shop) == {
        "SERUM-30": ("発酵美容液 30ml", "skincare/serum", 4980, date(2024, 4, 1), 12, True),
        "SAMPLE-1": ("お試しサンプル", "skincare/sample", 0, date(2024, 1, 15), None, True),  # stock not tracked
        "GRANOLA-500": ("玄米グラノーラ 500g", "food/granola", 1980, date(2024, 9, 1), 0, True),
    }
    serum = rows(shop, "products", sku="SERUM-30")[0]
    assert serum["url"] == "https://shop.example.jp/p/serum-30"
    assert serum["image_url"] == "https://shop.example.jp/img/serum-30.jpg"


def test_a_reimport_updates_prices_and_stock_and_never_duplicates(shop: Path) -> None:
    imported(shop, "products")
    before = dump(shop)
    again = run("products", "products.csv")
    assert again.code == 0 and "  products: 0 inserted, 0 updated, 3 unchanged" in again.out, again.out
    assert dump(shop) == before
    write(
        shop / "stock.csv",
        "sku,name,price,stock,active\n"
        "SERUM-30,発酵美容液 30ml,5280円,3,\n"  # price and stock change; the other columns are kept
        "GRANOLA-500,玄米グラノーラ 500g,1980,0,いいえ\n"  # no longer sold
        "MASK-5,発酵シートマスク 5枚,1480,40,\n",
    )
    result = run("products", "stock.csv")
    assert result.code == 0, result.err
    assert "  products: 1 inserted, 2 updated, 0 unchanged" in result.out
    found = products(shop)
    assert found["SERUM-30"] == ("発酵美容液 30ml", "skincare/serum", 5280, date(2024, 4, 1), 3, True)
    assert found["GRANOLA-500"][-1] is False and found["MASK-5"][1] is None
    assert len(rows(shop, "products")) == 4


def test_bad_cells_are_reported_with_their_line_and_column(shop: Path) -> None:
    write(
        shop / "bad.csv",
        "sku,name,category,price,launched_on,stock\n"
        "A,ok,skincare,100,2025-01-01,1\n"  # 2: good
        ",no sku,,100,,\n"  # 3
        "B,,skincare,100,,\n"  # 4: no name
        "C,negative,skincare,-5,2025-02-30,many\n"  # 5: negative price, no such day, stock
        "D,empty level,skincare//lotion,100,,\n"  # 6
        "A,other name,skincare,100,2025-01-01,1\n",  # 7: the same sku again, different
    )
    found = problems(run("products", "bad.csv"))
    assert found[0] == "bad.csv:3: column 'sku': is required, but the cell is empty"
    assert found[1] == "bad.csv:4: column 'name': is required, but the cell is empty"
    assert [line.split(": ", 2)[:2] for line in found[2:5]] == [
        ["bad.csv:5", "column 'price'"],
        ["bad.csv:5", "column 'launched_on'"],
        ["bad.csv:5", "column 'stock'"],
    ]
    assert found[5].startswith("bad.csv:6: column 'category': category 'skincare//lotion' has an empty level — ")
    assert found[6].startswith("bad.csv:7: column 'sku': product 'A' is also on line 2, with different name")
    assert rows(shop, "products") == []


def test_lines_without_a_category_take_their_products_and_so_do_their_events(shop: Path) -> None:
    imported(shop, "customers", "orders", "order_items")
    assert line_categories(shop)[("O1001", "SAMPLE-1")] is None
    result = run("products", "products.csv")  # the catalogue after the orders: it fills the lines that have none
    assert result.code == 0, result.err
    assert "  order lines given their product's category: 0 inserted, 1 updated, 0 unchanged" in result.out
    categories = line_categories(shop)
    assert categories[("O1001", "SAMPLE-1")] == "skincare/sample"
    assert categories[("O1001", "SERUM-30")] == "skincare"  # a line's own category is kept
    assert categories[("O1002", "GRANOLA-500")] == "food"
    # The order's event lists its lines' categories as they are now.
    assert placed_categories(shop)["O1001"] == ["skincare", "skincare/sample"]
    before = dump(shop)
    assert run("products", "products.csv").code == 0
    assert dump(shop) == before
    write(shop / "more_items.csv", "order_id,sku,quantity,price\nO1002,SERUM-30,1,4980\n")
    result = run("order_items", "more_items.csv")  # the catalogue before the lines: they take it at once
    assert result.code == 0, result.err
    assert line_categories(shop)[("O1002", "SERUM-30")] == "skincare/serum"
    assert placed_categories(shop)["O1002"] == ["food", "skincare/serum"]


def test_a_dry_run_of_products_writes_nothing(shop: Path) -> None:
    imported(shop, "customers", "orders", "order_items")
    before = dump(shop)
    result = run("products", "products.csv", "--dry-run")
    assert result.code == 0 and "3 inserted" in result.out, result.err
    assert dump(shop) == before
