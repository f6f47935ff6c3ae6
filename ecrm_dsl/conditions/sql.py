"""Conditions as SQL: one SQLAlchemy Core boolean that filters every candidate customer (or enrollment) at once.

``to_sql`` returns an expression for ``select(customers.c.id).where(...)``; with ``enrollment=True`` the query
must also have ``enrollments`` in its FROM (see :func:`select_enrollments`), which metrics and ``event.*`` read.
Derived attributes are correlated scalar subqueries; functions are ``EXISTS``/``COUNT`` subqueries. Parts
that read two or more order attributes share one subquery over the orders (:mod:`.order_reads`): over all
customers, one ``GROUP BY`` whose ``HAVING`` is the condition; per enrollment, one correlated aggregate.
Shop-local day tests on an instant (``days_since_last_order >= 150``, ``signed_up_at >= 2024-06-01``) compare
the instant with UTC bounds (:mod:`.day_bounds`), so an index serves them. Arithmetic works on plain numbers as
the evaluator does (a datetime as epoch seconds, ``/`` in floating point with ``NULLIF`` making a zero divisor null).

Every value from the condition or the caller is a bound parameter. The boolean is for a ``WHERE`` clause: under
an even number of ``not``, where SQL NULL and false filter alike, a predicate may be NULL where the semantics say
false; under ``not`` each atomic predicate is made two-valued (``IS NOT NULL`` guards on nullable columns,
``COALESCE(predicate, false)`` around computed values, so that a subquery is not written twice), so ``NOT`` is
plain negation: that is the two-valued logic of :mod:`ecrm_dsl.conditions.normal`.

Dialects: everything is portable SQLAlchemy except a few small constructs compiled per dialect below
(instant to epoch seconds, instant/date to a day number, "JSON array contains", code-point string order).
Day tests folded into UTC bounds are exact in every zone (the bounds come from Python's zoneinfo). Elsewhere
SQLite, which has no timezone database, reads shop-local dates with the timezone's UTC offset at ``now``: exact
for Asia/Tokyo (no DST); for zones with DST, a time within the DST shift of midnight may land on the
neighbouring day. PostgreSQL uses ``AT TIME ZONE``. Strings order by code point on both (``COLLATE "C"`` on PostgreSQL).
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any, Literal
from typing import cast as cast_type
from zoneinfo import ZoneInfo

from sqlalchemy import (
    BigInteger,
    Boolean,
    ColumnClause,
    ColumnElement,
    Float,
    FromClause,
    Integer,
    Select,
    String,
    Table,
    and_,
    bindparam,
    case,
    cast,
    false,
    func,
    literal,
    not_,
    or_,
    select,
    true,
)
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.elements import BindParameter, ClauseElement
from sqlalchemy.sql.functions import FunctionElement

from ecrm_dsl.conditions import purchase_history, sql_purchases
from ecrm_dsl.conditions.cost import cheapest_first
from ecrm_dsl.conditions.day_bounds import FLIPPED, DayRef, LocalDayEdge, day_bounds
from ecrm_dsl.conditions.evaluate import CustomerSnapshot, evaluate
from ecrm_dsl.conditions.normal import (
    COMPARE,
    COUNTED_MESSAGE_EVENTS,
    MESSAGE_EVENTS,
    ConditionError,
    Normal,
    Types,
    comparison_kind,
    duration_arg,
    is_null_literal,
    literal_key,
    resolve_types,
)
from ecrm_dsl.conditions.order_reads import drop_implied, order_references, reads_only_orders
from ecrm_dsl.store.tables import TABLES, StoreTables, UTCDateTime

# --------------------------------------------------------------------------- per-dialect constructs


class epoch_seconds(FunctionElement[int]):
    """Whole seconds since 1970 of an instant: a timestamp column or ISO 8601 text with an offset."""

    type = Integer()
    inherit_cache = True
    name = "epoch_seconds"


class local_day(FunctionElement[int]):
    """``local_day(instant, sqlite_modifier, tz_name)``: the shop-local date of an instant as ``date.toordinal()``."""

    type = Integer()
    inherit_cache = True
    name = "local_day"


class epoch_local_day(FunctionElement[int]):
    """``epoch_local_day(seconds, sqlite_modifier, tz_name)``: the shop-local date of an instant given as epoch
    seconds (a datetime computed by arithmetic) as ``date.toordinal()``."""

    type = Integer()
    inherit_cache = True
    name = "epoch_local_day"


class date_day(FunctionElement[int]):
    """``date_day(date)``: a calendar date (column or ``YYYY-MM-DD`` text) as ``date.toordinal()``."""

    type = Integer()
    inherit_cache = True
    name = "date_day"


class json_array_contains(FunctionElement[bool]):
    """``json_array_contains(json_doc, sqlite_path, key, value)``: the array ``json_doc[key]`` has ``value``."""

    type = Boolean()
    inherit_cache = True
    name = "json_array_contains"


class code_point_order(FunctionElement[str]):
    """Text that orders by code point, as Python does, whatever the database's collation."""

    type = String()
    inherit_cache = True
    name = "code_point_order"


def _args(element: FunctionElement[Any], compiler: SQLCompiler, **kw: Any) -> list[str]:
    return [compiler.process(arg, **kw) for arg in element.clauses]


# julianday('0001-01-01') is 1721425.5 and date(1, 1, 1).toordinal() is 1.
_JULIAN_TO_ORDINAL = "1721424.5"


@compiles(epoch_seconds, "sqlite")
def _epoch_sqlite(element: epoch_seconds, compiler: SQLCompiler, **kw: Any) -> str:
    (value,) = _args(element, compiler, **kw)
    return f"CAST(strftime('%s', {value}) AS INTEGER)"


@compiles(epoch_seconds)
def _epoch_default(element: epoch_seconds, compiler: SQLCompiler, **kw: Any) -> str:
    (value,) = _args(element, compiler, **kw)
    return f"CAST(FLOOR(EXTRACT(EPOCH FROM CAST({value} AS TIMESTAMP WITH TIME ZONE))) AS BIGINT)"


@compiles(local_day, "sqlite")
def _local_day_sqlite(element: local_day, compiler: SQLCompiler, **kw: Any) -> str:
    value, modifier, _ = _args(element, compiler, **kw)
    return f"CAST(julianday({value}, {modifier}) - {_JULIAN_TO_ORDINAL} AS INTEGER)"


@compiles(local_day)
def _local_day_default(element: local_day, compiler: SQLCompiler, **kw: Any) -> str:
    value, _, zone = _args(element, compiler, **kw)
    return f"(CAST(CAST({value} AS TIMESTAMP WITH TIME ZONE) AT TIME ZONE {zone} AS DATE) - DATE '0001-01-01' + 1)"


@compiles(epoch_local_day, "sqlite")
def _epoch_local_day_sqlite(element: epoch_local_day, compiler: SQLCompiler, **kw: Any) -> str:
    value, modifier, _ = _args(element, compiler, **kw)
    return f"CAST(julianday({value}, 'unixepoch', {modifier}) - {_JULIAN_TO_ORDINAL} AS INTEGER)"


@compiles(epoch_local_day)
def _epoch_local_day_default(element: epoch_local_day, compiler: SQLCompiler, **kw: Any) -> str:
    value, _, zone = _args(element, compiler, **kw)
    return f"(CAST(to_timestamp({value}) AT TIME ZONE {zone} AS DATE) - DATE '0001-01-01' + 1)"


@compiles(date_day, "sqlite")
def _date_day_sqlite(element: date_day, compiler: SQLCompiler, **kw: Any) -> str:
    (value,) = _args(element, compiler, **kw)
    return f"CAST(julianday({value}) - {_JULIAN_TO_ORDINAL} AS INTEGER)"


@compiles(date_day)
def _date_day_default(element: date_day, compiler: SQLCompiler, **kw: Any) -> str:
    (value,) = _args(element, compiler, **kw)
    return f"(CAST({value} AS DATE) - DATE '0001-01-01' + 1)"


@compiles(json_array_contains, "sqlite")
def _json_contains_sqlite(element: json_array_contains, compiler: SQLCompiler, **kw: Any) -> str:
    doc, path, _, value = _args(element, compiler, **kw)
    # json_each() also walks a scalar; only an array counts as a list.
    return (
        f"(json_type({doc}, {path}) = 'array' AND "
        f"EXISTS (SELECT 1 FROM json_each({doc}, {path}) AS je WHERE je.value = {value}))"
    )


@compiles(json_array_contains)
def _json_contains_default(element: json_array_contains, compiler: SQLCompiler, **kw: Any) -> str:
    doc, _, key, value = _args(element, compiler, **kw)
    return f"COALESCE((CAST({doc} AS JSONB) -> {key}) @> jsonb_build_array(CAST({value} AS TEXT)), false)"


@compiles(code_point_order, "sqlite")
def _code_point_order_sqlite(element: code_point_order, compiler: SQLCompiler, **kw: Any) -> str:
    (value,) = _args(element, compiler, **kw)
    return value  # SQLite's default BINARY collation compares UTF-8 bytes: code point order


@compiles(code_point_order)
def _code_point_order_default(element: code_point_order, compiler: SQLCompiler, **kw: Any) -> str:
    (value,) = _args(element, compiler, **kw)
    return f'({value} COLLATE "C")'


# --------------------------------------------------------------------------- compiling


_ENTRY_ORDER_LISTS = {"categories": "category", "skus": "sku"}  # event.<list> read from the entry order's items


@dataclass(frozen=True)
class _Val:
    expr: ColumnElement[Any]
    nullable: bool


def _two_valued(test: ColumnElement[bool], *operands: _Val) -> ColumnElement[bool]:
    """``test`` as true or false, never SQL NULL: false when a nullable operand is null.

    ``test`` must be null or false whenever one of ``operands`` is null, as a comparison is. A nullable column is
    guarded with ``IS NOT NULL`` (an index can serve that). Anything computed is not written twice, since SQLite
    evaluates every copy of a correlated subquery: ``COALESCE(test, false)`` gives the same truth value.
    """
    nullable = [v for v in operands if v.nullable]
    if all(isinstance(v.expr, ColumnClause) for v in nullable):
        return and_(*(v.expr.is_not(None) for v in nullable), test)
    return func.coalesce(test, false())


def aware_utc(moment: datetime) -> datetime:
    if moment.tzinfo is None:
        raise ValueError("'now' must be timezone-aware")
    return moment.astimezone(ZoneInfo("UTC"))


def to_sql(
    normal: Normal,
    *,
    tables: StoreTables = TABLES,
    now: datetime,
    timezone: str = "Asia/Tokyo",
    enrollment: bool = False,
    segments: Mapping[str, Normal] | None = None,
    types: Types | None = None,
    now_column: ColumnElement[datetime] | None = None,
    few_customers: bool = False,
    dated: bool = False,
) -> ColumnElement[bool]:
    """The condition as a ``WHERE`` filter over ``tables.customers`` (and ``tables.enrollments`` when
    ``enrollment``): true for the rows that match, false or NULL for the others.

    ``few_customers``: the caller restricts the customers to a few (those the change log names), so conditions
    on orders are correlated per customer instead of one ``GROUP BY`` over every order.

    With ``now_column``, each row is judged as of that column's moment (an entry at its event's time) in one
    query; :class:`NeedsFixedMoment` is raised when the condition needs more than that moment. With ``dated``
    too, the local date is taken as fixed (its clock parameters bound per day by the caller, see ``as_of``), and
    only a time window raises it.
    """
    zone = ZoneInfo(timezone)
    clock = _Clock(aware_utc(now), zone, now_column, dated)
    compiler = _Compiler(tables, aware_utc(now), zone, enrollment, segments or {}, types or Types(), clock=clock)
    compiler.few_customers = few_customers
    return compiler.cond(normal)


def select_customers(normal: Normal, *, tables: StoreTables = TABLES, **options: Any) -> Select[Any]:
    """``SELECT customers.id WHERE <condition>``, in no particular order (a caller that pages orders it)."""
    return select(tables.customers.c.id).where(to_sql(normal, tables=tables, **options))


def select_enrollments(normal: Normal, *, tables: StoreTables = TABLES, **options: Any) -> Select[Any]:
    """``SELECT enrollments.id`` of the enrollments (joined to their customer) where the condition holds."""
    enrollments, customers = tables.enrollments, tables.customers
    joined = enrollments.join(customers, customers.c.id == enrollments.c.customer_id)
    condition = to_sql(normal, tables=tables, enrollment=True, **options)
    return select(enrollments.c.id).select_from(joined).where(condition)


EntryJudging = Literal["row", "day", "moment"]


def select_entries(
    normal: Normal, *, entering: FromClause, tables: StoreTables = TABLES, **options: Any
) -> tuple[Select[Any], EntryJudging]:
    """The ids of the rows of ``entering`` (candidates standing for the enrollments they would become, with
    ``enrollments``' columns: see ``store.candidates``) for which an entry condition holds, and how each is judged
    as of its own entry time (bound ``entry_now`` caps it: a catch-up must not see later orders):

    - ``row``: the condition reads only "now" (orders so far, event properties): one execution for all rows;
    - ``day``: it also reads the local date (day windows, ``today``): each row's "now" is still its own, the
      date's clock parameters are bound per distinct local day of the rows (``as_of``), one execution a day;
    - ``moment``: it reads a time window: the caller runs it once per distinct entry time, every clock parameter
      set to that time."""
    # The compiler reads "this enrollment" from ``tables.enrollments``, only its columns by name: the candidates
    # stand in for it.
    tables = dataclasses.replace(tables, enrollments=cast_type(Table, entering))
    e = entering
    tick = bindparam("entry_now", type_=e.c.entered_at.type)
    entry_time = case((e.c.entered_at <= tick, e.c.entered_at), else_=tick)
    judgings: tuple[EntryJudging, ...] = ("row", "day")
    for judging in judgings:
        try:
            per_row = select_enrollments(
                normal, tables=tables, now_column=entry_time, dated=judging == "day", **options
            )
            return per_row, judging
        except NeedsFixedMoment:
            continue
    return select_enrollments(normal, tables=tables, **options), "moment"


_FOLDED_DAYS = 36_500  # day counts folded into bounds (a literal beyond a century keeps the day arithmetic)
_FOLDED_YEARS = (2, 9998)  # dates folded into bounds: their neighbours must be dates too

NOW_PREFIX = "ecrm_now"  # the named parameters of a condition's clock: re-bound by :func:`as_of`


class _Clock:
    """Everything a condition reads from "now", as named bound parameters: the same statement can be executed
    as of another moment by passing :func:`as_of` values, without compiling the condition again."""

    def __init__(self, now: datetime, tz: ZoneInfo, column: ColumnElement[datetime] | None = None, dated: bool = False):
        values = _clock_values(now, tz, {})
        self.column = column
        self.dated = dated  # with a column: the local date is fixed (bound per day), only time windows refuse
        self.now: ColumnElement[datetime] = (
            column if column is not None else bindparam(NOW_PREFIX, values[NOW_PREFIX], type_=UTCDateTime())
        )
        self._today = bindparam(f"{NOW_PREFIX}_today", values[f"{NOW_PREFIX}_today"], type_=Integer())
        self._modifier = bindparam(f"{NOW_PREFIX}_modifier", values[f"{NOW_PREFIX}_modifier"], type_=String())
        self._since: dict[WindowRead, BindParameter[datetime]] = {}
        self._sent_since: dict[int, BindParameter[datetime]] = {}
        self._edges: dict[tuple[int, bool], BindParameter[date]] = {}
        self.moment = now
        self.local_today = now.astimezone(tz).date()
        self.zone = tz.key

    def _fixed(self) -> None:
        if self.column is not None:
            raise NeedsFixedMoment("the condition reads the date or a time window: it needs a fixed moment")

    def _fixed_date(self) -> None:
        if self.column is not None and not self.dated:
            raise NeedsFixedMoment("the condition reads the date: it needs a fixed date")

    @property
    def today(self) -> BindParameter[int]:
        self._fixed_date()
        return self._today

    @property
    def modifier(self) -> BindParameter[str]:
        self._fixed_date()
        return self._modifier

    def since(self, seconds: int, table: str, event_type: str | None = None) -> BindParameter[datetime]:
        """``now`` minus ``seconds``: the start of a time window over ``table`` (``events`` of ``event_type``, or
        ``orders``). One parameter per window and table it bounds: what it bounds travels with it (see
        :func:`window_reads`)."""
        self._fixed()
        read = WindowRead(seconds, table, event_type)
        if read not in self._since:
            key = f"{NOW_PREFIX}_window_{len(self._since) + 1}"  # named by position: values stay out of the SQL
            start = self.moment - timedelta(seconds=seconds)
            self._since[read] = bindparam(key, start, type_=WindowStart(table, event_type))
        return self._since[read]

    def sent_since(self, seconds: int) -> BindParameter[datetime]:
        """The start of a time window over delivered messages (``sends()``). Named apart from event windows:
        the change log does not record deliveries, so a segment that reads one is judged again in full."""
        self._fixed()
        if seconds not in self._sent_since:
            key = f"{SENT_WINDOW}{len(self._sent_since) + 1}"
            self._sent_since[seconds] = bindparam(key, self.moment - timedelta(seconds=seconds), type_=UTCDateTime())
        return self._sent_since[seconds]

    def day_edge(self, days_back: int, end: bool) -> BindParameter[date]:
        """Where the shop-local day ``days_back`` days before today starts (or, with ``end``, ends), in UTC."""
        self._fixed_date()
        if (days_back, end) not in self._edges:
            key = f"{NOW_PREFIX}_day_{len(self._edges) + 1}"  # by position, as windows
            day = self.local_today - timedelta(days=days_back)
            self._edges[(days_back, end)] = bindparam(key, day, type_=LocalDayEdge(self.zone, end, days_back))
        return self._edges[(days_back, end)]


@dataclass(frozen=True, order=True)
class WindowRead:
    """The rows a time window bounds: ``events`` of one type, or ``orders``; and how far back it reaches."""

    seconds: int
    table: str
    event_type: str | None = None


class WindowStart(UTCDateTime):
    """The start of a time window (an instant, stored as ``UTCDateTime``), marked with the rows it bounds."""

    cache_ok = True

    def __init__(self, table: str, event_type: str | None = None):
        super().__init__()
        self.table = table
        self.event_type = event_type


class NeedsFixedMoment(Exception):
    """A condition judged as of a column (each row's own moment) reads more than that moment: the local date,
    or a time window. Such a condition is compiled for one moment at a time instead."""


_WINDOW, _DAY = f"{NOW_PREFIX}_window_", f"{NOW_PREFIX}_day_"
TIME_WINDOW = _WINDOW  # the clock parameters of time windows' starts (see :meth:`_Clock.since`)
DAY_EDGE = _DAY  # the clock parameters of shop-local day edges (see :meth:`_Clock.day_edge`)
SENT_WINDOW = f"{NOW_PREFIX}_sent_"  # the clock parameters of sends() windows


def _clock_values(now: datetime, tz: ZoneInfo, offsets: Mapping[str, int | None]) -> dict[str, Any]:
    local_now = now.astimezone(tz)
    offset = local_now.utcoffset() or timedelta(0)
    values: dict[str, Any] = {
        NOW_PREFIX: now,
        f"{NOW_PREFIX}_today": local_now.date().toordinal(),
        f"{NOW_PREFIX}_modifier": f"{int(offset.total_seconds()):+d} seconds",
    }
    for key, back in offsets.items():
        if back is not None and key.startswith((_WINDOW, SENT_WINDOW)):
            values[key] = now - timedelta(seconds=back)
        elif back is not None and key.startswith(_DAY):
            values[key] = local_now.date() - timedelta(days=back)
    return values


# A clock parameter's name → how far back from now it is: seconds for a window's start, days for a day edge.
ClockKeys = dict[str, int | None]


def clock_keys(statement: ClauseElement) -> ClockKeys:
    """The clock parameters of a statement built from conditions (compiles it once)."""
    compiled = statement.compile()
    assert isinstance(compiled, SQLCompiler)
    params = compiled.params
    keys: ClockKeys = {}
    for key, value in sorted(params.items()):
        if key.startswith((_WINDOW, SENT_WINDOW)):
            keys[key] = int((params[NOW_PREFIX] - value).total_seconds())
        elif key.startswith(_DAY):
            edge = compiled.binds[key].type
            keys[key] = edge.days_back if isinstance(edge, LocalDayEdge) else None
        elif key.startswith(NOW_PREFIX):
            keys[key] = None
    return keys


def window_reads(statement: ClauseElement) -> frozenset[WindowRead] | None:
    """The rows each time window of a statement built from conditions bounds (compiles it once); None when a
    window's rows are not known."""
    compiled = statement.compile()
    assert isinstance(compiled, SQLCompiler)
    params = compiled.params
    reads = set()
    for key, value in params.items():
        if not key.startswith(_WINDOW):
            continue
        start = compiled.binds[key].type
        if not isinstance(start, WindowStart):
            return None
        seconds = int((params[NOW_PREFIX] - value).total_seconds())
        reads.add(WindowRead(seconds, start.table, start.event_type))
    return frozenset(reads)


def as_of(keys: ClockKeys, now: datetime, timezone: str) -> dict[str, Any]:
    """Values for the clock parameters that make a statement judge its conditions as of ``now``."""
    values = _clock_values(aware_utc(now), ZoneInfo(timezone), keys)
    return {key: values[key] for key in keys}


class _Compiler:
    def __init__(
        self,
        tables: StoreTables,
        now: datetime,
        tz: ZoneInfo,
        enrollment: bool,
        segments: Mapping[str, Normal],
        types: Types,
        inlining: tuple[str, ...] = (),
        clock: _Clock | None = None,
        positive: bool = True,
    ):
        self.t = tables
        self.tz = tz
        self.enrollment = enrollment
        self.segments = segments
        self.types = types
        self.inlining = inlining  # segments being inlined, to refuse cycles
        self.clock = clock or _Clock(now, tz)
        self.now = self.clock.now
        self.positive = positive  # under an even number of "not": NULL may stand for false
        self.aggregating = False  # inside one subquery over the orders: order attributes are its aggregates
        self.few_customers = False  # see to_sql

    @property
    def today(self) -> ColumnElement[int]:
        return self.clock.today

    def two_valued(self, test: ColumnElement[bool], *operands: _Val) -> ColumnElement[bool]:
        return test if self.positive else _two_valued(test, *operands)

    # ---- conditions
    def cond(self, node: Normal) -> ColumnElement[bool]:
        if node[0] == "and":
            kept = drop_implied(list(node[1:]))
            node = ["and", *kept] if len(kept) > 1 else kept[0]
        tag = node[0]
        if not self.aggregating and reads_only_orders(node) and order_references(node) > 1:
            return self.orders_together(node)
        if tag in ("and", "or"):
            return self.junction(tag, list(node[1:]))
        if tag == "not":
            self.positive = not self.positive
            try:
                return not_(self.cond(node[1]))
            finally:
                self.positive = not self.positive
        if tag == "cmp":
            return self.compare(node[1], node[2], node[3])
        if tag == "in":
            return or_(false(), *(self.compare("==", node[1], item) for item in node[2]))
        if tag == "not_in":  # a null item makes its "!=" false, and so the whole
            return and_(self.not_null(node[1]), *(self.compare("!=", node[1], item) for item in node[2]))
        if tag in ("between", "not_between"):
            return self.between(node[1], node[2], node[3], negate=tag == "not_between")
        if tag == "is_null":
            return not_(self.not_null(node[1]))
        if tag == "is_not_null":
            return self.not_null(node[1])
        if tag == "call":
            return self.bool_call(node)
        raise ConditionError(f"not a condition: {node!r}")

    def junction(self, tag: str, children: list[Normal]) -> ColumnElement[bool]:
        """``and``/``or``; the children that read only order attributes share one subquery when several do. An
        ``and`` is written cheapest part first (see :mod:`.cost`)."""
        if tag == "and":
            children = cheapest_first(children, _DERIVED, self.segments)
        together = [] if self.aggregating else [child for child in children if reads_only_orders(child)]
        parts: list[ColumnElement[bool]] = []
        for child in children:
            if len(together) > 1 and child is together[0]:
                parts.append(self.orders_together([tag, *together]))
            elif len(together) <= 1 or child not in together:
                parts.append(self.cond(child))
        return and_(true(), *parts) if tag == "and" else or_(false(), *parts)

    def orders_together(self, node: Normal) -> ColumnElement[bool]:
        """A condition on order attributes only, judged in one subquery over the customer's known orders.

        Over all customers at one moment it is one ``GROUP BY`` of the orders, its ``HAVING`` the condition;
        a customer without orders is in no group, so a condition that holds for them is judged by its negation.
        Per enrollment, as of each row's own moment, or for a few customers, it is one correlated aggregate.
        """
        orders = self.t.orders
        per_row = self.enrollment or self.clock.column is not None or self.few_customers
        positive, self.positive, self.aggregating = self.positive, self.positive or not per_row, True
        try:
            test = self.cond(node)
        finally:
            self.positive, self.aggregating = positive, False
        known = self.known_orders()
        if per_row:
            # An aggregate query gives one row, orders or none; count(*) keeps it one when the test has no
            # aggregate left (customer.order_count not in [] is constant). A CASE, not AND: and_() folds a
            # constant false test to plain false, and the subquery then gives a row per order (PostgreSQL
            # refuses that; SQLite took the first row).
            one_row = case((func.count() >= 0, test))
            query = select(one_row).where(orders.c.customer_id == self.t.customers.c.id, *known)
            return query.correlate_except(orders).scalar_subquery()
        groups = select(orders.c.customer_id).where(*known).group_by(orders.c.customer_id)
        empty = CustomerSnapshot("")
        if evaluate(node, empty, now=self.clock.moment, timezone=self.tz.key, segments=self.segments, types=self.types):
            return self.t.customers.c.id.not_in(groups.having(not_(func.coalesce(test, false()))))
        return self.t.customers.c.id.in_(groups.having(test))

    def known_orders(self) -> list[ColumnElement[bool]]:
        """The orders known at ``now``: placed at or before it; and for an enrollment entered by an order, an
        order placed at the same instant as the entry order but after it (by id) is not known at that instant."""
        orders = self.t.orders.c
        known: list[ColumnElement[bool]] = [orders.ordered_at <= self.now]
        if self.enrollment:
            entry = self.t.enrollments.c
            entry_order = self.t.orders.alias("entry_order")
            entered = select(entry_order.c.ordered_at).where(entry_order.c.id == entry.entry_order_id)
            entry_time = entered.correlate(self.t.enrollments).scalar_subquery()
            known.append(
                or_(
                    orders.ordered_at != self.now,
                    entry.entry_order_id.is_(None),
                    code_point_order(orders.id) <= entry.entry_order_id,
                    func.coalesce(entry_time != self.now, true()),
                )
            )
        return known

    def compare(self, op: str, left: Normal, right: Normal) -> ColumnElement[bool]:
        if is_null_literal(left) or is_null_literal(right):
            return false()
        left_type, right_type = resolve_types(self.types.of(left), self.types.of(right))
        kind = comparison_kind(left_type, right_type)
        folded = self.day_fold(op, left, right, kind)
        if folded is not None:
            return folded
        a, b = self.operand(left, left_type, kind), self.operand(right, right_type, kind)
        if kind == "string" and op not in ("==", "!="):
            return self.two_valued(COMPARE[op](code_point_order(a.expr), b.expr), a, b)
        return self.two_valued(COMPARE[op](a.expr, b.expr), a, b)

    # ---- shop-local days as UTC bounds
    def day_fold(self, op: str, left: Normal, right: Normal, kind: str) -> ColumnElement[bool] | None:
        """A day test with a literal (``days_since_last_order >= 150``, ``signed_up_at < 2024-06-01``) as the
        instant compared with UTC bounds; None when the comparison is not one."""
        for subject, other, oriented in ((left, right, op), (right, left, FLIPPED[op])):
            ref = self.day_ref(other, kind)
            instant = self.day_subject(subject, kind) if ref is not None else None
            if ref is not None and instant is not None:
                # today - day(x) <op> k  is  day(x) <flipped op> today - k
                return self.day_test(instant, FLIPPED[oriented] if kind == "number" else oriented, ref)
        return None

    def day_ref(self, node: Normal, kind: str) -> DayRef | None:
        if node[0] != "lit" or node[2] is None:
            return None
        if kind == "number" and node[1] == "int" and abs(node[2]) <= _FOLDED_DAYS:
            return DayRef(days_back=int(node[2]))
        if kind == "day" and node[1] == "date":
            day = date.fromisoformat(node[2])
            return DayRef(ordinal=day.toordinal()) if _FOLDED_YEARS[0] <= day.year <= _FOLDED_YEARS[1] else None
        return None

    def day_subject(self, node: Normal, kind: str) -> _Val | None:
        """The instant behind a day count (kind number) or a day comparison (kind day), if it is a stored one."""
        if kind == "day":
            return self.instant(node)
        if node == ["attr", "days_since_last_order"]:
            return self.instant(["attr", "last_order_at"])
        if node == ["attr", "days_since_last_open"]:
            return _last_open_at(self)
        if node[0] == "call" and node[1] == "days_since":
            return self.instant(node[2])
        if node == ["metric", "days_since_entry"]:
            self.need_enrollment(node)
            return _Val(self.t.enrollments.c.entered_at, False)
        return None

    def instant(self, node: Normal) -> _Val | None:
        """A datetime value stored as an instant (so comparable with a UTC bound); not JSON text."""
        if node[0] == "lit" or self.types.of(node) != "datetime":
            return None
        found = self.raw(node, "datetime")
        return found if isinstance(found.expr.type, UTCDateTime) else None

    def day_test(self, instant: _Val, op: str, ref: DayRef) -> ColumnElement[bool]:
        """``local_date(instant) <op> ref``."""
        lower, upper = day_bounds(op, ref)
        x = instant.expr
        test: ColumnElement[bool]
        if lower is not None and upper is not None:
            test = x.between(self.day_edge(*lower), self.day_edge(*upper))
        elif lower is not None:
            test = x >= self.day_edge(*lower)
        else:
            assert upper is not None
            test = x <= self.day_edge(*upper)
        return self.two_valued(not_(test) if op == "!=" else test, instant)

    def day_edge(self, ref: DayRef, end: bool) -> ColumnElement[Any]:
        if ref.days_back is not None:
            return self.clock.day_edge(ref.days_back, end)
        assert ref.ordinal is not None
        return literal(date.fromordinal(ref.ordinal), LocalDayEdge(self.tz.key, end))

    def day_between(
        self, value: Normal, low: Normal, high: Normal, kind: str
    ) -> tuple[ColumnElement[bool], _Val] | None:
        """``value between low and high`` as one range of instants, when it is a day test with literals."""
        lo, hi, instant = self.day_ref(low, kind), self.day_ref(high, kind), self.day_subject(value, kind)
        if lo is None or hi is None or instant is None:
            return None
        if kind == "number":  # today - day(x) in [lo, hi]  is  day(x) in [today - hi, today - lo]
            lo, hi = hi, lo
        return instant.expr.between(self.day_edge(lo, False), self.day_edge(hi, True)), instant

    def between(self, value: Normal, low: Normal, high: Normal, negate: bool) -> ColumnElement[bool]:
        """``value [not] between low and high``, both ends inclusive; false when an operand is null.

        ``value`` goes into SQL once when both ends compare it the same way: a derived attribute is a correlated
        subquery, and ``>=`` and ``<=``, each with its null guard, would run it four times per customer.
        """
        if any(is_null_literal(n) for n in (value, low, high)):
            return false()
        (value_type, low_type), (value_type_high, high_type) = (
            resolve_types(self.types.of(value), self.types.of(end)) for end in (low, high)
        )
        kind = comparison_kind(value_type, low_type)
        same_kind = value_type == value_type_high and kind == comparison_kind(value_type_high, high_type)
        folded = self.day_between(value, low, high, kind) if same_kind else None
        if folded is not None:
            # A null instant makes BETWEEN null; NOT BETWEEN must then be false, not true.
            test, instant = folded
            return self.two_valued(not_(test) if negate else test, instant)
        if not same_kind:
            inside = and_(self.compare(">=", value, low), self.compare("<=", value, high))
            return and_(*(self.not_null(n) for n in (value, low, high)), not_(inside)) if negate else inside
        a = self.operand(value, value_type, kind)
        lo, hi = self.operand(low, low_type, kind), self.operand(high, high_type, kind)
        test = (code_point_order(a.expr) if kind == "string" else a.expr).between(lo.expr, hi.expr)
        if not negate:
            return self.two_valued(test, a, lo, hi)  # a null operand makes BETWEEN false or null
        # NOT BETWEEN is true, not null, when one end is null and the other already excludes the value.
        return and_(*(end.expr.is_not(None) for end in (lo, hi) if end.nullable), self.two_valued(not_(test), a))

    def not_null(self, node: Normal) -> ColumnElement[bool]:
        if node[0] == "lit":
            return false() if node[2] is None else true()
        found = self.raw(node, self.types.of(node) or "string")
        return found.expr.is_not(None) if found.nullable else true()

    # ---- values
    def operand(self, node: Normal, type_: str | None, kind: str) -> _Val:
        """A value as SQL comparable under ``kind`` (day numbers, epoch seconds, or the value itself)."""
        if node[0] == "lit":
            key = literal_key(node[1], node[2], kind)
            sql_type = (
                Float()
                if isinstance(key, float)
                else Boolean()
                if kind == "bool"
                else String()
                if kind == "string"
                else Integer()
            )
            return _Val(literal(key, sql_type), False)
        if node[0] == "arith":  # a number; a datetime as epoch seconds
            number = self.arith(node)
            if kind == "day":
                return _Val(epoch_local_day(number.expr, self.clock.modifier, literal(self.tz.key, String())), True)
            return number
        found = self.raw(node, type_)
        if kind == "day":
            return _Val(self.day(found.expr, type_), found.nullable)
        if kind == "instant":
            return _Val(epoch_seconds(found.expr), found.nullable)
        return found

    def day(self, expr: ColumnElement[Any], type_: str | None) -> ColumnElement[int]:
        if type_ == "datetime":
            return local_day(expr, self.clock.modifier, literal(self.tz.key, String()))
        return date_day(expr)

    def raw(self, node: Normal, type_: str | None) -> _Val:
        tag = node[0]
        if type_ == "list":
            raise ConditionError(f"{_describe(node)} is a list; search it with contains()")
        if tag == "attr":
            return self.attribute(node[1], type_)
        if tag == "metric":
            return self.metric(node[1])
        if tag == "event":
            self.need_enrollment(node)
            events = self.t.events
            query = select(self.json(events.c.properties, node[1], type_)).where(
                events.c.id == self.t.enrollments.c.entry_event_id
            )
            return _Val(query.correlate_except(events).scalar_subquery(), True)
        if tag == "call":
            return self.call_value(node)
        if tag == "lit":
            return _Val(literal(node[2]), node[2] is None)
        if tag == "arith":
            return self.arith(node)
        raise ConditionError(f"not a value: {node!r}")

    # ---- arithmetic
    def arith(self, node: Normal) -> _Val:
        """``left op right`` as the evaluator computes it; NULLIF makes a division by zero null, as in Python."""
        left, right = self.number(node[2]), self.number(node[3])
        op = node[1]
        nullable = left.nullable or right.nullable
        if op == "/":
            divisor = func.nullif(cast(right.expr, Float()), literal(0.0, Float()), type_=Float())
            return _Val(cast(left.expr, Float()) / divisor, True)
        if op == "*":
            # an integer product in 64 bits: PostgreSQL's 32-bit integers would overflow where Python's do not
            factor = cast(left.expr, BigInteger()) if isinstance(left.expr.type, Integer) else left.expr
            return _Val(factor * right.expr, nullable)
        return _Val(left.expr + right.expr if op == "+" else left.expr - right.expr, nullable)

    def number(self, node: Normal) -> _Val:
        if node[0] == "lit":
            raw = node[2]
            if raw is None:
                return _Val(literal(None, Integer()), True)
            return _Val(literal(float(raw), Float()) if node[1] == "decimal" else literal(int(raw), Integer()), False)
        if node[0] == "arith":
            return self.arith(node)
        type_ = self.types.of(node)
        found = self.raw(node, type_)
        if type_ == "datetime":  # to the second, as instants compare
            return _Val(epoch_seconds(found.expr), found.nullable)
        return found

    def json(self, doc: Any, key: str, type_: str | None) -> ColumnElement[Any]:
        element = doc[key]
        if type_ in ("int", "money"):
            return element.as_integer()
        if type_ == "decimal":
            return element.as_float()
        if type_ == "bool":
            return element.as_boolean()
        return element.as_string()  # strings, and dates and datetimes as ISO text

    def attribute(self, name: str, type_: str | None) -> _Val:
        derived = _DERIVED.get(name)
        if derived is not None:
            return derived(self)
        columns = self.t.customers.c
        if name in columns and name != "attributes":
            return _Val(columns[name], bool(columns[name].nullable))
        return _Val(self.json(columns.attributes, name, type_), True)

    def metric(self, name: str) -> _Val:
        self.need_enrollment(["metric", name])
        enrollments, orders = self.t.enrollments.c, self.t.orders
        if name == "days_since_entry":
            return _Val(self.today - self.day(enrollments.entered_at, "datetime"), False)
        if name == "orders_since_entry":
            query = select(func.count()).where(
                orders.c.customer_id == enrollments.customer_id,
                orders.c.ordered_at >= enrollments.entered_at,
                *self.known_orders(),
                or_(enrollments.entry_order_id.is_(None), orders.c.id != enrollments.entry_order_id),
            )
            return _Val(query.correlate_except(orders).scalar_subquery(), False)
        raise ConditionError(f"unknown metric {name}")

    def need_enrollment(self, node: Normal) -> None:
        if not self.enrollment:
            raise ConditionError(f"{_describe(node)} needs an enrollment; compile with enrollment=True")

    def call_value(self, node: Normal) -> _Val:
        name = node[1]
        if name == "count":
            events = self.t.events
            query = select(func.count()).where(
                events.c.customer_id == self.t.customers.c.id,
                events.c.type == node[2][1],
                *self.window(duration_arg(node[3], name), node[2][1]),
            )
            return _Val(query.correlate_except(events).scalar_subquery(), False)
        if name == "days_since":
            arg = node[2]
            type_ = self.types.of(arg)
            if type_ not in ("date", "datetime"):
                raise ConditionError("days_since() takes a date or a datetime")
            if arg[0] == "lit":
                return (
                    _Val(self.today - literal(literal_key("date", arg[2], "day"), Integer()), False)
                    if arg[2] is not None
                    else _Val(literal(None, Integer()), True)
                )
            if arg[0] == "arith":
                seconds = self.arith(arg)
                zone = literal(self.tz.key, String())
                return _Val(self.today - epoch_local_day(seconds.expr, self.clock.modifier, zone), True)
            found = self.raw(arg, type_)
            return _Val(self.today - self.day(found.expr, type_), found.nullable)
        if name in COUNTED_MESSAGE_EVENTS:
            events = self.t.events
            query = select(func.count()).where(
                events.c.customer_id == self.t.customers.c.id,
                events.c.type == COUNTED_MESSAGE_EVENTS[name],
                *self.window(duration_arg(node[3], name), COUNTED_MESSAGE_EVENTS[name]),
                self.json(events.c.properties, "channel", "string") == node[2][1],
            )
            return _Val(query.correlate_except(events).scalar_subquery(), False)
        if name == "sends":
            outbox = self.t.outbox.c
            query = select(func.count()).where(
                outbox.customer_id == self.t.customers.c.id,
                outbox.status == "sent",
                outbox.channel == node[2][1],
                outbox.sent_at >= self.clock.sent_since(duration_arg(node[3], name)),
                outbox.sent_at <= self.now,
            )
            return _Val(query.correlate_except(self.t.outbox).scalar_subquery(), False)
        if name in purchase_history.FUNCTIONS and name != "bought":
            return _Val(sql_purchases.purchase_value(self, node), False)
        # A boolean function used as a value: true or false, never null (CASE takes a null test as false).
        positive, self.positive = self.positive, True
        try:
            return _Val(case((self.bool_call(node), true()), else_=false()), False)
        finally:
            self.positive = positive

    def window(self, seconds: int, event_type: str) -> list[ColumnElement[bool]]:
        occurred = self.t.events.c.occurred_at
        return [occurred >= self.clock.since(seconds, "events", event_type), occurred <= self.now]

    # ---- boolean functions
    def bool_call(self, node: Normal) -> ColumnElement[bool]:
        name = node[1]
        if name == "has_tag":
            return self.contains(["attr", "tags"], node[2])
        if name == "contains":
            return self.contains(node[2], node[3])
        if name == "bought":
            return sql_purchases.bought(self, node)
        if name in MESSAGE_EVENTS:
            events = self.t.events
            query = select(events.c.id).where(
                events.c.customer_id == self.t.customers.c.id,
                events.c.type == MESSAGE_EVENTS[name],
                *self.window(duration_arg(node[3], name), MESSAGE_EVENTS[name]),
                self.json(events.c.properties, "channel", "string") == node[2][1],
            )
            return query.correlate_except(events).exists()
        if name == "in_segment":
            segment = node[2][1]
            if segment not in self.segments:
                raise ConditionError(f"unknown segment '{segment}'")
            if segment in self.inlining:
                raise ConditionError(f"segment '{segment}' refers to itself through in_segment()")
            inner = _Compiler(
                self.t,
                self.clock.moment,
                self.tz,
                self.enrollment,
                self.segments,
                self.types,
                (*self.inlining, segment),
                self.clock,
                self.positive,
            )
            inner.few_customers = self.few_customers
            return inner.cond(self.segments[segment])
        raise ConditionError(f"{name}() is not a condition")

    def contains(self, collection: Normal, item: Normal) -> ColumnElement[bool]:
        if is_null_literal(item):
            return false()
        needle = self.operand(item, "string", "string")
        guard = [needle.expr.is_not(None)] if needle.nullable else []
        if collection[0] == "attr" and collection[1] in purchase_history.FIRST_ORDER_LISTS:
            path = str(item[2]) if item[0] == "lit" else None
            return and_(*guard, sql_purchases.first_order_has(self, collection[1], needle.expr, path))
        return and_(*guard, self.list_has(collection, needle.expr))

    def list_has(self, collection: Normal, needle: ColumnElement[Any]) -> ColumnElement[bool]:
        tag, name = collection[0], collection[1]
        customers = self.t.customers
        if tag == "attr" and name == "tags":
            tags = self.t.customer_tags
            query = select(tags.c.tag).where(tags.c.customer_id == customers.c.id, tags.c.tag == needle)
            return query.correlate_except(tags).exists()
        if tag == "attr" and self.types.attribute(name) in ("list", None):
            return self.json_has(customers.c.attributes, name, needle)
        if tag == "event" and self.types.event_property(name) in ("list", None):
            self.need_enrollment(collection)
            entry = self.t.enrollments.c
            events = self.t.events
            in_event = (
                select(events.c.id)
                .where(events.c.id == entry.entry_event_id, self.json_has(events.c.properties, name, needle))
                .correlate_except(events)
                .exists()
            )
            if name not in _ENTRY_ORDER_LISTS:
                return in_event
            items = self.t.order_items
            in_order = (
                select(items.c.sku)
                .where(items.c.order_id == entry.entry_order_id, items.c[_ENTRY_ORDER_LISTS[name]] == needle)
                .correlate_except(items)
                .exists()
            )
            return or_(
                and_(entry.entry_order_id.is_not(None), in_order), and_(entry.entry_order_id.is_(None), in_event)
            )
        raise ConditionError(f"contains() needs a list, not {_describe(collection)}")

    def json_has(self, doc: Any, key: str, needle: ColumnElement[Any]) -> ColumnElement[bool]:
        path = "$." + json.dumps(key, ensure_ascii=False)
        return json_array_contains(doc, literal(path, String()), literal(key, String()), needle)


# --------------------------------------------------------------------------- derived attributes


def _orders_scalar(c: _Compiler, column: Any, nullable: bool = True) -> _Val:
    if c.aggregating:  # an aggregate of the one subquery over the orders being built
        return _Val(column, nullable)
    orders = c.t.orders
    # As of ``now``: later orders have not happened yet (replays run on a virtual clock).
    query = select(column).where(orders.c.customer_id == c.t.customers.c.id, *c.known_orders())
    return _Val(query.correlate_except(orders).scalar_subquery(), nullable)


def _order_count(c: _Compiler) -> _Val:
    return _orders_scalar(c, func.count(), nullable=False)


def _total_spent(c: _Compiler) -> _Val:
    return _orders_scalar(c, func.coalesce(func.sum(c.t.orders.c.amount), 0), nullable=False)


def _avg_order_value(c: _Compiler) -> _Val:
    # Whole yen, rounded down: integer division on every dialect.
    return _orders_scalar(c, func.sum(c.t.orders.c.amount) // func.nullif(func.count(), 0, type_=Integer))


def _first_order_at(c: _Compiler) -> _Val:
    return _orders_scalar(c, func.min(c.t.orders.c.ordered_at))


def _last_order_at(c: _Compiler) -> _Val:
    return _orders_scalar(c, func.max(c.t.orders.c.ordered_at))


def _days_since_last_order(c: _Compiler) -> _Val:
    last = _last_order_at(c).expr
    return _Val(c.today - c.day(last, "datetime"), True)


def _avg_purchase_interval_days(c: _Compiler) -> _Val:
    ordered = c.t.orders.c.ordered_at
    span = c.day(func.max(ordered), "datetime") - c.day(func.min(ordered), "datetime")
    return _orders_scalar(c, span // func.nullif(func.count() - 1, 0, type_=Integer))


def _last_purchase_interval_days(c: _Compiler) -> _Val:
    orders = c.t.orders
    # The second latest known order's time: with two orders at one instant, the interval is 0 days.
    second = (
        select(orders.c.ordered_at)
        .where(orders.c.customer_id == c.t.customers.c.id, *c.known_orders())
        .order_by(orders.c.ordered_at.desc())
        .limit(1)
        .offset(1)
        .correlate_except(orders)
        .scalar_subquery()
    )
    last = _last_order_at(c).expr
    return _Val(c.day(last, "datetime") - c.day(second, "datetime"), True)


def _last_open_at(c: _Compiler) -> _Val:
    events = c.t.events
    query = select(func.max(events.c.occurred_at)).where(
        events.c.customer_id == c.t.customers.c.id, events.c.type == "message.opened", events.c.occurred_at <= c.now
    )
    return _Val(query.correlate_except(events).scalar_subquery(), True)


def _days_since_last_open(c: _Compiler) -> _Val:
    return _Val(c.today - c.day(_last_open_at(c).expr, "datetime"), True)


def _last_survey_satisfaction(c: _Compiler) -> _Val:
    events = c.t.events
    query = (
        select(c.json(events.c.properties, "satisfaction", "int"))
        .where(
            events.c.customer_id == c.t.customers.c.id,
            events.c.type == "survey.answered",
            events.c.occurred_at <= c.now,
        )
        .order_by(events.c.occurred_at.desc(), events.c.id.desc())
        .limit(1)
    )
    return _Val(query.correlate_except(events).scalar_subquery(), True)


def _subscription_shipments(c: _Compiler) -> _Val:
    subs = c.t.subscriptions
    query = select(func.max(subs.c.shipments)).where(
        subs.c.customer_id == c.t.customers.c.id, subs.c.status == "active"
    )
    return _Val(query.correlate_except(subs).scalar_subquery(), True)


_DERIVED: dict[str, Callable[[_Compiler], _Val]] = {
    "order_count": _order_count,
    "total_spent": _total_spent,
    "avg_order_value": _avg_order_value,
    "first_order_at": _first_order_at,
    "last_order_at": _last_order_at,
    "days_since_last_order": _days_since_last_order,
    "avg_purchase_interval_days": _avg_purchase_interval_days,
    "last_purchase_interval_days": _last_purchase_interval_days,
    "days_since_last_open": _days_since_last_open,
    "last_survey_satisfaction": _last_survey_satisfaction,
    "subscription_shipments": _subscription_shipments,
}


def _describe(node: Normal) -> str:
    tag = node[0]
    if tag == "attr":
        return f"customer.{node[1]}"
    if tag == "event":
        return f"event.{node[1]}"
    if tag == "call":
        return f"{node[1]}()"
    return str(node[1])


__all__ = ["select_customers", "select_enrollments", "to_sql"]
