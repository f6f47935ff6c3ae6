"""The stored events that decide the state events imply (subscription rows, consent fields): read by the
importer's :func:`ecrm_dsl.importer.implied.apply_implied_state`."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import Connection, select

from ecrm_dsl.store.snapshot_rows import Row
from ecrm_dsl.store.tables import StoreTables


def events_of_types(
    conn: Connection, tables: StoreTables, customer_ids: Iterable[str], types: Iterable[str]
) -> list[Row]:
    """These customers' events of these types, oldest first (same instant: in the order they were stored)."""
    events = tables.events
    query = (
        select(events)
        .where(events.c.customer_id.in_(sorted(set(customer_ids))), events.c.type.in_(sorted(set(types))))
        .order_by(events.c.occurred_at, events.c.id)
    )
    return list(conn.execute(query).mappings())
