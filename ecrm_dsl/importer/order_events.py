"""Keeping each imported order's ``order.placed`` event in step with the order and its items.

The store convention (``ecrm_dsl/store/tables.py``): an order also produces an ``order.placed`` event at its
``ordered_at``, whose properties are the order's (``ecrm_dsl/catalog.py`` EVENTS["order.placed"]). The event
of an order is found by its ``order_id`` property; it is created when missing, and brought up to date when
the order or its items changed. Properties the order does not define (a project's own, such as
``landing_page``) are kept.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC
from typing import Any

from sqlalchemy import Connection

from ecrm_dsl.importer.counts import Counts
from ecrm_dsl.language import catalog
from ecrm_dsl.store.imports import ORDER_PLACED, insert_rows, order_placed_events, orders_with_items, update_events
from ecrm_dsl.store.snapshot_rows import Row
from ecrm_dsl.store.tables import StoreTables

DERIVED = tuple(catalog.EVENTS[ORDER_PLACED])  # the properties that come from the order
ORDER_PLACED_COUNTS = "order.placed events"  # what an import says of the events it kept in step


def placed_properties(order: Mapping[str, Any], items: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """The ``order.placed`` properties of an order (missing values are left out)."""

    def moment(name: str) -> str | None:
        value = order[name]
        return value.astimezone(UTC).isoformat() if value is not None else None

    properties = {
        "order_id": order["id"],
        "amount": order["amount"],
        "ordered_at": moment("ordered_at"),
        "paid_at": moment("paid_at"),
        "shipped_at": moment("shipped_at"),
        "delivery_date": order["delivery_date"].isoformat() if order["delivery_date"] is not None else None,
        "categories": sorted({i["category"] for i in items if i["category"]}),
        "skus": sorted({i["sku"] for i in items}),
        "entry_channel": order["entry_channel"],
        "payment_method": order["payment_method"],
        "cart_id": order["cart_id"],
        "coupon_code": order["coupon_code"],
        "is_subscription": bool(order["is_subscription"]),
    }
    return {k: v for k, v in properties.items() if v is not None}


def sync_order_events(
    conn: Connection,
    tables: StoreTables,
    order_ids: Iterable[str],
    previous_customers: Mapping[str, str],
    batch_size: int = 500,
) -> Counts:
    """Create or update the ``order.placed`` event of each order; say how many were created and updated."""
    counts = Counts()
    batch: list[str] = []
    for order_id in order_ids:
        batch.append(order_id)
        if len(batch) >= batch_size:
            _sync_batch(conn, tables, batch, previous_customers, counts)
            batch = []
    if batch:
        _sync_batch(conn, tables, batch, previous_customers, counts)
    return counts


def _sync_batch(
    conn: Connection, tables: StoreTables, ids: list[str], previous: Mapping[str, str], counts: Counts
) -> None:
    orders, items = orders_with_items(conn, tables, ids)
    customers = {o["customer_id"] for o in orders.values()} | {previous[i] for i in ids if i in previous}
    events: dict[str, Row] = {}
    for row in order_placed_events(conn, tables, sorted(customers)):
        order_id = (row["properties"] or {}).get("order_id")
        if order_id in orders and order_id not in events:
            events[order_id] = row
    inserts, updates = [], []
    for order_id in ids:
        order = orders.get(order_id)
        if order is None:
            continue
        derived = placed_properties(order, items.get(order_id, []))
        event = events.get(order_id)
        if event is None:
            inserts.append(
                {
                    "customer_id": order["customer_id"],
                    "type": ORDER_PLACED,
                    "occurred_at": order["ordered_at"],
                    "properties": derived,
                }
            )
            counts.inserted += 1
            continue
        kept = {k: v for k, v in (event["properties"] or {}).items() if k not in DERIVED}
        wanted = {
            "customer_id": order["customer_id"],
            "occurred_at": order["ordered_at"],
            "properties": {**kept, **derived},
        }
        if any(event[k] != v for k, v in wanted.items()):
            updates.append({"event_id": event["id"], **{f"new_{k}": v for k, v in wanted.items()}})
            counts.updated += 1
        else:
            counts.unchanged += 1
    insert_rows(conn, tables.events, inserts)
    update_events(conn, tables, updates)
