"""Named leases in the store: at most one holder at a time, taken over only once the holder stops renewing.

A lease is a row of ``scheduler_state`` (``lease:<name>``) whose value names the holder and when it runs out, in
wall-clock seconds. Taking and renewing are compare-and-set updates on that value, so they work the same on
SQLite (one writer at a time) and PostgreSQL (the updated row stays locked until commit): a renewal inside a
transaction is also its fence — if it fails, another worker holds the lease and the transaction must not commit.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, select, update
from sqlalchemy.dialects import postgresql, sqlite

from ecrm_dsl.store.tables import TABLES

_PREFIX = "lease:"
STATE = TABLES.scheduler_state


@dataclass(frozen=True)
class Holding:
    holder: str
    until: float  # wall-clock seconds since the epoch


def read(conn: Connection, name: str) -> tuple[str | None, Holding | None]:
    """The stored value (for compare-and-set) and what it says."""
    value = conn.execute(select(STATE.c.value).where(STATE.c.key == _PREFIX + name)).scalar_one_or_none()
    if value is None:
        return None, None
    data = json.loads(value)
    return value, Holding(str(data["holder"]), float(data["until"]))


def _encode(holding: Holding) -> str:
    return json.dumps({"holder": holding.holder, "until": round(holding.until, 3)}, sort_keys=True)


def acquire(conn: Connection, name: str, holder: str, now: float, seconds: float) -> Holding | None:
    """Take or renew the lease for ``seconds`` from ``now``; None when someone else holds it."""
    old, current = read(conn, name)
    if current is not None and current.holder != holder and current.until > now:
        return None
    new = Holding(holder, now + seconds)
    key = _PREFIX + name
    if old is None:
        created = conn.execute(_insert_new(conn, key, _encode(new))).first()
        return new if created is not None else None  # None: another worker created it first
    swapped = conn.execute(update(STATE).where(STATE.c.key == key, STATE.c.value == old).values(value=_encode(new)))
    return new if swapped.rowcount == 1 else None


def release(conn: Connection, name: str, holder: str) -> None:
    """Give the lease up at once (a clean stop), so another worker need not wait for it to run out."""
    old, current = read(conn, name)
    if current is not None and current.holder == holder:
        done = Holding(holder, 0.0)
        conn.execute(
            update(STATE).where(STATE.c.key == _PREFIX + name, STATE.c.value == old).values(value=_encode(done))
        )


def _insert_new(conn: Connection, key: str, value: str) -> Any:
    """An insert that does nothing when the key exists (both dialects spell it ON CONFLICT DO NOTHING)."""
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    insert = dialect.insert(STATE).values(key=key, value=value).on_conflict_do_nothing(index_elements=[STATE.c.key])
    return insert.returning(STATE.c.key)  # a row back when this call created it (rowcount is not reliable here)
