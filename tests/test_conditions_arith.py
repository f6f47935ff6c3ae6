"""Arithmetic in conditions and the derived metrics built on it.

Parsing (a sign after an operand is an operator, alone it belongs to the literal; precedence), printing with
minimal parentheses, types with positioned errors (through the real linter), and, on a real store (SQLite and
PostgreSQL), exact values of the new metrics and division by zero, the same in SQL and in Python.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, create_engine, insert
from sqlalchemy.dialects import sqlite

from ecrm_dsl.conditions.evaluate import CustomerSnapshot, evaluate, load_snapshots
from ecrm_dsl.conditions.normal import ConditionError, Types, normalise
from ecrm_dsl.conditions.sql import SENT_WINDOW, as_of, clock_keys, select_customers
from ecrm_dsl.language import ast
from ecrm_dsl.language.diagnostics import DiagnosticError
from ecrm_dsl.language.values import Duration
from ecrm_dsl.plan import text as plan_text
from ecrm_dsl.runtime.enroll import _needs_full_pass
from ecrm_dsl.store import TABLES
from ecrm_dsl.syntax.text import parse_condition, parse_text
from ecrm_dsl.syntax.text_printer import expr_text
from tests.runtime.adversarial_helpers import at, scenario
from tests.runtime.world import World, template
from tests.test_rules_golden import FIXTURE, format_finding, lint_project

JST = timezone(timedelta(hours=9))
NOW = datetime(2025, 3, 1, 12, 0, tzinfo=JST)


def parse(text: str) -> ast.Expr:
    expr, findings = parse_condition(text, "<test>")
    assert findings == []
    return expr


def ref(name: str) -> ast.Ref:
    return ast.Ref(("customer", name))


def lit(value: Any, type_: str = "int") -> ast.Literal:
    return ast.Literal(value, type_)


# --------------------------------------------------------------------------- parsing


@pytest.mark.parametrize(
    "text",
    ["customer.order_count -1 >= 1", "customer.order_count - 1 >= 1", "customer.order_count-1 >= 1"],
)
def test_a_sign_after_an_operand_is_a_subtraction(text: str) -> None:
    assert parse(text) == ast.Compare(">=", ast.Arith("-", ref("order_count"), lit(1)), lit(1))


def test_a_signed_literal_alone_stays_a_literal() -> None:
    assert parse("-1 < customer.order_count") == ast.Compare("<", lit(-1), ref("order_count"))
    assert parse("customer.order_count - -1 > 0") == ast.Compare(
        ">", ast.Arith("-", ref("order_count"), lit(-1)), lit(0)
    )
    assert parse("customer.points * -1.5 > 0").left == ast.Arith("*", ref("points"), lit("-1.5", "decimal"))
    assert parse("customer.last_order_at + -7d > customer.signed_up_at").left == ast.Arith(
        "+", ref("last_order_at"), lit(Duration(-7 * 86400), "duration")
    )
    assert parse("customer.last_order_at -7d > customer.signed_up_at").left == ast.Arith(
        "-", ref("last_order_at"), lit(Duration(7 * 86400), "duration")
    )


def test_precedence_and_left_associativity() -> None:
    a, b, c = ref("order_count"), ref("points"), lit(2)
    assert parse("customer.order_count + customer.points * 2 > 0").left == ast.Arith("+", a, ast.Arith("*", b, c))
    assert parse("customer.order_count - customer.points - 2 > 0").left == ast.Arith("-", ast.Arith("-", a, b), c)
    assert parse("customer.order_count / customer.points * 2 > 0").left == ast.Arith("*", ast.Arith("/", a, b), c)
    assert parse("(customer.order_count + customer.points) * 2 > 0").left == ast.Arith("*", ast.Arith("+", a, b), c)


def test_a_where_condition_followed_by_steps_in_a_text_file() -> None:
    """After a trigger's condition a step may start with a number or a duration; a sign still subtracts."""
    source = """scenario s {
  kind sell
  when order.placed where customer.order_count -1 >= 1
  3 business days after payment: send email a
  7d before delivery_date at 18:00: send email b
}
"""
    (scenario,), findings = parse_text(source, "s.ecrm")
    assert findings == []
    assert scenario.trigger.where == ast.Compare(">=", ast.Arith("-", ref("order_count"), lit(1)), lit(1))
    assert [step.delay.business_days if step.delay else None for step in scenario.steps] == [3, None]
    assert scenario.steps[1].delay is not None and scenario.steps[1].delay.anchor == "delivery_date"


def test_a_step_cannot_start_with_a_signed_duration() -> None:
    """The price of reading `x -1` as a subtraction: a negative offset is written the other way round."""
    source = "scenario s {\n  kind sell\n  when order.placed\n  -1d before delivery_date: send email a\n}\n"
    with pytest.raises(DiagnosticError) as caught:
        parse_text(source, "s.ecrm")
    (found,) = caught.value.diagnostics
    assert (found.code, found.span.line, found.span.column) == ("E005", 4, 3)
    assert found.message == "a step's timing cannot start with a sign"
    assert found.hint == "write '1d after delivery_date', not '-1d before …'"


# --------------------------------------------------------------------------- printing


@pytest.mark.parametrize(
    ("source", "canonical"),
    [
        ("customer.order_count -1 >= 1", "customer.order_count - 1 >= 1"),
        ("customer.order_count - -1 >= 1", "customer.order_count - -1 >= 1"),
        ("(customer.order_count + 1) * 2 > 3", "(customer.order_count + 1) * 2 > 3"),
        ("customer.order_count + (1 * 2) > 3", "customer.order_count + 1 * 2 > 3"),
        ("(customer.order_count - 1) - 2 > 3", "customer.order_count - 1 - 2 > 3"),
        ("customer.order_count - (1 - 2) > 3", "customer.order_count - (1 - 2) > 3"),
        ("customer.order_count - (1 + 2) > 3", "customer.order_count - (1 + 2) > 3"),
        (
            "(customer.total_spent / customer.order_count) * 2 > 1円",
            "customer.total_spent / customer.order_count * 2 > 1円",
        ),
        (
            "customer.total_spent / (customer.order_count * 2) > 1円",
            "customer.total_spent / (customer.order_count * 2) > 1円",
        ),
        ("customer.order_count + 1 between 2 and 1 + 3", "customer.order_count + 1 between 2 and 1 + 3"),
        ("customer.order_count * 2 in [2, 4 - 1]", "customer.order_count * 2 in [2, 4 - 1]"),
        ("not customer.order_count + 1 > 2", "not customer.order_count + 1 > 2"),
        ("days_since(customer.last_order_at + 7d) > 1", "days_since(customer.last_order_at + 7d) > 1"),
    ],
)
def test_printed_with_minimal_parentheses(source: str, canonical: str) -> None:
    expr = parse(source)
    assert expr_text(expr) == canonical
    assert parse(canonical) == expr
    # the plan's renderer (diff, graph) spells the normal form the same way
    assert plan_text.condition(normalise(expr)) == canonical


def test_normal_form() -> None:
    assert normalise(parse("customer.total_spent / customer.order_count >= 3000円")) == [
        "cmp",
        ">=",
        ["arith", "/", ["attr", "total_spent"], ["attr", "order_count"]],
        ["lit", "money", 3000],
    ]


@pytest.mark.parametrize(
    ("text", "type_"),
    [
        ("customer.order_count + 1", "int"),
        ("customer.order_count * 2 - 1", "int"),
        ("customer.order_count / 2", "decimal"),
        ("customer.order_count * 1.5", "decimal"),
        ("customer.total_spent + 500円", "money"),
        ("customer.total_spent * 1.1", "money"),
        ("2 * customer.total_spent", "money"),
        ("customer.total_spent / customer.order_count", "money"),
        ("customer.total_spent / customer.avg_order_value", "decimal"),
        ("7d + 12h", "duration"),
        ("1d * customer.avg_purchase_interval_days", "duration"),
        ("customer.last_order_at + 30d", "datetime"),
        ("customer.last_order_at - 1d * 2", "datetime"),
        ("opens(email, 90d) / sends(email, 90d)", "decimal"),
    ],
)
def test_result_types(text: str, type_: str) -> None:
    expr, _ = parse_condition(text, "<test>")
    assert Types().of(normalise(expr)[2]) == type_


@pytest.mark.parametrize("text", ["customer.total_spent + 500", "customer.persona * 2", "customer.birthday + 1d"])
def test_the_runtime_refuses_what_does_not_combine(text: str) -> None:
    expr, _ = parse_condition(text, "<test>")
    with pytest.raises(ConditionError, match="cannot compute"):
        Types().of(normalise(expr)[2])


# --------------------------------------------------------------------------- type errors, positioned


SCENARIO_TEXT = """scenario arith_errors "計算の誤り" {
  kind sell
  hypothesis f2_rate "計算の型"
  when order.placed where customer.total_spent + 500 >= 3000円
  @a if 1000 - customer.total_spent > 0円: send email thanks_first
  @b if customer.persona * 2 > 1: send email thanks_first
  @c if customer.birthday + 1d > 2020-01-01: send email thanks_first
  @d if customer.total_spent * customer.avg_order_value > 1円: send email thanks_first
  @e if customer.email_opt_in + 1 > 1: send email thanks_first
  @f if customer.order_count + null > 1: send email thanks_first
  @g if customer.total_spent / customer.order_count >= 3000: send email thanks_first
  @h if count(order.placed, 7d * 2) > 1: send email thanks_first
  @i if customer.order_count + 1: send email thanks_first
  @j if customer.days_since_last_order > 1.5 * customer.avg_purchase_interval_days: send email thanks_first
  @k if opens(email, 90d) / sends(email, 90d) < 0.2: send email thanks_first
  @m if customer.last_order_at + 30d > customer.signed_up_at: send email thanks_first
  @l if customer.total_spent * 1.1 >= 5000円: send email thanks_first
  @n if customer.last_purchase_interval_days > customer.days_since_last_open: send email thanks_first
  @o if customer.last_order_at + 30 > customer.signed_up_at: send email thanks_first
}
"""

SCENARIO_YAML = """scenario: arith_errors_yaml
title: 計算の誤り
kind: sell
hypothesis: {kpi: f2_rate, statement: 計算の型}
trigger:
  event: order.placed
  where: customer.order_count >= 1 and customer.total_spent - 500 >= 3000円
steps:
- send: {channel: email, template: thanks_first}
"""


@pytest.fixture
def findings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    root = tmp_path / "project"
    shutil.copytree(FIXTURE, root)
    (root / "scenarios").mkdir(exist_ok=True)
    (root / "scenarios" / "arith.ecrm").write_text(SCENARIO_TEXT, encoding="utf-8")
    (root / "scenarios" / "arith.yaml").write_text(SCENARIO_YAML, encoding="utf-8")
    found = lint_project(root, monkeypatch)
    return [format_finding(d) + (f" | {d.hint}" if d.hint else "") for d in found if d.code.startswith("E3")]


def test_type_errors_name_the_operand_and_the_fix(findings: list[str]) -> None:
    combine = "money ± money, money × or ÷ a number, duration ± duration, duration × a number, date and time ± duration"
    assert findings == [
        "scenarios/arith.ecrm:4:50: error E301 cannot add a whole number to an amount of money | add 500円, not 500",
        "scenarios/arith.ecrm:5:9: error E301 cannot subtract an amount of money from a whole number"
        " | write 1000円, not 1000",
        "scenarios/arith.ecrm:6:9: error E301 customer.persona is text: it cannot be used in arithmetic"
        " | arithmetic works on numbers, money, durations and a date and time plus a duration",
        "scenarios/arith.ecrm:7:9: error E301 customer.birthday is a date: it cannot be used in arithmetic"
        " | use a date and time (customer.last_order_at + 30d) or days_since(...)",
        f"scenarios/arith.ecrm:8:32: error E301 cannot multiply an amount of money by an amount of money | {combine}",
        "scenarios/arith.ecrm:9:9: error E301 customer.email_opt_in is true/false: it cannot be used in arithmetic"
        " | arithmetic works on numbers, money, durations and a date and time plus a duration",
        "scenarios/arith.ecrm:10:32: error E301 null cannot be used in arithmetic"
        " | test the value with 'is null' instead",
        "scenarios/arith.ecrm:11:56: error E301 customer.total_spent / customer.order_count is an amount of money,"
        " but it is compared with a whole number | write the amount with its currency, e.g. 30000円 or ¥30,000",
        "scenarios/arith.ecrm:12:29: error E302 count() takes its window as a duration such as 30d, not a computed one",
        "scenarios/arith.ecrm:13:9: error E303 this step condition is a whole number, not true/false"
        " | compare it, e.g. 'customer.order_count >= 2'",
        "scenarios/arith.ecrm:19:34: error E301 cannot add a whole number to a date and time"
        " | add a duration such as 30d, or 1d * a number of days",
        "scenarios/arith.yaml:7:63: error E301 cannot subtract a whole number from an amount of money"
        " | subtract 500円, not 500",
    ]


# --------------------------------------------------------------------------- the metrics on a real store


def _at(day: str, clock: str = "12:00") -> datetime:
    return datetime.fromisoformat(f"{day}T{clock}:00").replace(tzinfo=JST)


ORDERS = {
    # a: the last two orders on Feb 1 (23:59) and Feb 11 (00:00), shop time: 10 days apart; 41 days over 2 gaps
    "a": [_at("2025-01-01"), _at("2025-02-01", "23:59"), _at("2025-02-11", "00:00")],
    "b": [_at("2025-02-20")],
    "c": [_at("2024-12-01"), _at("2024-12-01")],  # the same instant: 0 days apart, 90 days ago
    "e": [_at("2024-10-01"), _at("2024-11-01")],  # 31 days apart, 120 days ago
}
OPENS = {"a": [("email", _at("2025-02-20")), ("line", _at("2025-02-27", "23:30"))], "e": [("email", _at("2024-11-05"))]}
CLICKS = {"a": [("line", _at("2025-02-27", "23:40"))]}
# (channel, status, sent_at): only "sent" rows count, by sent_at, up to now
SENT = {
    "a": [
        ("email", "sent", _at("2025-02-05")),
        ("email", "sent", _at("2025-02-15")),
        ("email", "sent", _at("2025-02-25")),
        ("email", "failed", None),
        ("email", "pending", None),
        ("email", "sent", _at("2025-01-10")),
        ("email", "sent", _at("2025-03-02")),  # after now
        ("line", "sent", _at("2025-02-20")),
    ],
    "e": [("line", "sent", _at("2025-02-25"))],
}
CUSTOMERS = ("a", "b", "c", "d", "e")


def _fill(engine: Engine) -> None:
    t = TABLES
    orders = [
        {"id": f"{cid}-{n}", "customer_id": cid, "ordered_at": at, "amount": 3000}
        for cid, times in ORDERS.items()
        for n, at in enumerate(times)
    ]
    events = [
        {"customer_id": cid, "type": kind, "occurred_at": at, "properties": {"channel": channel}}
        for kind, table in (("message.opened", OPENS), ("message.clicked", CLICKS))
        for cid, items in table.items()
        for channel, at in items
    ]
    outbox = [
        {
            "idempotency_key": f"{cid}-{n}",
            "customer_id": cid,
            "scenario_id": "s",
            "scenario_hash": "h",
            "node_id": "n",
            "channel": channel,
            "template": "t",
            "category": "marketing",
            "params": {},
            "status": status,
            "attempts": 1,
            "created_at": (sent_at or NOW) - timedelta(minutes=1),
            "next_attempt_at": (sent_at or NOW) - timedelta(minutes=1),
            "sent_at": sent_at,
        }
        for cid, rows in SENT.items()
        for n, (channel, status, sent_at) in enumerate(rows)
    ]
    with engine.begin() as conn:
        conn.execute(insert(t.customers), [{"id": cid} for cid in CUSTOMERS])
        conn.execute(insert(t.orders), orders)
        conn.execute(insert(t.events), events)
        conn.execute(insert(t.outbox), outbox)


@pytest.fixture
def store(store_url: str) -> Iterator[Engine]:
    engine = create_engine(store_url)
    TABLES.metadata.create_all(engine)
    _fill(engine)
    yield engine
    engine.dispose()


def _both_ways(store: Engine, text: str, now: datetime = NOW) -> tuple[set[str], set[str]]:
    normal = normalise(parse(text))
    with store.connect() as conn:
        in_sql = set(conn.execute(select_customers(normal, now=now)).scalars())
        few = set(conn.execute(select_customers(normal, now=now, few_customers=True)).scalars())
        snapshots = load_snapshots(conn)
    assert few == in_sql
    in_python = {cid for cid, snap in snapshots.items() if evaluate(normal, snap, now=now)}
    return in_sql, in_python


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("customer.last_purchase_interval_days == 10", {"a"}),
        ("customer.last_purchase_interval_days == 0", {"c"}),
        ("customer.last_purchase_interval_days is null", {"b", "d"}),
        ("customer.avg_purchase_interval_days == 20", {"a"}),
        # the dormancy sign: days since the last order over 1.5 × the usual interval
        ("customer.days_since_last_order > 1.5 * customer.avg_purchase_interval_days", {"c", "e"}),
        ("customer.last_purchase_interval_days * 2 == customer.avg_purchase_interval_days", {"a", "c"}),
        ("customer.days_since_last_open == 2", {"a"}),  # opened on Feb 27 at 23:30, shop time
        ("customer.days_since_last_open > 100", {"e"}),
        ("customer.days_since_last_open is null", {"b", "c", "d"}),
        ("opens(email, 30d) == 1 and opens(line, 7d) == 1 and clicks(line, 7d) == 1", {"a"}),
        ("opens(email, 30d) == 0", {"b", "c", "d", "e"}),
        ("sends(email, 30d) == 3 and sends(email, 60d) == 4 and sends(line, 30d) == 1", {"a"}),
        ("sends(line, 30d) == 1", {"a", "e"}),
        # an open rate: 1 of 3; a division by zero is null, so the comparison is false either way round
        ("opens(email, 30d) / sends(email, 30d) < 0.5", {"a"}),
        ("opens(email, 30d) / sends(email, 30d) >= 0", {"a"}),
        ("not (opens(email, 30d) / sends(email, 30d) >= 0)", {"b", "c", "d", "e"}),
        ("opens(email, 30d) / sends(email, 30d) is null", {"b", "c", "d", "e"}),
        ("customer.order_count / 0 >= 0 or customer.order_count / 0.0 < 0", set()),
        # money: exact, not rounded to the yen
        ("customer.total_spent / 7 > 1285円", {"a"}),  # 9000 / 7 = 1285.7
        ("customer.total_spent / 7 > 1286円", set()),
        ("customer.total_spent - 1000円 * customer.order_count == 4000円", {"c", "e"}),
        # a date and time plus a duration: as an instant, or as a shop-local day
        ("customer.last_order_at + 18d >= 2025-03-01", {"a", "b"}),
        ("customer.first_order_at + 31d == customer.last_order_at", {"e"}),
        ("days_since(customer.last_order_at + 10d) == 8", {"a"}),
    ],
)
def test_metrics_and_arithmetic_on_a_store(store: Engine, text: str, expected: set[str]) -> None:
    in_sql, in_python = _both_ways(store, text)
    assert in_sql == in_python == expected


def test_a_sends_window_follows_the_clock(store: Engine) -> None:
    """Compiled once and re-bound to another moment, as a tick does; a later clock drops old deliveries."""
    normal = normalise(parse("sends(email, 30d) >= 2"))
    query = select_customers(normal, now=NOW)
    keys = clock_keys(query)
    assert [key for key in keys if key.startswith(SENT_WINDOW)] == [f"{SENT_WINDOW}1"]
    later = NOW + timedelta(days=15)  # Feb 5 has left the window; Feb 15, Feb 25 and Mar 2 are in
    with store.connect() as conn:
        rebound = set(conn.execute(query, as_of(keys, later, "Asia/Tokyo")).scalars())
    assert rebound == _both_ways(store, "sends(email, 30d) >= 2", later)[0] == {"a"}
    assert _both_ways(store, "sends(email, 30d) >= 4", later) == (set(), set())


def test_a_segment_on_deliveries_is_judged_in_full_at_every_check() -> None:
    """The change log does not record deliveries, so an incremental pass could miss a sends() change."""
    on_sends = clock_keys(select_customers(normalise(parse("sends(email, 30d) >= 2")), now=NOW))
    on_opens = clock_keys(select_customers(normalise(parse("opens(email, 30d) >= 2")), now=NOW))
    moment = NOW.astimezone(UTC)
    assert _needs_full_pass(on_sends, moment - timedelta(minutes=5), moment, "Asia/Tokyo")
    assert not _needs_full_pass(on_opens, moment - timedelta(minutes=5), moment, "Asia/Tokyo")


def _deliver(world: World, cid: str, moment: datetime) -> None:
    """An email as the dispatcher leaves it once delivered: an outbox row with status sent."""
    row = {
        "idempotency_key": f"{cid}-{moment.isoformat()}",
        "customer_id": cid,
        "scenario_id": "elsewhere",
        "scenario_hash": "h",
        "node_id": "n",
        "channel": "email",
        "template": "mail",
        "category": "marketing",
        "params": {},
        "status": "sent",
        "attempts": 1,
        "created_at": moment,
        "next_attempt_at": moment,
        "sent_at": moment,
    }
    with world.engine.begin() as conn:
        conn.execute(insert(TABLES.outbox), [row])


def test_a_segment_on_deliveries_enrolls_at_the_next_tick(tmp_path: Path) -> None:
    """Deliveries leave no trace in the change log; the segment pass still sees them within the shop day."""
    world = World(tmp_path)
    world.templates(template("mail"))
    world.write("segments/mailed.yaml", "segment: mailed\nwhere: sends(email, 30d) >= 2\n")
    world.write("scenarios/s.ecrm", scenario("s", "segment mailed", "  send line mail"))
    world.deploy(at(1, 9))
    world.customer("c1")
    world.tick(at(1, 10))
    assert world.enrollment_status("c1") == []
    _deliver(world, "c1", at(1, 10, 20))
    _deliver(world, "c1", at(1, 10, 40))
    world.tick(at(1, 11))
    assert len(world.enrollment_status("c1")) == 1


def test_day_tests_on_the_last_open_compare_the_stored_instant() -> None:
    """Folded into UTC bounds of shop-local days, as the other day tests: no day arithmetic in the SQL."""
    query = select_customers(normalise(parse("customer.days_since_last_open between 3 and 20")), now=NOW)
    sql = str(query.compile(dialect=sqlite.dialect()))
    assert "julianday" not in sql and "max(events.occurred_at)" in sql


def test_an_empty_customer() -> None:
    """No orders, no events, no deliveries: every metric is null or zero, and arithmetic on null is null."""
    empty = CustomerSnapshot("x")
    for text, expected in [
        ("customer.last_purchase_interval_days is null and customer.days_since_last_open is null", True),
        ("sends(email, 30d) + opens(email, 30d) + clicks(line, 30d) == 0", True),
        ("customer.avg_order_value * 2 is null", True),
        ("customer.total_spent + 1円 == 1円", True),
    ]:
        assert evaluate(normalise(parse(text)), empty, now=NOW) is expected, text
