"""Conditions in Python: one customer at a time, over a plain snapshot of what the store knows about them.

This is the reference semantics of :mod:`ecrm_dsl.conditions.normal`; :mod:`ecrm_dsl.conditions.sql` must agree
with it (the tests check both on a real database). :func:`load_snapshots` and :func:`load_enrollment_snapshots`
build snapshots from the store tables.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Connection

from ecrm_dsl.conditions import purchase_history
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
from ecrm_dsl.store.snapshot_rows import customer_rows, enrollment_rows
from ecrm_dsl.store.tables import TABLES, StoreTables

# --------------------------------------------------------------------------- snapshots


@dataclass(frozen=True)
class ItemSnapshot:
    sku: str
    category: str | None
    quantity: int
    price: int


@dataclass(frozen=True)
class OrderSnapshot:
    id: str
    ordered_at: datetime
    amount: int
    items: tuple[ItemSnapshot, ...] = ()
    fields: Mapping[str, Any] = field(default_factory=dict)  # paid_at, shipped_at, cart_id, ...


@dataclass(frozen=True)
class EventSnapshot:
    id: int
    type: str
    occurred_at: datetime
    properties: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class SubscriptionSnapshot:
    id: str
    status: str
    shipments: int
    product: str | None = None
    next_shipment_date: date | None = None
    skips: int = 0


@dataclass(frozen=True)
class SentSnapshot:
    """A delivered message (an outbox row with status ``sent``), as ``sends()`` counts it."""

    channel: str
    sent_at: datetime


@dataclass(frozen=True)
class EnrollmentSnapshot:
    id: int
    scenario_id: str
    entered_at: datetime
    entry_event: EventSnapshot | None = None
    entry_order: OrderSnapshot | None = None


@dataclass(frozen=True)
class CustomerSnapshot:
    """A customer as conditions see them; ``fields`` are the stored built-in attributes (``id``, ``email``, …)."""

    id: str
    fields: Mapping[str, Any] = field(default_factory=dict)
    custom: Mapping[str, Any] = field(default_factory=dict)  # custom attributes, as JSON values
    tags: frozenset[str] = frozenset()
    orders: tuple[OrderSnapshot, ...] = ()
    events: tuple[EventSnapshot, ...] = ()
    subscriptions: tuple[SubscriptionSnapshot, ...] = ()
    enrollment: EnrollmentSnapshot | None = None
    sent: tuple[SentSnapshot, ...] = ()


# --------------------------------------------------------------------------- evaluating


_ENTRY_ORDER_LISTS = {"categories": "category", "skus": "sku"}
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def evaluate(
    normal: Normal,
    customer: CustomerSnapshot,
    *,
    now: datetime,
    timezone: str = "Asia/Tokyo",
    segments: Mapping[str, Normal] | None = None,
    types: Types | None = None,
) -> bool:
    """Whether the condition holds for the customer (and their enrollment, for metrics and ``event.*``)."""
    if now.tzinfo is None:
        raise ValueError("'now' must be timezone-aware")
    now = now.astimezone(UTC)
    # As of ``now``: orders and events after it have not happened yet (replays run on a virtual clock).
    known = replace(
        customer,
        orders=tuple(o for o in customer.orders if known_order(o, now, customer.enrollment)),
        events=tuple(e for e in customer.events if e.occurred_at <= now),
    )
    return _Evaluator(known, now, ZoneInfo(timezone), segments or {}, types or Types()).cond(normal)


def known_order(order: OrderSnapshot, now: datetime, enrollment: EnrollmentSnapshot | None) -> bool:
    """Whether the order is known at ``now``: placed at or before it. An enrollment entered by an order sees
    the customer as of that order: at its instant, orders are taken in (ordered_at, id) order, so another order
    placed at the same instant with a greater id (day-precision exports) is not known yet."""
    if order.ordered_at > now:
        return False
    entry = enrollment.entry_order if enrollment is not None else None
    return not (entry is not None and order.ordered_at == now == entry.ordered_at and order.id > entry.id)


class _Evaluator:
    def __init__(
        self,
        customer: CustomerSnapshot,
        now: datetime,
        tz: ZoneInfo,
        segments: Mapping[str, Normal],
        types: Types,
        inlining: tuple[str, ...] = (),
    ):
        self.c = customer
        self.now = now
        self.tz = tz
        self.segments = segments
        self.types = types
        self.inlining = inlining
        self.today = now.astimezone(tz).date().toordinal()

    # ---- conditions
    def cond(self, node: Normal) -> bool:
        tag = node[0]
        if tag == "and":
            return all(self.cond(child) for child in node[1:])
        if tag == "or":
            return any(self.cond(child) for child in node[1:])
        if tag == "not":
            return not self.cond(node[1])
        if tag == "cmp":
            return self.compare(node[1], node[2], node[3])
        if tag == "in":
            return any(self.compare("==", node[1], item) for item in node[2])
        if tag == "not_in":  # a null item makes its "!=" false, and so the whole
            return self.not_null(node[1]) and all(self.compare("!=", node[1], item) for item in node[2])
        if tag == "between":
            return self.compare(">=", node[1], node[2]) and self.compare("<=", node[1], node[3])
        if tag == "not_between":
            inside = self.compare(">=", node[1], node[2]) and self.compare("<=", node[1], node[3])
            return all(self.not_null(n) for n in node[1:]) and not inside
        if tag == "is_null":
            return not self.not_null(node[1])
        if tag == "is_not_null":
            return self.not_null(node[1])
        if tag == "call":
            return self.bool_call(node)
        raise ConditionError(f"not a condition: {node!r}")

    def compare(self, op: str, left: Normal, right: Normal) -> bool:
        if is_null_literal(left) or is_null_literal(right):
            return False
        left_type, right_type = resolve_types(self.types.of(left), self.types.of(right))
        kind = comparison_kind(left_type, right_type)
        a, b = self.operand(left, left_type, kind), self.operand(right, right_type, kind)
        if a is None or b is None:
            return False
        return COMPARE[op](a, b)

    def not_null(self, node: Normal) -> bool:
        if node[0] == "lit":
            return node[2] is not None
        return self.raw(node, self.types.of(node) or "string") is not None

    # ---- values
    def operand(self, node: Normal, type_: str | None, kind: str) -> Any:
        if node[0] == "lit":
            return literal_key(node[1], node[2], kind)
        if node[0] == "arith":  # a number; a datetime as epoch seconds
            number = self.arith(node)
            return self.epoch_day(number) if kind == "day" else number
        found = self.raw(node, type_)
        if found is None:
            return None
        if kind == "day":
            return self.day(found)
        if kind == "instant":
            return (found - _EPOCH) // timedelta(seconds=1)
        return found

    def epoch_day(self, seconds: float | None) -> int | None:
        """The shop-local day of an instant given as epoch seconds (a datetime computed by arithmetic); None
        beyond the calendar (years 1 to 9999), where SQLite's julianday() is null too."""
        if seconds is None:
            return None
        try:
            return datetime.fromtimestamp(seconds, UTC).astimezone(self.tz).date().toordinal()
        except (OverflowError, ValueError, OSError):
            return None

    # ---- arithmetic
    def arith(self, node: Normal) -> Any:
        """``left op right`` on plain numbers (see normal.py); None when an operand is null or a divisor zero."""
        left, right = self.number(node[2]), self.number(node[3])
        if left is None or right is None:
            return None
        op = node[1]
        if op == "/":
            return None if right == 0 else float(left) / float(right)
        return left + right if op == "+" else left - right if op == "-" else left * right

    def number(self, node: Normal) -> Any:
        if node[0] == "lit":
            return float(node[2]) if node[1] == "decimal" and node[2] is not None else node[2]
        if node[0] == "arith":
            return self.arith(node)
        type_ = self.types.of(node)
        found = self.raw(node, type_)
        if found is None:
            return None
        if type_ == "datetime":  # to the second, as instants compare
            return (found - _EPOCH) // timedelta(seconds=1)
        return float(found) if type_ == "decimal" else found

    def day(self, moment: date) -> int:
        if isinstance(moment, datetime):
            return moment.astimezone(self.tz).date().toordinal()
        return moment.toordinal()

    def raw(self, node: Normal, type_: str | None) -> Any:
        tag = node[0]
        if type_ == "list":
            raise ConditionError(f"{node!r} is a list; search it with contains()")
        if tag == "attr":
            return self.attribute(node[1], type_)
        if tag == "metric":
            return self.metric(node[1])
        if tag == "event":
            event = self.enrollment(node).entry_event
            return from_json(event.properties.get(node[1]) if event else None, type_)
        if tag == "call":
            return self.call_value(node)
        if tag == "lit":
            return node[2]
        if tag == "arith":
            return self.arith(node)
        raise ConditionError(f"not a value: {node!r}")

    def attribute(self, name: str, type_: str | None) -> Any:
        derived = _DERIVED.get(name)
        if derived is not None:
            return derived(self)
        if name in self.c.fields:
            return self.c.fields[name]
        return from_json(self.c.custom.get(name), type_)

    def enrollment(self, node: Normal) -> EnrollmentSnapshot:
        if self.c.enrollment is None:
            raise ConditionError(f"{node!r} needs an enrollment")
        return self.c.enrollment

    def metric(self, name: str) -> int:
        entry = self.enrollment(["metric", name])
        if name == "days_since_entry":
            return self.today - self.day(entry.entered_at)
        if name == "orders_since_entry":
            entry_order = entry.entry_order.id if entry.entry_order else None
            return sum(1 for o in self.c.orders if o.ordered_at >= entry.entered_at and o.id != entry_order)
        raise ConditionError(f"unknown metric {name}")

    def in_window(self, event: EventSnapshot, seconds: int) -> bool:
        return self.now - timedelta(seconds=seconds) <= event.occurred_at <= self.now

    def call_value(self, node: Normal) -> Any:
        name = node[1]
        if name == "count":
            seconds = duration_arg(node[3], name)
            return sum(1 for e in self.c.events if e.type == node[2][1] and self.in_window(e, seconds))
        if name == "days_since":
            arg = node[2]
            type_ = self.types.of(arg)
            if type_ not in ("date", "datetime"):
                raise ConditionError("days_since() takes a date or a datetime")
            if arg[0] == "arith":
                day = self.epoch_day(self.arith(arg))
                return None if day is None else self.today - day
            found = date.fromisoformat(arg[2]) if arg[0] == "lit" and arg[2] is not None else self.raw(arg, type_)
            return None if found is None else self.today - self.day(found)
        if name in COUNTED_MESSAGE_EVENTS:
            seconds, channel = duration_arg(node[3], name), node[2][1]
            return sum(
                1
                for e in self.c.events
                if e.type == COUNTED_MESSAGE_EVENTS[name]
                and self.in_window(e, seconds)
                and from_json(e.properties.get("channel"), "string") == channel
            )
        if name == "sends":
            seconds, channel = duration_arg(node[3], name), node[2][1]
            since = self.now - timedelta(seconds=seconds)
            return sum(1 for m in self.c.sent if m.channel == channel and since <= m.sent_at <= self.now)
        if name in purchase_history.FUNCTIONS:
            return purchase_history.purchase_value(node, self.c.orders, self.now, self.tz)
        return self.bool_call(node)

    # ---- boolean functions
    def bool_call(self, node: Normal) -> bool:
        name = node[1]
        if name == "has_tag":
            return self.contains(["attr", "tags"], node[2])
        if name == "contains":
            return self.contains(node[2], node[3])
        if name == "bought":
            return bool(purchase_history.purchase_value(node, self.c.orders, self.now, self.tz))
        if name in MESSAGE_EVENTS:
            seconds, channel = duration_arg(node[3], name), node[2][1]
            return any(
                e.type == MESSAGE_EVENTS[name]
                and self.in_window(e, seconds)
                and from_json(e.properties.get("channel"), "string") == channel
                for e in self.c.events
            )
        if name == "in_segment":
            segment = node[2][1]
            if segment not in self.segments:
                raise ConditionError(f"unknown segment '{segment}'")
            if segment in self.inlining:
                raise ConditionError(f"segment '{segment}' refers to itself through in_segment()")
            inner = _Evaluator(self.c, self.now, self.tz, self.segments, self.types, (*self.inlining, segment))
            return inner.cond(self.segments[segment])
        raise ConditionError(f"{name}() is not a condition")

    def contains(self, collection: Normal, item: Normal) -> bool:
        if is_null_literal(item):
            return False
        needle = self.operand(item, "string", "string")
        return needle is not None and needle in self.list_items(collection)

    def list_items(self, collection: Normal) -> list[Any]:
        tag, name = collection[0], collection[1]
        if tag == "attr" and name == "tags":
            return list(self.c.tags)
        if tag == "attr" and name in purchase_history.FIRST_ORDER_LISTS:
            return purchase_history.first_order_list(name, self.c.orders)
        if tag == "attr" and self.types.attribute(name) in ("list", None):
            return json_list(self.c.custom.get(name))
        if tag == "event" and self.types.event_property(name) in ("list", None):
            entry = self.enrollment(collection)
            if name in _ENTRY_ORDER_LISTS and entry.entry_order is not None:
                return [getattr(i, _ENTRY_ORDER_LISTS[name]) for i in entry.entry_order.items]
            return json_list(entry.entry_event.properties.get(name)) if entry.entry_event else []
        raise ConditionError(f"contains() needs a list, not {collection!r}")


def json_list(raw: Any) -> list[Any]:
    # Only strings can match a string needle; numbers and bools in the array never equal one.
    return [v for v in raw if isinstance(v, str)] if isinstance(raw, list) else []


def from_json(raw: Any, type_: str | None) -> Any:
    """A JSON value read as ``type_``; None when missing or not of that type."""
    if raw is None:
        return None
    try:
        if type_ in ("int", "money"):
            return int(raw)
        if type_ == "decimal":
            return float(raw)
        if type_ == "bool":
            return bool(raw)
        if type_ == "date":
            return date.fromisoformat(raw)
        if type_ == "datetime":
            moment = datetime.fromisoformat(raw)
            return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment
    except (TypeError, ValueError):
        return None
    return raw if isinstance(raw, str) else None


# --------------------------------------------------------------------------- derived attributes


def _last_order_at(e: _Evaluator) -> datetime | None:
    return max((o.ordered_at for o in e.c.orders), default=None)


def _avg_order_value(e: _Evaluator) -> int | None:
    orders = e.c.orders
    return sum(o.amount for o in orders) // len(orders) if orders else None


def _days_since_last_order(e: _Evaluator) -> int | None:
    last = _last_order_at(e)
    return None if last is None else e.today - e.day(last)


def _avg_purchase_interval_days(e: _Evaluator) -> int | None:
    orders = e.c.orders
    if len(orders) < 2:
        return None
    days = [e.day(o.ordered_at) for o in orders]
    return (max(days) - min(days)) // (len(orders) - 1)


def _last_purchase_interval_days(e: _Evaluator) -> int | None:
    latest = sorted((o.ordered_at for o in e.c.orders), reverse=True)[:2]
    return e.day(latest[0]) - e.day(latest[1]) if len(latest) == 2 else None


def _days_since_last_open(e: _Evaluator) -> int | None:
    last = max((ev.occurred_at for ev in e.c.events if ev.type == "message.opened"), default=None)
    return None if last is None else e.today - e.day(last)


def _last_survey_satisfaction(e: _Evaluator) -> int | None:
    surveys = [ev for ev in e.c.events if ev.type == "survey.answered"]
    if not surveys:
        return None
    last = max(surveys, key=lambda ev: (ev.occurred_at, ev.id))
    return from_json(last.properties.get("satisfaction"), "int")


def _subscription_shipments(e: _Evaluator) -> int | None:
    return max((s.shipments for s in e.c.subscriptions if s.status == "active"), default=None)


_DERIVED: dict[str, Callable[[_Evaluator], Any]] = {
    "order_count": lambda e: len(e.c.orders),
    "total_spent": lambda e: sum(o.amount for o in e.c.orders),
    "avg_order_value": _avg_order_value,
    "first_order_at": lambda e: min((o.ordered_at for o in e.c.orders), default=None),
    "last_order_at": _last_order_at,
    "days_since_last_order": _days_since_last_order,
    "avg_purchase_interval_days": _avg_purchase_interval_days,
    "last_purchase_interval_days": _last_purchase_interval_days,
    "days_since_last_open": _days_since_last_open,
    "last_survey_satisfaction": _last_survey_satisfaction,
    "subscription_shipments": _subscription_shipments,
}


# --------------------------------------------------------------------------- loading from the store


def load_snapshots(
    conn: Connection, tables: StoreTables = TABLES, customer_ids: Iterable[str] | None = None
) -> dict[str, CustomerSnapshot]:
    """Snapshots of customers (all, or ``customer_ids``) read from the store, by id."""
    wanted = sorted(set(customer_ids)) if customer_ids is not None else None
    stored = customer_rows(conn, tables, wanted)

    items: dict[str, list[ItemSnapshot]] = defaultdict(list)
    for row in stored.order_items:
        items[row["order_id"]].append(ItemSnapshot(row["sku"], row["category"], row["quantity"], row["price"]))
    orders: dict[str, list[OrderSnapshot]] = defaultdict(list)
    for row in stored.orders:
        orders[row["customer_id"]].append(_order(row, items))
    tags: dict[str, set[str]] = defaultdict(set)
    for row in stored.customer_tags:
        tags[row["customer_id"]].add(row["tag"])
    events: dict[str, list[EventSnapshot]] = defaultdict(list)
    for row in stored.events:
        events[row["customer_id"]].append(_event(row))
    subscriptions: dict[str, list[SubscriptionSnapshot]] = defaultdict(list)
    for row in stored.subscriptions:
        subscriptions[row["customer_id"]].append(
            SubscriptionSnapshot(
                row["id"], row["status"], row["shipments"], row["product"], row["next_shipment_date"], row["skips"]
            )
        )

    sent: dict[str, list[SentSnapshot]] = defaultdict(list)
    for row in stored.sent:
        sent[row["customer_id"]].append(SentSnapshot(row["channel"], row["sent_at"]))

    snapshots = {}
    for row in stored.customers:
        cid = row["id"]
        fields = {k: v for k, v in row.items() if k != "attributes"}
        snapshots[cid] = CustomerSnapshot(
            cid,
            fields,
            dict(row["attributes"] or {}),
            frozenset(tags[cid]),
            tuple(orders[cid]),
            tuple(events[cid]),
            tuple(subscriptions[cid]),
            sent=tuple(sent[cid]),
        )
    return snapshots


def load_enrollment_snapshots(conn: Connection, tables: StoreTables = TABLES) -> dict[int, CustomerSnapshot]:
    """For every enrollment, its customer's snapshot with the enrollment attached, by enrollment id."""
    customers = load_snapshots(conn, tables)
    out = {}
    for row in enrollment_rows(conn, tables):
        customer = customers[row["customer_id"]]
        event = next((e for e in customer.events if e.id == row["entry_event_id"]), None)
        order = next((o for o in customer.orders if o.id == row["entry_order_id"]), None)
        entry = EnrollmentSnapshot(row["id"], row["scenario_id"], row["entered_at"], event, order)
        out[row["id"]] = replace(customer, enrollment=entry)
    return out


def _order(row: Mapping[str, Any], items: Mapping[str, list[ItemSnapshot]]) -> OrderSnapshot:
    rest = {k: v for k, v in row.items() if k not in ("id", "customer_id", "ordered_at", "amount")}
    return OrderSnapshot(row["id"], row["ordered_at"], row["amount"], tuple(items.get(row["id"], ())), rest)


def _event(row: Mapping[str, Any]) -> EventSnapshot:
    return EventSnapshot(row["id"], row["type"], row["occurred_at"], dict(row["properties"] or {}))


# --------------------------------------------------------------------------- values, for explanations


def value_of(
    node: Normal,
    customer: CustomerSnapshot,
    *,
    now: datetime,
    timezone: str = "Asia/Tokyo",
    types: Types | None = None,
) -> Any:
    """The value a condition reads for a value node (an attribute, metric, event property or function call) as
    of ``now``, as :func:`evaluate` sees it: a list for list-typed names, None when missing. ``ecrm explain``
    shows it next to a part of a condition that was false."""
    now = now.astimezone(UTC)
    known = replace(
        customer,
        orders=tuple(o for o in customer.orders if o.ordered_at <= now),
        events=tuple(e for e in customer.events if e.occurred_at <= now),
    )
    types = types or Types()
    evaluator = _Evaluator(known, now, ZoneInfo(timezone), {}, types)
    if types.of(node) == "list":
        return evaluator.list_items(node)
    return evaluator.raw(node, types.of(node))
