"""Trigger bookkeeping and candidate queries: which events, dates, schedules and segment changes are new."""

from __future__ import annotations

from collections.abc import Collection, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import (
    Column,
    ColumnElement,
    Connection,
    CursorResult,
    Executable,
    Integer,
    MetaData,
    Select,
    String,
    Table,
    and_,
    bindparam,
    delete,
    exists,
    extract,
    func,
    insert,
    literal,
    or_,
    select,
    update,
)
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.schema import CreateTable
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.functions import FunctionElement

from ecrm_dsl.conditions.sql import local_day
from ecrm_dsl.store import changes
from ecrm_dsl.store.bulk import one_of_param, one_of_value
from ecrm_dsl.store.changes import Customers, Mark
from ecrm_dsl.store.enrollments import Candidate
from ecrm_dsl.store.prepared import run
from ecrm_dsl.store.tables import TABLES, UTCDateTime

T = TABLES
# Events can reach the store after the tick that covered their time (a late import, a slow webhook):
# each tick looks this far back, and trigger_fires keeps an event from entering anyone twice.
LATE_ARRIVAL = timedelta(days=2)


@dataclass(frozen=True)
class TriggerState:
    """A scenario's trigger bookkeeping: triggers up to ``watermark`` are handled; none before ``started``."""

    watermark: datetime
    started: datetime


def watermark(conn: Connection, scenario_id: str) -> datetime | None:
    return conn.execute(
        select(T.trigger_state.c.watermark).where(T.trigger_state.c.scenario_id == scenario_id)
    ).scalar_one_or_none()


def started(conn: Connection, scenario_id: str) -> datetime | None:
    """The earliest moment a scenario's triggers count from (its first deploy, minus any backfill)."""
    return conn.execute(
        select(T.trigger_state.c.started).where(T.trigger_state.c.scenario_id == scenario_id)
    ).scalar_one_or_none()


def states(conn: Connection, scenario_ids: Sequence[str]) -> dict[str, TriggerState]:
    """The bookkeeping of several scenarios in one statement; a scenario no tick has looked at yet has none."""
    if not scenario_ids:
        return {}
    rows = run(conn, _statement(conn, "states"), {"ids": one_of_value(conn.dialect.name, scenario_ids)})
    return {row.scenario_id: TriggerState(row.watermark, row.started) for row in rows}


def set_watermarks(conn: Connection, scenario_ids: Sequence[str], moment: datetime) -> None:
    """Triggers up to ``moment`` are handled, for every scenario in ``scenario_ids`` (one statement)."""
    if scenario_ids:
        ids = one_of_value(conn.dialect.name, scenario_ids)
        run(conn, _statement(conn, "set_watermarks"), {"ids": ids, "moment": moment})


def start(conn: Connection, scenario_id: str, moment: datetime) -> None:
    """Begin a scenario's trigger bookkeeping: nothing before ``moment`` ever enters it."""
    conn.execute(delete(T.trigger_state).where(T.trigger_state.c.scenario_id == scenario_id))
    conn.execute(insert(T.trigger_state).values(scenario_id=scenario_id, watermark=moment, started=moment))


def first_deployed(conn: Connection, scenario_id: str) -> datetime | None:
    """When the scenario was first deployed (any version)."""
    v, d = T.scenario_versions, T.deployments
    query = (
        select(d.c.deployed_at)
        .select_from(v.join(d, d.c.id == v.c.deployment_id))
        .where(v.c.scenario_id == scenario_id)
        .order_by(d.c.id)
        .limit(1)
    )
    return conn.execute(query).scalar_one_or_none()


def fired(conn: Connection, scenario_id: str, keys: Sequence[str]) -> set[str]:
    if not keys:
        return set()
    return set(run(conn, _statement(conn, "fired"), {"scenario_id": scenario_id, "keys": list(keys)}).scalars())


def record_fires(conn: Connection, scenario_id: str, keys: Sequence[str]) -> None:
    record_fires_of(conn, [(scenario_id, key) for key in keys])


def record_fires_of(conn: Connection, fires: Sequence[tuple[str, str]]) -> None:
    """Record (scenario id, fire key) pairs of any scenarios as handled, in one statement."""
    if fires:
        run(conn, _statement(conn, "record_fires"), [{"scenario_id": sid, "fire_key": key} for sid, key in fires])


def claim(conn: Connection, scenario_id: str, key: str) -> bool:
    """Record one trigger occurrence as handled; False when it was already (a retried tick). One statement where
    the database can skip a duplicate key, instead of a look and a write."""
    dialect = conn.dialect.name
    if dialect not in _claims:
        _claims[dialect] = _claim_statement(dialect)
    statement = _claims[dialect]
    if statement is None:
        if fired(conn, scenario_id, [key]):
            return False
        record_fires(conn, scenario_id, [key])
        return True
    return run(conn, statement, {"scenario_id": scenario_id, "fire_key": key}).first() is not None


def _claim_statement(dialect: str) -> Executable | None:
    f = T.trigger_fires
    if dialect == "sqlite":
        return sqlite_insert(f).on_conflict_do_nothing().returning(f.c.fire_key)
    if dialect == "postgresql":  # RETURNING, as psycopg may not report a row count
        return postgresql_insert(f).on_conflict_do_nothing().returning(f.c.fire_key)
    return None  # no portable "insert unless present": look, then write


_claims: dict[str, Executable | None] = {}


def event_news(
    conn: Connection, event_types: Collection[str], after: datetime, now: datetime, changed: Customers
) -> dict[str, datetime]:
    """For each of ``event_types`` with events of ``changed`` customers in [``after``, ``now``], the latest such
    event's time: one statement, so a tick can skip the candidate query of a type with nothing new."""
    if not event_types or (not isinstance(changed, Select) and not changed):
        return {}
    listed = not isinstance(changed, Select)
    query = _statement(conn, "event_news") if listed else _event_news(T.events.c.customer_id.in_(changed))
    params = {"types": sorted(event_types), "after": after, "now": now}
    if not isinstance(changed, Select):
        params["changed"] = one_of_value(conn.dialect.name, changed)
    rows = run(conn, query, params) if listed else conn.execute(query, params)
    return {row.type: row.latest for row in rows}


def event_candidates(
    conn: Connection,
    scenario_id: str,
    event_type: str,
    since: datetime,
    floor: datetime,
    now: datetime,
    limit: int,
    late_arrival: timedelta = LATE_ARRIVAL,
    changed: Customers | None = None,
) -> list[tuple[str, Candidate]]:
    """New events of a type (not yet handled for this scenario), oldest first, with their fire keys; events up
    to ``late_arrival`` older than ``since`` are looked at again, in case they reached the store late.
    ``changed``: the customers changed since the last complete tick — an event not seen then is theirs."""
    params: dict[str, Any] = {
        "scenario_id": scenario_id,
        "event_type": event_type,
        "after": since - late_arrival,
        "floor": floor,
        "now": now,
        "limit": limit,
    }
    if isinstance(changed, Select):  # a bulk import's changes: a statement of its own, built for this tick
        rows = conn.execute(_event_candidates(T.events.c.customer_id.in_(changed)), params)
    elif changed is None:
        rows = run(conn, _statement(conn, "event_candidates"), params)
    else:
        params["changed"] = one_of_value(conn.dialect.name, changed)
        rows = run(conn, _statement(conn, "event_candidates_of"), params)
    return [_candidate(row) for row in rows]


@dataclass(frozen=True)
class SharedEvents:
    """New events of one type read once for the scenarios triggered by it: the changed customers' events in the
    widest of their windows, oldest first, with their fire keys, and the keys each scenario has handled among
    them."""

    rows: list[tuple[str, Candidate]]
    handled: dict[str, set[str]]


def shared_event_candidates(
    conn: Connection,
    readers: Mapping[str, Sequence[str]],
    after: datetime,
    floor: datetime,
    now: datetime,
    limit: int,
    changed: Sequence[str],
) -> dict[str, SharedEvents] | None:
    """``event_candidates`` for every scenario of ``readers`` (event type → the scenarios it triggers) at once:
    one read of the changed customers' events of all those types over the widest of the windows (``after`` and
    ``floor`` are the earliest; each scenario keeps the rows of its own), and one of which scenarios handled
    which of them. Every type asked for has an entry, empty when it has no events. None when there are more
    than ``limit`` events: then each scenario pages through its own."""
    dialect = conn.dialect.name
    scenario_ids = sorted({sid for ids in readers.values() for sid in ids})
    params = {
        "types": one_of_value(dialect, sorted(readers)),
        "after": after,
        "floor": floor,
        "now": now,
        "limit": limit + 1,
        "changed": one_of_value(dialect, changed),
    }
    rows = list(run(conn, _statement(conn, "event_candidates_typed"), params))
    if len(rows) > limit:
        return None
    handled: dict[str, set[str]] = {}
    if rows:
        keys = one_of_value(dialect, [f"event:{row.id}" for row in rows])
        asked = {"scenario_ids": one_of_value(dialect, scenario_ids), "keys": keys}
        for scenario_id, key in run(conn, _statement(conn, "fired_by"), asked):
            handled.setdefault(scenario_id, set()).add(key)
    by_type: dict[str, SharedEvents] = {}
    for event_type, ids in readers.items():
        of_type = [_candidate(row) for row in rows if row.type == event_type]
        by_type[event_type] = SharedEvents(of_type, {sid: handled[sid] for sid in ids if sid in handled})
    return by_type


def _candidate(row: Any) -> tuple[str, Candidate]:
    return f"event:{row.id}", Candidate(row.customer_id, row.occurred_at, row.id, row.order_id)


def _event_candidates(customers: ColumnElement[bool] | None) -> Select[Any]:
    """``event_candidates``' statement, narrowed to ``customers`` (a condition on ``events.customer_id``)."""
    e, f = T.events, T.trigger_fires
    # As in enrollments.event_pairs: with the changed customers leading, the bounds and the order stay off the
    # time index (or SQLite walks it for every event of the type).
    at = e.c.occurred_at if customers is None else func.coalesce(e.c.occurred_at, e.c.occurred_at)
    key = f.c.fire_key == ("event:" + e.c.id.cast(f.c.fire_key.type))
    handled = exists().where(f.c.scenario_id == bindparam("scenario_id", type_=String()), key)
    query = (
        _with_entry_order()
        .where(
            e.c.type == bindparam("event_type", type_=String()),
            at > bindparam("after", type_=UTCDateTime()),
            at >= bindparam("floor", type_=UTCDateTime()),
            at <= bindparam("now", type_=UTCDateTime()),
            ~handled,
        )
        .order_by(at, e.c.id)
        .limit(bindparam("limit", type_=Integer()))
    )
    return query if customers is None else query.where(customers)


def _with_entry_order() -> Select[Any]:
    """Events as trigger candidates: id, customer, time and the order the event names, when it is the customer's."""
    e, o = T.events, T.orders
    order_id = e.c.properties["order_id"].as_string()
    return select(e.c.id, e.c.customer_id, e.c.occurred_at, o.c.id.label("order_id")).select_from(
        e.outerjoin(o, and_(o.c.id == order_id, o.c.customer_id == e.c.customer_id))
    )


def _typed_event_candidates(dialect: str) -> Select[Any]:
    """``shared_event_candidates``' statement: the changed customers' events of the listed types (both one
    parameter), handled or not, with their type."""
    e = T.events
    # The changed customers lead, as in _event_news: the type and the bounds stay off the (type, occurred_at)
    # index, which SQLite would otherwise walk over two days of every customer's events.
    at = func.coalesce(e.c.occurred_at, e.c.occurred_at)
    kind = func.coalesce(e.c.type, e.c.type)
    return (
        _with_entry_order()
        .add_columns(e.c.type)
        .where(
            one_of_param(dialect, e.c.customer_id, "changed"),
            one_of_param(dialect, kind, "types"),
            at > bindparam("after", type_=UTCDateTime()),
            at >= bindparam("floor", type_=UTCDateTime()),
            at <= bindparam("now", type_=UTCDateTime()),
        )
        .order_by(at, e.c.id)
        .limit(bindparam("limit", type_=Integer()))
    )


def _event_news(customers: ColumnElement[bool], listed: bool = False) -> Select[Any]:
    e = T.events
    # The changed customers lead (their (customer_id, type, occurred_at) entries): on the bare column SQLite
    # walks the (type, occurred_at) index over two days of every customer's events instead. ``listed`` (a few
    # thousand ids at most): the type is kept off the index too, or SQLite reads every event of the types.
    at = func.coalesce(e.c.occurred_at, e.c.occurred_at)
    kind = func.coalesce(e.c.type, e.c.type) if listed else e.c.type
    return (
        select(e.c.type, func.max(e.c.occurred_at).label("latest"))
        .where(
            customers,
            kind.in_(bindparam("types", expanding=True)),
            at >= bindparam("after", type_=UTCDateTime()),
            at <= bindparam("now", type_=UTCDateTime()),
        )
        .group_by(e.c.type)
    )


def _build(name: str, dialect: str) -> Executable:
    """The statements that run every tick for every scenario, with their values as bound parameters (the
    changed customers as one, see ``bulk.one_of_param``)."""
    s, f = T.trigger_state, T.trigger_fires
    changed = one_of_param(dialect, T.events.c.customer_id, "changed")
    if name == "states":
        return select(s.c.scenario_id, s.c.watermark, s.c.started).where(one_of_param(dialect, s.c.scenario_id, "ids"))
    if name == "set_watermarks":
        moment = bindparam("moment", type_=UTCDateTime())
        return update(s).where(one_of_param(dialect, s.c.scenario_id, "ids")).values(watermark=moment)
    if name == "fired":
        return select(f.c.fire_key).where(
            f.c.scenario_id == bindparam("scenario_id"), f.c.fire_key.in_(bindparam("keys", expanding=True))
        )
    if name == "record_fires":
        return insert(f)
    if name == "event_news":
        return _event_news(changed, listed=True)
    if name == "event_candidates":
        return _event_candidates(None)
    if name == "event_candidates_of":
        return _event_candidates(changed)
    if name == "event_candidates_typed":
        return _typed_event_candidates(dialect)
    if name == "fired_by":
        return select(f.c.scenario_id, f.c.fire_key).where(
            one_of_param(dialect, f.c.scenario_id, "scenario_ids"), one_of_param(dialect, f.c.fire_key, "keys")
        )
    raise KeyError(name)


# Built once per process and reused: building a statement costs SQLAlchemy more than running it here.
_STATEMENTS: dict[tuple[str, str], Executable] = {}


def _statement(conn: Connection, name: str) -> Executable:
    key = (name, conn.dialect.name)
    found = _STATEMENTS.get(key)
    if found is None:
        found = _STATEMENTS[key] = _build(*key)
    return found


def customer_pages(conn: Connection, query: Select[Any], page: int) -> Iterator[list[str]]:
    """The ids ``query`` selects (it selects ``customers.id``), a page at a time, in id order."""
    inner = query.order_by(None).subquery()
    after = ""
    while True:
        ids = [
            str(i)
            for i in conn.execute(
                select(inner.c.id).where(inner.c.id > after).order_by(inner.c.id).limit(page)
            ).scalars()
        ]
        if ids:
            yield ids
        if len(ids) < page:  # admitting them adds no customer the query selects: a short page is the last
            return
        after = ids[-1]


# Who matches a segment now, for update_segment. A temporary table is private to its connection (and so to the
# caller's transaction), and not part of TABLES: create_all never makes it a real table.
_MATCHING = Table(
    "ecrm_segment_matching", MetaData(), Column("customer_id", String, primary_key=True), prefixes=["TEMPORARY"]
)


def update_segment(
    conn: Connection, scenario_id: str, current: Select[Any], now: datetime, only: Select[Any] | None = None
) -> int | None:
    """Make the remembered membership equal ``current``; customers who start matching get ``since = now``.
    With ``only`` (a select of customer ids), just those customers are judged again: the others' membership
    stands. Returns how many started matching (None where the driver does not say).

    Statements built for one call; a tick uses :class:`SegmentPass`, built once with its values bound."""
    scenario, tick = literal(scenario_id), literal(now, T.segment_members.c.since.type)
    if only is None:
        return _full_pass(conn, current.order_by(None), scenario, tick, {})
    judged = current.order_by(None).where(T.customers.c.id.in_(only))
    conn.execute(_leavers(scenario, judged, only))
    return _count(conn.execute(_joiners(scenario, judged, tick)))


def _full_pass(
    conn: Connection, audience: Select[Any], scenario: ColumnElement[str], tick: ColumnElement[Any], params: Any
) -> int | None:
    """Judge every customer. The audience query (correlated subqueries per customer) is the expensive part, so
    it runs once, into a temporary table that the delete of leavers and the insert of joiners then read."""
    m, matching = T.segment_members, _MATCHING
    # Made by the first call on a connection, it lasts the session (PostgreSQL drops it if that transaction
    # rolls back, and the next call makes it again).
    conn.execute(CreateTable(matching, if_not_exists=True))
    conn.execute(delete(matching))  # in case a failed call's caller carried on in the same transaction
    conn.execute(insert(matching).from_select(["customer_id"], audience), params)
    matches = select(matching.c.customer_id)
    conn.execute(delete(m).where(m.c.scenario_id == scenario, m.c.customer_id.not_in(matches)), params)
    joined = _count(conn.execute(_joiners(scenario, matches, tick), params))
    conn.execute(delete(matching))  # the ids are not needed after this call
    return joined


def _count(result: CursorResult[Any]) -> int | None:
    """The rows a statement wrote; None where the driver does not say (psycopg, for an INSERT … SELECT)."""
    return result.rowcount if result.rowcount >= 0 else None


def _leavers(scenario: ColumnElement[str], judged: Select[Any], only: Select[Any]) -> Executable:
    """Members among ``only`` that ``judged`` (the audience narrowed to them) no longer selects."""
    m = T.segment_members
    return delete(m).where(m.c.scenario_id == scenario, m.c.customer_id.in_(only), m.c.customer_id.not_in(judged))


def _joiners(scenario: ColumnElement[str], judged: Select[Any], tick: ColumnElement[Any]) -> Executable:
    """The customers ``judged`` selects who are not members yet become members since ``tick``."""
    m = T.segment_members
    found = judged.subquery()
    fresh = select(scenario, found.c[0], tick).where(
        ~exists().where(m.c.scenario_id == scenario, m.c.customer_id == found.c[0])
    )
    # SQLAlchemy keeps an INSERT's row count only when asked (psycopg's cursor is closed before it is read).
    return (
        insert(m).from_select(["scenario_id", "customer_id", "since"], fresh).execution_options(preserve_rowcount=True)
    )


class SegmentPass:
    """``update_segment`` for one audience, built once and run every tick: the audience's clock values, the
    scenario, the tick and the change-log mark are bound parameters. ``audience`` and ``few`` select
    ``customers.id`` (``few`` shaped for a few customers); ``windows``: the time windows (seconds) the condition
    reads, whose leavers the change log also finds (see ``changes.changed``).

    An incremental pass reads the customers changed since the mark into a list (up to ``changes.INLINE``), judges
    them once, and moves only the leavers and joiners among them: three statements with the ids bound as one
    parameter each. Past that many (a bulk import), the changed customers stay a query of the log, judged twice
    (leavers, then joiners)."""

    def __init__(self, audience: Select[Any], few: Select[Any], windows: Sequence[int]):
        c = T.customers.c
        self.windows = tuple(sorted(set(windows)))
        self._scenario = bindparam("segment_scenario", type_=String())
        self._tick = bindparam("segment_tick", type_=UTCDateTime())
        known = or_(c.signed_up_at.is_(None), c.signed_up_at <= self._tick)  # as customers.known_at, bound
        self._audience = audience.order_by(None).where(known)
        self._few = few.order_by(None).where(known)
        changed = changes.changed_query(len(self.windows), self._tick)
        self._changed_few = changed.distinct().limit(changes.INLINE + 1)
        judged = self._few.where(c.id.in_(changed))
        self._leavers = _leavers(self._scenario, judged, changed)
        self._joiners = _joiners(self._scenario, judged, self._tick)
        self._listed: dict[str, tuple[Executable, Executable, Executable]] = {}

    def run(
        self,
        conn: Connection,
        scenario_id: str,
        now: datetime,
        clock: dict[str, Any],
        after: Mark | None,
        changed: Sequence[str] | None = None,
        also: Sequence[str] | None = None,
    ) -> int | None:
        """Bring the membership up to ``now``: every customer judged, or with ``after`` only those changed since
        that mark (``changed``: their ids, when the caller has read them already) and those in ``also`` (whom
        the clock alone may have moved; more than a list's worth of both together are judged in full).
        ``clock``: the audience's clock values as of ``now``. Returns how many started matching (None where the
        driver does not say)."""
        params = {**clock, "segment_scenario": scenario_id, "segment_tick": now}
        if after is None:
            return _full_pass(conn, self._audience, self._scenario, self._tick, params)
        log = changes.changed_values(after, now, self.windows, with_now=False)
        ids = list(changed) if changed is not None else list(run(conn, self._changed_few, {**params, **log}).scalars())
        if also:
            ids = sorted(set(ids).union(also))
            if len(ids) > changes.INLINE:
                return _full_pass(conn, self._audience, self._scenario, self._tick, params)
        params.update(log)
        if len(ids) > changes.INLINE:
            run(conn, self._leavers, params)
            return _count(run(conn, self._joiners, params))
        if not ids:
            return 0
        dialect = conn.dialect.name
        judge, leave, join = self._listed_statements(dialect)
        params["segment_changed"] = one_of_value(dialect, sorted(ids))
        matching = sorted(run(conn, judge, params).scalars())
        params["segment_matching"] = one_of_value(dialect, matching)
        run(conn, leave, params)
        return _count(run(conn, join, params)) if matching else 0

    def _listed_statements(self, dialect: str) -> tuple[Executable, Executable, Executable]:
        """For a listed pass: the changed customers who match, the members among them who no longer do, and the
        matching ones who are not members yet (the ids bound as ``segment_changed`` and ``segment_matching``)."""
        found = self._listed.get(dialect)
        if found is None:
            c, m = T.customers.c, T.segment_members.c
            judge = self._few.where(one_of_param(dialect, c.id, "segment_changed"))
            leave = delete(T.segment_members).where(
                m.scenario_id == self._scenario,
                one_of_param(dialect, m.customer_id, "segment_changed"),
                ~one_of_param(dialect, m.customer_id, "segment_matching"),
            )
            joining = select(c.id).where(one_of_param(dialect, c.id, "segment_matching"))
            found = self._listed[dialect] = (judge, leave, _joiners(self._scenario, joining, self._tick))
        return found


def segment_entrants(scenario_id: str, now: datetime) -> Select[Any]:
    """The customers who started matching at the tick ``now``."""
    m = T.segment_members
    # The id as an expression: paged by it, SQLite would otherwise walk the (scenario_id, customer_id) key over
    # every member rather than find this tick's few by (scenario_id, since).
    entrant = func.coalesce(m.c.customer_id, m.c.customer_id)
    return select(entrant.label("id")).where(m.c.scenario_id == scenario_id, m.c.since == now)


class local_month_day(FunctionElement[str]):
    """``local_month_day(instant, sqlite_modifier, tz_name)``: ``MM-DD`` of an instant's shop-local date."""

    type = String()
    inherit_cache = True
    name = "local_month_day"


@compiles(local_month_day, "sqlite")
def _local_month_day_sqlite(element: local_month_day, compiler: SQLCompiler, **kw: Any) -> str:
    value, modifier, _ = (compiler.process(arg, **kw) for arg in element.clauses)
    return f"strftime('%m-%d', {value}, {modifier})"


@compiles(local_month_day)
def _local_month_day_default(element: local_month_day, compiler: SQLCompiler, **kw: Any) -> str:
    value, _, zone = (compiler.process(arg, **kw) for arg in element.clauses)
    return f"to_char(CAST({value} AS TIMESTAMP WITH TIME ZONE) AT TIME ZONE {zone}, 'MM-DD')"


def date_matches(
    attribute: str, attribute_type: str, day: date, yearly: bool, timezone: str, now: datetime
) -> Select[Any]:
    """Customers whose date attribute falls on ``day`` (yearly: on its month and day; 29 February counts on
    28 February in other years). A date-and-time attribute counts by its shop-local date, not its UTC one."""
    c = T.customers
    column = c.c[attribute] if attribute in c.c else c.c.attributes[attribute].as_string()
    days = [day.strftime("%m-%d")]
    if day.month == 2 and day.day == 28 and not _is_leap(day.year):
        days.append("02-29")
    if attribute_type == "datetime":
        offset = now.astimezone(ZoneInfo(timezone)).utcoffset() or timedelta(0)
        modifier = literal(f"{int(offset.total_seconds()):+d} seconds")
        if yearly:
            return select(c.c.id).where(local_month_day(column, modifier, literal(timezone)).in_(days))
        return select(c.c.id).where(local_day(column, modifier, literal(timezone)) == day.toordinal())
    if not yearly:
        return select(c.c.id).where(column == (day if attribute in c.c else day.isoformat()))
    if attribute not in c.c:  # JSON text YYYY-MM-DD: its month and day are the text (PostgreSQL has no EXTRACT of text)
        return select(c.c.id).where(func.substr(column, 6, 5).in_(days))
    month, dom = extract("month", column), extract("day", column)
    return select(c.c.id).where(or_(*(and_(month == int(d[:2]), dom == int(d[3:])) for d in days)))


def _is_leap(year: int) -> bool:
    return year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)
