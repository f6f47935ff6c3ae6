"""Who is in a segment as of a moment, with what a planner reads next to each member (``ecrm segment export``).

Membership is the runtime's own: the segment's condition compiled by :mod:`ecrm_dsl.conditions.sql` and
limited to the customers known at that moment, exactly the audience a segment trigger judges. The order
figures beside it count the orders placed up to the moment, as the condition does.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, func, select

from ecrm_dsl.conditions.normal import Normal, Types
from ecrm_dsl.conditions.sql import aware_utc, select_customers
from ecrm_dsl.store.bulk import one_of
from ecrm_dsl.store.customers import known_at
from ecrm_dsl.store.tables import TABLES

C, ORD, TAGS = TABLES.customers, TABLES.orders, TABLES.customer_tags
PROFILE = ("name", "entry_channel", "persona", "signed_up_at", "birthday")
CONTACTS = ("email", "phone", "line_user_id", "postal_address")
CONSENT = ("email_opt_in", "line_opt_in", "unsubscribed")
_TAG_BATCH = 10_000


@dataclass(frozen=True)
class Member:
    """One member of the segment: stored fields by column name, order figures as of the moment, tags, custom
    attributes (JSON values)."""

    id: str
    fields: Mapping[str, Any]
    order_count: int
    total_spent: int
    first_order_at: datetime | None
    last_order_at: datetime | None
    tags: tuple[str, ...] = ()
    custom: Mapping[str, Any] = field(default_factory=dict)


def segment_members(
    conn: Connection,
    condition: Normal,
    *,
    at: datetime,
    timezone: str,
    segments: Mapping[str, Normal],
    types: Types,
) -> list[Member]:
    """The customers the condition holds for at ``at``, in id order (code point order, as Python sorts)."""
    at = aware_utc(at)
    audience = (
        select_customers(condition, now=at, timezone=timezone, segments=segments, types=types)
        .where(known_at(at))
        .cte("audience")  # read twice (members, their orders): judged once
    )
    known = ORD.c.ordered_at <= at  # as of the moment: later orders have not happened yet
    figures = (
        select(
            ORD.c.customer_id,
            func.count().label("order_count"),
            func.coalesce(func.sum(ORD.c.amount), 0).label("total_spent"),
            func.min(ORD.c.ordered_at).label("first_order_at"),
            func.max(ORD.c.ordered_at).label("last_order_at"),
        )
        .where(known, ORD.c.customer_id.in_(select(audience.c.id)))
        .group_by(ORD.c.customer_id)
        .subquery("figures")
    )
    columns = (*PROFILE, *CONTACTS, *CONSENT, "attributes")
    query = (
        select(
            C.c.id,
            *(C.c[name] for name in columns),
            figures.c.order_count,
            figures.c.total_spent,
            figures.c.first_order_at,
            figures.c.last_order_at,
        )
        .select_from(C.join(audience, audience.c.id == C.c.id).outerjoin(figures, figures.c.customer_id == C.c.id))
        .order_by(C.c.id)
    )
    rows = conn.execute(query).mappings().all()
    tags = _tags(conn, [row["id"] for row in rows])
    members = [
        Member(
            id=row["id"],
            fields={name: row[name] for name in (*PROFILE, *CONTACTS, *CONSENT)},
            order_count=int(row["order_count"] or 0),
            total_spent=int(row["total_spent"] or 0),
            first_order_at=row["first_order_at"],
            last_order_at=row["last_order_at"],
            tags=tuple(sorted(tags.get(row["id"], ()))),
            custom=dict(row["attributes"] or {}),
        )
        for row in rows
    ]
    return sorted(members, key=lambda member: member.id)  # the database's collation may differ from code points


def _tags(conn: Connection, customer_ids: list[str]) -> dict[str, list[str]]:
    found: dict[str, list[str]] = defaultdict(list)
    for start in range(0, len(customer_ids), _TAG_BATCH):
        batch = customer_ids[start : start + _TAG_BATCH]
        for customer_id, tag in conn.execute(
            select(TAGS.c.customer_id, TAGS.c.tag).where(one_of(conn, TAGS.c.customer_id, batch))
        ):
            found[customer_id].append(tag)
    return found
