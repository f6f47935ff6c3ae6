"""A conjunction's SQL is written cheapest part first: SQLite evaluates a WHERE's terms in order and stops at
the first false one. The results are the written order's (the agreement tests judge every condition both ways)."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy.dialects import sqlite

from ecrm_dsl.conditions.cost import cheapest_first, subqueries
from ecrm_dsl.conditions.normal import Normal, Types, normalise
from ecrm_dsl.conditions.sql import _DERIVED, select_customers
from ecrm_dsl.syntax.text import parse_condition

NOW = datetime(2025, 3, 1, 3, tzinfo=UTC)


def normal(text: str) -> Normal:
    expr, findings = parse_condition(text, "<test>")
    assert findings == []
    return normalise(expr)


def test_each_aggregate_or_table_reading_function_is_one_subquery() -> None:
    segments = {"recent": normal("customer.days_since_last_order <= 30 and opened(email, 30d)")}
    counted = {
        'customer.rank == "gold"': 0,
        'has_tag("vip")': 0,
        "customer.days_since_last_order < 90": 1,
        "opened(email, 30d)": 1,
        "count(subscription.skipped, 60d) >= 2": 1,
        "customer.days_since_last_order > 1.5 * customer.avg_purchase_interval_days": 2,
        'in_segment("recent")': 2,
    }
    assert {text: subqueries(normal(text), _DERIVED, segments) for text in counted} == counted


def test_a_conjunction_keeps_its_written_order_among_equals() -> None:
    parts = [normal(text) for text in ('customer.rank == "gold"', "customer.email_opt_in == true")]
    assert cheapest_first(parts, _DERIVED, {}) == parts
    assert cheapest_first(parts[::-1], _DERIVED, {}) == parts[::-1]


def test_the_sql_tests_the_attribute_then_the_last_order_then_the_purchase_interval() -> None:
    condition = normal(
        "customer.days_since_last_order > 1.5 * customer.avg_purchase_interval_days"
        " and customer.days_since_last_order < 90 and customer.email_opt_in == true"
    )
    query = select_customers(condition, now=NOW, timezone="Asia/Tokyo", segments={}, types=Types())
    sql = str(query.compile(dialect=sqlite.dialect()))
    opt_in, last_order, interval = sql.index("email_opt_in"), sql.index("max(orders"), sql.index("min(orders")
    assert opt_in < last_order < interval
