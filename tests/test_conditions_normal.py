"""The normal form of conditions: the exact JSON stored in execution plans."""

from __future__ import annotations

import json
from typing import Any

import pytest

from ecrm_dsl.conditions.normal import (
    ConditionError,
    Types,
    comparison_kind,
    normalise,
    reads_only_the_event,
    walk_segments,
)
from ecrm_dsl.language import ast
from ecrm_dsl.syntax.text import parse_condition

GOLDEN: list[tuple[str, Any]] = [
    (
        'customer.order_count == 1 and not has_tag("vip")',
        [
            "and",
            ["cmp", "==", ["attr", "order_count"], ["lit", "int", 1]],
            ["not", ["call", "has_tag", ["lit", "string", "vip"]]],
        ],
    ),
    (  # nested or/or flattens, order kept
        'customer.order_count == 0 or (customer.persona == "student" or (has_tag("a") or has_tag("b")))',
        [
            "or",
            ["cmp", "==", ["attr", "order_count"], ["lit", "int", 0]],
            ["cmp", "==", ["attr", "persona"], ["lit", "string", "student"]],
            ["call", "has_tag", ["lit", "string", "a"]],
            ["call", "has_tag", ["lit", "string", "b"]],
        ],
    ),
    (
        "customer.total_spent >= ¥30,000 or customer.avg_order_value < 5000円",
        [
            "or",
            ["cmp", ">=", ["attr", "total_spent"], ["lit", "money", 30000]],
            ["cmp", "<", ["attr", "avg_order_value"], ["lit", "money", 5000]],
        ],
    ),
    (
        "opened(email, 30d) and not clicked(line, 36h)",
        [
            "and",
            ["call", "opened", ["name", "email"], ["lit", "duration", 2592000]],
            ["not", ["call", "clicked", ["name", "line"], ["lit", "duration", 129600]]],
        ],
    ),
    (
        "count(order.placed, 90d) >= 2",
        ["cmp", ">=", ["call", "count", ["name", "order.placed"], ["lit", "duration", 7776000]], ["lit", "int", 2]],
    ),
    (
        "in_segment(dormant_150) and days_since(customer.last_order_at) > 30",
        [
            "and",
            ["call", "in_segment", ["name", "dormant_150"]],
            ["cmp", ">", ["call", "days_since", ["attr", "last_order_at"]], ["lit", "int", 30]],
        ],
    ),
    (
        'customer.persona not in ["parenting", "student"]',
        ["not_in", ["attr", "persona"], [["lit", "string", "parenting"], ["lit", "string", "student"]]],
    ),
    (
        "customer.birthday between 1980-01-01 and 1989-12-31",
        ["between", ["attr", "birthday"], ["lit", "date", "1980-01-01"], ["lit", "date", "1989-12-31"]],
    ),
    (
        "orders_since_entry not between 1 and 2.50",
        ["not_between", ["metric", "orders_since_entry"], ["lit", "int", 1], ["lit", "decimal", "2.5"]],
    ),
    (
        "event.coupon_code is null or event.amount is not null",
        ["or", ["is_null", ["event", "coupon_code"]], ["is_not_null", ["event", "amount"]]],
    ),
    (
        "customer.email_opt_in and not customer.unsubscribed",
        [
            "and",
            ["cmp", "==", ["attr", "email_opt_in"], ["lit", "bool", True]],
            ["not", ["cmp", "==", ["attr", "unsubscribed"], ["lit", "bool", True]]],
        ],
    ),
    (
        'contains(event.categories, "skincare") and customer.skin_type in ["dry", null]',
        [
            "and",
            ["call", "contains", ["event", "categories"], ["lit", "string", "skincare"]],
            ["in", ["attr", "skin_type"], [["lit", "string", "dry"], ["lit", "null", None]]],
        ],
    ),
    (
        "customer.last_survey_satisfaction <= 2 and days_since_entry >= 7 and customer.points == -3",
        [
            "and",
            ["cmp", "<=", ["attr", "last_survey_satisfaction"], ["lit", "int", 2]],
            ["cmp", ">=", ["metric", "days_since_entry"], ["lit", "int", 7]],
            ["cmp", "==", ["attr", "points"], ["lit", "int", -3]],
        ],
    ),
    (
        "not (not customer.dm_opt_in)",
        ["not", ["not", ["cmp", "==", ["attr", "dm_opt_in"], ["lit", "bool", True]]]],
    ),
    (
        'has_tag("vip") == false',
        ["cmp", "==", ["call", "has_tag", ["lit", "string", "vip"]], ["lit", "bool", False]],
    ),
]


def _parse(text: str) -> ast.Expr:
    expr, findings = parse_condition(text, "<test>")
    assert not findings, findings
    return expr


@pytest.mark.parametrize(("text", "expected"), GOLDEN, ids=[g[0][:40] for g in GOLDEN])
def test_golden_normal_forms(text: str, expected: Any) -> None:
    normal = normalise(_parse(text))
    assert normal == expected
    # Plain JSON, and the same bytes every time.
    assert json.loads(json.dumps(normal)) == normal
    assert json.dumps(normalise(_parse(text))) == json.dumps(normal)


def test_and_inside_or_is_not_flattened() -> None:
    normal = normalise(_parse('customer.order_count == 0 or (has_tag("a") and has_tag("b"))'))
    assert normal[0] == "or" and normal[2][0] == "and"


def test_spans_do_not_matter() -> None:
    a = normalise(_parse("customer.order_count >= 2"))
    b = normalise(_parse("customer.order_count   >=   2"))
    assert a == b


@pytest.mark.parametrize("text", ["order_count >= 2", "foo.bar == 1", "nosuch(1)", "opened(email) "])
def test_unknown_names_are_refused(text: str) -> None:
    with pytest.raises(ConditionError):
        normalise(_parse(text))


def test_walk_segments() -> None:
    normal = normalise(_parse("in_segment(a) and (not in_segment(b) or customer.order_count in [1, 2])"))
    assert walk_segments(normal) == ["a", "b"]


def test_types() -> None:
    types = Types({"points": "int"}, {"satisfaction": "int"})
    assert types.of(["attr", "points"]) == "int"
    assert types.of(["attr", "total_spent"]) == "money"
    assert types.of(["event", "amount"]) == "money"
    assert types.of(["event", "satisfaction"]) == "int"
    assert types.of(["attr", "undeclared"]) is None
    assert comparison_kind("datetime", "datetime") == "instant"
    assert comparison_kind("datetime", "date") == "day"
    assert comparison_kind("money", "int") == "number"
    assert comparison_kind(None, "string") == "string"
    for left, right in [("string", "int"), ("list", "list"), ("duration", "int"), (None, None)]:
        with pytest.raises(ConditionError):
            comparison_kind(left, right)


@pytest.mark.parametrize(
    ("text", "only_the_event"),
    [
        ('event.coupon_code == "BACK"', True),
        ('event.coupon_code in ["A", "B"] and not event.channel == "line"', True),
        ("event.coupon_code is null or event.amount between 1000 and 5000", True),
        ('contains(event.skus, "LOTION-150")', True),
        ('contains(customer.first_order_skus, "TRIAL-SET")', False),
        ('event.coupon_code == "BACK" and customer.order_count >= 1', False),
        ("customer.order_count >= 1", False),
        ('has_tag("vip")', False),
        ("count(order.placed, 30d) >= 2", False),
    ],
)
def test_a_condition_that_reads_only_the_event_is_told_apart(text: str, only_the_event: bool) -> None:
    """What lets a goal or wait judge such a condition without loading the customer."""
    assert reads_only_the_event(normalise(_parse(text))) is only_the_event
