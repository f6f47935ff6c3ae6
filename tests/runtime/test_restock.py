"""Restock and price-drop triggers: a catalogue import that brings a product back in stock, or makes it cheaper,
records an event for each customer who wanted it lately and has not bought it since; a scenario on that event
enrolls them like any other (on SQLite and PostgreSQL)."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner
from sqlalchemy import select

from ecrm_dsl.cli import cli
from ecrm_dsl.store.tables import TABLES
from tests.runtime.adversarial_helpers import at, build, scenario
from tests.runtime.world import World

BACK_IN_STOCK = """template: back_in_stock
category: marketing
channels:
  line:
    text: "{{ customer.name }}様、お待たせしました。{{ event.name }}が再入荷しました {{ event.url }}"
"""
FLOW = scenario("restock_notice", "product.restocked", "  send line back_in_stock")
HEADER = "sku,name,category,price,stock,url\n"


def import_products(w: World, tmp_path: Path, rows: str, now: str) -> str:
    path = tmp_path / "products.csv"
    path.write_text(HEADER + rows, encoding="utf-8")
    done = CliRunner().invoke(cli, ["import", "products", str(path), "--store", w.store, "--now", now])
    assert done.exit_code == 0, done.output
    return done.output


def product_events(w: World) -> list[tuple[str, str, dict[str, object]]]:
    e = TABLES.events
    query = (
        select(e.c.type, e.c.customer_id, e.c.properties)
        .where(e.c.type.in_(["product.restocked", "product.price_dropped"]))
        .order_by(e.c.type, e.c.customer_id)
    )
    with w.engine.connect() as conn:
        return [(kind, customer, props) for kind, customer, props in conn.execute(query)]


def test_a_restock_and_a_price_drop_reach_those_who_wanted_the_product(tmp_path: Path) -> None:
    w = build(tmp_path / "w", {"restock_notice": FLOW}, (BACK_IN_STOCK,))
    import_products(
        w,
        tmp_path,
        "SERUM,発酵美容液,skincare/serum,4800,0,https://minori.example/serum\nRICE,玄米,food/rice,3000,40,\n",
        at(1, 9).isoformat(),
    )
    for cid in "abcde":
        w.customer(cid)
    w.event("a", "product.viewed", at(5, 20), sku="SERUM")  # wanted it lately
    w.event("b", "product.wishlisted", at(1, 8).replace(month=2), sku="SERUM")  # too long ago
    w.event("c", "product.viewed", at(4, 12), sku="SERUM")
    w.order("c", at(6, 12))  # … and bought it since
    with w.engine.begin() as conn:
        conn.execute(TABLES.order_items.insert().values(order_id="o1", sku="SERUM", quantity=1, price=4800))
    w.event("d", "cart.abandoned", at(7, 22), cart_id="k1", skus=["RICE", "SERUM"])
    w.event("e", "product.viewed", at(8, 10), sku="RICE")

    out = import_products(
        w,
        tmp_path,
        "SERUM,発酵美容液,skincare/serum,4800,25,https://minori.example/serum\nRICE,玄米,food/rice,2500,40,\n",
        at(10, 9).isoformat(),
    )

    assert "product.restocked events: 2 inserted" in out, out
    assert "product.price_dropped events: 2 inserted" in out, out  # d's cart held the rice too
    found = product_events(w)
    assert [(kind, customer) for kind, customer, _ in found] == [
        ("product.price_dropped", "d"),
        ("product.price_dropped", "e"),
        ("product.restocked", "a"),
        ("product.restocked", "d"),
    ]
    assert found[1][2] == {"sku": "RICE", "name": "玄米", "price": 2500, "previous_price": 3000}
    assert found[2][2]["stock"] == 25 and found[2][2]["url"] == "https://minori.example/serum"
    # The same file again changes nothing, so it announces nothing.
    assert "product.restocked" not in import_products(
        w,
        tmp_path,
        "SERUM,発酵美容液,skincare/serum,4800,25,https://minori.example/serum\nRICE,玄米,food/rice,2500,40,\n",
        at(10, 10).isoformat(),
    )
    assert len(product_events(w)) == 4

    w.tick(at(10, 11))
    assert sorted(s[0] for s in w.sends()) == ["a", "d"]
    [a_event] = [d for d in w.decisions("a") if d["kind"] == "entered"]
    assert a_event["scenario_id"] == "restock_notice"


def test_the_moment_of_a_catalogue_change_must_be_a_time_with_its_zone(tmp_path: Path) -> None:
    w = build(tmp_path / "w", {"restock_notice": FLOW}, (BACK_IN_STOCK,))
    (tmp_path / "products.csv").write_text(HEADER + "SERUM,美容液,skincare,4800,0,\n", encoding="utf-8")
    for bad, why in (("yesterday", "is not a time"), ("2025-03-10T09:00", "has no timezone")):
        args = ["import", "products", str(tmp_path / "products.csv"), "--store", w.store, "--now", bad]
        result = CliRunner().invoke(cli, args)
        assert result.exit_code == 2 and f"Invalid value for --now: '{bad}' {why}" in result.output
    assert w.count("products") == 0
