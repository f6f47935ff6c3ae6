"""Orders at the same instant: an order's event sees the customer as of that order.

Day-precision exports give a customer's first-day orders one timestamp. As of an order, the customer's orders are
those placed before it plus the order itself, taken in (ordered_at, order id) order: the first of two orders at
the same instant is still a first order, the second sees two. The runtime, the SQL and the Python evaluator agree.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import insert, select

from ecrm_dsl.conditions.evaluate import evaluate, load_enrollment_snapshots
from ecrm_dsl.conditions.normal import Types
from ecrm_dsl.conditions.sql import NeedsFixedMoment, as_of, clock_keys, select_enrollments
from ecrm_dsl.store.tables import TABLES
from tests.runtime.adversarial_helpers import at, build, kinds, scenario, template
from tests.runtime.world import World
from tests.test_conditions_agree import cond

DAY = at(1, 0)  # a day-precision export: every order of the day at 00:00 JST


def test_the_first_of_two_orders_at_one_instant_enters_an_f2_scenario_once(tmp_path: Path) -> None:
    body = "  @thanks after 1h: send email mail"
    f2 = scenario("f2", "order.placed where customer.order_count == 1", body, "  reentry always")
    w = build(tmp_path, {"f2": f2}, (template("mail"),), deploy_at=at(1, 0) - (at(2) - at(1)))
    w.customer("a")
    w.customer("b")
    w.order("a", DAY, order_id="a-2")  # stored first, but "a-1" comes first in (ordered_at, id) order
    w.order("a", DAY, order_id="a-1")
    w.order("b", DAY, order_id="b-1")
    w.tick(at(1, 1))
    e = TABLES.enrollments
    with w.engine.connect() as conn:
        entered = conn.execute(select(e.c.customer_id, e.c.entry_order_id).order_by(e.c.customer_id)).all()
    assert [tuple(row) for row in entered] == [("a", "a-1"), ("b", "b-1")]
    # With reentry always only the condition decides: as of "a-2" the customer has two orders.
    assert kinds(w, "a").count("entered") == 1
    w.tick(at(1, 10))  # after the quiet hours
    assert [s[1] for s in w.sends("a")] == ["thanks"]


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory, module_store_url: str) -> World:
    """Customers with orders at one instant, and an enrollment for each order, entered at that instant."""
    w = World(tmp_path_factory.mktemp("same_instant"), module_store_url)
    plan: list[tuple[str, list[tuple[str, Any]]]] = [
        ("one", [("one-1", DAY)]),
        ("twin", [("twin-b", DAY), ("twin-a", DAY)]),
        ("triple", [("triple-3", DAY), ("triple-1", DAY), ("triple-2", DAY)]),
        ("later", [("later-1", at(1, 0) - (at(2) - at(1))), ("later-2", DAY), ("later-3", DAY)]),
        ("日本", [("注文-2", DAY), ("注文-1", DAY)]),
    ]
    enrollments = []
    for cid, orders in plan:
        w.customer(cid)
        for oid, moment in orders:
            w.order(cid, moment, order_id=oid)
            enrollments.append({"customer_id": cid, "entered_at": moment, "entry_order_id": oid})
    with w.engine.begin() as conn:
        ev = TABLES.events
        by_order = {row.properties["order_id"]: row.id for row in conn.execute(select(ev.c.id, ev.c.properties))}
        conn.execute(
            insert(TABLES.enrollments),
            [
                {**row, "scenario_id": "f2", "status": "active", "entry_event_id": by_order[row["entry_order_id"]]}
                for row in enrollments
            ],
        )
    return w


def entry_orders(w: World, ids: set[int]) -> set[str]:
    e = TABLES.enrollments
    with w.engine.connect() as conn:
        return set(conn.execute(select(e.c.entry_order_id).where(e.c.id.in_(ids))).scalars())


EXPECTED = {
    "customer.order_count == 1": {"one-1", "twin-a", "triple-1", "later-1", "注文-1"},
    "customer.order_count == 2": {"twin-b", "triple-2", "later-2", "注文-2"},
    "customer.order_count >= 3": {"triple-3", "later-3"},
    "customer.total_spent == 10000円 and customer.last_order_at is not null": {
        "twin-b",
        "triple-2",
        "later-2",
        "注文-2",
    },
    "customer.order_count == 1 and count(order.placed, 7d) >= 1": {"one-1", "twin-a", "triple-1", "later-1", "注文-1"},
    # Orders at or after the entry time other than the entry order: a same-instant order with a smaller id counts.
    "orders_since_entry == 0": {"one-1", "twin-a", "triple-1", "later-1", "later-2", "注文-1"},
}


@pytest.mark.parametrize("text", sorted(EXPECTED))
def test_each_order_sees_the_orders_before_it_and_itself(world: World, text: str) -> None:
    normal = cond(text)
    types = Types()
    with world.engine.connect() as conn:
        snapshots = load_enrollment_snapshots(conn)
        in_python = {
            key
            for key, snap in snapshots.items()
            if evaluate(normal, snap, now=snap.enrollment.entered_at, types=types)  # type: ignore[union-attr]
        }
        e = TABLES.enrollments
        try:  # the entry check: each row as of its own entry time, in one query
            together = select_enrollments(normal, now=at(9), types=types, now_column=e.c.entered_at)
            in_sql = set(conn.execute(together).scalars())
        except NeedsFixedMoment:  # or compiled once and re-bound per entry time
            query = select_enrollments(normal, now=at(9), types=types)
            keys = clock_keys(query)
            in_sql = set()
            for moment in sorted({snap.enrollment.entered_at for snap in snapshots.values()}):  # type: ignore[union-attr]
                rows = query.where(e.c.entered_at == moment)
                in_sql |= set(conn.execute(rows, as_of(keys, moment, "Asia/Tokyo")).scalars())
    assert in_sql == in_python
    assert entry_orders(world, in_sql) == EXPECTED[text]


def test_later_the_same_instant_orders_are_all_known(world: World) -> None:
    """The tie matters only at the instant itself: a minute later every order of that instant counts."""
    normal = cond("customer.order_count == 2")
    with world.engine.connect() as conn:
        ids = set(conn.execute(select_enrollments(normal, now=DAY.replace(minute=1), types=Types())).scalars())
        snapshots = load_enrollment_snapshots(conn)
    in_python = {k for k, s in snapshots.items() if evaluate(normal, s, now=DAY.replace(minute=1), types=Types())}
    assert ids == in_python
    assert entry_orders(world, ids) == {"twin-a", "twin-b", "注文-1", "注文-2"}
