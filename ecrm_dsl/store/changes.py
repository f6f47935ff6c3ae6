"""The change log: which customers changed, so a tick re-checks only them.

Database triggers append a row to ``customer_changes`` whenever a customer's data is written — customers
(insert, update), tags (insert, delete), orders (insert, update), order items (insert, update), subscriptions
(insert, update), events (insert) — so every writer (the importer, update steps, a test's direct insert, a
shop's own SQL) feeds it without having to remember to. Each row has an increasing ``seq`` and the moment the
change becomes visible to a condition judged as of "now" (``effective_at``: an order's time, a sign-up), since a
replay loads its whole history first and the clock reaches each row later.

A reader (a segment trigger's version, the stop rules) keeps a :class:`Mark`: the last ``seq`` it consumed and the
tick it consumed up to. The customers changed since are those with a later ``seq`` or an ``effective_at`` the
clock has passed since. The tick prunes rows every reader has consumed.
"""

from __future__ import annotations

import json
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Connection,
    Integer,
    Select,
    and_,
    bindparam,
    delete,
    func,
    null,
    or_,
    select,
    text,
    union_all,
)
from sqlalchemy.sql.elements import BindParameter

from ecrm_dsl.language.i18n import tr
from ecrm_dsl.store import state
from ecrm_dsl.store.prepared import run
from ecrm_dsl.store.tables import TABLES, UTCDateTime

CHANGES = TABLES.customer_changes
_PREFIX = "changes:"  # scheduler_state keys of the readers' marks


@dataclass(frozen=True)
class _Feed:
    """One table's writes that change a customer: ``rows`` selects (customer id, effective time) from NEW/OLD."""

    table: str
    operation: str  # INSERT | UPDATE | DELETE
    rows: str


_FEEDS = (
    _Feed("customers", "INSERT", "SELECT NEW.id, NEW.signed_up_at"),
    _Feed("customers", "UPDATE", "SELECT NEW.id, NEW.signed_up_at"),
    _Feed("customer_tags", "INSERT", "SELECT NEW.customer_id, NULL"),
    _Feed("customer_tags", "DELETE", "SELECT OLD.customer_id, NULL"),
    _Feed("orders", "INSERT", "SELECT NEW.customer_id, NEW.ordered_at"),
    # An order moved to another customer changes both.
    _Feed(
        "orders",
        "UPDATE",
        "SELECT NEW.customer_id, NEW.ordered_at"
        " UNION ALL SELECT OLD.customer_id, NULL WHERE OLD.customer_id <> NEW.customer_id",
    ),
    _Feed("order_items", "INSERT", "SELECT customer_id, ordered_at FROM orders WHERE id = NEW.order_id"),
    # A line's category filled from the catalogue (revision 0004) changes what the customer bought.
    _Feed("order_items", "UPDATE", "SELECT customer_id, ordered_at FROM orders WHERE id = NEW.order_id"),
    _Feed("subscriptions", "INSERT", "SELECT NEW.customer_id, NEW.started_at"),
    _Feed(
        "subscriptions",
        "UPDATE",
        "SELECT NEW.customer_id, NEW.started_at"
        " UNION ALL SELECT OLD.customer_id, NULL WHERE OLD.customer_id <> NEW.customer_id",
    ),
    _Feed("events", "INSERT", "SELECT NEW.customer_id, NEW.occurred_at"),
)
_INSERT = "INSERT INTO customer_changes (customer_id, effective_at) "


def sqlite_triggers() -> list[str]:
    """``CREATE TRIGGER IF NOT EXISTS`` statements: one per table and operation."""
    return [
        f"CREATE TRIGGER IF NOT EXISTS ecrm_changes_{f.table}_{f.operation.lower()} AFTER {f.operation} ON {f.table}"
        f" BEGIN {_INSERT}{f.rows}; END"
        for f in _FEEDS
    ]


def postgresql_triggers() -> list[str]:
    """A trigger function per table (a branch per operation) and its row trigger, replaced when installed again
    (tests/test_change_log.py runs every feed on PostgreSQL too)."""
    statements: list[str] = []
    for table in dict.fromkeys(f.table for f in _FEEDS):
        feeds = [f for f in _FEEDS if f.table == table]
        branches = " ".join(
            f"{'IF' if i == 0 else 'ELSIF'} TG_OP = '{f.operation}' THEN {_INSERT}{f.rows};"
            for i, f in enumerate(feeds)
        )
        function = f"ecrm_changes_{table}"
        statements.append(
            f"CREATE OR REPLACE FUNCTION {function}() RETURNS trigger LANGUAGE plpgsql AS $$"
            f" BEGIN {branches} END IF; RETURN NULL; END $$"
        )
        statements.append(f"DROP TRIGGER IF EXISTS ecrm_changes ON {table}")
        operations = " OR ".join(f.operation for f in feeds)
        statements.append(
            f"CREATE TRIGGER ecrm_changes AFTER {operations} ON {table} FOR EACH ROW EXECUTE FUNCTION {function}()"
        )
    return statements


_HORIZON = "changes_horizon"  # not a reader's mark: no _PREFIX


def horizon(conn: Connection) -> datetime | None:
    """The log is complete for effective times from here on (None: since the store began)."""
    value = state.read(conn, _HORIZON)
    return datetime.fromisoformat(value) if value else None


def keep_events_since(conn: Connection, since: datetime) -> None:
    """Make the log complete for events from ``since``: a reader with a time window that reaches before the
    horizon (a segment deployed after older rows were pruned) gets those events logged again, once."""
    until = horizon(conn)
    if until is None or since >= until:
        return
    e = TABLES.events
    rows = select(e.c.customer_id, e.c.occurred_at).where(e.c.occurred_at >= since, e.c.occurred_at < until)
    conn.execute(CHANGES.insert().from_select(["customer_id", "effective_at"], rows))
    state.write(conn, _HORIZON, since.isoformat())


def backfill(conn: Connection) -> None:
    """Log every stored order and event once, when the log is new to a store that has history: a reader's time
    windows look back at rows from before the triggers existed."""
    o, e = TABLES.orders, TABLES.events
    columns = ["customer_id", "effective_at"]
    conn.execute(CHANGES.insert().from_select(columns, select(o.c.customer_id, o.c.ordered_at)))
    conn.execute(CHANGES.insert().from_select(columns, select(e.c.customer_id, e.c.occurred_at)))


def log_history(conn: Connection, since: datetime | None = None) -> None:
    """Log the stored customer data as the triggers log each row when it is inserted (the same rows, one
    statement per table, in no particular order): for a bulk load run with the triggers dropped.

    ``since``: only what a reader can still ask for when every reader's first look is a full pass at ``since``
    or later, less the longest time window it reads. Those readers ask for rows effective from then on (by time:
    any ``seq`` logged here is below their first mark), so rows effective before ``since`` are left out, and so
    are rows visible at once (tags) and an order's items (the same customer and time as the order's own row)."""
    c, o, s, e = TABLES.customers, TABLES.orders, TABLES.subscriptions, TABLES.events
    timed: list[tuple[Select[Any], ColumnElement[Any]]] = [
        (select(c.c.id, c.c.signed_up_at), c.c.signed_up_at),
        (select(o.c.customer_id, o.c.ordered_at), o.c.ordered_at),
        (select(s.c.customer_id, s.c.started_at), s.c.started_at),
        (select(e.c.customer_id, e.c.occurred_at), e.c.occurred_at),
    ]
    feeds = [rows if since is None else rows.where(effective >= since) for rows, effective in timed]
    if since is None:
        t, i = TABLES.customer_tags, TABLES.order_items
        feeds.append(select(t.c.customer_id, null()))
        feeds.append(select(o.c.customer_id, o.c.ordered_at).select_from(i.join(o, o.c.id == i.c.order_id)))
    for rows in feeds:
        conn.execute(CHANGES.insert().from_select(["customer_id", "effective_at"], rows))


def install(conn: Connection) -> None:
    """Create the triggers that feed the log (the baseline schema revision does, for new and older stores)."""
    dialect = conn.dialect.name
    if dialect == "sqlite":
        statements = sqlite_triggers()
    elif dialect == "postgresql":
        statements = postgresql_triggers()
    else:
        raise ValueError(tr("the change log has no triggers for {dialect}: use SQLite or PostgreSQL", dialect=dialect))
    for statement in statements:
        conn.execute(text(statement))


@dataclass(frozen=True)
class Mark:
    """How far a reader has consumed the log: rows up to ``seq``, and effective times up to ``at``.
    ``enrollment`` and ``deployment`` are the stop rules': the last enrollment judged, the plan judged for."""

    seq: int
    at: datetime
    enrollment: int = 0
    deployment: int = 0
    window: int = 0  # seconds of event history the reader's time windows need kept (see :func:`changed`)


_HEAD = select(func.coalesce(func.max(CHANGES.c.seq), 0))
_LAST_ENROLLMENT = select(func.coalesce(func.max(TABLES.enrollments.c.id), 0))


def head(conn: Connection) -> int:
    """The last sequence number in the log (0 when empty)."""
    return int(run(conn, _HEAD).scalar_one())


def last_enrollment(conn: Connection) -> int:
    """The greatest enrollment id so far (0 when none): enrollments after it are new to a reader."""
    return int(run(conn, _LAST_ENROLLMENT).scalar_one())


def changed(mark: Mark, now: datetime, windows: Collection[int] = ()) -> Select[Any]:
    """The ids of customers changed after ``mark``, as seen at ``now`` (duplicates possible). ``windows``: the
    lengths in seconds of time windows a condition reads (``count(order.placed, 30d)``); an event leaving one
    since the mark changes its customer too, so those events' rows are kept (``Mark.window``) and found here."""
    spans = sorted(set(windows))
    return changed_query(len(spans)).params(changed_values(mark, now, spans))


def changed_query(windows: int, now: ColumnElement[Any] | None = None) -> Select[Any]:
    """:func:`changed` for a statement built once: the mark, ``now`` (unless given as a column or parameter of
    the caller) and the bounds of ``windows`` time windows are parameters, valued by :func:`changed_values`."""
    c = CHANGES.c
    upto = now if now is not None else bindparam("log_now", type_=UTCDateTime())
    terms = [
        c.seq > bindparam("log_seq", type_=Integer()),
        and_(c.effective_at > bindparam("log_at", type_=UTCDateTime()), c.effective_at <= upto),
    ]
    for index in range(windows):
        low, high = (bindparam(f"log_{end}_{index}", type_=UTCDateTime()) for end in ("from", "to"))
        terms.append(and_(c.effective_at >= low, c.effective_at <= high))
    return select(c.customer_id).where(or_(*terms))


def changed_values(mark: Mark, now: datetime, windows: Sequence[int], *, with_now: bool = True) -> dict[str, Any]:
    """The values of :func:`changed_query`'s parameters (``windows`` in its order, in seconds)."""
    values: dict[str, Any] = {"log_seq": mark.seq, "log_at": mark.at}
    if with_now:
        values["log_now"] = now
    for index, seconds in enumerate(windows):
        span = timedelta(seconds=seconds)
        values.update({f"log_from_{index}": mark.at - span, f"log_to_{index}": now - span})
    return values


# Customers: a query of their ids, or the ids themselves when there are few (read once, then bound as a list).
Customers = Select[Any] | Sequence[str]
INLINE = 5_000  # changed customers read into a list up to this many; beyond, each query re-reads the log


def inline(customers: Customers) -> list[str] | None:
    """The ids when they were read into a list, to bind to a statement built once; None for a query of the log."""
    return None if isinstance(customers, Select) else list(customers)


_CHANGED_FEW = changed_query(0).distinct().limit(INLINE + 1)


def changed_list(conn: Connection, mark: Mark, now: datetime) -> Customers:
    """The customers changed after ``mark`` (see :func:`changed`), read once for all of a tick's queries when
    they are few; the query itself when a bulk import changed more."""
    ids = list(run(conn, _CHANGED_FEW, changed_values(mark, now, ())).scalars())
    return changed(mark, now) if len(ids) > INLINE else sorted(ids)


def changed_enrollments(
    query: Select[Any],
    customers: Customers | ColumnElement[bool],
    after: int | BindParameter[Any],
    *narrowing: ColumnElement[bool],
) -> Select[Any]:
    """``query`` (over enrollments) narrowed to the enrollments of ``customers`` and those with ids after
    ``after`` (values; or, in a statement built once, a condition on ``enrollments.customer_id`` and a
    parameter). ``narrowing``: conditions the query applies anyway, repeated for the ids after ``after`` so that
    an index finds them (a newsletter's 58,000 new enrollments are not another version's)."""
    e = TABLES.enrollments.c
    of_customers = customers if isinstance(customers, ColumnElement) else e.customer_id.in_(customers)
    # Ids first, by the (customer_id, …) index and the primary key, so the query reads only those enrollments
    # rather than testing every active one. The customers' branch is left bare: narrowed too, SQLite prefers
    # the (scenario_id, status) index and reads every active enrollment of the scenario.
    ids = union_all(
        select(e.id).where(of_customers),
        select(e.id).where(e.id > after, *narrowing),
    )
    return query.where(e.id.in_(ids))


def mark_key(reader: str) -> str:
    """The ``scheduler_state`` key of a reader's mark (for a caller that reads or writes it with other keys)."""
    return _PREFIX + reader


def read_mark(conn: Connection, reader: str) -> Mark | None:
    return decode_mark(state.read(conn, _PREFIX + reader))


def read_marks(conn: Connection, readers: Collection[str]) -> dict[str, Mark | None]:
    """Several readers' marks in one statement."""
    found = state.read_many(conn, [_PREFIX + reader for reader in readers])
    return {reader: decode_mark(found.get(_PREFIX + reader)) for reader in readers}


def decode_mark(value: str | None) -> Mark | None:
    if value is None:
        return None
    data = json.loads(value)
    at = datetime.fromisoformat(data["at"])
    return Mark(data["seq"], at, data.get("enrollment", 0), data.get("deployment", 0), data.get("window", 0))


def write_mark(conn: Connection, reader: str, mark: Mark) -> None:
    state.write(conn, _PREFIX + reader, encode_mark(mark))


def write_marks(conn: Connection, marks: Mapping[str, Mark]) -> None:
    """Several readers' marks, in one statement when all were written before."""
    state.write_many(conn, {_PREFIX + reader: encode_mark(mark) for reader, mark in marks.items()})


def encode_mark(mark: Mark) -> str:
    data = {
        "seq": mark.seq,
        "at": mark.at.isoformat(),
        "enrollment": mark.enrollment,
        "deployment": mark.deployment,
        "window": mark.window,
    }
    return json.dumps(data, sort_keys=True)


# Log rows of a backlog (a bulk import) deleted per kind per tick, beyond what the last interval wrote: the
# import's rows go at the first tick after it (about 5 s a million), a bigger one over several.
PRUNE_BACKLOG = 1_000_000
# Consumed rows cost the queries nothing (they read by seq and effective time), but deleting them rewrites the
# pages they share with rows still waiting (a history loaded ahead of its time interleaves them everywhere): a
# tick prunes when this much time or this many rows have gathered. Once a day rewrites each page once a day,
# where every 6 hours rewrote most pages four times (a third of an F2 day's page writes at 100k).
PRUNE_EVERY = timedelta(hours=24)
PRUNE_ROWS = 100_000
_PRUNED = "changes_pruned"  # {"at": the tick that last pruned, "seq": the log's head then}


def prune_due(conn: Connection, readers: Collection[str], now: datetime, upto: int) -> int:
    """Prune (see :func:`prune`) if ``PRUNE_EVERY`` has passed or ``PRUNE_ROWS`` were logged since the last
    time; ``upto`` is the log's head as the tick began. Returns how many rows went."""
    value = state.read(conn, _PRUNED)
    last = json.loads(value) if value else None
    written = upto - last["seq"] if last else upto
    if last and now - datetime.fromisoformat(last["at"]) < PRUNE_EVERY and written < PRUNE_ROWS:
        return 0
    gone = prune(conn, readers, PRUNE_BACKLOG + max(written, 0))
    state.write(conn, _PRUNED, json.dumps({"at": now.isoformat(), "seq": upto}, sort_keys=True))
    return gone


def prune(conn: Connection, readers: Collection[str], limit: int = PRUNE_BACKLOG) -> int:
    """Forget readers not in ``readers`` (a scenario removed or changed), then delete the log rows every
    remaining reader has consumed (up to ``limit`` of each kind: the caller adds what the last interval wrote,
    so the log never grows while a backlog drains). Returns how many rows went."""
    s = TABLES.scheduler_state
    keys = list(conn.execute(select(s.c.key).where(s.c.key.startswith(_PREFIX, autoescape=True))).scalars())
    dead = [k for k in keys if k[len(_PREFIX) :] not in readers]
    if dead:
        conn.execute(delete(s).where(s.c.key.in_(dead)))
    marks = [m for m in (read_mark(conn, r) for r in readers) if m is not None]
    if not marks:
        return 0
    upto, before = min(m.seq for m in marks), min(m.at - timedelta(seconds=m.window) for m in marks)
    c = CHANGES.c
    # Both use the (effective_at, seq) index: rows waiting for a future moment are not scanned every tick. At most
    # ``limit`` rows each, so a bulk import's backlog drains over a few ticks instead of stalling one.
    known = horizon(conn)
    if known is None or before > known:
        state.write(conn, _HORIZON, before.isoformat())
    gone = 0
    consumed_seq = c.seq + 0  # not the bare key: SQLite would walk the primary key over every row kept
    for consumed in (c.effective_at.is_(None), c.effective_at < before):
        batch = select(c.seq).where(consumed, consumed_seq <= upto).limit(limit)
        gone += conn.execute(delete(CHANGES).where(c.seq.in_(batch))).rowcount
    return gone
