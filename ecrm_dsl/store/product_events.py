"""What a catalogue change means for the customers who wanted a product: ``product.restocked`` when it comes
back in stock, ``product.price_dropped`` when it gets cheaper — one event per customer who viewed it, put it on
their wishlist or left it in a cart in the last 30 days and has not bought it since. A scenario triggered by
those events is an ordinary event scenario (``when product.restocked``)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, String, and_, exists, func, insert, literal, or_, select, update

from ecrm_dsl.conditions.sql import json_array_contains
from ecrm_dsl.store.bulk import one_of
from ecrm_dsl.store.tables import TABLES

P, E, O, I = TABLES.products, TABLES.events, TABLES.orders, TABLES.order_items  # noqa: E741
INTEREST_EVENTS = ("product.viewed", "product.wishlisted")
INTEREST_WINDOW = timedelta(days=30)


@dataclass(frozen=True)
class Listing:
    """What a product's row said before an import changed it."""

    stock: int | None
    price: int | None


@dataclass(frozen=True)
class Change:
    kind: str  # product.restocked | product.price_dropped
    sku: str
    properties: dict[str, Any]


def listings(conn: Connection, skus: Sequence[str]) -> dict[str, Listing]:
    """The stored stock and price of these skus (those in the catalogue)."""
    if not skus:
        return {}
    rows = conn.execute(select(P.c.sku, P.c.stock, P.c.price).where(one_of(conn, P.c.sku, sorted(set(skus)))))
    return {sku: Listing(stock, price) for sku, stock, price in rows}


def changes(before: dict[str, Listing], after: Iterable[dict[str, Any]]) -> list[Change]:
    """Restocks (stock from zero or below to above zero) and price drops among products that were listed."""
    found = []
    for product in after:
        old = before.get(product["sku"])
        if old is None:
            continue  # a new product is a launch, not a restock
        shown = {k: product.get(k) for k in ("sku", "name", "price", "url") if product.get(k) is not None}
        stock, price = product.get("stock", old.stock), product.get("price", old.price)
        if old.stock is not None and old.stock <= 0 and stock is not None and stock > 0:
            found.append(Change("product.restocked", product["sku"], {**shown, "stock": stock}))
        if old.price is not None and price is not None and price < old.price:
            found.append(Change("product.price_dropped", product["sku"], {**shown, "previous_price": old.price}))
    return found


def interested(conn: Connection, sku: str, now: datetime) -> list[str]:
    """Customers who viewed, wishlisted or abandoned ``sku`` in a cart in the 30 days up to ``now``, and have not
    ordered it since the last time they did."""
    wanted_sku = literal(sku, String())
    shown_interest = or_(
        and_(E.c.type.in_(INTEREST_EVENTS), E.c.properties["sku"].as_string() == wanted_sku),
        and_(
            E.c.type == "cart.abandoned",
            json_array_contains(E.c.properties, literal("$.skus", String()), literal("skus", String()), wanted_sku),
        ),
    )
    latest = (
        select(E.c.customer_id, func.max(E.c.occurred_at).label("latest"))
        .where(shown_interest, E.c.occurred_at > now - INTEREST_WINDOW, E.c.occurred_at <= now)
        .group_by(E.c.customer_id)
        .subquery()
    )
    bought_since = exists().where(
        O.c.customer_id == latest.c.customer_id,
        O.c.ordered_at >= latest.c.latest,
        O.c.ordered_at <= now,
        exists().where(I.c.order_id == O.c.id, I.c.sku == sku),
    )
    query = select(latest.c.customer_id).where(~bought_since).order_by(latest.c.customer_id)
    return list(conn.execute(query).scalars())


def record(conn: Connection, found: Sequence[Change], now: datetime) -> dict[str, int]:
    """One event per interested customer and change, at ``now``; returns how many of each kind."""
    counts: dict[str, int] = {}
    rows = []
    for change in found:
        for customer in interested(conn, change.sku, now):
            rows.append(
                {"customer_id": customer, "type": change.kind, "occurred_at": now, "properties": change.properties}
            )
            counts[change.kind] = counts.get(change.kind, 0) + 1
    if rows:
        conn.execute(insert(E), rows)
    return counts


def relist(conn: Connection, sku: str, now: datetime, **listing: int) -> dict[str, int]:
    """Change a listed product's ``stock`` and/or ``price`` outside an import (a stock system's feed, the demo's
    restock) with the same events an import would record; returns how many of each kind."""
    before = listings(conn, [sku])
    if sku not in before:
        return {}
    conn.execute(update(P).where(P.c.sku == sku).values(**listing))
    name, url = conn.execute(select(P.c.name, P.c.url).where(P.c.sku == sku)).one()
    return record(conn, changes(before, [{"sku": sku, "name": name, "url": url, **listing}]), now)
