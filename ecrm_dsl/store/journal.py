"""The decisions journal: every decision the runtime takes about a customer, with its reason."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection, insert, select

from ecrm_dsl.store.bulk import BulkInsert
from ecrm_dsl.store.tables import TABLES

D = TABLES.decisions
# The order of a decision tuple (``append``).
COLUMNS = ("at", "customer_id", "scenario_id", "scenario_hash", "enrollment_id", "node_id", "kind", "reason", "detail")
_APPEND = BulkInsert(D, COLUMNS)


def write(conn: Connection, rows: Sequence[dict[str, Any]]) -> None:
    if rows:
        conn.execute(insert(D), list(rows))


def append(conn: Connection, rows: Sequence[tuple[Any, ...]]) -> None:
    """Decisions as tuples in ``COLUMNS`` order, in one statement (a tick writes thousands)."""
    _APPEND.execute(conn, rows)


def timeline(conn: Connection, customer_id: str) -> list[dict[str, Any]]:
    rows = conn.execute(select(D).where(D.c.customer_id == customer_id).order_by(D.c.at, D.c.id))
    return [dict(row._mapping) for row in rows]


def counts(conn: Connection) -> list[dict[str, Any]]:
    from sqlalchemy import func

    rows = conn.execute(
        select(D.c.scenario_id, D.c.kind, D.c.reason, func.count().label("n"))
        .group_by(D.c.scenario_id, D.c.kind, D.c.reason)
        .order_by(D.c.scenario_id, D.c.kind, D.c.reason)
    )
    return [dict(row._mapping) for row in rows]


def first_customer(conn: Connection, scenario_id: str, kind: str) -> str | None:
    """A customer with a decision of ``kind`` in the scenario (the earliest), to show as an example."""
    return conn.execute(
        select(D.c.customer_id)
        .where(D.c.scenario_id == scenario_id, D.c.kind == kind)
        .order_by(D.c.at, D.c.id)
        .limit(1)
    ).scalar_one_or_none()
