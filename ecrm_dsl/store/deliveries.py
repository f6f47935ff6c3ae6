"""Settling a claimed batch of deliveries: one UPDATE records every row's outcome.

The outcomes travel as a VALUES list joined to the outbox by id (``WITH settled(...) AS (VALUES …) UPDATE outbox
… FROM settled``, which SQLite 3.33+ and PostgreSQL both run), so a batch costs one statement and one
transaction however many messages it held, instead of one transaction per message. The list is bound parameters,
padded to the next power of two rows, so the statement for each such size is built and compiled once.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Connection,
    Executable,
    Integer,
    String,
    Text,
    bindparam,
    cast,
    column,
    func,
    update,
    values,
)

from ecrm_dsl.store.prepared import run
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
    rows = [
        (o.outbox_id, o.status, o.error, o.sent_at, o.provider_id, o.next_attempt_at, int(o.unclaim)) for o in outcomes
    ]
    size = _size(len(rows))
    rows += [_PADDING] * (size - len(rows))
    params: dict[str, Any] = {}
    for index, row in enumerate(rows):
        params.update({f"settled_{index}_{name}": value for (name, _), value in zip(_SETTLED, row, strict=True)})
    run(conn, _statement(conn.dialect.name, size), params)


# The VALUES list's columns and types, in the order of a row.
_SETTLED = (
    ("id", Integer),
    ("status", String),
    ("last_error", Text),
    ("sent_at", UTCDateTime),
    ("provider_id", String),
    ("next_attempt_at", UTCDateTime),
    ("unclaimed", Integer),
)
# A row that settles nothing (no outbox id equals NULL): batches are padded to a few sizes, so that a statement
# is compiled once per size rather than once per batch length.
_PADDING: tuple[Any, ...] = (None, "pending", None, None, None, None, 0)
_SHAPES: dict[tuple[str, int], Executable] = {}


def _size(rows: int) -> int:
    """The next power of two: at most twice the rows, and a dozen sizes up to a dispatcher's batch."""
    return 1 << (rows - 1).bit_length()


def _statement(dialect: str, rows: int) -> Executable:
    found = _SHAPES.get((dialect, rows))
    if found is None:
        found = _SHAPES[dialect, rows] = _build(dialect, rows)
    return found


def _build(dialect: str, rows: int) -> Executable:
    data = [
        tuple(bindparam(f"settled_{index}_{name}", type_=kind()) for name, kind in _SETTLED) for index in range(rows)
    ]
    settled = values(*(column(name, kind) for name, kind in _SETTLED), name="settled").data(data).cte("settled")
    sent_at: ColumnElement[Any] = settled.c.sent_at
    next_attempt_at: ColumnElement[Any] = settled.c.next_attempt_at
    if dialect == "postgresql":
        # PostgreSQL types a VALUES column by its rows: one that is NULL in every row is text, which COALESCE
        # cannot match with a timestamp. (On SQLite a CAST to a datetime type would make the text a number.)
        sent_at, next_attempt_at = cast(sent_at, UTCDateTime), cast(next_attempt_at, UTCDateTime)
    return (
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
