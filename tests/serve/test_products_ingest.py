"""Orders sent to ``ecrm serve`` take their lines' categories from the catalogue, as ``ecrm import`` does."""

from __future__ import annotations

from typing import Any

from sqlalchemy import insert, select

from ecrm_dsl.store.tables import TABLES
from tests.serve.live import Live


def test_a_line_sent_without_a_category_takes_its_products(live: Live) -> None:
    with live.world.engine.begin() as conn:
        conn.execute(insert(TABLES.products).values(sku="SKIN-01", name="発酵化粧水", category="スキンケア/化粧水"))
    customer = {"id": "C1", "name": "山田 花子", "email": "c1@example.jp", "email_opt_in": True}
    assert live.post("/v1/customers", [customer]).json()["accepted"] == 1
    lines: list[dict[str, Any]] = [
        {"sku": "SKIN-01", "quantity": 1, "price": 2980},  # no category: the catalogue's
        {"sku": "GIFT", "category": "ギフト", "quantity": 1, "price": 500},  # its own is kept
        {"sku": "NEW-01", "quantity": 1, "price": 1500},  # not in the catalogue: none
    ]
    order = {"id": "A-1", "customer_id": "C1", "ordered_at": "2025-03-01T10:00:00+09:00", "amount": 4980}
    assert live.post("/v1/orders", [{**order, "lines": lines}]).json()["accepted"] == 1
    items, events = TABLES.order_items, TABLES.events
    with live.world.engine.connect() as conn:
        stored = {sku: category for sku, category in conn.execute(select(items.c.sku, items.c.category))}
        placed = conn.execute(select(events.c.properties).where(events.c.type == "order.placed")).scalar_one()
    assert stored == {"SKIN-01": "スキンケア/化粧水", "GIFT": "ギフト", "NEW-01": None}
    assert placed["categories"] == ["ギフト", "スキンケア/化粧水"]
