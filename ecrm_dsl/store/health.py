"""What an operator asks of a store: is this one at all, and how far behind is delivery (``ecrm status``)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from urllib.parse import quote

from sqlalchemy import Connection, Engine, create_engine, func, inspect, select

from ecrm_dsl.store.database import store_url
from ecrm_dsl.store.report_queries import instant
from ecrm_dsl.store.tables import TABLES

OUTBOX = TABLES.outbox


def is_store(location: str) -> bool:
    """Whether the database at ``location`` (a URL, or a SQLite file that exists) holds ecrm's tables.

    A SQLite file is opened read-only and without the store's pragmas, so that looking at a file that turns out
    not to be a store leaves it byte for byte as it was.
    """
    if "://" in location:
        engine = create_engine(store_url(location))
    else:
        engine = create_engine(f"sqlite:///file:{quote(str(Path(location).resolve()), safe='/')}?mode=ro&uri=true")
    try:
        return _has_tables(engine)
    finally:
        engine.dispose()


def _has_tables(engine: Engine) -> bool:
    return inspect(engine).has_table(TABLES.deployments.name)  # every store has its deployments table


@dataclass(frozen=True)
class Backlog:
    """The outbox by status, with how much of it is due and how old the oldest waiting message is."""

    by_status: dict[str, int]
    due: int  # pending rows whose next attempt is at or before ``now``
    oldest_pending: datetime | None  # when the oldest pending message was decided


def outbox_backlog(conn: Connection, now: datetime) -> Backlog:
    counts = conn.execute(select(OUTBOX.c.status, func.count()).group_by(OUTBOX.c.status))
    pending = OUTBOX.c.status == "pending"
    due = conn.execute(select(func.count()).where(pending, OUTBOX.c.next_attempt_at <= now)).scalar()
    oldest = conn.execute(select(func.min(OUTBOX.c.created_at)).where(pending)).scalar()
    return Backlog(
        by_status={str(status): int(n) for status, n in counts},
        due=int(due or 0),
        oldest_pending=instant(oldest) if oldest is not None else None,
    )
