"""The recommendation and the last purchase as SQL (store/products.py) agree with the rule as the README states
it, written here in plain Python, on random catalogues and order histories (SQLite and PostgreSQL): ties in
units, categories and times, stock 0 / untracked, launch dates around today, inactive products, lines without a
category, orders after the moment."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine, delete, insert

from ecrm_dsl.store import products
from ecrm_dsl.store.database import open_store
from ecrm_dsl.store.tables import TABLES

T = TABLES
NOW = dt.datetime(2025, 6, 1, 3, tzinfo=dt.UTC)
TODAY = dt.date(2025, 6, 1)
CUSTOMERS = ("a", "b", "c", "d")
CATEGORIES = ("skincare/lotion", "skincare/serum", "skincare", "Food/rice", "food/granola", "フード/米", "bodycare")


@dataclass(frozen=True)
class Item:
    sku: str
    category: str | None
    price: int
    launched_on: dt.date | None
    stock: int | None
    active: bool


@dataclass(frozen=True)
class Order:
    id: str
    customer_id: str
    ordered_at: dt.datetime
    lines: tuple[tuple[str, int, int, str | None], ...]  # sku, quantity, unit price, line category


catalogue_items = st.lists(
    st.builds(
        Item,
        sku=st.sampled_from(["P0", "p1", "P2", "p-3", "Ｐ4", "P5", "p6", "P7"]),  # code point order, not a locale's
        category=st.sampled_from((None, *CATEGORIES, *CATEGORIES)),
        price=st.sampled_from([980, 1980, 2980]),
        launched_on=st.sampled_from([None, TODAY - dt.timedelta(days=30), TODAY, TODAY + dt.timedelta(days=1)]),
        stock=st.sampled_from([None, None, 0, 1, 5]),
        active=st.sampled_from([True, True, True, False]),
    ),
    min_size=3,
    max_size=8,
    unique_by=lambda item: item.sku,
)


@st.composite
def histories(draw: st.DrawFn) -> tuple[list[Item], list[Order]]:
    items = draw(catalogue_items)
    category_of = {i.sku: i.category for i in items}
    skus = [i.sku for i in items] + ["UNKNOWN-1"]  # lines need no product in the catalogue
    orders = []
    for number in range(draw(st.integers(0, 10))):
        days = draw(st.sampled_from([-1, 0, 1, 30, 89, 90, 91, 200]))  # -1: after the moment
        lines = []
        for sku in draw(st.lists(st.sampled_from(skus), min_size=1, max_size=3, unique=True)):
            # Mostly the product's category (as the import fills it); sometimes none or another one.
            source = draw(st.sampled_from(["product", "product", "product", "none", "other"]))
            other = draw(st.sampled_from(CATEGORIES))
            category = {"product": category_of.get(sku), "none": None, "other": other}[source]
            lines.append((sku, draw(st.integers(1, 3)), draw(st.sampled_from([500, 1000, 1500])), category))
        moment = NOW - dt.timedelta(days=days, hours=draw(st.sampled_from([0, 0, 5])))
        orders.append(Order(f"o{number}", draw(st.sampled_from(CUSTOMERS)), moment, tuple(lines)))
    return items, orders


def top_level(category: str) -> str:
    return category.split("/")[0]


def expected_recommendations(items: list[Item], orders: list[Order]) -> dict[str, str]:
    seen = [o for o in orders if o.ordered_at <= NOW]
    sold: Counter[str] = Counter()
    for order in seen:
        if order.ordered_at > NOW - dt.timedelta(days=90):
            for sku, quantity, _, _ in order.lines:
                sold[sku] += quantity
    offered = [
        i
        for i in items
        if i.active
        and i.category is not None
        and (i.stock is None or i.stock > 0)
        and (i.launched_on is None or i.launched_on <= TODAY)
    ]
    found = {}
    for customer in CUSTOMERS:
        mine = [line for o in seen if o.customer_id == customer for line in o.lines]
        units: Counter[str] = Counter()
        for _, quantity, _, category in mine:
            if category is not None:
                units[top_level(category)] += quantity
        if not units:
            continue
        favourite = min(units, key=lambda c: (-units[c], c))
        owned = {sku for sku, *_ in mine}
        choices = [i for i in offered if top_level(i.category or "") == favourite and i.sku not in owned]
        if choices:
            found[customer] = min(choices, key=lambda i: (-sold[i.sku], i.sku)).sku
    return found


def expected_last_purchases(items: list[Item], orders: list[Order]) -> dict[str, tuple[str, str | None]]:
    catalogue = {i.sku: i.category for i in items}
    found = {}
    for customer in CUSTOMERS:
        mine = [o for o in orders if o.customer_id == customer and o.ordered_at <= NOW]
        if mine:
            latest = max(mine, key=lambda o: (o.ordered_at, o.id))
            sku, _, _, category = min(latest.lines, key=lambda line: (-line[1] * line[2], line[0]))
            found[customer] = (sku, category if category is not None else catalogue.get(sku))
    return found


@pytest.fixture(scope="module")
def engine(module_store_url: str) -> Iterator[Engine]:
    engine = open_store(module_store_url)
    with engine.begin() as conn:
        conn.execute(insert(T.customers), [{"id": c, "attributes": {}} for c in CUSTOMERS])
    yield engine
    engine.dispose()


def store(engine: Engine, items: list[Item], orders: list[Order]) -> None:
    with engine.begin() as conn:
        for table in (T.order_items, T.orders, T.products):
            conn.execute(delete(table))
        if items:
            conn.execute(insert(T.products), [{"name": f"商品{i.sku}", **i.__dict__} for i in items])
        for order in orders:
            conn.execute(
                insert(T.orders).values(
                    id=order.id, customer_id=order.customer_id, ordered_at=order.ordered_at, amount=1
                )
            )
            conn.execute(
                insert(T.order_items),
                [
                    {"order_id": order.id, "sku": sku, "quantity": q, "price": p, "category": c}
                    for sku, q, p, c in order.lines
                ],
            )


@settings(
    max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture]
)
@given(history=histories())
def test_sql_follows_the_stated_rule(engine: Engine, history: tuple[list[Item], list[Order]]) -> None:
    items, orders = history
    store(engine, items, orders)
    with engine.connect() as conn:
        recommended = products.recommendations(conn, CUSTOMERS, NOW, TODAY)
        last = products.last_purchases(conn, CUSTOMERS, NOW)
    assert {c: p.sku for c, p in recommended.items()} == expected_recommendations(items, orders)
    assert {c: (p.sku, p.category) for c, p in last.items()} == expected_last_purchases(items, orders)
    names = {i.sku: f"商品{i.sku}" for i in items}
    assert all(p.name == names.get(p.sku, p.sku) for p in last.values())  # the sku when the catalogue lacks it
