"""Shop-local day boundaries: day tests compiled to UTC bounds agree with the Python evaluator around midnight JST.

Orders, sign-ups and entries sit on the last microsecond of a Tokyo day, its first instant, and a minute either
side; conditions are judged at 23:59, 00:00 and 00:00:00.000001 local. The statement is compiled once and
re-bound to each moment (``as_of``), as the entry check does, and must select what the evaluator selects.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine, insert

from ecrm_dsl.conditions.evaluate import CustomerSnapshot, evaluate, load_enrollment_snapshots, load_snapshots
from ecrm_dsl.conditions.normal import Normal, Types
from ecrm_dsl.conditions.sql import as_of, clock_keys, select_customers, select_enrollments
from ecrm_dsl.store.database import open_store
from ecrm_dsl.store.tables import TABLES
from tests.runtime.adversarial_helpers import JST
from tests.test_conditions_agree import cond

MICRO = timedelta(microseconds=1)
MIDNIGHT = datetime(2025, 3, 10, tzinfo=JST)  # 2025-03-09 15:00 UTC
EDGES = [MIDNIGHT - MICRO, MIDNIGHT, MIDNIGHT + MICRO, MIDNIGHT - timedelta(minutes=1), MIDNIGHT + timedelta(minutes=1)]
# Moments around several midnights: 23:59, 00:00, 00:00:00.000001 and 00:01 local, 0 to 3 days after MIDNIGHT.
MOMENTS = [
    MIDNIGHT + timedelta(days=d) + offset for d in range(4) for offset in (-timedelta(minutes=1), timedelta(0), MICRO)
]
TYPES = Types({"visited_at": "datetime"})


@pytest.fixture(scope="module")
def store(module_store_url: str) -> Engine:
    engine = open_store(module_store_url)
    customers, orders, enrollments = [], [], []
    for i, edge in enumerate(EDGES):
        for back in (0, 1, 2):
            cid = f"c{i}{back}"
            moment = edge - timedelta(days=back)
            # JSON text is read with julianday(), which rounds to the millisecond: whole seconds there.
            visited = moment.replace(microsecond=0).isoformat()
            customers.append({"id": cid, "signed_up_at": moment, "attributes": {"visited_at": visited}})
            orders.append(
                {"id": f"{cid}-first", "customer_id": cid, "ordered_at": moment - timedelta(days=40), "amount": 1000}
            )
            orders.append({"id": f"{cid}-last", "customer_id": cid, "ordered_at": moment, "amount": 3000})
            enrollments.append({"customer_id": cid, "scenario_id": "s", "entered_at": moment, "status": "active"})
    customers.append({"id": "none", "signed_up_at": None, "attributes": {}})
    enrollments.append({"customer_id": "none", "scenario_id": "s", "entered_at": MIDNIGHT, "status": "active"})
    with engine.begin() as conn:
        conn.execute(insert(TABLES.customers), customers)
        conn.execute(insert(TABLES.orders), orders)
        conn.execute(insert(TABLES.enrollments), enrollments)
    return engine


@pytest.fixture(scope="module")
def snapshots(store: Engine) -> dict[str, CustomerSnapshot]:
    with store.connect() as conn:
        return load_snapshots(conn)


@pytest.fixture(scope="module")
def enrolled(store: Engine) -> dict[int, CustomerSnapshot]:
    with store.connect() as conn:
        return load_enrollment_snapshots(conn)


def rebound(store: Engine, normal: Normal, enrollment: bool) -> dict[datetime, set[Any]]:
    """What the statement compiled at the first moment selects when re-bound to each moment."""
    select_ = select_enrollments if enrollment else select_customers
    query = select_(normal, now=MOMENTS[0], timezone="Asia/Tokyo", types=TYPES)
    keys = clock_keys(query)
    with store.connect() as conn:
        return {m: set(conn.execute(query, as_of(keys, m, "Asia/Tokyo")).scalars()) for m in MOMENTS}


def in_python(snapshots: dict[Any, CustomerSnapshot], normal: Normal, moment: datetime) -> set[Any]:
    return {key for key, snap in snapshots.items() if evaluate(normal, snap, now=moment, types=TYPES)}


def test_an_order_at_23_59_59_is_a_day_old_at_midnight(store: Engine, snapshots: dict[str, CustomerSnapshot]) -> None:
    normal = cond('customer.days_since_last_order == 1 and customer.id in ["c00", "c10", "c30"]')
    seen = rebound(store, normal, enrollment=False)
    assert seen[MIDNIGHT - timedelta(minutes=1)] == set()  # 23:59: the 23:59:59.999999 order is tomorrow's
    assert seen[MIDNIGHT] == {"c00", "c30"}  # ordered at 23:59:59.999999 and 23:59 the evening before
    assert seen[MIDNIGHT + timedelta(days=1)] == {"c10"}  # ordered at 00:00:00 exactly
    for moment, found in seen.items():
        assert found == in_python(snapshots, normal, moment), moment


DAY_CONDITIONS = [
    "customer.days_since_last_order >= 1",
    "customer.days_since_last_order > 1",
    "customer.days_since_last_order <= 1",
    "customer.days_since_last_order < 2",
    "customer.days_since_last_order == 2",
    "customer.days_since_last_order != 2",
    "customer.days_since_last_order between 1 and 2",
    "customer.days_since_last_order not between 1 and 2",
    "not (customer.days_since_last_order between 1 and 2)",
    "1 <= customer.days_since_last_order",
    "customer.order_count >= 1 and customer.days_since_last_order between 0 and 1",
    "days_since(customer.signed_up_at) == 0",
    "days_since(customer.signed_up_at) != 0",
    "days_since(customer.visited_at) between 1 and 3",  # JSON text: not folded, must agree all the same
    "customer.signed_up_at >= 2025-03-10",
    "customer.signed_up_at > 2025-03-09",
    "customer.signed_up_at < 2025-03-10",
    "customer.signed_up_at == 2025-03-09",
    "customer.last_order_at between 2025-03-08 and 2025-03-09",
    "customer.last_order_at not between 2025-03-08 and 2025-03-09",
    "customer.days_since_last_order < customer.avg_purchase_interval_days and customer.order_count == 2",
    "not (customer.total_spent >= 4000円 and customer.days_since_last_order <= 1)",
]


@pytest.mark.parametrize("text", DAY_CONDITIONS)
def test_day_conditions_agree_around_midnight(store: Engine, snapshots: dict[str, CustomerSnapshot], text: str) -> None:
    normal = cond(text)
    seen = rebound(store, normal, enrollment=False)
    for moment, found in seen.items():
        assert found == in_python(snapshots, normal, moment), moment
    assert len({frozenset(found) for found in seen.values()}) > 1 or text.startswith("customer.signed_up_at")


@pytest.mark.parametrize(
    "text",
    [
        "days_since_entry == 0",
        "days_since_entry >= 1",
        "days_since_entry between 1 and 2",
        "not (days_since_entry < 1)",
    ],
)
def test_days_since_entry_agrees_around_midnight(
    store: Engine, enrolled: dict[int, CustomerSnapshot], text: str
) -> None:
    normal = cond(text)
    for moment, found in rebound(store, normal, enrollment=True).items():
        assert found == in_python(enrolled, normal, moment), moment


SUBJECTS = ["customer.days_since_last_order", "days_since(customer.signed_up_at)", "days_since(customer.last_order_at)"]


@settings(
    max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture]
)
@given(
    subject=st.sampled_from(SUBJECTS),
    shape=st.sampled_from(["==", "!=", "<", "<=", ">", ">=", "between", "not between"]),
    days=st.lists(st.integers(-1, 4), min_size=2, max_size=2),
    negate=st.booleans(),
    moment=st.sampled_from(MOMENTS),
)
def test_random_day_tests_agree(
    store: Engine,
    snapshots: dict[str, CustomerSnapshot],
    subject: str,
    shape: str,
    days: list[int],
    negate: bool,
    moment: datetime,
) -> None:
    text = f"{subject} {shape} {days[0]}" + (f" and {days[1]}" if "between" in shape else "")
    normal = cond(f"not ({text})" if negate else text)
    query = select_customers(normal, now=MOMENTS[-1], timezone="Asia/Tokyo", types=TYPES)
    with store.connect() as conn:
        found = set(conn.execute(query, as_of(clock_keys(query), moment, "Asia/Tokyo")).scalars())
        fresh = set(conn.execute(select_customers(normal, now=moment, timezone="Asia/Tokyo", types=TYPES)).scalars())
    assert found == fresh == in_python(snapshots, normal, moment)


def test_day_tests_compare_the_stored_instant(store: Engine) -> None:
    """No per-row day arithmetic: the order index answers the last-order window."""
    if store.dialect.name != "sqlite":
        pytest.skip("reads SQLite's EXPLAIN QUERY PLAN (PostgreSQL's planner scans a table this small)")
    query = select_customers(cond("customer.days_since_last_order between 150 and 364"), now=MIDNIGHT)
    with store.connect() as conn:
        sql = str(query.compile(dialect=conn.dialect))
        plan = " ".join(row[3] for row in conn.exec_driver_sql("EXPLAIN QUERY PLAN " + sql, (None,) * sql.count("?")))
    assert "julianday" not in sql and "ORDER BY" not in sql
    assert "ix_orders_customer_id_ordered_at" in plan
