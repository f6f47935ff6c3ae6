"""The outbox: one row per delivery, keyed by a unique idempotency key, written in the same transaction as the
decision to send — so a crash or a re-run can neither lose a message nor send it twice."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Executable, Integer, String, bindparam, func, select, type_coerce, update

from ecrm_dsl.store.bulk import BulkInsert, instant, one_of_param, one_of_value
from ecrm_dsl.store.prepared import per_dialect, run
from ecrm_dsl.store.tables import TABLES, UTCDateTime

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


@per_dialect
def _recent_sends(dialect: str) -> Executable:
    created_at = type_coerce(OUTBOX.c.created_at, String) if dialect == "sqlite" else OUTBOX.c.created_at
    return (
        select(OUTBOX.c.customer_id, OUTBOX.c.channel, created_at, OUTBOX.c.status)
        .where(
            one_of_param(dialect, OUTBOX.c.customer_id, "customers"),
            OUTBOX.c.created_at > bindparam("since", type_=UTCDateTime()),
            OUTBOX.c.category == "marketing",
        )
        .order_by(OUTBOX.c.created_at.desc())
    )


def recent_sends(
    conn: Connection, customer_ids: Sequence[str], since: datetime
) -> dict[str, list[tuple[str, datetime]]]:
    """Per customer: (channel, decided at) of marketing deliveries since ``since``, newest first."""
    if not customer_ids:
        return {}
    # The status is checked here, not in SQL: with it in the WHERE clause SQLite's planner switches, from ten
    # customers up, to the (status, next_attempt_at) index and reads the whole outbox, which only grows.
    listed = one_of_value(conn.dialect.name, sorted(set(customer_ids)))
    rows = run(conn, _recent_sends(conn), {"customers": listed, "since": since}).all()
    found: dict[str, list[tuple[str, datetime]]] = {}
    for customer_id, channel, created_at, status in rows:
        if status in COUNTED:
            found.setdefault(customer_id, []).append((channel, instant(created_at)))
    return found


_READY = (
    select(OUTBOX.c.id)
    .where(
        OUTBOX.c.status.in_(["pending", "sending"]),
        OUTBOX.c.next_attempt_at <= bindparam("claim_now", type_=UTCDateTime()),
    )
    .order_by(OUTBOX.c.next_attempt_at, OUTBOX.c.id)
    .limit(bindparam("claim_limit", type_=Integer()))
    .with_for_update(skip_locked=True)
)
_CLAIM = (
    update(OUTBOX)
    .where(OUTBOX.c.id.in_(_READY.scalar_subquery()))
    .values(
        status="sending", attempts=OUTBOX.c.attempts + 1, next_attempt_at=bindparam("claim_until", type_=UTCDateTime())
    )
    .returning(*OUTBOX.c)
)


def claim(conn: Connection, now: datetime, lease_until: datetime, limit: int) -> list[dict[str, Any]]:
    """Deliveries ready to go (pending and due, or 'sending' whose lease ran out after a crash), now leased: the
    rows as claimed (status ``sending``, ``attempts`` counting this attempt), oldest due first.

    One statement, so two dispatchers can never claim the same row: SQLite runs it under its single write
    lock, and on PostgreSQL ``FOR UPDATE SKIP LOCKED`` hands each concurrent claimer different rows."""
    claimed = run(conn, _CLAIM, {"claim_now": now, "claim_until": lease_until, "claim_limit": limit})
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
    found = run(conn, _existing_keys(conn), {"keys": one_of_value(conn.dialect.name, keys)})
    return set(found.scalars())


@per_dialect
def _existing_keys(dialect: str) -> Executable:
    return select(OUTBOX.c.idempotency_key).where(one_of_param(dialect, OUTBOX.c.idempotency_key, "keys"))


def delivered_after(conn: Connection, after_id: int) -> list[dict[str, Any]]:
    """Deliveries sent, with an outbox id above ``after_id``, in id order: what reached customers since a mark."""
    return [dict(row._mapping) for row in run(conn, _DELIVERED_AFTER, {"after_id": after_id})]


_DELIVERED_AFTER = (
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
    .where(OUTBOX.c.id > bindparam("after_id", type_=Integer()), OUTBOX.c.status == "sent")
    .order_by(OUTBOX.c.id)
)
