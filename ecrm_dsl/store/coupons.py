"""Unique coupon codes: drawn by sends in the same transaction as their outbox rows, so a code goes to one
delivery at most, and a rolled-back tick gives its codes back with everything else it did."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, and_, bindparam, case, func, or_, select, update

from ecrm_dsl.store.tables import TABLES

COUPONS = TABLES.coupons


@dataclass(frozen=True, slots=True)
class Coupon:
    code: str
    expires_at: datetime | None


@dataclass(frozen=True, slots=True)
class PoolStock:
    pool: str
    codes: int  # every code ever imported into the pool
    given: int  # drawn by a send
    usable: int  # neither given nor expired at the moment asked


def draw(
    conn: Connection, pool: str, deliveries: Sequence[tuple[str, str]], now: datetime, valid_until: datetime
) -> dict[str, Coupon]:
    """One unused code per delivery (outbox key, customer id), valid beyond ``valid_until``: those that expire
    soonest first (then by code), so that none is left to lapse while a later one is handed out. Deliveries past
    the pool's stock get none. On PostgreSQL, ``FOR UPDATE SKIP LOCKED`` gives concurrent workers different codes;
    SQLite runs one writer at a time."""
    if not deliveries:
        return {}
    usable = select(COUPONS.c.code, COUPONS.c.expires_at).where(
        COUPONS.c.pool == pool,
        COUPONS.c.outbox_key.is_(None),
        or_(COUPONS.c.expires_at.is_(None), COUPONS.c.expires_at > valid_until),
    )
    found = conn.execute(
        usable.order_by(COUPONS.c.expires_at.is_(None), COUPONS.c.expires_at, COUPONS.c.code)
        .limit(len(deliveries))
        .with_for_update(skip_locked=True)
    ).all()
    drawn = {key: Coupon(code, expires_at) for (key, _), (code, expires_at) in zip(deliveries, found, strict=False)}
    customers = dict(deliveries)
    if drawn:
        conn.execute(
            update(COUPONS)
            .where(and_(COUPONS.c.pool == pool, COUPONS.c.code == bindparam("b_code"), COUPONS.c.outbox_key.is_(None)))
            .values(customer_id=bindparam("b_customer"), outbox_key=bindparam("b_key"), assigned_at=now),
            [
                {"b_code": coupon.code, "b_customer": customers[key], "b_key": key}
                for key, coupon in sorted(drawn.items())
            ],
        )
    return drawn


def stock(conn: Connection, now: datetime, pools: Sequence[str] | None = None) -> list[PoolStock]:
    """Per pool (all, or those named): codes imported, given, and still usable at ``now``."""
    given = COUPONS.c.outbox_key.is_not(None)
    usable = and_(~given, or_(COUPONS.c.expires_at.is_(None), COUPONS.c.expires_at > now))
    query = select(
        COUPONS.c.pool,
        func.count(),
        func.count(COUPONS.c.outbox_key),
        func.coalesce(func.sum(case((usable, 1), else_=0)), 0),
    ).group_by(COUPONS.c.pool)
    if pools is not None:
        query = query.where(COUPONS.c.pool.in_(sorted(pools)))
    return [PoolStock(pool, codes, given_n, int(usable_n)) for pool, codes, given_n, usable_n in conn.execute(query)]
