"""The statements ``ecrm import`` and the demo shop generator run, besides upserts by key (:mod:`store.upsert`):
bulk inserts, which ids exist, the tags customers have, and the ``order.placed`` events kept in step with orders.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from sqlalchemy import Column, Connection, Table, bindparam, insert, select, update

from ecrm_dsl.store.snapshot_rows import Row
from ecrm_dsl.store.tables import StoreTables

ORDER_PLACED = "order.placed"


def insert_rows(conn: Connection, table: Table, rows: Sequence[Mapping[str, Any]]) -> None:
    """Insert ``rows`` into ``table`` in one executemany (nothing when there are none)."""
    if rows:
        conn.execute(insert(table), list(rows))


def present_values(conn: Connection, column: Column[Any], values: Iterable[Any]) -> set[Any]:
    """Which of ``values`` are stored in ``column``."""
    wanted = list(values)
    if not wanted:
        return set()
    return set(conn.execute(select(column).where(column.in_(wanted))).scalars())


def customer_tags(conn: Connection, tables: StoreTables, customer_ids: Iterable[str]) -> set[tuple[str, str]]:
    """The (customer id, tag) pairs stored for these customers."""
    tags = tables.customer_tags
    rows = conn.execute(select(tags.c.customer_id, tags.c.tag).where(tags.c.customer_id.in_(list(customer_ids))))
    return {(row.customer_id, row.tag) for row in rows}


def orders_with_items(
    conn: Connection, tables: StoreTables, order_ids: Sequence[str]
) -> tuple[dict[str, Row], dict[str, list[Row]]]:
    """The stored orders of ``order_ids`` by id, and their items by order id (in SKU order)."""
    orders_t, items_t = tables.orders, tables.order_items
    orders: dict[str, Row] = {
        row["id"]: row for row in conn.execute(select(orders_t).where(orders_t.c.id.in_(order_ids))).mappings()
    }
    items: dict[str, list[Row]] = {}
    query = select(items_t).where(items_t.c.order_id.in_(order_ids)).order_by(items_t.c.sku)
    for row in conn.execute(query).mappings():
        items.setdefault(row["order_id"], []).append(row)
    return orders, items


def order_placed_events(conn: Connection, tables: StoreTables, customer_ids: Iterable[str]) -> list[Row]:
    """The ``order.placed`` events of these customers, oldest first."""
    events_t = tables.events
    query = (
        select(events_t)
        .where(events_t.c.type == ORDER_PLACED, events_t.c.customer_id.in_(list(customer_ids)))
        .order_by(events_t.c.id)
    )
    return list(conn.execute(query).mappings())


def update_events(conn: Connection, tables: StoreTables, changes: Sequence[Mapping[str, Any]]) -> None:
    """Rewrite events: each change holds ``event_id`` and the ``new_customer_id``, ``new_occurred_at`` and
    ``new_properties`` to store."""
    if not changes:
        return
    events_t = tables.events
    statement = (
        update(events_t)
        .where(events_t.c.id == bindparam("event_id"))
        .values(
            customer_id=bindparam("new_customer_id"),
            occurred_at=bindparam("new_occurred_at"),
            properties=bindparam("new_properties"),
        )
    )
    conn.execute(statement, list(changes))
