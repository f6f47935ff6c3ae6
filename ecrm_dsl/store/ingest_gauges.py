"""What ``ecrm serve`` reads from the store for ``/healthz`` and the gauges of ``/metrics``, at request time."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Connection, func, inspect, literal, select

from ecrm_dsl.store import state
from ecrm_dsl.store.tables import TABLES


def missing_tables(conn: Connection) -> list[str]:
    """The store's tables that this version needs and the store lacks (an empty list: the schema is fine)."""
    present = set(inspect(conn).get_table_names())
    wanted = [t.name for t in TABLES.metadata.sorted_tables if t.schema is None]
    return sorted(name for name in wanted if name not in present)


def ping(conn: Connection) -> None:
    conn.execute(select(literal(1))).scalar_one()


def last_tick(conn: Connection) -> datetime | None:
    value = state.read(conn, "last_tick")
    return datetime.fromisoformat(value) if value else None


def decisions_by_scenario_and_kind(conn: Connection) -> dict[tuple[str, str], int]:
    d = TABLES.decisions
    query = select(d.c.scenario_id, d.c.kind, func.count()).group_by(d.c.scenario_id, d.c.kind)
    return {(row[0], row[1]): int(row[2]) for row in conn.execute(query)}


def outbox_by_status(conn: Connection) -> dict[str, int]:
    o = TABLES.outbox
    return {row[0]: int(row[1]) for row in conn.execute(select(o.c.status, func.count()).group_by(o.c.status))}
