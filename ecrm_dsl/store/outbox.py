"""The outbox: one row per delivery, keyed by a unique idempotency key, written in the same transaction as the
decision to send — so a crash or a re-run can neither lose a message nor send it twice."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, func, select, update

from ecrm_dsl.store.bulk import BulkInsert, instant, one_of, raw_instants
from ecrm_dsl.store.tables import TABLES

OUTBOX = TABLES.outbox
# A decided message holds its capped slot while it waits, is sent or is retried; a delivery that finally fails
# gives it back. A replay delivers nothing, so its messages stay pending and hold their slots as sent ones do.
COUNTED = ("pending", "sending", "sent")


# The order of a new delivery's tuple (``enqueue``); it starts pending, with no attempt made.
COLUMNS = (
    "idempotency_key",
    "enrollment_id",
    "customer_id",
    "scenario_id",
    "scenario_hash",
    "node_id",
    "channel",
    "template",
    "category",
    "params",
    "created_at",
    "next_attempt_at",
)
_ENQUEUE = BulkInsert(OUTBOX, (*COLUMNS, "status", "attempts"))


def enqueue(conn: Connection, rows: Sequence[tuple[Any, ...]]) -> None:
    """New deliveries as tuples in ``COLUMNS`` order, in one statement."""
    _ENQUEUE.execute(conn, [(*row, "pending", 0) for row in rows])


def recent_sends(
    conn: Connection, customer_ids: Sequence[str], since: datetime
) -> dict[str, list[tuple[str, datetime]]]:
    """Per customer: (channel, decided at) of marketing deliveries since ``since``, newest first."""
    if not customer_ids:
        return {}
    # The status is checked here, not in SQL: with it in the WHERE clause SQLite's planner switches, from ten
    # customers up, to the (status, next_attempt_at) index and reads the whole outbox, which only grows.
    rows = conn.execute(
        select(OUTBOX.c.customer_id, OUTBOX.c.channel, raw_instants(conn, OUTBOX.c.created_at), OUTBOX.c.status)
        .where(
            one_of(conn, OUTBOX.c.customer_id, sorted(set(customer_ids))),
            OUTBOX.c.created_at > since,
            OUTBOX.c.category == "marketing",
        )
        .order_by(OUTBOX.c.created_at.desc())
    ).all()
    found: dict[str, list[tuple[str, datetime]]] = {}
    for customer_id, channel, created_at, status in rows:
        if status in COUNTED:
            found.setdefault(customer_id, []).append((channel, instant(created_at)))
    return found


def claim(conn: Connection, now: datetime, lease_until: datetime, limit: int) -> list[dict[str, Any]]:
    """Deliveries ready to go (pending and due, or 'sending' whose lease ran out after a crash), now leased: the
    rows as claimed (status ``sending``, ``attempts`` counting this attempt), oldest due first.

    One statement, so two dispatchers can never claim the same row: SQLite runs it under its single write
    lock, and on PostgreSQL ``FOR UPDATE SKIP LOCKED`` hands each concurrent claimer different rows."""
    ready = (
        select(OUTBOX.c.id)
        .where(OUTBOX.c.status.in_(["pending", "sending"]), OUTBOX.c.next_attempt_at <= now)
        .order_by(OUTBOX.c.next_attempt_at, OUTBOX.c.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    claimed = conn.execute(
        update(OUTBOX)
        .where(OUTBOX.c.id.in_(ready.scalar_subquery()))
        .values(status="sending", attempts=OUTBOX.c.attempts + 1, next_attempt_at=lease_until)
        .returning(*OUTBOX.c)
    )
    rows = [dict(r._mapping) for r in claimed]
    return sorted(rows, key=lambda r: r["id"])


def by_status(conn: Connection) -> dict[tuple[str, str], int]:
    rows = conn.execute(
        select(OUTBOX.c.scenario_id, OUTBOX.c.status, func.count().label("n")).group_by(
            OUTBOX.c.scenario_id, OUTBOX.c.status
        )
    )
    return {(row.scenario_id, row.status): int(row.n) for row in rows}


def for_customer(conn: Connection, customer_id: str) -> list[dict[str, Any]]:
    rows = conn.execute(
        select(OUTBOX).where(OUTBOX.c.customer_id == customer_id).order_by(OUTBOX.c.created_at, OUTBOX.c.id)
    )
    return [dict(row._mapping) for row in rows]


def by_channel(conn: Connection) -> dict[tuple[str, str], int]:
    rows = conn.execute(
        select(OUTBOX.c.scenario_id, OUTBOX.c.channel, func.count().label("n")).group_by(
            OUTBOX.c.scenario_id, OUTBOX.c.channel
        )
    )
    return {(row.scenario_id, row.channel): int(row.n) for row in rows}


def existing_keys(conn: Connection, keys: Sequence[str]) -> set[str]:
    if not keys:
        return set()
    found = conn.execute(select(OUTBOX.c.idempotency_key).where(one_of(conn, OUTBOX.c.idempotency_key, keys)))
    return set(found.scalars())


def delivered_after(conn: Connection, after_id: int) -> list[dict[str, Any]]:
    """Deliveries sent, with an outbox id above ``after_id``, in id order: what reached customers since a mark."""
    rows = conn.execute(
        select(
            OUTBOX.c.id,
            OUTBOX.c.idempotency_key,
            OUTBOX.c.customer_id,
            OUTBOX.c.scenario_id,
            OUTBOX.c.node_id,
            OUTBOX.c.channel,
            OUTBOX.c.template,
            OUTBOX.c.sent_at,
        )
        .where(OUTBOX.c.id > after_id, OUTBOX.c.status == "sent")
        .order_by(OUTBOX.c.id)
    )
    return [dict(row._mapping) for row in rows]
