"""The store queries behind ``ecrm report``: customer behaviour (orders, subscriptions) and the recorded outcomes
of scenarios (enrollments, decisions, message events), each bounded by the report's window."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Connection,
    Interval,
    Select,
    and_,
    case,
    exists,
    func,
    literal,
    or_,
    select,
    union_all,
)

from ecrm_dsl.store.tables import TABLES

ORD, S, N, D, E = TABLES.orders, TABLES.subscriptions, TABLES.enrollments, TABLES.decisions, TABLES.events
OUT, C = TABLES.outbox, TABLES.customers


def delivered_or_pending(decision: Any) -> ColumnElement[bool]:
    """A send decision whose message did not finally fail to deliver: a failed one was never sent."""
    failed = select(OUT.c.id).where(
        OUT.c.enrollment_id == decision.c.enrollment_id,
        OUT.c.node_id == decision.c.node_id,
        OUT.c.status == "failed",
    )
    return ~failed.exists()


@dataclass(frozen=True)
class Window:
    start: datetime | None  # None: from the beginning of the store
    end: datetime

    def holds(self, column: ColumnElement[Any]) -> list[ColumnElement[bool]]:
        return ([column >= self.start] if self.start else []) + [column <= self.end]


def first_and_second_orders(conn: Connection, window: Window) -> Iterator[tuple[datetime, datetime | None]]:
    """For each customer whose first order falls in the window: its time, and the time of the next later order."""
    firsts = (
        select(ORD.c.customer_id, func.min(ORD.c.ordered_at).label("first"))
        .where(ORD.c.ordered_at <= window.end)
        .group_by(ORD.c.customer_id)
        .subquery()
    )
    later = ORD.alias("later")
    second = (
        select(func.min(later.c.ordered_at))
        .where(later.c.customer_id == firsts.c.customer_id, later.c.ordered_at > firsts.c.first)
        .scalar_subquery()
    )
    for first, following in conn.execute(select(firsts.c.first, second).where(*window.holds(firsts.c.first))):
        yield instant(first), instant(following) if following is not None else None


def buyers_and_repeaters(conn: Connection, window: Window) -> tuple[int, int]:
    """Customers with an order in the window, and how many of them have two or more orders by its end."""
    in_window = func.sum(case((ORD.c.ordered_at >= window.start, 1), else_=0)) if window.start else func.count()
    per_customer = (
        select(ORD.c.customer_id, func.count().label("orders"), in_window.label("in_window"))
        .where(ORD.c.ordered_at <= window.end)
        .group_by(ORD.c.customer_id)
        .subquery()
    )
    query = select(func.count(), func.sum(case((per_customer.c.orders >= 2, 1), else_=0))).where(
        per_customer.c.in_window > 0
    )
    buyers, repeaters = conn.execute(query).one()
    return int(buyers or 0), int(repeaters or 0)


def dormant_and_returned(conn: Connection, start: datetime, dormant_since: datetime, end: datetime) -> tuple[int, int]:
    """Customers whose last order before ``start`` was at or before ``dormant_since``, and how many of them ordered
    again between ``start`` and ``end``."""
    before = (
        select(ORD.c.customer_id, func.max(ORD.c.ordered_at).label("last"))
        .where(ORD.c.ordered_at < start)
        .group_by(ORD.c.customer_id)
        .subquery()
    )
    again = ORD.alias("again")
    came_back = (
        select(again.c.customer_id)
        .where(again.c.customer_id == before.c.customer_id, again.c.ordered_at >= start, again.c.ordered_at <= end)
        .exists()
    )
    query = select(func.count(), func.sum(case((came_back, 1), else_=0))).where(before.c.last <= dormant_since)
    dormant, returned = conn.execute(query).one()
    return int(dormant or 0), int(returned or 0)


def shipments_reached(conn: Connection, window: Window) -> dict[int, int]:
    """Subscriptions started in the window, by how many shipments they received (current counts)."""
    query = (
        select(S.c.shipments, func.count())
        .where(*window.holds(func.coalesce(S.c.started_at, window.end)))
        .group_by(S.c.shipments)
    )
    return {int(shipments): int(n) for shipments, n in conn.execute(query)}


# ------------------------------------------------------------------ scenario outcomes


def enrollment_groups(
    conn: Connection, window: Window, extra: ColumnElement[Any] | None = None
) -> list[tuple[Any, ...]]:
    """Enrollments entered in the window, counted by (scenario, holdout, converted[, extra])."""
    converted = case((N.c.status == "converted", True), else_=False)
    holdout = case((N.c.holdout, True), else_=False)
    columns = [N.c.scenario_id, holdout.label("holdout"), converted.label("converted")]
    if extra is not None:
        columns.append(extra.label("extra"))
    query = select(*columns, func.count()).where(*window.holds(N.c.entered_at)).group_by(*columns).order_by(*columns)
    return [tuple(row) for row in conn.execute(query)]


def orders_before_entry() -> ColumnElement[int]:
    """The customer's orders before the enrollment entered: their phase (F0, F1, F2, F3+) at entry."""
    return (
        select(func.count())
        .where(ORD.c.customer_id == N.c.customer_id, ORD.c.ordered_at < N.c.entered_at)
        .scalar_subquery()
    )


def in_audience(audience: Select[Any]) -> ColumnElement[bool]:
    """Whether the enrollment's customer is among the customers ``audience`` selects."""
    return N.c.customer_id.in_(audience.order_by(None))


def variant_groups(conn: Connection, window: Window) -> list[tuple[str, str, str, bool, bool, int]]:
    """Per scenario, split step and variant: enrollments by holdout and converted."""
    variant = D.c.detail["variant"].as_string()
    converted = case((N.c.status == "converted", True), else_=False)
    columns = [D.c.scenario_id, D.c.node_id, variant, N.c.holdout, converted]
    query = (
        select(*columns, func.count(func.distinct(N.c.id)))
        .select_from(D.join(N, N.c.id == D.c.enrollment_id))
        .where(D.c.kind == "assigned", *window.holds(N.c.entered_at))
        .group_by(*columns)
        .order_by(*columns)
    )
    return [(r[0], r[1], r[2], bool(r[3]), bool(r[4]), int(r[5])) for r in conn.execute(query)]


def sends_by_step(conn: Connection, window: Window) -> dict[tuple[str, str], int]:
    query = (
        select(D.c.scenario_id, D.c.node_id, func.count())
        .where(D.c.kind == "sent", delivered_or_pending(D), *window.holds(D.c.at))
        .group_by(D.c.scenario_id, D.c.node_id)
    )
    return {(s, node): int(n) for s, node, n in conn.execute(query)}


def message_events_by_step(conn: Connection, window: Window, event_type: str) -> dict[tuple[str, str], int]:
    """Customers with a ``message.opened``/``message.clicked`` event per scenario and step (its properties)."""
    scenario, step = E.c.properties["scenario"].as_string(), E.c.properties["step"].as_string()
    query = (
        select(scenario, step, func.count(func.distinct(E.c.customer_id)))
        .where(E.c.type == event_type, *window.holds(E.c.occurred_at))
        .group_by(scenario, step)
    )
    return {(s, node): int(n) for s, node, n in conn.execute(query) if s and node}


def reach_by_scenario(conn: Connection, window: Window) -> dict[str, dict[str, int]]:
    """Per scenario: enrollments sent at least one message ("sent"), and customers who opened or clicked one."""
    reach: dict[str, dict[str, int]] = {}
    sent = (
        select(D.c.scenario_id, func.count(func.distinct(D.c.enrollment_id)))
        .where(D.c.kind == "sent", delivered_or_pending(D), *window.holds(D.c.at))
        .group_by(D.c.scenario_id)
    )
    for sid, n in conn.execute(sent):
        reach.setdefault(sid, {})["sent"] = int(n)
    scenario = E.c.properties["scenario"].as_string()
    events = (
        select(scenario, E.c.type, func.count(func.distinct(E.c.customer_id)))
        .where(E.c.type.in_(["message.opened", "message.clicked"]), *window.holds(E.c.occurred_at))
        .group_by(scenario, E.c.type)
    )
    for sid, kind, n in conn.execute(events):
        if sid:
            reach.setdefault(sid, {})[kind] = int(n)
    return reach


def last_touch_conversions(conn: Connection, window: Window) -> dict[tuple[str, str], int]:
    """Conversions credited to the last step that sent the enrollment a message before it converted."""
    sent = D.alias("sent")
    last_send = (
        select(sent.c.node_id)
        .where(
            sent.c.enrollment_id == D.c.enrollment_id,
            sent.c.kind == "sent",
            sent.c.at <= D.c.at,
            delivered_or_pending(sent),
        )
        .order_by(sent.c.at.desc(), sent.c.id.desc())
        .limit(1)
        .scalar_subquery()
    )
    query = (
        select(D.c.scenario_id, last_send, func.count())
        .where(D.c.kind == "converted", *window.holds(D.c.at))
        .group_by(D.c.scenario_id, last_send)
    )
    return {(s, node): int(n) for s, node, n in conn.execute(query) if node is not None}


def outbox_by_status(conn: Connection, window: Window) -> dict[tuple[str, str], dict[str, int]]:
    """Messages decided in the window per scenario and step, by delivery status (pending, sending, sent, failed)."""
    query = (
        select(OUT.c.scenario_id, OUT.c.node_id, OUT.c.status, func.count())
        .where(*window.holds(OUT.c.created_at))
        .group_by(OUT.c.scenario_id, OUT.c.node_id, OUT.c.status)
    )
    found: dict[tuple[str, str], dict[str, int]] = {}
    for sid, node, status, n in conn.execute(query):
        found.setdefault((sid, node), {})[status] = int(n)
    return found


def skips_by_cause(conn: Connection, window: Window) -> dict[tuple[str, str], int]:
    """Skipped sends (and other skipped steps) per scenario and cause: holdout, no_channel, condition, ..."""
    cause = D.c.detail["cause"].as_string()
    query = (
        select(D.c.scenario_id, cause, func.count())
        .where(D.c.kind == "skipped", *window.holds(D.c.at))
        .group_by(D.c.scenario_id, cause)
    )
    found: dict[tuple[str, str], int] = {}
    for sid, reason, n in conn.execute(query):
        key = (sid, reason or "other")  # a skip recorded without a cause
        found[key] = found.get(key, 0) + int(n)
    return found


def unsubscribes_after_messages(conn: Connection, window: Window, seconds: int) -> dict[str, tuple[int, int]]:
    """Per scenario: customers it sent a message in the window (not a failed one), and how many of them have a
    ``customer.unsubscribed`` event within ``seconds`` after one of those messages."""
    unsubscribed = exists().where(
        E.c.customer_id == OUT.c.customer_id,
        E.c.type == "customer.unsubscribed",
        E.c.occurred_at >= OUT.c.created_at,
        E.c.occurred_at <= shifted(conn, OUT.c.created_at, seconds),
    )
    query = (
        select(
            OUT.c.scenario_id,
            func.count(func.distinct(OUT.c.customer_id)),
            func.count(func.distinct(case((unsubscribed, OUT.c.customer_id)))),
        )
        .where(OUT.c.status != "failed", *window.holds(OUT.c.created_at))
        .group_by(OUT.c.scenario_id)
    )
    return {sid: (int(reached), int(gone)) for sid, reached, gone in conn.execute(query)}


def tracked_channels(conn: Connection, event_type: str) -> set[str | None]:
    """The channels the store holds any ``message.opened`` (``clicked``) event for, whenever it happened; None in
    the set when some event names no channel. A channel without one is not tracked (a package insert is never
    "opened"), which is not the same as nobody opening."""
    channel = E.c.properties["channel"].as_string()
    return set(conn.execute(select(channel).where(E.c.type == event_type).distinct()).scalars())


def enrollee_orders(conn: Connection, window: Window, scenario_id: str, seconds: int) -> list[tuple[bool, int, int]]:
    """Per enrollment of the scenario that entered in the window and whose ``seconds`` after entry have passed
    by the window's end: (holdout, revenue, orders) of the customer's orders after entry within those seconds,
    not counting the order the enrollment entered on."""
    later = ORD.alias("later")
    after_entry = and_(
        later.c.customer_id == N.c.customer_id,
        later.c.ordered_at > N.c.entered_at,
        later.c.ordered_at <= shifted(conn, N.c.entered_at, seconds),
        or_(N.c.entry_order_id.is_(None), later.c.id != N.c.entry_order_id),
    )
    query = (
        select(N.c.id, N.c.holdout, func.coalesce(func.sum(later.c.amount), 0), func.count(later.c.id))
        .select_from(N.outerjoin(later, after_entry))
        .where(
            N.c.scenario_id == scenario_id,
            *window.holds(N.c.entered_at),
            N.c.entered_at <= window.end - timedelta(seconds=seconds),
        )
        .group_by(N.c.id, N.c.holdout)
        .order_by(N.c.id)
    )
    return [(bool(holdout), int(revenue), int(orders)) for _, holdout, revenue, orders in conn.execute(query)]


def shifted(conn: Connection, instant_column: ColumnElement[Any], seconds: int) -> ColumnElement[Any]:
    """An instant column plus ``seconds``, comparable with other instant columns: SQLite keeps instants as UTC
    text with six decimals (the same text is built here), PostgreSQL as timestamptz."""
    if conn.dialect.name == "sqlite":
        return func.strftime("%Y-%m-%d %H:%M:%f000", instant_column, f"+{int(seconds)} seconds")
    return instant_column + literal(timedelta(seconds=seconds), Interval())


# ------------------------------------------------------------------ money


def _order_history(window: Window, among: Select[Any] | None = None) -> Any:
    """Every order up to the window's end with its customer's history up to then: the order's rank among theirs
    (ties at one instant broken by id: rank 1 is the first order, the others are repeats), their order count and
    their latest order. Window functions: one sort of the orders, not a lookup per order. ``among``: only the
    orders of these customers (every customer's history is whole, so nothing else changes)."""
    customer = ORD.c.customer_id
    members = [customer.in_(among.order_by(None))] if among is not None else []
    return (
        select(
            customer,
            ORD.c.ordered_at,
            ORD.c.amount,
            func.row_number().over(partition_by=customer, order_by=(ORD.c.ordered_at, ORD.c.id)).label("nth"),
            func.count().over(partition_by=customer).label("orders"),
            func.max(ORD.c.ordered_at).over(partition_by=customer).label("last"),
        )
        .where(ORD.c.ordered_at <= window.end, *members)
        .subquery("history")
    )


def revenue_breakdown(
    conn: Connection, window: Window, phase_bounds: tuple[datetime, datetime, int]
) -> list[tuple[str, str | None, int, int, int, int]]:
    """Orders placed in the window as (dimension, group, orders, revenue, repeat revenue, buyers): shop-wide
    (``all``), by the customer's phase at the window's end (``phase``) and by their entry channel
    (``entry_channel``, ``customers.entry_channel``). One statement: the per-customer sums are computed once (a
    materialised CTE) and every breakdown reads them.

    ``phase_bounds`` are (new since, dormant since, loyal orders): dormant when the last order up to the end is at
    or before ``dormant since``; else new with one order after ``new since``, f2_pending with one older order,
    repeat below ``loyal orders`` orders, loyal from there."""
    new_since, dormant_since, loyal_orders = phase_bounds
    history = _order_history(window)
    orders_by_end, last = func.max(history.c.orders), func.max(history.c.last)
    customers = (
        select(
            history.c.customer_id,
            func.count().label("orders"),
            func.sum(history.c.amount).label("revenue"),
            func.sum(case((history.c.nth > 1, history.c.amount), else_=0)).label("repeat_revenue"),
            case(
                (last <= dormant_since, "dormant"),
                (and_(orders_by_end == 1, last > new_since), "new"),
                (orders_by_end == 1, "f2_pending"),
                (orders_by_end < loyal_orders, "repeat"),
                else_="loyal",
            ).label("phase"),
            select(C.c.entry_channel).where(C.c.id == history.c.customer_id).scalar_subquery().label("channel"),
        )
        .where(*window.holds(history.c.ordered_at))
        .group_by(history.c.customer_id)
        .cte("per_customer")
        .prefix_with("MATERIALIZED")
    )
    sums = (
        func.coalesce(func.sum(customers.c.orders), 0),
        func.coalesce(func.sum(customers.c.revenue), 0),
        func.coalesce(func.sum(customers.c.repeat_revenue), 0),
        func.count(),
    )
    parts: list[Select[Any]] = [
        select(literal("all"), literal("all"), *sums),
        select(literal("phase"), customers.c.phase, *sums).group_by(customers.c.phase),
        select(literal("entry_channel"), customers.c.channel, *sums).group_by(customers.c.channel),
    ]
    rows = conn.execute(union_all(*parts)).all()
    return [(d, g, int(n), int(revenue), int(repeat), int(buyers)) for d, g, n, revenue, repeat, buyers in rows]


def audience_revenue(conn: Connection, window: Window, audience: Select[Any]) -> tuple[int, int, int, int]:
    """The orders, revenue, repeat revenue and buyers in the window of the customers ``audience`` selects. A
    statement per audience: segment queries bind values under fixed names, which two audiences would share."""
    history = _order_history(window, among=audience)
    query = select(
        func.count(),
        func.coalesce(func.sum(history.c.amount), 0),
        func.coalesce(func.sum(case((history.c.nth > 1, history.c.amount), else_=0)), 0),
        func.count(func.distinct(history.c.customer_id)),
    ).where(*window.holds(history.c.ordered_at))
    n, revenue, repeat, buyers = conn.execute(query).one()
    return int(n), int(revenue), int(repeat), int(buyers)


def first_order_bounds(conn: Connection, window: Window) -> datetime | None:
    """The earliest first order in the window (where the cohort table starts)."""
    firsts = _first_orders(window)
    earliest = conn.execute(select(func.min(firsts.c.first)).where(*window.holds(firsts.c.first))).scalar()
    return instant(earliest) if earliest is not None else None


def _first_orders(window: Window) -> Any:
    return (
        select(ORD.c.customer_id, func.min(ORD.c.ordered_at).label("first"))
        .where(ORD.c.ordered_at <= window.end)
        .group_by(ORD.c.customer_id)
        .subquery()
    )


def cohort_revenue(
    conn: Connection, window: Window, month_starts: Sequence[datetime]
) -> tuple[dict[int, int], dict[tuple[int, int], int]]:
    """Customers whose first order is in the window, by the month it fell in (an index into ``month_starts``,
    the UTC instants where shop-local months begin), and their revenue up to the window's end by (first-order
    month, order month)."""
    firsts = _first_orders(window)

    def month_of(column: Any) -> ColumnElement[int]:
        if len(month_starts) < 2:
            return literal(0)
        return case(*((column < start, i) for i, start in enumerate(month_starts[1:])), else_=len(month_starts) - 1)

    cohort = select(month_of(firsts.c.first).label("cohort")).where(*window.holds(firsts.c.first)).subquery()
    sizes = select(cohort.c.cohort, func.count()).group_by(cohort.c.cohort)
    orders = (
        select(month_of(firsts.c.first).label("cohort"), month_of(ORD.c.ordered_at).label("month"), ORD.c.amount)
        .select_from(ORD.join(firsts, firsts.c.customer_id == ORD.c.customer_id))
        .where(ORD.c.ordered_at <= window.end, *window.holds(firsts.c.first))
        .subquery()
    )
    revenue = select(orders.c.cohort, orders.c.month, func.sum(orders.c.amount)).group_by(
        orders.c.cohort, orders.c.month
    )
    return (
        {int(c): int(n) for c, n in conn.execute(sizes)},
        {(int(c), int(m)): int(total) for c, m, total in conn.execute(revenue)},
    )


def sends_with_time(conn: Connection, window: Window) -> Iterator[tuple[datetime, str]]:
    """Every sent message's time and channel, streamed (one row per message)."""
    query = select(D.c.at, D.c.detail["channel"].as_string()).where(
        D.c.kind == "sent", delivered_or_pending(D), *window.holds(D.c.at)
    )
    for at, channel in conn.execution_options(yield_per=5_000).execute(query):
        yield instant(at), channel or "unknown"


def latest_activity(conn: Connection) -> datetime | None:
    """The latest order, event or decision: where a report without an end stops."""
    moments = [
        conn.execute(select(func.max(ORD.c.ordered_at))).scalar(),
        conn.execute(select(func.max(E.c.occurred_at))).scalar(),
        conn.execute(select(func.max(D.c.at))).scalar(),
    ]
    known = [instant(m) for m in moments if m is not None]
    return max(known) if known else None


def instant(value: Any) -> datetime:
    """An aggregate's or subquery's time read back as an aware UTC datetime, whatever the dialect returned."""
    moment = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
