"""The scheduler's small key/value state: the last tick's time, the demo store's mark."""

from __future__ import annotations

from sqlalchemy import Connection, insert, select, update

from ecrm_dsl.store.tables import TABLES


def read(conn: Connection, key: str) -> str | None:
    state = TABLES.scheduler_state
    value: str | None = conn.execute(select(state.c.value).where(state.c.key == key)).scalar_one_or_none()
    return value


def write(conn: Connection, key: str, value: str) -> None:
    state = TABLES.scheduler_state
    if read(conn, key) is None:
        conn.execute(insert(state).values(key=key, value=value))
    else:
        conn.execute(update(state).where(state.c.key == key).values(value=value))
