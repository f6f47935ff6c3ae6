"""A condition compiled once and re-bound to another moment (``as_of``) selects exactly what compiling it at that
moment selects: the entry check of a tick relies on it to judge every event as of its own time."""

from __future__ import annotations

import datetime as dt

import pytest

from ecrm_dsl.conditions.normal import Types
from ecrm_dsl.conditions.sql import NeedsFixedMoment, as_of, clock_keys, select_customers, select_enrollments
from ecrm_dsl.store.tables import TABLES
from tests.runtime.adversarial_helpers import at
from tests.runtime.world import World
from tests.test_conditions_agree import cond

CONDITIONS = [
    "customer.order_count >= 2",
    "customer.days_since_last_order between 3 and 10",
    "count(order.placed, 7d) >= 1 and count(order.placed, 30d) >= 2",
    "opened(email, 2d) or clicked(line, 14d)",
    "days_since(customer.signed_up_at) >= 5 and customer.total_spent >= 8000円",
    "not (count(order.placed, 1d) >= 1) and customer.order_count == 1",
]
MOMENTS = [at(1, 9), at(3, 23, 59), at(4, 0, 1), at(9, 12), at(20, 8), at(31, 23)]


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory, module_store_url: str) -> World:
    w = World(tmp_path_factory.mktemp("clock"), module_store_url)
    for i in range(24):
        cid = f"c{i:02d}"
        w.customer(cid, signed_up_at=at(1 + i % 5, 10))
        for k in range(i % 4):
            w.order(cid, at(1 + (i + 7 * k) % 28, (3 * i + k) % 24, 30), amount=3000 + 1000 * k)
        if i % 3 == 0:
            w.event(cid, "message.opened", at(2 + i % 20, 20), channel="email")
        if i % 5 == 0:
            w.event(cid, "message.clicked", at(4 + i % 20, 7), channel="line")
    return w


@pytest.mark.parametrize("text", CONDITIONS)
def test_rebinding_the_clock_equals_compiling_at_that_moment(world: World, text: str) -> None:
    normal = cond(text)
    compiled_once = select_customers(normal, now=MOMENTS[0], timezone="Asia/Tokyo", types=Types())
    keys = clock_keys(compiled_once)
    seen: set[frozenset[str]] = set()
    with world.engine.connect() as conn:
        for moment in MOMENTS:
            fresh = select_customers(normal, now=moment, timezone="Asia/Tokyo", types=Types())
            expected = list(conn.execute(fresh).scalars())
            rebound = list(conn.execute(compiled_once, as_of(keys, moment, "Asia/Tokyo")).scalars())
            assert rebound == expected, moment
            seen.add(frozenset(expected))
    assert len(seen) > 1  # the moments really select different customers


def test_window_lengths_are_read_back_from_the_statement() -> None:
    query = select_customers(cond(CONDITIONS[2]), now=at(5, 12), timezone="Asia/Tokyo", types=Types())
    windows = sorted(seconds for seconds in clock_keys(query).values() if seconds is not None)
    assert windows == [int(dt.timedelta(days=7).total_seconds()), int(dt.timedelta(days=30).total_seconds())]


ENTRY_CONDITIONS = [
    "customer.order_count == 1",
    "customer.order_count >= 2 and customer.total_spent >= 8000円",
    "customer.total_spent >= 5000円 or customer.order_count >= 3",
]


@pytest.mark.parametrize("text", ENTRY_CONDITIONS)
def test_each_row_judged_as_of_its_own_column_equals_one_moment_at_a_time(world: World, text: str) -> None:
    e = TABLES.enrollments
    with world.engine.begin() as conn:
        conn.execute(e.delete())
        rows = [
            {
                "customer_id": f"c{i:02d}",
                "scenario_id": "s",
                "entered_at": MOMENTS[i % len(MOMENTS)],
                "status": "active",
            }
            for i in range(24)
        ]
        conn.execute(e.insert(), rows)
        normal = cond(text)
        together = select_enrollments(normal, now=at(31, 23, 59), types=Types(), now_column=e.c.entered_at)
        judged = set(conn.execute(together).scalars())
        expected: set[int] = set()
        for moment in MOMENTS:
            one = select_enrollments(normal, now=moment, types=Types()).where(e.c.entered_at == moment)
            expected |= set(conn.execute(one).scalars())
    assert judged == expected and 0 < len(expected) < 24


@pytest.mark.parametrize("text", ["count(order.placed, 7d) >= 1", "customer.days_since_last_order > 3"])
def test_a_condition_that_reads_the_date_or_a_window_asks_for_a_fixed_moment(text: str) -> None:
    with pytest.raises(NeedsFixedMoment):
        select_enrollments(cond(text), now=at(5), types=Types(), now_column=TABLES.enrollments.c.entered_at)


def test_day_edges_are_read_back_as_days_before_today() -> None:
    """A folded day test binds shop-local dates; re-binding moves them with the shop's today."""
    query = select_customers(cond(CONDITIONS[1]), now=at(5, 12), timezone="Asia/Tokyo", types=Types())
    keys = clock_keys(query)
    assert sorted(v or 0 for k, v in keys.items() if k.startswith("ecrm_now_day_")) == [3, 10]
    values = as_of(keys, at(20, 23, 59), "Asia/Tokyo")
    assert sorted(v for k, v in values.items() if k.startswith("ecrm_now_day_")) == [
        dt.date(2025, 3, 10),
        dt.date(2025, 3, 17),
    ]
