"""The stored rows behind customer snapshots (:func:`ecrm_dsl.conditions.evaluate.load_snapshots`): a customer
with their orders, items, tags, events and subscriptions, for all customers or some."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Column, Connection, Table, select

from ecrm_dsl.store.tables import StoreTables

Row = Mapping[Any, Any]  # a stored row, read by column name


@dataclass(frozen=True)
class CustomerRows:
    """Rows of each table that belong to the customers read."""

    customers: list[Row]
    orders: list[Row]
    order_items: list[Row]
    customer_tags: list[Row]
    events: list[Row]
    subscriptions: list[Row]
    sent: list[Row]  # delivered messages (outbox rows with status sent): channel and sent_at, for sends()


def customer_rows(conn: Connection, tables: StoreTables, customer_ids: Sequence[str] | None = None) -> CustomerRows:
    """Every customer's rows, or those of ``customer_ids`` only."""
    t = tables

    def rows(table: Table, column: Column[Any]) -> list[Row]:
        query = select(table)
        if customer_ids is not None:
            query = query.where(column.in_(customer_ids))
        return list(conn.execute(query).mappings())

    order_ids = select(t.orders.c.id)
    if customer_ids is not None:
        order_ids = order_ids.where(t.orders.c.customer_id.in_(customer_ids))
    items: list[Row] = list(
        conn.execute(select(t.order_items).where(t.order_items.c.order_id.in_(order_ids))).mappings()
    )
    return CustomerRows(
        customers=rows(t.customers, t.customers.c.id),
        orders=rows(t.orders, t.orders.c.customer_id),
        order_items=items,
        customer_tags=rows(t.customer_tags, t.customer_tags.c.customer_id),
        events=rows(t.events, t.events.c.customer_id),
        subscriptions=rows(t.subscriptions, t.subscriptions.c.customer_id),
        sent=_sent(conn, tables, customer_ids),
    )


def _sent(conn: Connection, tables: StoreTables, customer_ids: Sequence[str] | None) -> list[Row]:
    outbox = tables.outbox.c
    query = select(outbox.customer_id, outbox.channel, outbox.sent_at).where(outbox.status == "sent")
    if customer_ids is not None:
        query = query.where(outbox.customer_id.in_(customer_ids))
    return list(conn.execute(query).mappings())


def enrollment_rows(conn: Connection, tables: StoreTables) -> list[Row]:
    """Every enrollment."""
    return list(conn.execute(select(tables.enrollments)).mappings())
