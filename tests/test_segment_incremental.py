"""Incremental segment membership equals a full recompute.

Random histories on a real SQLite store — customers (some signing up in the clock's future), orders placed in the
past and in the future (a replay's history is loaded before the clock reaches it), tags, attribute updates — arrive
between ticks, and the clock moves by uneven steps across local midnights. At every tick, for segments of every
clock cadence (none, day counts over orders, sign-ups and opened messages, which a day change re-judges only for the
customers a moved day edge reached, one in arithmetic, judged in full, sliding windows over events of a type and over
orders, which re-judge the customers with a row leaving them), the remembered membership
must be what the audience query selects over every customer as of that tick, and the tick's entrants those who were
not selected at the last one.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine, delete, insert, select, update

from ecrm_dsl.conditions.sql import WindowRead, window_reads
from ecrm_dsl.plan.model import Plan
from ecrm_dsl.plan.scenario import SegmentTrigger
from ecrm_dsl.runtime.deploy import deploy
from ecrm_dsl.runtime.enroll import _audience
from ecrm_dsl.runtime.model import ScenarioVersion
from ecrm_dsl.runtime.scheduler import Scheduler
from ecrm_dsl.store import changes
from ecrm_dsl.store.database import open_store
from ecrm_dsl.store.tables import TABLES
from tests.runtime.adversarial_helpers import at, scenario
from tests.runtime.world import World, template

T = TABLES
SEGMENTS = {
    "golds": 'customer.rank == "gold" or has_tag("vip")',  # no clock: changes only
    "repeaters": "customer.order_count >= 2",  # orders known at "now": the log's effective times
    # Day counts: at each local midnight, the customers whose instant a moved day edge passed are judged again.
    "lapsing": "customer.days_since_last_order between 1 and 2",
    "new_members": "days_since(customer.signed_up_at) between 1 and 2",
    "unopened": "customer.days_since_last_open between 1 and 2 or customer.order_count >= 3",
    "dated": "days_since(customer.first_order_at) > 1.5 * customer.order_count",  # arithmetic: a full pass
    # Sliding windows: whoever has a row leaving one since the last check is judged again, found by the rows the
    # window bounds (events of its type, orders); other rows leaving (opens, here) change nothing.
    "recent": "count(order.placed, 6h) >= 1",
    "opened_lately": 'opened(email, 5h) or customer.rank == "gold"',
    "bought_lately": "purchases(within: 7h) >= 1 and not (opens(email, 9h) >= 2)",
}
START = at(1, 20)


@pytest.fixture(scope="module")
def plan(tmp_path_factory: pytest.TempPathFactory) -> Plan:
    w = World(Path(tmp_path_factory.mktemp("plan")))
    w.templates(template("mail"))
    for name, where in SEGMENTS.items():
        w.write(f"segments/{name}.yaml", f"segment: {name}\nwhere: {json.dumps(where)}\n")
        w.write(f"scenarios/{name}_s.ecrm", scenario(f"{name}_s", f"segment {name}", "  send email mail"))
    return w.plan()


def run_op(engine: Engine, op: tuple[Any, ...], now: dt.datetime, ids: list[str]) -> None:
    kind = op[0]
    with engine.begin() as conn:
        if kind == "customer":
            _, rank, signup = op
            cid = f"顧客{len(ids)}"
            ids.append(cid)
            signed = None if signup is None else now + dt.timedelta(hours=signup)
            conn.execute(insert(T.customers).values(id=cid, signed_up_at=signed, attributes={"rank": rank}))
        elif not ids:
            return
        elif kind == "order":
            _, who, hours = op
            cid, moment = ids[who % len(ids)], now + dt.timedelta(hours=hours)
            oid = f"o{conn.execute(select(T.orders.c.id)).scalars().all().__len__()}"
            conn.execute(insert(T.orders).values(id=oid, customer_id=cid, ordered_at=moment, amount=1000))
            line = {"order_id": oid, "sku": "SKU-1", "quantity": 1, "price": 1000}
            conn.execute(insert(T.order_items).values(**line))
            props = {"order_id": oid}
            conn.execute(
                insert(T.events).values(customer_id=cid, type="order.placed", occurred_at=moment, properties=props)
            )
        elif kind == "rank":
            _, who, rank = op
            customers = T.customers
            conn.execute(
                update(customers).where(customers.c.id == ids[who % len(ids)]).values(attributes={"rank": rank})
            )
        elif kind == "open":
            _, who, hours = op
            cid, moment = ids[who % len(ids)], now + dt.timedelta(hours=hours)
            props = {"channel": "email"}
            conn.execute(
                insert(T.events).values(customer_id=cid, type="message.opened", occurred_at=moment, properties=props)
            )
        elif kind == "tag":
            _, who, on = op
            tags, cid = T.customer_tags, ids[who % len(ids)]
            conn.execute(delete(tags).where(tags.c.customer_id == cid))
            if on:
                conn.execute(insert(tags).values(customer_id=cid, tag="vip"))


RANKS = st.sampled_from(["gold", "silver"])
OPS = st.one_of(
    st.tuples(st.just("customer"), RANKS, st.one_of(st.none(), st.integers(-30, 30))),
    st.tuples(st.just("order"), st.integers(0, 50), st.integers(-40, 40)),
    st.tuples(st.just("rank"), st.integers(0, 50), RANKS),
    st.tuples(st.just("tag"), st.integers(0, 50), st.booleans()),
    st.tuples(st.just("open"), st.integers(0, 50), st.integers(-40, 40)),
)
STEPS = st.lists(st.tuples(st.sampled_from([1, 2, 5, 11, 24, 30]), st.lists(OPS, max_size=5)), min_size=2, max_size=7)


def full(engine: Engine, version: ScenarioVersion, now: dt.datetime) -> set[str]:
    trigger = version.trigger
    assert isinstance(trigger, SegmentTrigger)
    with engine.connect() as conn:
        return set(conn.execute(_audience(version, trigger.segment, now)).scalars())


def remembered(engine: Engine, scenario_id: str, now: dt.datetime) -> tuple[set[str], set[str]]:
    m = T.segment_members
    with engine.connect() as conn:
        rows = conn.execute(select(m.c.customer_id, m.c.since).where(m.c.scenario_id == scenario_id)).all()
    return {r.customer_id for r in rows}, {r.customer_id for r in rows if r.since == now}


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(history=st.lists(OPS, max_size=8), steps=STEPS)
def test_incremental_membership_equals_a_full_recompute(
    plan: Plan,
    new_store_url: Callable[[], str],
    history: list[tuple[Any, ...]],
    steps: list[tuple[int, list[tuple[Any, ...]]]],
) -> None:
    replay_and_compare(plan, new_store_url(), history, steps)


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(history=st.lists(OPS, max_size=8), steps=STEPS)
def test_with_more_changed_customers_than_are_listed_the_log_query_path_agrees_too(
    plan: Plan,
    new_store_url: Callable[[], str],
    monkeypatch: pytest.MonkeyPatch,
    history: list[tuple[Any, ...]],
    steps: list[tuple[int, list[tuple[Any, ...]]]],
) -> None:
    """Past ``changes.INLINE`` changed customers (a bulk import's thousands), a pass judges them as a query of the
    change log rather than a bound list: here every tick with two or more takes that path."""
    monkeypatch.setattr(changes, "INLINE", 1)
    replay_and_compare(plan, new_store_url(), history, steps)


def replay_and_compare(
    plan: Plan, url: str, history: list[tuple[Any, ...]], steps: list[tuple[int, list[tuple[Any, ...]]]]
) -> None:
    engine = open_store(url)
    ids: list[str] = []
    for op in history:
        run_op(engine, op, START, ids)
    deploy(engine, plan, START - dt.timedelta(hours=1))
    scheduler = Scheduler(engine)
    with engine.connect() as conn:
        versions = scheduler.versions(conn)[0]
    now, before = START, None
    for hours, ops in [(0, []), *steps]:
        now += dt.timedelta(hours=hours)
        scheduler.tick(now)
        expected = {v.id: full(engine, v, now) for v in versions}
        for version in versions:
            members, entrants = remembered(engine, version.id, now)
            assert members == expected[version.id], (version.id, now)
            if before is not None:
                assert entrants == expected[version.id] - before[version.id], (version.id, now)
        before = expected
        for op in ops:
            run_op(engine, op, now, ids)
    engine.dispose()


def test_each_time_window_is_labelled_with_the_rows_it_bounds(plan: Plan, new_store_url: Callable[[], str]) -> None:
    """The compiler marks every window's start with its rows, so a check finds who left it by those rows alone;
    a segment without a time window has none to read."""
    engine = open_store(new_store_url())
    deploy(engine, plan, START)
    with engine.connect() as conn:
        versions = {v.id: v for v in Scheduler(engine).versions(conn)[0]}
    engine.dispose()

    def reads(scenario_id: str) -> frozenset[WindowRead] | None:
        version = versions[scenario_id]
        assert isinstance(version.trigger, SegmentTrigger)
        return window_reads(_audience(version, version.trigger.segment, START))

    assert reads("recent_s") == {WindowRead(21_600, "events", "order.placed")}
    assert reads("opened_lately_s") == {WindowRead(18_000, "events", "message.opened")}
    assert reads("bought_lately_s") == {WindowRead(25_200, "orders"), WindowRead(32_400, "events", "message.opened")}
    assert reads("lapsing_s") == frozenset()
