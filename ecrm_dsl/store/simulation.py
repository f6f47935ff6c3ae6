"""The statements of ``ecrm simulate``: copying the history into a scratch store, the activity clock's "what
happens next" queries, and the replay's settings kept in ``scheduler_state``."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Select, Table, bindparam, case, func, insert, select, text, update

from ecrm_dsl.language.i18n import tr
from ecrm_dsl.store import changes
from ecrm_dsl.store.prepared import run
from ecrm_dsl.store.tables import TABLES, UTCDateTime

# Parents before children, so foreign keys hold at every insert.
HISTORY_TABLES = (
    TABLES.customers,
    TABLES.customer_tags,
    TABLES.orders,
    TABLES.order_items,
    TABLES.products,  # what templates show and recommend during the replay
    TABLES.subscriptions,
    TABLES.events,
)
COPY_BATCH = 20_000
# The coupon codes a replay can draw: those not given yet. Given ones stay behind: they name the source's
# enrollments, which the scratch store's own would be taken for.
_UNUSED_COUPONS = (
    "INSERT INTO main.coupons (pool, code, expires_at) SELECT pool, code, expires_at FROM source.coupons"
    " WHERE enrollment_id IS NULL"
)
LOADED = (*HISTORY_TABLES, TABLES.customer_changes)  # the tables a copy fills


def throwaway_pragmas(connection: Any, _record: Any) -> None:
    """A scratch store's connection settings: throughput over durability, as a crash costs only a re-run."""
    cursor = connection.cursor()
    cursor.execute("PRAGMA synchronous=OFF")
    cursor.execute("PRAGMA cache_size=-65536")  # 64 MB: the replay re-reads the same customers all year
    cursor.close()


# --------------------------------------------------------------------------- settings


def mark(conn: Connection, key: str, value: str) -> None:
    conn.execute(insert(TABLES.scheduler_state).values(key=key, value=value))


def save(conn: Connection, key: str, value: str) -> None:
    state = TABLES.scheduler_state
    conn.execute(update(state).where(state.c.key == key).values(value=value))


def read(conn: Connection, key: str) -> str | None:
    state = TABLES.scheduler_state
    value: str | None = conn.execute(select(state.c.value).where(state.c.key == key)).scalar_one_or_none()
    return value


# --------------------------------------------------------------------------- copying the history


def attach_copy(
    conn: Connection, source_uri: str, progress: Callable[[str], None], log_since: datetime | None = None
) -> dict[str, int]:
    """SQLite to SQLite: one INSERT … SELECT per table from ``source_uri``, attached (give it ``mode=ro``), into
    the empty history tables of ``conn``'s store; ``log_since``: which rows the change log gets (see
    :func:`changes.log_history`)."""
    counts: dict[str, int] = {}
    conn.exec_driver_sql("ATTACH DATABASE ? AS source", (source_uri,))
    # The rollback journal in memory while loading, not the WAL: the pages are new, so the journal holds almost
    # nothing, and no page is written twice (to the WAL, then to the file). A crash costs only a re-run here.
    conn.exec_driver_sql("PRAGMA main.journal_mode=MEMORY")
    conn.commit()  # ends SQLAlchemy's autobegun transaction; the copy below is one transaction of its own
    try:
        with conn.begin():
            # The driver starts a transaction only before a data change: the schema changes below need it now.
            conn.exec_driver_sql("BEGIN")
            # Rows go into bare tables: building an index once over a sorted table costs a fraction of keeping it
            # up to date row by row, and the change log is written a statement per table, not a trigger per row
            # (before the indexes are back: each statement then reads its table in order, not row by row through
            # an index on the time). All in the transaction, so a failed copy leaves the schema as it was.
            indexes, log_triggers = _set_aside(conn, "index", LOADED), _set_aside(conn, "trigger", LOADED)
            for table in HISTORY_TABLES:
                columns = ", ".join(f'"{c.name}"' for c in table.columns)
                copy = f"INSERT INTO main.{table.name} ({columns}) SELECT {columns} FROM source.{table.name}"
                counts[table.name] = conn.exec_driver_sql(copy).rowcount  # the tables start empty
                progress(tr("copied {count:,} {table}", count=counts[table.name], table=table.name))
            counts["coupons"] = conn.exec_driver_sql(_UNUSED_COUPONS).rowcount
            changes.log_history(conn, log_since)
            for statement in indexes + log_triggers:
                conn.exec_driver_sql(statement)
    finally:
        conn.exec_driver_sql("DETACH DATABASE source")
        conn.exec_driver_sql("PRAGMA main.journal_mode=WAL")  # as every store: readers never block the replay
        conn.commit()
    return counts


def _set_aside(conn: Connection, kind: str, tables: Sequence[Table]) -> list[str]:
    """Drop the indexes or triggers (``kind``) of ``tables``, returning the statements that make them again, as
    the store wrote them. Indexes behind a key or a unique constraint (no statement) stay."""
    names = [t.name for t in tables]
    found = conn.exec_driver_sql(
        f"SELECT name, sql FROM main.sqlite_master WHERE type = ? AND sql IS NOT NULL"
        f" AND tbl_name IN ({', '.join('?' * len(names))}) ORDER BY name",
        (kind, *names),
    ).all()
    for name, _ in found:
        conn.exec_driver_sql(f'DROP {kind.upper()} main."{name}"')
    return [statement for _, statement in found]


def streamed_copy(src: Connection, dst: Connection, progress: Callable[[str], None]) -> dict[str, int]:
    """Any database to another, a batch at a time in primary-key order, so memory stays flat."""
    counts: dict[str, int] = {}
    for table in HISTORY_TABLES:
        result = src.execution_options(stream_results=True).execute(select(table).order_by(*table.primary_key))
        counts[table.name] = 0
        while batch := result.fetchmany(COPY_BATCH):
            dst.execute(insert(table), [dict(row._mapping) for row in batch])
            counts[table.name] += len(batch)
        progress(tr("copied {count:,} {table}", count=counts[table.name], table=table.name))
    coupons = TABLES.coupons
    unused = src.execute(select(coupons).where(coupons.c.enrollment_id.is_(None)).order_by(*coupons.primary_key)).all()
    if unused:
        dst.execute(insert(coupons), [dict(row._mapping) for row in unused])
    counts["coupons"] = len(unused)
    return counts


def date_unknown_sign_ups(conn: Connection) -> int:
    """Give customers without a sign-up time their first order's or event's time; returns how many."""
    c, o, e = TABLES.customers, TABLES.orders, TABLES.events
    first_order = select(func.min(o.c.ordered_at)).where(o.c.customer_id == c.c.id).scalar_subquery()
    first_event = select(func.min(e.c.occurred_at)).where(e.c.customer_id == c.c.id).scalar_subquery()
    earliest = case(
        (first_order.is_(None), first_event),
        (first_event.is_(None), first_order),
        (first_order <= first_event, first_order),
        else_=first_event,
    )
    result = conn.execute(update(c).where(c.c.signed_up_at.is_(None)).values(signed_up_at=earliest))
    return int(result.rowcount)


def index_event_times(conn: Connection) -> None:
    """The clock asks "what happens next" after every tick: an index on time alone answers at once."""
    conn.execute(text("CREATE INDEX IF NOT EXISTS ix_sim_events_occurred_at ON events (occurred_at)"))


# --------------------------------------------------------------------------- the activity clock


def _next_activity() -> Select[Any]:
    e, o, n = TABLES.events, TABLES.orders, TABLES.enrollments
    after = bindparam("after", type_=UTCDateTime())
    return select(
        select(func.min(e.c.occurred_at)).where(e.c.occurred_at > after).scalar_subquery(),
        select(func.min(o.c.ordered_at)).where(o.c.ordered_at > after).scalar_subquery(),
        select(func.min(n.c.due_at)).where(n.c.status == "active", n.c.due_at.is_not(None)).scalar_subquery(),
    )


# Asked after every tick of a replay (8,760 times a year): one statement, built once, instead of three.
_NEXT_ACTIVITY = _next_activity()


def next_activity(conn: Connection, after: datetime) -> tuple[datetime | None, datetime | None, datetime | None]:
    """The first event and the first order after ``after``, and the earliest due time of an active enrollment."""
    event, order, due = run(conn, _NEXT_ACTIVITY, {"after": after}).one()
    return event, order, due
