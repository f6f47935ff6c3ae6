"""What ``ecrm preview`` and ``ecrm send-test`` read about one customer: their enrollment in a scenario, the event
a scenario would start from, and ids near a mistyped one. Reads only: a preview changes nothing."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, func, select

from ecrm_dsl.store.enrollments import Enrollment, by_ids
from ecrm_dsl.store.tables import TABLES

C, E, EV = TABLES.customers, TABLES.enrollments, TABLES.events
NEAR_IDS = 2000  # enough candidates for a "did you mean" without reading a large customer table


def customer_exists(conn: Connection, customer_id: str) -> bool:
    return conn.execute(select(C.c.id).where(C.c.id == customer_id)).first() is not None


def ids_near(conn: Connection, customer_id: str) -> list[str]:
    """Customer ids that share the first character of ``customer_id`` (case aside), for a "did you mean"."""
    head = customer_id[:1].lower()
    query = select(C.c.id).order_by(C.c.id).limit(NEAR_IDS)
    if head:
        query = query.where(func.lower(func.substr(C.c.id, 1, 1)) == head)
    return [row[0] for row in conn.execute(query)]


def latest_enrollment(conn: Connection, customer_id: str, scenario_id: str) -> Enrollment | None:
    """The customer's most recent enrollment in the scenario (any version, running or finished)."""
    found = conn.execute(
        select(E.c.id)
        .where(E.c.customer_id == customer_id, E.c.scenario_id == scenario_id)
        .order_by(E.c.entered_at.desc(), E.c.id.desc())
        .limit(1)
    ).first()
    return by_ids(conn, [found.id])[0] if found is not None else None


def latest_event(conn: Connection, customer_id: str, event_type: str, until: datetime) -> dict[str, Any] | None:
    """The properties of the customer's latest event of ``event_type`` at or before ``until``."""
    row = conn.execute(
        select(EV.c.properties)
        .where(EV.c.customer_id == customer_id, EV.c.type == event_type, EV.c.occurred_at <= until)
        .order_by(EV.c.occurred_at.desc(), EV.c.id.desc())
        .limit(1)
    ).first()
    return dict(row.properties or {}) if row is not None else None
