"""The product catalogue's statements: the categories order lines take from it, and what templates show — the
entry order's lines, the customer's last purchase, and a recommendation.

The recommendation, for a customer as of ``now``: the top-level category (``skincare`` of ``skincare/lotion``)
in which they bought the most units (ties: the category's name); in it, among active products in stock (or whose
stock is not tracked) and launched by today, the best seller by units over the 90 days up to ``now`` (ties, and
products that sold nothing there: sku order), leaving out every sku the customer ever bought. No purchase with a
category, or nothing left: no recommendation.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Connection,
    and_,
    case,
    desc,
    exists,
    func,
    literal,
    or_,
    select,
    update,
)

from ecrm_dsl.store.bulk import one_of
from ecrm_dsl.store.tables import TABLES

P, O, I = TABLES.products, TABLES.orders, TABLES.order_items  # noqa: E741
BEST_SELLER_WINDOW = timedelta(days=90)


@dataclass(frozen=True)
class Product:
    """What a template may show of a product; ``name`` is the sku when the catalogue does not have it."""

    sku: str
    name: str
    category: str | None = None
    price: int | None = None  # whole yen
    url: str | None = None
    image_url: str | None = None


@dataclass(frozen=True)
class Line:
    """One line of an order as a template shows it."""

    product: Product
    quantity: int


# --------------------------------------------------------------------------- import


def fill_line_categories(conn: Connection, skus: Iterable[str]) -> tuple[int, list[str]]:
    """Give the order lines of ``skus`` that have no category their product's; returns how many lines, and the
    orders they belong to."""
    wanted = sorted(set(skus))
    if not wanted:
        return 0, []
    product_category = select(P.c.category).where(P.c.sku == I.c.sku).scalar_subquery()
    blank = and_(
        I.c.category.is_(None),
        one_of(conn, I.c.sku, wanted),
        exists().where(P.c.sku == I.c.sku, P.c.category.is_not(None)),
    )
    orders = list(conn.execute(select(I.c.order_id).where(blank).distinct().order_by(I.c.order_id)).scalars())
    if not orders:
        return 0, []
    filled = conn.execute(update(I).where(blank).values(category=product_category)).rowcount
    return int(filled), orders


# --------------------------------------------------------------------------- templates


def _product(row: Any, sku: str) -> Product:
    return Product(
        sku=sku,
        name=row.name if row.name is not None else sku,
        category=row.category,
        price=row.price,
        url=row.url,
        image_url=row.image_url,
    )


def order_lines(conn: Connection, order_ids: Sequence[str]) -> dict[str, list[Line]]:
    """The lines of each order, in sku order, with their products (the sku as name when unknown)."""
    if not order_ids:
        return {}
    query = (
        select(I.c.order_id, I.c.sku, I.c.quantity, I.c.category, P.c.name, P.c.price, P.c.url, P.c.image_url)
        .join_from(I, P, P.c.sku == I.c.sku, isouter=True)
        .where(one_of(conn, I.c.order_id, sorted(set(order_ids))))
        .order_by(I.c.order_id, _text_order(conn, I.c.sku))
    )
    lines: dict[str, list[Line]] = {}
    for row in conn.execute(query):
        lines.setdefault(row.order_id, []).append(Line(_product(row, row.sku), int(row.quantity)))
    return lines


def last_purchases(conn: Connection, customer_ids: Sequence[str], now: datetime) -> dict[str, Product]:
    """Each customer's last purchase as of ``now``: of their latest order (by time, then id), the line that cost
    the most (ties: sku), with the line's category (else its product's)."""
    if not customer_ids:
        return {}
    ranked = (
        select(
            O.c.customer_id,
            I.c.sku,
            I.c.category,
            func.row_number()
            .over(
                partition_by=O.c.customer_id,
                order_by=(
                    desc(O.c.ordered_at),
                    desc(_text_order(conn, O.c.id)),
                    desc(I.c.price * I.c.quantity),
                    _text_order(conn, I.c.sku),
                ),
            )
            .label("rank"),
        )
        .join_from(O, I, I.c.order_id == O.c.id)
        .where(one_of(conn, O.c.customer_id, sorted(set(customer_ids))), O.c.ordered_at <= now)
        .subquery()
    )
    query = (
        select(
            ranked.c.customer_id,
            ranked.c.sku,
            func.coalesce(ranked.c.category, P.c.category).label("category"),  # the line's, else its product's
            P.c.name,
            P.c.price,
            P.c.url,
            P.c.image_url,
        )
        .join_from(ranked, P, P.c.sku == ranked.c.sku, isouter=True)
        .where(ranked.c.rank == 1)
    )
    return {row.customer_id: _product(row, row.sku) for row in conn.execute(query)}


def _text_order(conn: Connection, text: ColumnElement[Any]) -> ColumnElement[Any]:
    """``text`` ordered by code point, as SQLite's default collation and Python do, whatever PostgreSQL's is."""
    return text.collate("C") if conn.dialect.name == "postgresql" else text


def _top_level(conn: Connection, category: ColumnElement[Any]) -> ColumnElement[Any]:
    """The first level of a category path (``skincare`` of ``skincare/lotion``)."""
    if conn.dialect.name == "postgresql":
        return func.split_part(category, "/", 1)
    slash = func.instr(category, "/")
    return case((slash > 0, func.substr(category, 1, slash - 1)), else_=category)


def recommendations(conn: Connection, customer_ids: Sequence[str], now: datetime, today: date) -> dict[str, Product]:
    """The recommendation of each customer that has one (the rule is in the module docstring); ``today`` is
    ``now``'s shop-local date, for launch dates."""
    if not customer_ids:
        return {}
    bought = (
        select(O.c.customer_id, I.c.sku, I.c.category, I.c.quantity)
        .join_from(O, I, I.c.order_id == O.c.id)
        .where(one_of(conn, O.c.customer_id, sorted(set(customer_ids))), O.c.ordered_at <= now)
        .cte("bought")
    )
    top = _top_level(conn, bought.c.category)
    units = func.sum(bought.c.quantity)
    favourite = (
        select(
            bought.c.customer_id,
            top.label("top"),
            func.row_number()
            .over(partition_by=bought.c.customer_id, order_by=(desc(units), _text_order(conn, top)))
            .label("rank"),
        )
        .where(bought.c.category.is_not(None))
        .group_by(bought.c.customer_id, top)
        .cte("favourite")
    )
    sold = (
        select(I.c.sku, func.sum(I.c.quantity).label("units"))
        .join_from(O, I, I.c.order_id == O.c.id)
        .where(O.c.ordered_at > now - BEST_SELLER_WINDOW, O.c.ordered_at <= now)
        .group_by(I.c.sku)
        .cte("sold")
    )
    units_sold = func.coalesce(sold.c.units, literal(0))
    offered = (
        select(
            P.c.sku,
            _top_level(conn, P.c.category).label("top"),
            units_sold.label("units"),
        )
        .join_from(P, sold, sold.c.sku == P.c.sku, isouter=True)
        .where(
            P.c.active,
            P.c.category.is_not(None),
            or_(P.c.stock.is_(None), P.c.stock > 0),
            or_(P.c.launched_on.is_(None), P.c.launched_on <= today),
        )
        .cte("offered")
    )
    owned = exists().where(bought.c.customer_id == favourite.c.customer_id, bought.c.sku == offered.c.sku)
    ranked = (
        select(
            favourite.c.customer_id,
            offered.c.sku,
            func.row_number()
            .over(
                partition_by=favourite.c.customer_id,
                order_by=(desc(offered.c.units), _text_order(conn, offered.c.sku)),
            )
            .label("rank"),
        )
        .join_from(favourite, offered, offered.c.top == favourite.c.top)
        .where(favourite.c.rank == 1, ~owned)
        .subquery()
    )
    query = select(
        ranked.c.customer_id, ranked.c.sku, P.c.name, P.c.category, P.c.price, P.c.url, P.c.image_url
    ).join_from(ranked, P, P.c.sku == ranked.c.sku)
    return {row.customer_id: _product(row, row.sku) for row in conn.execute(query.where(ranked.c.rank == 1))}
