"""Unique coupon codes: drawn by sends in the same transaction as their outbox rows, so a code goes to one
enrollment at most, and a rolled-back tick gives its codes back with everything else it did. An enrollment keeps
the code it drew: its later sends from the same pool (a reminder before the code expires) show the same one."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Select, and_, bindparam, case, func, or_, select, update

from ecrm_dsl.store.bulk import one_of
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
    conn: Connection, pool: str, holders: Sequence[tuple[int, str]], now: datetime, valid_until: datetime
) -> dict[int, Coupon]:
    """Per enrollment (id, customer id): the code it holds from ``pool``, or a newly drawn unused one valid
    beyond ``valid_until`` — those that expire soonest first (then by code), so that none is left to lapse while
    a later one is handed out. Enrollments past the pool's stock get none. On PostgreSQL, ``FOR UPDATE SKIP
    LOCKED`` gives concurrent workers different codes; SQLite runs one writer at a time."""
    if not holders:
        return {}
    held = conn.execute(
        select(COUPONS.c.enrollment_id, COUPONS.c.code, COUPONS.c.expires_at).where(
            COUPONS.c.pool == pool, one_of(conn, COUPONS.c.enrollment_id, sorted({e for e, _ in holders}))
        )
    ).all()
    found = {enrollment: Coupon(code, expires_at) for enrollment, code, expires_at in held}
    wanting = [(enrollment, customer) for enrollment, customer in holders if enrollment not in found]
    if not wanting:
        return found
    fresh = conn.execute(_next_usable(pool, valid_until).limit(len(wanting)).with_for_update(skip_locked=True)).all()
    drawn = list(zip(wanting, fresh, strict=False))
    if drawn:
        conn.execute(
            update(COUPONS)
            .where(
                and_(COUPONS.c.pool == pool, COUPONS.c.code == bindparam("b_code"), COUPONS.c.enrollment_id.is_(None))
            )
            .values(customer_id=bindparam("b_customer"), enrollment_id=bindparam("b_enrollment"), assigned_at=now),
            [
                {"b_code": code, "b_customer": customer, "b_enrollment": enrollment}
                for (enrollment, customer), (code, _) in drawn
            ],
        )
    found.update({enrollment: Coupon(code, expires_at) for (enrollment, _), (code, expires_at) in drawn})
    return found


def _next_usable(pool: str, valid_until: datetime) -> Select[Any]:
    """The pool's unused codes still valid beyond ``valid_until``, in the order :func:`draw` gives them out."""
    return (
        select(COUPONS.c.code, COUPONS.c.expires_at)
        .where(
            COUPONS.c.pool == pool,
            COUPONS.c.enrollment_id.is_(None),
            or_(COUPONS.c.expires_at.is_(None), COUPONS.c.expires_at > valid_until),
        )
        .order_by(COUPONS.c.expires_at.is_(None), COUPONS.c.expires_at, COUPONS.c.code)
    )


def held(conn: Connection, pool: str, enrollment_id: int) -> Coupon | None:
    """The code the enrollment drew from ``pool``, if it drew one."""
    found = conn.execute(
        select(COUPONS.c.code, COUPONS.c.expires_at).where(
            COUPONS.c.pool == pool, COUPONS.c.enrollment_id == enrollment_id
        )
    ).first()
    return Coupon(found.code, found.expires_at) if found is not None else None


def peek(conn: Connection, pool: str, valid_until: datetime) -> Coupon | None:
    """The code :func:`draw` would give next, without taking it (``ecrm preview``): nothing is reserved."""
    found = conn.execute(_next_usable(pool, valid_until).limit(1)).first()
    return Coupon(found.code, found.expires_at) if found is not None else None


def stock(conn: Connection, now: datetime, pools: Sequence[str] | None = None) -> list[PoolStock]:
    """Per pool (all, or those named): codes imported, given, and still usable at ``now``."""
    given = COUPONS.c.enrollment_id.is_not(None)
    usable = and_(~given, or_(COUPONS.c.expires_at.is_(None), COUPONS.c.expires_at > now))
    query = select(
        COUPONS.c.pool,
        func.count(),
        func.count(COUPONS.c.enrollment_id),
        func.coalesce(func.sum(case((usable, 1), else_=0)), 0),
    ).group_by(COUPONS.c.pool)
    if pools is not None:
        query = query.where(COUPONS.c.pool.in_(sorted(pools)))
    return [PoolStock(pool, codes, given_n, int(usable_n)) for pool, codes, given_n, usable_n in conn.execute(query)]
