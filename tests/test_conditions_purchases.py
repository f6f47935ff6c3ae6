"""Purchase history in conditions: keyword arguments in both syntaxes, their normal form and type errors, and
``bought``/``purchases``/``units_bought``/``spent_on``/``first_order_*`` judged alike by SQL and Python on a real
store (SQLite and PostgreSQL), on hand-picked histories and on random ones drawn by hypothesis.
"""

from __future__ import annotations

import json
import random
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine, create_engine, delete, event, insert, select
from sqlalchemy.dialects import postgresql, sqlite

from ecrm_dsl.conditions.evaluate import CustomerSnapshot, evaluate, load_enrollment_snapshots, load_snapshots
from ecrm_dsl.conditions.normal import ConditionError, Normal, normalise
from ecrm_dsl.conditions.sql import select_customers, select_enrollments
from ecrm_dsl.language import ast
from ecrm_dsl.plan import text as plan_text
from ecrm_dsl.store import TABLES
from ecrm_dsl.syntax.text import parse_condition
from ecrm_dsl.syntax.text_printer import expr_text

NOW = datetime(2025, 3, 1, 3, 0, tzinfo=UTC)  # 12:00 in Tokyo
# Paths that share prefixes: "skincare" holds "skincare/lotion" and its children, never "skincare2".
CATEGORIES = ["skincare", "skincare/lotion", "skincare/lotion/mini", "skincare2", "food/スイーツ", "スキンケア", None]
SKUS = ["TRIAL-SET", "LOTION-01", "A1", "化粧水-50"]


def cond(source: str) -> Normal:
    expr, findings = parse_condition(source, "<test>")
    assert not findings, findings
    return normalise(expr)


# --------------------------------------------------------------------------- syntax and normal form


@pytest.mark.parametrize(
    "source",
    [
        'bought(category: "skincare", within: 90d)',
        'not bought(sku: "TRIAL-SET") and purchases(within: 36h) >= 2',
        'spent_on(category: "スキンケア/化粧水") > 3000円 or units_bought() between 2 and 5',
        'contains(customer.first_order_skus, "TRIAL-SET")',
        'bought(within: 30d, sku: "A1", category: "food")',
    ],
)
def test_printed_text_parses_back_to_the_same_tree(source: str) -> None:
    expr, findings = parse_condition(source, "<test>")
    assert not findings
    assert expr_text(expr) == source
    again, _ = parse_condition(expr_text(expr), "<again>")
    assert again == expr


def test_keywords_keep_their_order_in_the_tree_and_their_positions() -> None:
    expr, _ = parse_condition('bought(within: 90d, category: "skincare")', "<test>", line=4, column=10)
    assert isinstance(expr, ast.Call) and expr.args == ()
    assert [k.name for k in expr.keywords] == ["within", "category"]
    category = expr.keywords[1]
    assert (category.span.line, category.span.column) == (4, 30)
    assert (category.value.span.line, category.value.span.column) == (4, 40)


def test_normal_form_is_positional_whatever_the_order_written() -> None:
    one = cond('bought(within: 90d, sku: "A1", category: "skincare")')
    two = cond('bought(category: "skincare", within: 90d, sku: "A1")')
    assert (
        one
        == two
        == [
            "call",
            "bought",
            ["lit", "string", "skincare"],
            ["lit", "string", "A1"],
            ["lit", "duration", 90 * 86_400],
        ]
    )
    assert cond("bought()") == ["call", "bought", *[["lit", "null", None]] * 3]
    # used as a value: an int (or money) function is compared; bought() stands alone as a condition
    assert cond("purchases() >= 2")[2][:2] == ["call", "purchases"]


@pytest.mark.parametrize(
    "source",
    [
        'bought(category: "skincare", within: 90d) and not bought(sku: "LOTION-01")',
        "spent_on(within: 36h) >= 3000円 or purchases() == 0",
        'contains(customer.first_order_categories, "skincare")',
    ],
)
def test_plan_text_renders_keywords_back(source: str) -> None:
    """ecrm diff and graph print conditions from the plan: keywords by name, the absent ones left out."""
    normal = cond(source)
    assert cond(plan_text.condition(normal)) == normal


def test_normal_form_refuses_what_the_type_checker_reports() -> None:
    for source in ['bought("skincare")', 'bought(categry: "x")', 'has_tag(tag: "vip")']:
        expr, _ = parse_condition(source, "<test>")
        with pytest.raises(ConditionError):
            normalise(expr)
    twice = ast.Call("bought", (), keywords=(ast.Keyword("sku", ast.Literal("a", "string")),) * 2)
    with pytest.raises(ConditionError):
        normalise(twice)


def test_positional_after_keyword_is_a_syntax_error_with_its_position() -> None:
    _, findings = parse_condition('bought(within: 30d, "x")', "f.ecrm", line=3, column=5)
    assert [(d.code, d.span.line, d.span.column) for d in findings] == [("E005", 3, 25)]
    assert "positional argument cannot follow a keyword" in findings[0].message


# --------------------------------------------------------------------------- semantics, by hand


def _order(oid: str, at: datetime, *lines: tuple[str, str | None, int, int]) -> Any:
    from ecrm_dsl.conditions.evaluate import ItemSnapshot, OrderSnapshot

    return OrderSnapshot(oid, at, sum(q * p for _, _, q, p in lines), tuple(ItemSnapshot(*line) for line in lines))


def _holds(source: str, *orders: Any) -> bool:
    return evaluate(cond(source), CustomerSnapshot("c", orders=orders), now=NOW)


def test_category_paths_match_below_not_beside() -> None:
    lotion = _order("o1", NOW - timedelta(days=3), ("L", "skincare/lotion", 1, 1200))
    beside = _order("o2", NOW - timedelta(days=3), ("S", "skincare2", 1, 900))
    assert _holds('bought(category: "skincare")', lotion)
    assert _holds('bought(category: "skincare/lotion")', lotion)
    assert not _holds('bought(category: "skincare/lotion/mini")', lotion)
    assert not _holds('bought(category: "skincare")', beside)
    assert not _holds('bought(category: "skin")', lotion)
    assert _holds('contains(customer.first_order_categories, "skincare")', lotion)
    assert not _holds('contains(customer.first_order_categories, "skincare")', beside)


def test_within_counts_shop_local_days_like_days_since() -> None:
    # 2025-02-28 15:00 UTC is 2025-03-01 00:00 in Tokyo: today there; 14:59 UTC is yesterday.
    today = _order("o1", datetime(2025, 2, 28, 15, 0, tzinfo=UTC), ("A1", None, 1, 500))
    yesterday = _order("o2", datetime(2025, 2, 28, 14, 59, tzinfo=UTC), ("A1", None, 1, 500))
    assert _holds("bought(within: 0d)", today) and not _holds("bought(within: 0d)", yesterday)
    assert _holds("bought(within: 1d)", yesterday)
    assert _holds("bought(within: 13h)", today) and _holds("bought(within: 12h)", today)
    assert not _holds("bought(within: 11h)", today)  # a window of hours ends its count at the instant
    assert _holds("customer.days_since_last_order <= 1", yesterday)  # the same day count


def test_counts_and_sums() -> None:
    orders = (
        _order("o1", NOW - timedelta(days=100), ("A1", "skincare/lotion", 2, 1500), ("B", "food", 1, 800)),
        _order("o2", NOW - timedelta(days=10), ("A1", "skincare/lotion", 1, 1400), ("C", "skincare", 3, 100)),
        _order("o3", NOW + timedelta(days=1), ("A1", "skincare", 5, 1000)),  # not placed yet
    )
    assert _holds('purchases(category: "skincare") == 2', *orders)
    assert _holds('purchases(category: "skincare", within: 30d) == 1', *orders)
    assert _holds('units_bought(sku: "A1") == 3', *orders)
    assert _holds('spent_on(category: "skincare") == 4700円', *orders)
    assert _holds('spent_on(category: "food", within: 90d) == 0円', *orders)
    assert _holds('not bought(sku: "ZZ")', *orders)


def test_first_order_is_first_by_time_then_id() -> None:
    at = NOW - timedelta(days=5)
    a2 = _order("A-2", at, ("TRIAL-SET", "skincare/trial", 1, 980))
    a1 = _order("A-1", at, ("LOTION-01", "skincare/lotion", 1, 3000))
    assert _holds('contains(customer.first_order_skus, "LOTION-01")', a2, a1)
    assert not _holds('contains(customer.first_order_skus, "TRIAL-SET")', a2, a1)
    assert not _holds('contains(customer.first_order_skus, "TRIAL-SET")')  # no orders: an empty list


# --------------------------------------------------------------------------- SQL agrees with Python

Row = dict[str, Any]


def _history(rng: random.Random, count: int = 120) -> dict[str, list[Row]]:
    rows: dict[str, list[Row]] = {"customers": [], "orders": [], "items": [], "enrollments": []}
    for n in range(count):
        cid = f"c{n:03d}"
        rows["customers"].append({"id": cid, "name": f"顧客{n}"})
        previous: datetime | None = None
        for k in range(rng.choice([0, 1, 1, 2, 3, 5])):
            if previous is not None and rng.random() < 0.25:
                at = previous  # a day-precision export: two orders at one instant
            else:
                base = NOW - timedelta(days=rng.randint(-2, 200))
                at = base.replace(hour=rng.choice([14, 15, 3]), minute=rng.choice([0, 59]), second=0, microsecond=0)
            previous = at
            oid = f"{cid}-{rng.choice('ab')}{k}"
            _add_order(rows, cid, oid, at, _lines(rng))
            if rng.random() < 0.4:
                rows["enrollments"].append(_entry(cid, oid, at))
    return rows


def _lines(rng: random.Random) -> list[tuple[str, str | None, int, int]]:
    skus = rng.sample(SKUS, rng.randint(0, 3))  # an order may have no lines
    return [(sku, rng.choice(CATEGORIES), rng.randint(1, 4), rng.choice([100, 980, 3000])) for sku in skus]


def _add_order(rows: dict[str, list[Row]], cid: str, oid: str, at: datetime, lines: list[Any]) -> None:
    amount = sum(q * p for _, _, q, p in lines)
    rows["orders"].append({"id": oid, "customer_id": cid, "ordered_at": at, "amount": amount})
    for sku, category, quantity, price in lines:
        rows["items"].append({"order_id": oid, "sku": sku, "category": category, "quantity": quantity, "price": price})


def _entry(cid: str, oid: str, at: datetime) -> Row:
    return {"customer_id": cid, "scenario_id": "x", "entered_at": at, "entry_order_id": oid, "status": "active"}


_TARGETS = {
    "customers": TABLES.customers,
    "orders": TABLES.orders,
    "items": TABLES.order_items,
    "enrollments": TABLES.enrollments,
}


def _fill(engine: Engine, rows: dict[str, list[Row]]) -> None:
    with engine.begin() as conn:
        for table in reversed(list(_TARGETS.values())):
            conn.execute(delete(table))
        for key, table in _TARGETS.items():
            if rows.get(key):
                conn.execute(insert(table), rows[key])


@pytest.fixture(scope="module")
def store(module_store_url: str) -> Iterator[Engine]:
    engine = create_engine(module_store_url)
    TABLES.metadata.create_all(engine)
    _fill(engine, _history(random.Random(20250301)))
    yield engine
    engine.dispose()


def _agree(engine: Engine, normal: Normal) -> tuple[set[Any], set[Any]]:
    """The customers (and the enrollments) the condition selects, in SQL and in Python: each pair equal."""
    found = []
    with engine.connect() as conn:
        customers, enrolled = load_snapshots(conn), load_enrollment_snapshots(conn)
        for enrollment, snapshots in ((False, customers), (True, enrolled)):
            if enrollment:
                in_sql = set(conn.execute(select_enrollments(normal, now=NOW)).scalars())
            else:
                in_sql = set(conn.execute(select_customers(normal, now=NOW)).scalars())
                few = set(conn.execute(select_customers(normal, now=NOW, few_customers=True)).scalars())
                assert few == in_sql
            in_python = {key for key, snap in snapshots.items() if evaluate(normal, snap, now=NOW)}
            assert in_sql == in_python, f"only SQL: {sorted(in_sql - in_python)}; only Python: {in_python - in_sql}"
            found.append(in_sql)
    return found[0], found[1]


HAND_PICKED = [
    'bought(category: "skincare", within: 60d) and not bought(sku: "LOTION-01")',
    'bought(category: "skincare")',
    'not bought(category: "skincare/lotion")',
    'bought(sku: "化粧水-50", within: 30d)',
    'bought(category: "スキンケア") or bought(category: "food", within: 7d)',
    "bought(within: 36h)",
    "purchases() >= 2",
    'purchases(category: "skincare", within: 120d) == 1',
    'units_bought(sku: "TRIAL-SET") >= 3',
    'spent_on(category: "skincare") >= ¥6,000',
    "spent_on(within: 90d) < 1000円 and customer.order_count >= 1",
    'contains(customer.first_order_skus, "TRIAL-SET")',
    'contains(customer.first_order_categories, "skincare") and not contains(customer.first_order_skus, "A1")',
    "bought(within: 90d) and not bought(within: 30d)",
]


@pytest.mark.parametrize("source", HAND_PICKED)
def test_hand_picked_conditions_agree(store: Engine, source: str) -> None:
    customers, enrollments = _agree(store, cond(source))
    assert 0 < len(customers) < 120 and enrollments


def test_within_days_is_the_day_count_of_days_since(store: Engine) -> None:
    assert _agree(store, cond("bought(within: 90d) and customer.days_since_last_order > 90")) == (set(), set())


def test_values_are_bound_parameters() -> None:
    normal = cond('bought(category: "skincare/lotion", sku: "TRIAL-SET") and spent_on(category: "スキンケア") > 1234円')
    normal = ["and", normal, cond('contains(customer.first_order_categories, "gift/box")')]
    for dialect in (sqlite.dialect(), postgresql.dialect()):
        sql = str(select_enrollments(normal, now=NOW).compile(dialect=dialect))
        leaked = [v for v in ("skincare", "TRIAL-SET", "スキンケア", "1234", "gift/box") if v in sql]
        assert not leaked, sql


# ---- random histories and random conditions

_FILTERS = {
    "category": st.sampled_from(["skincare", "skincare/lotion", "skincare2", "スキンケア", "food"]).map(json.dumps),
    "sku": st.sampled_from(SKUS).map(json.dumps),
    "within": st.sampled_from(["0d", "1d", "7d", "30d", "36h", "60h"]),
}


@st.composite
def purchase_conditions(draw: st.DrawFn) -> str:
    names = draw(st.lists(st.sampled_from(sorted(_FILTERS)), unique=True, max_size=3))
    args = ", ".join(f"{name}: {draw(_FILTERS[name])}" for name in names)
    kind = draw(st.sampled_from(["bought", "not bought", "purchases", "units_bought", "spent_on", "first"]))
    if kind in ("bought", "not bought"):
        return f"{kind}({args})"
    if kind == "first":
        which = draw(st.sampled_from(["skus", "categories"]))
        needle = draw(st.sampled_from(SKUS if which == "skus" else ["skincare", "skincare/lotion", "food"]))
        return f"contains(customer.first_order_{which}, {json.dumps(needle)})"
    op, bound = draw(st.sampled_from(["==", ">=", "<"])), draw(st.integers(0, 4))
    return f"{kind}({args}) {op} {bound * 1000}円" if kind == "spent_on" else f"{kind}({args}) {op} {bound}"


@st.composite
def histories(draw: st.DrawFn) -> dict[str, list[Row]]:
    rows: dict[str, list[Row]] = {"customers": [], "orders": [], "items": [], "enrollments": []}
    # A few categories and skus per history, so that customers differ in what they bought.
    categories = draw(st.lists(st.sampled_from(CATEGORIES), min_size=1, max_size=3, unique=True))
    skus = draw(st.lists(st.sampled_from(SKUS), min_size=1, max_size=3, unique=True))
    line = st.tuples(st.sampled_from(skus), st.sampled_from(categories), st.integers(1, 3), st.sampled_from([100, 980]))
    moment = st.builds(
        lambda days, hour, minute: (NOW - timedelta(days=days)).replace(hour=hour, minute=minute, second=0),
        st.sampled_from([-1, 0, 1, 2, 3, 6, 7, 8, 29, 30, 31, 60]),  # around the windows drawn below
        st.sampled_from([3, 14, 15]),
        st.sampled_from([0, 59]),
    )
    for n in range(draw(st.integers(1, 6))):
        cid = f"h{n}"
        rows["customers"].append({"id": cid})
        times = draw(st.lists(moment, max_size=4))
        for k, at in enumerate(times):
            lines = draw(st.lists(line, max_size=3, unique_by=lambda item: item[0]))
            oid = f"{cid}-{draw(st.sampled_from('ab'))}{k}"
            _add_order(rows, cid, oid, at, lines)
            if draw(st.booleans()):
                rows["enrollments"].append(_entry(cid, oid, at))
    return rows


@pytest.fixture
def scratch(store_url: str) -> Iterator[Engine]:
    """An empty store of its own (each example refills it)."""
    engine = create_engine(store_url)
    TABLES.metadata.create_all(engine)
    yield engine
    engine.dispose()


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(history=histories(), sources=st.lists(purchase_conditions(), min_size=1, max_size=4))
def test_random_histories_agree(scratch: Engine, history: dict[str, list[Row]], sources: list[str]) -> None:
    _fill(scratch, history)
    for source in sources:
        _agree(scratch, cond(source))
    _agree(scratch, ["and", *(cond(s) for s in sources)] if len(sources) > 1 else ["not", cond(sources[0])])


# --------------------------------------------------------------------------- the query plan


def test_sqlite_reaches_lines_through_the_orders_index(tmp_path: Any) -> None:
    """On a store with many lines, neither shape of the SQL scans order_items: the orders come by their
    (customer_id, ordered_at) index, their lines by the (order_id, sku) key."""
    engine = create_engine(f"sqlite:///{tmp_path / 'big.db'}")
    TABLES.metadata.create_all(engine)
    _fill(engine, _history(random.Random(7), count=2000))

    @event.listens_for(engine, "before_cursor_execute", retval=True)
    def explain(conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, many: bool) -> Any:
        return ("EXPLAIN QUERY PLAN " + statement if statement.startswith("SELECT") else statement), parameters

    with engine.connect() as conn:
        conn.exec_driver_sql("ANALYZE")
        for source in HAND_PICKED[:3] + HAND_PICKED[7:9] + HAND_PICKED[11:13]:
            for few in (False, True):
                query = select_customers(cond(source), now=NOW, few_customers=few)
                details = [row[-1] for row in conn.execute(query).all()]
                scans = [d for d in details if d.startswith("SCAN order_items")]
                assert not scans, (source, few, details)
                assert any(d.startswith("SEARCH order_items") and "(order_id=?" in d for d in details), details
                per_customer = [d for d in details if d.startswith("SEARCH orders")]
                assert not few or all("ix_orders_customer_id_ordered_at (customer_id=?" in d for d in per_customer)
    engine.dispose()


# --------------------------------------------------------------------------- in segment triggers, tick by tick

# One segment per clock cadence: none (all time), a day window (a full pass per local day), a sliding window.
SEGMENT_CONDITIONS = {
    "never_lotion": 'bought(category: "skincare") and not bought(sku: "LOTION-01")',
    "skincare_today": 'bought(category: "skincare", within: 1d)',
    "recent_units": "units_bought(within: 6h) >= 2",
}
ORDER_OPS = st.lists(
    st.tuples(
        st.integers(0, 5),
        st.integers(-30, 10),
        st.lists(
            st.tuples(
                st.sampled_from(SKUS[:2]),
                st.sampled_from(["skincare", "skincare/lotion", "skincare2"]),
                st.integers(1, 2),
            ),
            min_size=1,
            max_size=2,
            unique_by=lambda line: line[0],
        ),
    ),
    max_size=6,
)


@pytest.fixture(scope="module")
def segment_plan(tmp_path_factory: pytest.TempPathFactory) -> Any:
    from tests.runtime.adversarial_helpers import scenario
    from tests.runtime.world import World, template

    w = World(tmp_path_factory.mktemp("plan"))
    w.templates(template("mail"))
    for name, where in SEGMENT_CONDITIONS.items():
        w.write(f"segments/{name}.yaml", f"segment: {name}\nwhere: '{where}'\n")
        w.write(f"scenarios/{name}_s.ecrm", scenario(f"{name}_s", f"segment {name}", "  send email mail"))
    return w.plan()


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(steps=st.lists(st.tuples(st.sampled_from([1, 5, 11, 24]), ORDER_OPS), min_size=2, max_size=6))
def test_segment_members_follow_purchases_tick_by_tick(
    segment_plan: Any, new_store_url: Any, steps: list[tuple[int, list[Any]]]
) -> None:
    """Segment triggers on purchase history: after every tick (orders with lines arriving, some in the clock's
    future, windows sliding and local days turning), the remembered members are those the Python evaluator picks."""
    from ecrm_dsl.runtime.deploy import deploy
    from ecrm_dsl.runtime.scheduler import Scheduler
    from ecrm_dsl.store.database import open_store

    engine = open_store(new_store_url())
    start = datetime(2025, 3, 1, 11, 0, tzinfo=UTC)  # 20:00 in Tokyo
    with engine.begin() as conn:
        conn.execute(insert(TABLES.customers), [{"id": f"k{n}"} for n in range(6)])
    deploy(engine, segment_plan, start - timedelta(hours=1))
    scheduler = Scheduler(engine)
    now, placed = start, 0
    for hours, orders in [(0, []), *steps]:
        now += timedelta(hours=hours)
        scheduler.tick(now)
        with engine.connect() as conn:
            snapshots = load_snapshots(conn)
            members = conn.execute(
                select(TABLES.segment_members.c.scenario_id, TABLES.segment_members.c.customer_id)
            ).all()
        for name, where in SEGMENT_CONDITIONS.items():
            expected = {cid for cid, snap in snapshots.items() if evaluate(cond(where), snap, now=now)}
            assert {cid for sid, cid in members if sid == f"{name}_s"} == expected, (name, now)
        rows: dict[str, list[Row]] = {"orders": [], "items": []}
        for who, hours_off, lines in orders:
            placed += 1
            _add_order(
                rows, f"k{who}", f"p{placed}", now + timedelta(hours=hours_off), [(*line, 500) for line in lines]
            )
        _fill_more(engine, rows)
    engine.dispose()


def _fill_more(engine: Engine, rows: dict[str, list[Row]]) -> None:
    with engine.begin() as conn:
        for key in ("orders", "items"):
            if rows[key]:
                conn.execute(insert(_TARGETS[key]), rows[key])
