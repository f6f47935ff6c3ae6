"""Settling a claimed batch of deliveries: one UPDATE records every row's outcome.

The outcomes travel as a VALUES list joined to the outbox by id (``WITH settled(...) AS (VALUES …) UPDATE outbox
… FROM settled``, which SQLite 3.33+ and PostgreSQL both run), so a batch costs one statement and one
transaction however many messages it held, instead of one transaction per message.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Connection, Integer, String, Text, cast, column, func, update, values

from ecrm_dsl.store.tables import TABLES, UTCDateTime

OUTBOX = TABLES.outbox


@dataclass(frozen=True)
class Settled:
    """What became of one claimed delivery.

    ``status``: ``sent``, ``failed``, or ``pending`` (to be tried again at ``next_attempt_at``). ``unclaim``
    gives back the attempt the claim counted, for a row that was never handed to the provider.
    """

    outbox_id: int
    status: str
    error: str | None = None
    sent_at: datetime | None = None
    provider_id: str | None = None
    next_attempt_at: datetime | None = None
    unclaim: bool = False


def settle_batch(conn: Connection, outcomes: Sequence[Settled]) -> None:
    """Record the outcome of every delivery of a batch, in one statement."""
    if not outcomes:
        return
    settled = (
        values(
            column("id", Integer),
            column("status", String),
            column("last_error", Text),
            column("sent_at", UTCDateTime),
            column("provider_id", String),
            column("next_attempt_at", UTCDateTime),
            column("unclaimed", Integer),
            name="settled",
        )
        .data(
            [
                (o.outbox_id, o.status, o.error, o.sent_at, o.provider_id, o.next_attempt_at, int(o.unclaim))
                for o in outcomes
            ]
        )
        .cte("settled")
    )
    sent_at: ColumnElement[Any] = settled.c.sent_at
    next_attempt_at: ColumnElement[Any] = settled.c.next_attempt_at
    if conn.dialect.name == "postgresql":
        # PostgreSQL types a VALUES column by its rows: one that is NULL in every row is text, which COALESCE
        # cannot match with a timestamp. (On SQLite a CAST to a datetime type would make the text a number.)
        sent_at, next_attempt_at = cast(sent_at, UTCDateTime), cast(next_attempt_at, UTCDateTime)
    conn.execute(
        update(OUTBOX)
        .where(OUTBOX.c.id == settled.c.id)
        .values(
            status=settled.c.status,
            last_error=settled.c.last_error,
            sent_at=func.coalesce(sent_at, OUTBOX.c.sent_at),
            provider_id=func.coalesce(settled.c.provider_id, OUTBOX.c.provider_id),
            next_attempt_at=func.coalesce(next_attempt_at, OUTBOX.c.next_attempt_at),
            attempts=OUTBOX.c.attempts - settled.c.unclaimed,
        )
    )
