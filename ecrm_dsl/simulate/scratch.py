"""The scratch store a simulation runs in: a new SQLite file holding a copy of the source store's customer data.

The source is only ever read. Nothing the runtime keeps (deployments, enrollments, decisions, outbox) is copied:
a simulation starts from a store on which nothing has run, so what it reports is the plan's doing alone.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, case, event, func, insert, select, text, update

from ecrm_dsl.store.database import open_store
from ecrm_dsl.store.tables import TABLES

# Parents before children, so foreign keys hold at every insert.
HISTORY_TABLES = (
    TABLES.customers,
    TABLES.customer_tags,
    TABLES.orders,
    TABLES.order_items,
    TABLES.subscriptions,
    TABLES.events,
)
COPY_BATCH = 20_000
SIMULATION_KEY = "simulation"  # scheduler_state key: marks a scratch store and keeps the replay's settings


class ScratchExists(Exception):
    """The scratch path already holds a file: a simulation never overwrites anything."""


def open_scratch(path: Path) -> Engine:
    """A new, empty store at ``path``, tuned for throughput: losing it to a crash costs only a re-run."""
    if path.exists():
        raise ScratchExists(f"{path} already exists; a simulation writes a new store (remove it or choose another)")
    # Opened as a URI so that ATTACH honours ``mode=ro`` for the source, whatever SQLite was compiled with.
    engine = open_store(f"sqlite:///{path.resolve().as_uri()}?uri=true")
    event.listen(engine, "connect", _throwaway_pragmas)
    engine.dispose()  # connections opened before the listener keep the durable settings
    with engine.begin() as conn:  # marked at once, so a replay that fails half-way can be replaced by the next
        conn.execute(insert(TABLES.scheduler_state).values(key=SIMULATION_KEY, value="{}"))
    return engine


def _throwaway_pragmas(connection: Any, _record: Any) -> None:
    cursor = connection.cursor()
    cursor.execute("PRAGMA synchronous=OFF")
    cursor.execute("PRAGMA cache_size=-65536")  # 64 MB: the replay re-reads the same customers all year
    cursor.close()


def copy_history(source: Engine, scratch: Engine, progress: Callable[[str], None] = lambda _: None) -> dict[str, int]:
    """Copy the customer data tables from ``source`` into the empty ``scratch``; returns rows per table."""
    if source.dialect.name == "sqlite" and source.url.database:
        counts = _attach_copy(Path(source.url.database), scratch, progress)
    else:
        counts = _streamed_copy(source, scratch, progress)
    with scratch.begin() as conn:
        dated = _date_unknown_sign_ups(conn)
        # The clock asks "what happens next" after every tick: an index on time alone answers at once.
        conn.execute(text("CREATE INDEX IF NOT EXISTS ix_sim_events_occurred_at ON events (occurred_at)"))
    if dated:
        progress(f"{dated:,} customers without a sign-up time are taken as known from their first order or event")
    return counts


def _date_unknown_sign_ups(conn: Connection) -> int:
    """A customer with no sign-up time (an imported order history) joins the replay at their first order or
    event, not before: otherwise a newsletter in the first month would reach customers who came a year later."""
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
    return result.rowcount


def _attach_copy(database: Path, scratch: Engine, progress: Callable[[str], None]) -> dict[str, int]:
    """SQLite to SQLite: one INSERT … SELECT per table through ATTACH, opened read-only."""
    counts: dict[str, int] = {}
    uri = database.resolve().as_uri() + "?mode=ro"
    with scratch.connect() as conn:
        conn.exec_driver_sql("ATTACH DATABASE ? AS source", (uri,))
        conn.commit()  # ends SQLAlchemy's autobegun transaction; the copy below is one transaction of its own
        try:
            with conn.begin():
                for table in HISTORY_TABLES:
                    columns = ", ".join(f'"{c.name}"' for c in table.columns)
                    copy = f"INSERT INTO main.{table.name} ({columns}) SELECT {columns} FROM source.{table.name}"
                    conn.execute(text(copy))
                    counts[table.name] = _count(conn, table.name)
                    progress(f"copied {counts[table.name]:,} {table.name}")
        finally:
            conn.exec_driver_sql("DETACH DATABASE source")
            conn.commit()
    return counts


def _streamed_copy(source: Engine, scratch: Engine, progress: Callable[[str], None]) -> dict[str, int]:
    """Any database to SQLite, a batch at a time in primary-key order, so memory stays flat."""
    counts: dict[str, int] = {}
    with source.connect() as src, scratch.begin() as dst:
        for table in HISTORY_TABLES:
            result = src.execution_options(stream_results=True).execute(select(table).order_by(*table.primary_key))
            counts[table.name] = 0
            while batch := result.fetchmany(COPY_BATCH):
                dst.execute(insert(table), [dict(row._mapping) for row in batch])
                counts[table.name] += len(batch)
            progress(f"copied {counts[table.name]:,} {table.name}")
    return counts


def _count(conn: Connection, table: str) -> int:
    return int(conn.execute(text(f"SELECT count(*) FROM main.{table}")).scalar_one())
