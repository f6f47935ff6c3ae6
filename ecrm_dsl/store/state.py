"""The scheduler's small key/value state: the last tick's time, the demo store's mark."""

from __future__ import annotations

from collections.abc import Collection, Mapping

from sqlalchemy import Connection, Executable, bindparam, insert, select, update

from ecrm_dsl.store.bulk import one_of_param, one_of_value
from ecrm_dsl.store.prepared import per_dialect, run
from ecrm_dsl.store.tables import TABLES

_STATE = TABLES.scheduler_state
_READ = select(_STATE.c.value).where(_STATE.c.key == bindparam("key"))
# SQLAlchemy reserves a column's own name in an UPDATE's SET: the parameters are named apart.
_UPDATE = update(_STATE).where(_STATE.c.key == bindparam("state_key")).values(value=bindparam("state_value"))
_INSERT = insert(_STATE).values(key=bindparam("state_key"), value=bindparam("state_value"))


def read(conn: Connection, key: str) -> str | None:
    value: str | None = run(conn, _READ, {"key": key}).scalar_one_or_none()
    return value


def read_many(conn: Connection, keys: Collection[str]) -> dict[str, str]:
    """The values of those of ``keys`` that are set, in one statement."""
    if not keys:
        return {}
    listed = one_of_value(conn.dialect.name, sorted(set(keys)))
    return {str(key): str(value) for key, value in run(conn, _read_many(conn), {"keys": listed})}


@per_dialect
def _read_many(dialect: str) -> Executable:
    return select(_STATE.c.key, _STATE.c.value).where(one_of_param(dialect, _STATE.c.key, "keys"))


def write_many(conn: Connection, values: Mapping[str, str]) -> None:
    """Set several keys: one statement when they all exist (a tick's marks), then an insert of each missing one."""
    if not values:
        return
    rows = [{"state_key": key, "state_value": value} for key, value in sorted(values.items())]
    if run(conn, _UPDATE, rows).rowcount == len(rows):
        return
    missing = set(values) - set(read_many(conn, values))
    for row in rows:
        if row["state_key"] in missing:
            run(conn, _INSERT, row)


def write(conn: Connection, key: str, value: str) -> None:
    # Update first: every tick rewrites keys that exist, so a missing one is the rare case.
    params = {"state_key": key, "state_value": value}
    if run(conn, _UPDATE, params).rowcount == 0:
        run(conn, _INSERT, params)
