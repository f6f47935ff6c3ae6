"""Helpers for the adversarial runtime tests: building small worlds and taking comparable snapshots of a store.

Everything goes through :class:`tests.runtime.world.World` (the real compile pipeline, a real SQLite store);
these helpers only add bulk inserts and normalised views of the outbox, the journal and the enrollments.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

from sqlalchemy import insert, select, update

from ecrm_dsl.store.tables import TABLES
from tests.runtime.world import JST, POLICIES, World, template

__all__ = [
    "JST",
    "POLICIES",
    "World",
    "at",
    "build",
    "bulk_customers",
    "bulk_orders",
    "enrollments",
    "journal",
    "kinds",
    "outbox_rows",
    "scenario",
    "set_customer",
    "template",
]


def at(day: int, hour: int = 0, minute: int = 0, month: int = 3, year: int = 2025, second: int = 0) -> dt.datetime:
    """A moment in shop time (JST)."""
    return dt.datetime(year, month, day, hour, minute, second, tzinfo=JST)


def scenario(
    name: str, trigger: str, body: str, extra: str = "", kind: str = "nurture", hypothesis: str = "engagement"
) -> str:
    """A scenario in the text syntax."""
    return f'scenario {name} {{\n  kind {kind}\n  hypothesis {hypothesis} "t"\n  when {trigger}\n{extra}\n{body}\n}}\n'


def build(
    root: Path,
    scenarios: dict[str, str],
    templates: tuple[str, ...] = (),
    *,
    policies: str | None = None,
    segments: dict[str, str] | None = None,
    deploy_at: dt.datetime | None = None,
) -> World:
    """A world with the given scenarios (file name → text), templates, policies and segments, deployed."""
    w = World(root)
    w.templates(*(templates or (template("mail"),)))
    for name, where in (segments or {}).items():
        w.write(f"segments/{name}.yaml", f"segment: {name}\nwhere: {where}\n")
    if policies is not None:
        w.write("policies.yaml", policies)
    for name, text in scenarios.items():
        w.write(f"scenarios/{name}.ecrm", text)
    w.deploy(deploy_at or at(1, 0))
    return w


def bulk_customers(w: World, ids: list[str], **fields: Any) -> None:
    """Many consenting customers in one transaction (World.customer commits one by one)."""
    rows = []
    for cid in ids:
        row: dict[str, Any] = {
            "id": cid,
            "name": f"顧客{cid}",
            "email": f"{cid}@example.jp",
            "line_user_id": f"U{cid}",
            "phone": "09000000000",
            "postal_address": "東京都",
            "email_opt_in": True,
            "line_opt_in": True,
            "sms_opt_in": True,
            "dm_opt_in": True,
            "attributes": {},
        }
        row.update(fields)
        rows.append(row)
    with w.engine.begin() as conn:
        conn.execute(insert(TABLES.customers), rows)


def bulk_orders(w: World, ids: list[str], moment: dt.datetime, prefix: str = "bo") -> None:
    """One order (and its order.placed event) per customer, all at ``moment``, in one transaction."""
    orders = [{"id": f"{prefix}-{cid}", "customer_id": cid, "ordered_at": moment, "amount": 5000} for cid in ids]
    events = [
        {
            "customer_id": cid,
            "type": "order.placed",
            "occurred_at": moment,
            "properties": {"order_id": f"{prefix}-{cid}", "amount": 5000, "ordered_at": moment.isoformat()},
        }
        for cid in ids
    ]
    with w.engine.begin() as conn:
        conn.execute(insert(TABLES.orders), orders)
        conn.execute(insert(TABLES.events), events)


def set_customer(w: World, cid: str, **values: Any) -> None:
    with w.engine.begin() as conn:
        conn.execute(update(TABLES.customers).where(TABLES.customers.c.id == cid).values(**values))


def outbox_rows(w: World) -> list[tuple[Any, ...]]:
    """The outbox as comparable tuples (key, customer, scenario, step, channel, decided at)."""
    o = TABLES.outbox
    with w.engine.connect() as conn:
        rows = conn.execute(
            select(
                o.c.idempotency_key, o.c.customer_id, o.c.scenario_id, o.c.node_id, o.c.channel, o.c.created_at
            ).order_by(o.c.id)
        ).all()
    return [tuple(r) for r in rows]


def journal(w: World) -> list[tuple[Any, ...]]:
    """The decisions journal as comparable tuples (at, customer, scenario, enrollment, step, kind, reason)."""
    d = TABLES.decisions
    with w.engine.connect() as conn:
        rows = conn.execute(
            select(
                d.c.at, d.c.customer_id, d.c.scenario_id, d.c.enrollment_id, d.c.node_id, d.c.kind, d.c.reason
            ).order_by(d.c.id)
        ).all()
    return [tuple(r) for r in rows]


def enrollments(w: World) -> list[tuple[Any, ...]]:
    """Enrollments as comparable tuples (id, customer, scenario, status, step, due, outcome)."""
    e = TABLES.enrollments
    with w.engine.connect() as conn:
        rows = conn.execute(
            select(e.c.id, e.c.customer_id, e.c.scenario_id, e.c.status, e.c.node_id, e.c.due_at, e.c.outcome).order_by(
                e.c.id
            )
        ).all()
    return [tuple(r) for r in rows]


def kinds(w: World, cid: str) -> list[str]:
    return [d["kind"] for d in w.decisions(cid)]
