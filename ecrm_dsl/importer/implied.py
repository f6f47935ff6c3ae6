"""The state events imply: subscription rows from ``subscription.*`` events, consent fields from consent events.

:func:`apply_implied_state` is the one place that turns stored events into state, for every write path (the
CSV importer, the demo shop, an HTTP ingest). It is called in the transaction that stored the events, with
the events as stored, and it is idempotent and order-free: it reads each touched subscription's and
customer's whole event history from the store, so calling it twice, or with an event that is older than one
already stored, changes nothing.

Subscriptions (keyed by the ``subscription_id`` property; an event without one implies nothing):

- ``status``: set by the subscription's latest status event — ``started``, ``resumed`` and ``shipped`` mean
  active, ``paused`` paused, ``cancelled`` cancelled — but only when that latest event is one being applied,
  so an older event never overrides a newer state (nor a newer status imported from a subscriptions file);
- ``next_shipment_date``: the same rule over ``shipped``, ``skipped`` and ``resumed`` events carrying one, and
  ``paused`` or ``cancelled`` (which clear it);
- ``shipments``: at least the highest ``shipment_number`` of its ``shipped`` events (an event without a number
  counts as its place among them); ``skips``: at least the number of its ``skipped`` events. Counts never go
  down and no event is counted twice;
- a subscription the store lacks is created (product and start from its events);
- ``paused`` and ``resumed`` are not built-in events: a project that sends them declares them in its customer
  schema.

Consent: ``customer.unsubscribed`` with a ``channel`` (email, line, sms, push, dm) turns that channel's opt-in
off, without one sets ``unsubscribed``; ``customer.opted_in`` (declared by a project that sends it) turns a
channel's opt-in on, or without a channel clears ``unsubscribed``. Each field follows its latest event, with
the same rule as a subscription's status.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import Connection

from ecrm_dsl.importer.counts import Counts
from ecrm_dsl.importer.json_values import canonical
from ecrm_dsl.store.implied_events import events_of_types
from ecrm_dsl.store.snapshot_rows import Row
from ecrm_dsl.store.tables import StoreTables
from ecrm_dsl.store.upsert import Upserter

STARTED, SHIPPED, SKIPPED = "subscription.started", "subscription.shipped", "subscription.skipped"
PAUSED, RESUMED, CANCELLED = "subscription.paused", "subscription.resumed", "subscription.cancelled"
UNSUBSCRIBED, OPTED_IN = "customer.unsubscribed", "customer.opted_in"

_STATUS = {STARTED: "active", RESUMED: "active", SHIPPED: "active", PAUSED: "paused", CANCELLED: "cancelled"}
_SCHEDULE = (SHIPPED, SKIPPED, RESUMED, PAUSED, CANCELLED)  # events that say when the next shipment is
SUBSCRIPTION_EVENTS = (STARTED, SHIPPED, SKIPPED, PAUSED, RESUMED, CANCELLED)
CONSENT_EVENTS = (UNSUBSCRIBED, OPTED_IN)
IMPLYING_EVENTS = SUBSCRIPTION_EVENTS + CONSENT_EVENTS
CHANNELS = ("email", "line", "sms", "push", "dm")
_BATCH = 500  # customers whose histories are read at once


@dataclass
class ImpliedCounts:
    """What applying the events did to the subscriptions table and to customers' consent fields."""

    subscriptions: Counts = field(default_factory=Counts)
    consent: Counts = field(default_factory=Counts)


def apply_implied_state(conn: Connection, tables: StoreTables, events: Iterable[Mapping[str, Any]]) -> ImpliedCounts:
    """Bring subscription rows and consent fields up to date with ``events``.

    ``events`` are event rows already stored in this transaction (or earlier): mappings with ``customer_id``,
    ``type``, ``occurred_at`` (an aware datetime) and ``properties`` (a dict); other types are ignored.
    """
    counts = ImpliedCounts()
    by_customer: dict[str, set[tuple[str, str, str, str]]] = {}
    for event in events:
        if event["type"] in IMPLYING_EVENTS:
            by_customer.setdefault(event["customer_id"], set()).add(_key(event))
    customers = sorted(by_customer)
    for start in range(0, len(customers), _BATCH):
        batch = {c: by_customer[c] for c in customers[start : start + _BATCH]}
        applied = set().union(*batch.values())
        history = events_of_types(conn, tables, batch, IMPLYING_EVENTS)
        _subscriptions(conn, tables, [e for e in history if e["type"] in SUBSCRIPTION_EVENTS], applied, counts)
        _consent(conn, tables, [e for e in history if e["type"] in CONSENT_EVENTS], applied, counts)
    return counts


def _key(event: Mapping[str, Any]) -> tuple[str, str, str, str]:
    """An event by content: the store keeps no event id, so an applied event is recognised in the history so."""
    moment: datetime = event["occurred_at"]
    moment = moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
    return event["customer_id"], event["type"], moment.isoformat(), canonical(event["properties"] or {})


# --------------------------------------------------------------------------- subscriptions


def _subscriptions(
    conn: Connection, tables: StoreTables, history: Sequence[Row], applied: set[Any], counts: ImpliedCounts
) -> None:
    by_subscription: dict[str, list[Row]] = {}
    for event in history:
        sid = (event["properties"] or {}).get("subscription_id")
        if isinstance(sid, str) and sid:
            by_subscription.setdefault(sid, []).append(event)
    touched = {sid: events for sid, events in by_subscription.items() if any(_key(e) in applied for e in events)}
    if not touched:
        return
    upserter = Upserter(tables.subscriptions, ("id",))
    stored = upserter.existing(conn, [(sid,) for sid in sorted(touched)])
    records = [_subscription(sid, touched[sid], applied, stored.get((sid,))) for sid in sorted(touched)]
    for status in upserter.apply(conn, records):
        counts.subscriptions.add(status)


def _subscription(sid: str, events: list[Row], applied: set[Any], row: Mapping[str, Any] | None) -> dict[str, Any]:
    """The values the subscription's events imply (only those columns)."""
    record: dict[str, Any] = {"id": sid}
    if row is None:  # a new row names every column: the rows of one insert must have the same keys
        record.update(customer_id=events[-1]["customer_id"], status="active", next_shipment_date=None)
        record.update(product=None, started_at=None)
    latest_status = _latest(events, _STATUS)
    if latest_status is not None and (row is None or _key(latest_status) in applied):
        record["status"] = _STATUS[latest_status["type"]]
    latest_schedule = _latest(events, _SCHEDULE, lambda e: e["type"] in (PAUSED, CANCELLED) or _next_date(e))
    if latest_schedule is not None and (row is None or _key(latest_schedule) in applied):
        record["next_shipment_date"] = _next_date(latest_schedule)
    shipped = [e for e in events if e["type"] == SHIPPED]
    numbers = [_shipment_number(e, place) for place, e in enumerate(shipped, start=1)]
    record["shipments"] = max([row["shipments"] if row is not None else 0, *numbers])
    skips = sum(1 for e in events if e["type"] == SKIPPED)
    record["skips"] = max(row["skips"] if row is not None else 0, skips)
    product = next((p for e in events if isinstance(p := (e["properties"] or {}).get("product"), str) and p), None)
    if product is not None and (row is None or row["product"] is None):
        record["product"] = product
    started = next((e["occurred_at"] for e in events if e["type"] == STARTED), None)
    if started is not None and (row is None or row["started_at"] is None):
        record["started_at"] = started
    return record


def _latest(events: Sequence[Row], types: Iterable[str], says: Callable[[Row], object] | None = None) -> Row | None:
    """The last of ``events`` (oldest first) of one of ``types`` (and for which ``says`` is true, when given)."""
    wanted = set(types)
    for event in reversed(events):
        if event["type"] in wanted and (says is None or says(event)):
            return event
    return None


def _next_date(event: Row) -> date | None:
    if event["type"] in (PAUSED, CANCELLED):
        return None
    text = (event["properties"] or {}).get("next_shipment_date")
    if not isinstance(text, str):
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:  # stored by another writer in another spelling: it implies nothing
        return None


def _shipment_number(event: Row, place: int) -> int:
    number = (event["properties"] or {}).get("shipment_number")
    return number if isinstance(number, int) and not isinstance(number, bool) and number > 0 else place


# --------------------------------------------------------------------------- consent


def _consent_field(event: Row) -> tuple[str, bool] | None:
    """The customer column a consent event sets, and its value; None for a channel the store does not know."""
    channel = (event["properties"] or {}).get("channel")
    opted_in = event["type"] == OPTED_IN
    if channel is None or channel == "":
        return "unsubscribed", not opted_in
    if channel in CHANNELS:
        return f"{channel}_opt_in", opted_in
    return None


def _consent(
    conn: Connection, tables: StoreTables, history: Sequence[Row], applied: set[Any], counts: ImpliedCounts
) -> None:
    latest: dict[tuple[str, str], tuple[Row, bool]] = {}  # (customer, column) → its latest event and value
    for event in history:  # oldest first, so the last one written wins
        implied = _consent_field(event)
        if implied is not None:
            latest[(event["customer_id"], implied[0])] = (event, implied[1])
    changes: dict[str, dict[str, Any]] = {}
    for (customer, column), (event, value) in sorted(latest.items()):
        if _key(event) in applied:
            changes.setdefault(customer, {"id": customer})[column] = value
    if not changes:
        return
    for status in Upserter(tables.customers, ("id",)).apply(conn, list(changes.values())):
        counts.consent.add(status)
