"""The stored rows behind customer snapshots (:func:`ecrm_dsl.conditions.evaluate.load_snapshots`): a customer
with their orders, items, tags, events and subscriptions, for all customers or some."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Column, Connection, RowMapping, Table, select

from ecrm_dsl.store.tables import StoreTables


@dataclass(frozen=True)
class CustomerRows:
    """Rows of each table that belong to the customers read."""

    customers: list[RowMapping]
    orders: list[RowMapping]
    order_items: list[RowMapping]
    customer_tags: list[RowMapping]
    events: list[RowMapping]
    subscriptions: list[RowMapping]


def customer_rows(conn: Connection, tables: StoreTables, customer_ids: Sequence[str] | None = None) -> CustomerRows:
    """Every customer's rows, or those of ``customer_ids`` only."""
    t = tables

    def rows(table: Table, column: Column[Any]) -> list[RowMapping]:
        query = select(table)
        if customer_ids is not None:
            query = query.where(column.in_(customer_ids))
        return list(conn.execute(query).mappings())

    order_ids = select(t.orders.c.id)
    if customer_ids is not None:
        order_ids = order_ids.where(t.orders.c.customer_id.in_(customer_ids))
    items = list(conn.execute(select(t.order_items).where(t.order_items.c.order_id.in_(order_ids))).mappings())
    return CustomerRows(
        customers=rows(t.customers, t.customers.c.id),
        orders=rows(t.orders, t.orders.c.customer_id),
        order_items=items,
        customer_tags=rows(t.customer_tags, t.customer_tags.c.customer_id),
        events=rows(t.events, t.events.c.customer_id),
        subscriptions=rows(t.subscriptions, t.subscriptions.c.customer_id),
    )


def enrollment_rows(conn: Connection, tables: StoreTables) -> list[RowMapping]:
    """Every enrollment."""
    return list(conn.execute(select(tables.enrollments)).mappings())
