"""The customers with a stored instant in given UTC ranges, by where the instant is stored (see
``runtime.day_edges``): orders by their time, opened messages by theirs, customers by their sign-up. Each is an
indexed range read (the sign-up, unindexed, a scan of the customers table: still no subquery per customer)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Select, select, union

from ecrm_dsl.conditions.normal import MESSAGE_EVENTS
from ecrm_dsl.store.tables import TABLES

ORDERS, LAST_OPENS, SIGNUPS = "orders", "message opens", "sign-ups"
Range = tuple[datetime, datetime]
_OPENED = MESSAGE_EVENTS["opened"]  # the event behind days_since_last_open


def customers_in(conn: Connection, sources: Iterable[str], ranges: Sequence[Range], limit: int) -> list[str]:
    """Up to ``limit`` + 1 customer ids (sorted) with an instant of one of ``sources`` in one of ``ranges``."""
    parts = [_in_range(source, lo, hi) for source in sorted(sources) for lo, hi in ranges]
    if not parts:
        return []
    found = union(*parts).subquery()
    query = select(found.c[0]).order_by(found.c[0]).limit(limit + 1)
    return [str(cid) for cid in conn.execute(query).scalars()]


def _in_range(source: str, lo: datetime, hi: datetime) -> Select[Any]:
    if source == ORDERS:
        orders = TABLES.orders.c
        return select(orders.customer_id).where(orders.ordered_at.between(lo, hi))
    if source == LAST_OPENS:
        events = TABLES.events.c
        return select(events.customer_id).where(events.type == _OPENED, events.occurred_at.between(lo, hi))
    if source == SIGNUPS:
        customers = TABLES.customers.c
        return select(customers.id).where(customers.signed_up_at.between(lo, hi))
    raise ValueError(f"no instants stored as {source!r}")
