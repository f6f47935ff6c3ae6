"""Customer data the runtime needs at decision and delivery time: contact points, consent, anchors, updates."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import date, datetime
from typing import Any

from sqlalchemy import ColumnElement, Connection, Executable, bindparam, delete, insert, or_, select, update

from ecrm_dsl.store.bulk import one_of_param, one_of_value
from ecrm_dsl.store.enrollments import Enrollment
from ecrm_dsl.store.prepared import per_dialect, run
from ecrm_dsl.store.tables import TABLES, UTCDateTime

C, ORD, EV = TABLES.customers, TABLES.orders, TABLES.events
CONTACT_COLUMNS = ("name", "email", "phone", "line_user_id", "push_token", "postal_address")
CONSENT_COLUMNS = ("email_opt_in", "line_opt_in", "sms_opt_in", "push_opt_in", "dm_opt_in", "unsubscribed")


def known_at(now: datetime) -> ColumnElement[bool]:
    """Customers the shop knew at ``now``: signed up by then, or with no sign-up time at all (an imported list).
    Audiences are judged as of ``now``; a replay of history must not reach customers from its future."""
    return or_(C.c.signed_up_at.is_(None), C.c.signed_up_at <= now)


PROFILE_COLUMNS = ("id", *CONTACT_COLUMNS, *CONSENT_COLUMNS)


@per_dialect
def _profiles(dialect: str) -> Executable:
    return select(*(C.c[n] for n in PROFILE_COLUMNS)).where(one_of_param(dialect, C.c.id, "ids"))


@per_dialect
def _profiles_custom(dialect: str) -> Executable:
    return select(*(C.c[n] for n in PROFILE_COLUMNS), C.c.attributes).where(one_of_param(dialect, C.c.id, "ids"))


def profiles(conn: Connection, customer_ids: Sequence[str], *, custom: bool = True) -> dict[str, dict[str, Any]]:
    """Contact points, consent flags and (unless ``custom`` is False) the custom attributes per customer.

    A send whose consent rules all name stored columns leaves the custom attributes out: decoding their JSON
    for every customer of a batch costs more than the rest of the profile."""
    if not customer_ids:
        return {}
    names = (*PROFILE_COLUMNS, "attributes") if custom else PROFILE_COLUMNS
    statement = (_profiles_custom if custom else _profiles)(conn)
    rows = run(conn, statement, {"ids": one_of_value(conn.dialect.name, sorted(set(customer_ids)))}).all()
    return {row[0]: dict(zip(names, row, strict=True)) for row in rows}


ORDER_ANCHORS = frozenset({"order_placed", "payment", "shipment", "delivery_date"})


def entry_anchors(
    conn: Connection, rows: Sequence[Enrollment], wanted: Collection[str] = (*ORDER_ANCHORS, "next_shipment")
) -> dict[int, dict[str, datetime | date | None]]:
    """The order and subscription dates each enrollment's timing may count from; only the ``wanted`` ones are
    looked up (others may be left None). An order date comes from the entry order, or else from the entry event's
    properties; the next shipment from the event's."""
    order_dates = bool(ORDER_ANCHORS & set(wanted))
    orders = {r.entry_order_id for r in rows if r.entry_order_id} if order_dates else set()
    by_order = {}
    if orders:
        params = {"ids": one_of_value(conn.dialect.name, sorted(orders))}
        for row in run(conn, _order_dates(conn), params):
            by_order[row.id] = row
    # The entry event's properties are read only where they can give a wanted date (a JSON decode per row).
    events = {
        r.entry_event_id
        for r in rows
        if r.entry_event_id and ("next_shipment" in wanted or (order_dates and r.entry_order_id not in by_order))
    }
    by_event = {}
    if events:
        params = {"ids": one_of_value(conn.dialect.name, sorted(events))}
        for event in run(conn, _event_properties(conn), params):
            by_event[event.id] = event.properties or {}
    anchors: dict[int, dict[str, datetime | date | None]] = {}
    for r in rows:
        order = by_order.get(r.entry_order_id)
        props = by_event.get(r.entry_event_id, {})
        anchors[r.id] = {
            "order_placed": order.ordered_at if order else _instant(props.get("ordered_at")),
            "payment": order.paid_at if order else _instant(props.get("paid_at")),
            "shipment": order.shipped_at if order else _instant(props.get("shipped_at")),
            "delivery_date": order.delivery_date if order else _day(props.get("delivery_date")),
            "next_shipment": _day(props.get("next_shipment_date")),
        }
    return anchors


@per_dialect
def _order_dates(dialect: str) -> Executable:
    columns = (ORD.c.id, ORD.c.ordered_at, ORD.c.paid_at, ORD.c.shipped_at, ORD.c.delivery_date)
    return select(*columns).where(one_of_param(dialect, ORD.c.id, "ids"))


@per_dialect
def _event_properties(dialect: str) -> Executable:
    return select(EV.c.id, EV.c.properties).where(one_of_param(dialect, EV.c.id, "ids"))


def entry_event_properties(conn: Connection, event_ids: Sequence[int]) -> dict[int, dict[str, Any]]:
    if not event_ids:
        return {}
    rows = run(conn, _event_properties(conn), {"ids": one_of_value(conn.dialect.name, sorted(set(event_ids)))})
    return {row.id: row.properties or {} for row in rows}


def _instant(value: Any) -> datetime | None:
    return datetime.fromisoformat(value) if isinstance(value, str) and value else None


def _day(value: Any) -> date | None:
    return date.fromisoformat(value[:10]) if isinstance(value, str) and value else None


def apply_updates(
    conn: Connection,
    customer_id: str,
    columns: dict[str, Any],
    custom: dict[str, Any],
    add_tags: Sequence[str],
    remove_tags: Sequence[str],
) -> None:
    """An update step: stored columns, custom attributes (JSON) and tags."""
    if columns:
        conn.execute(update(C).where(C.c.id == customer_id).values(**columns))
    if custom:
        current = conn.execute(select(C.c.attributes).where(C.c.id == customer_id)).scalar_one() or {}
        conn.execute(update(C).where(C.c.id == customer_id).values(attributes={**current, **custom}))
    tags = TABLES.customer_tags
    if remove_tags:
        conn.execute(delete(tags).where(tags.c.customer_id == customer_id, tags.c.tag.in_(list(remove_tags))))
    if add_tags:
        have = set(conn.execute(select(tags.c.tag).where(tags.c.customer_id == customer_id)).scalars())
        new = [t for t in add_tags if t not in have]
        if new:
            conn.execute(insert(tags), [{"customer_id": customer_id, "tag": t} for t in new])


_MATCHING_EVENTS = (
    select(EV.c.id, EV.c.customer_id, EV.c.occurred_at, EV.c.properties)
    .where(
        EV.c.customer_id.in_(bindparam("customers", expanding=True)),
        EV.c.type == bindparam("event_type"),
        EV.c.occurred_at > bindparam("after", type_=UTCDateTime()),
        EV.c.occurred_at <= bindparam("until", type_=UTCDateTime()),
    )
    .order_by(EV.c.occurred_at, EV.c.id)
)


def matching_events(
    conn: Connection, customer_ids: Sequence[str], event_type: str, after: datetime, until: datetime
) -> dict[str, list[dict[str, Any]]]:
    """Events of a type per customer in (after, until], oldest first."""
    if not customer_ids:
        return {}
    params = {"customers": sorted(set(customer_ids)), "event_type": event_type, "after": after, "until": until}
    rows = run(conn, _MATCHING_EVENTS, params)
    found: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        found.setdefault(row.customer_id, []).append(dict(row._mapping))
    return found
