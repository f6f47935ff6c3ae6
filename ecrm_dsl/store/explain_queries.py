"""What ``ecrm explain`` reads beyond the journal: a customer's enrollments and segment memberships."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, select

from ecrm_dsl.store.tables import TABLES

E, M = TABLES.enrollments, TABLES.segment_members


def customer_enrollments(conn: Connection, customer_id: str) -> list[dict[str, Any]]:
    """The customer's enrollments, oldest first."""
    query = (
        select(E.c.scenario_id, E.c.status, E.c.holdout, E.c.entered_at, E.c.finished_at, E.c.outcome)
        .where(E.c.customer_id == customer_id)
        .order_by(E.c.entered_at, E.c.id)
    )
    return [dict(row._mapping) for row in conn.execute(query)]


def member_since(conn: Connection, customer_id: str) -> dict[str, datetime]:
    """Per segment-triggered scenario, since which tick the customer has matched its segment."""
    query = select(M.c.scenario_id, M.c.since).where(M.c.customer_id == customer_id)
    return {row.scenario_id: row.since for row in conn.execute(query)}
