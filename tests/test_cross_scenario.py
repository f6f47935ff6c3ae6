"""Cross-scenario findings (W511 over the frequency cap, W513 overlapping coupons) only for audiences that can
overlap: two scenarios on one trigger whose entry conditions, schedule audiences or segments exclude each other
never reach the same customer. The reasoning itself is checked on pairs of conditions, null semantics included.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from ecrm_dsl.checks.satisfiable import audience, can_overlap
from ecrm_dsl.checks.scope import Scope
from ecrm_dsl.language import ast
from ecrm_dsl.project.config import load_config
from ecrm_dsl.project.lint import lint
from ecrm_dsl.project.resources import CustomerSchema
from ecrm_dsl.project.workspace import load_workspace
from ecrm_dsl.syntax.text import parse_condition

FIXTURE = Path(__file__).resolve().parent / "fixtures" / "rules_project"

BUSY = """
scenario {id} "t" {{
  kind nurture
  hypothesis engagement "t"
  {trigger}

  day 1 at 10:00: send email newsletter
  @second_{id} day 2 at 10:00: send email newsletter
}}
"""
COUPON = """
scenario {id} "t" {{
  kind sell
  hypothesis aov "t"
  {trigger}
  goal order.placed repeat within 30d

  @coupon_{id} day 3 at 10:00: send line repeat_coupon fallback email with {{ coupon_code = "X" }}
}}
"""


def cross_findings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, template: str, triggers: list[str]) -> list[str]:
    """Lint the fixture project with one scenario per trigger; the W511/W513 findings as 'CODE first second'."""
    root = tmp_path / "project"
    shutil.copytree(FIXTURE, root)
    (root / "scenarios").mkdir()
    text = "".join(template.format(id=f"s{i}", trigger=trigger) for i, trigger in enumerate(triggers))
    (root / "scenarios" / "cases.ecrm").write_text(text, encoding="utf-8")
    monkeypatch.chdir(root)
    diagnostics = lint(load_config(Path("ecrm.toml"))).diagnostics
    assert not [d for d in diagnostics if d.code.startswith("E")], diagnostics
    return [f"{d.code} {_pair(d.message)}" for d in diagnostics if d.code in ("W511", "W513")]


def _pair(message: str) -> str:
    """The two scenario ids a W511/W513 message names (the first and third quoted words)."""
    quoted = message.split("'")
    return f"{quoted[1]} {quoted[3]}"


@pytest.mark.parametrize(
    ("triggers", "expected"),
    [
        (  # disjoint value lists: never the same customer
            [
                'when order.placed where customer.persona in ["parenting", "student"]',
                'when order.placed where customer.persona in ["single_worker"]',
            ],
            [],
        ),
        (  # the lists share a value: reported, as before
            [
                'when order.placed where customer.persona in ["parenting", "student"]',
                'when order.placed where customer.persona in ["student"]',
            ],
            ["W511 s0 s1"],
        ),
        (  # segments that exclude each other, spelled out (>= 90 days against <= 7 days since the last order)
            [
                "when order.placed where in_segment(dormant_90)",
                "when order.placed where in_segment(recent_buyers)",
            ],
            [],
        ),
        (  # loyal is defined as "not in_segment(dormant_90)"
            [
                "when order.placed where in_segment(loyal)",
                "when order.placed where in_segment(dormant_90) and customer.points >= 100",
            ],
            [],
        ),
        (  # the same schedule for two audiences that cannot overlap
            ['when schedule "0 10 1 * *" audience dormant_90', 'when schedule "0 10 1 * *" audience recent_buyers'],
            [],
        ),
        (  # ... and for two that can
            ['when schedule "0 10 1 * *" audience loyal', 'when schedule "0 10 1 * *" audience recent_buyers'],
            ["W511 s0 s1"],
        ),
        (  # first orders against "not a first order", written with not: its complement
            [
                "when order.placed where customer.order_count == 1",
                "when order.placed where not (customer.order_count <= 1)",
            ],
            [],
        ),
    ],
)
def test_w511_only_for_audiences_that_can_overlap(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, triggers: list[str], expected: list[str]
) -> None:
    assert cross_findings(tmp_path, monkeypatch, BUSY, triggers) == expected


@pytest.mark.parametrize(
    ("triggers", "expected"),
    [
        (  # a tag and its absence
            ['when order.placed where has_tag("vip")', 'when order.placed where not has_tag("vip")'],
            [],
        ),
        (  # amounts on either side of 5,000 yen
            ["when order.placed where event.amount < 5000円", "when order.placed where event.amount >= 5000円"],
            [],
        ),
        (  # between and outside it
            [
                "when order.placed where customer.points between 100 and 500",
                "when order.placed where customer.points not between 100 and 500",
            ],
            [],
        ),
        (  # amounts that overlap above 5,000 yen: reported
            ["when order.placed where event.amount >= 3000円", "when order.placed where event.amount >= 5000円"],
            ["W513 s0 s1"],
        ),
        (  # three scenarios, one of them for everybody: it meets both others, who never meet
            [
                'when order.placed where customer.skin_type == "dry"',
                'when order.placed where customer.skin_type == "oily"',
                "when order.placed",
            ],
            ["W513 s0 s2", "W513 s1 s2"],
        ),
    ],
)
def test_w513_only_for_audiences_that_can_overlap(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, triggers: list[str], expected: list[str]
) -> None:
    assert sorted(cross_findings(tmp_path, monkeypatch, COUPON, triggers)) == expected


# ------------------------------------------------------------------ the reasoning on pairs of conditions


@pytest.fixture(scope="module")
def schema() -> CustomerSchema:
    return load_workspace(load_config(FIXTURE / "ecrm.toml")).schema


def _cond(text: str) -> ast.Expr:
    expr, problems = parse_condition(text, "t")
    assert not problems
    return expr


@pytest.mark.parametrize(
    ("first", "second", "overlap"),
    [
        ("customer.order_count == 1", "customer.order_count >= 2", False),
        ("customer.order_count == 1", "customer.order_count <= 1", True),
        ('customer.persona != "student"', "customer.persona is null", False),  # != needs a value
        ('not (customer.persona == "student")', "customer.persona is null", True),  # the complement includes null
        ('customer.persona not in ["student"]', "customer.persona is null", False),
        ('customer.persona == "student"', 'customer.persona in ["parenting", "single_worker"]', False),
        # the schema allows four personas: excluding all of them leaves nobody
        (
            'customer.persona != "parenting" and customer.persona != "single_worker"',
            'customer.persona not in ["pre_senior", "student"]',
            False,
        ),
        ("customer.points between 1 and 5", "customer.points > 5 or customer.points < 1", False),
        ("customer.points between 1 and 5", "customer.points > 5 or customer.points is null", False),
        ("customer.points between 1 and 5", "not (customer.points between 1 and 5)", False),
        ("customer.points between 1 and 5", "customer.points != 3", True),
        ("customer.points == 3", "customer.points != 3", False),
        ('opened(email, 30d) and has_tag("a")', "not opened(email, 30d)", False),
        ('opened(email, 30d) and has_tag("a")', "not opened(email, 7d)", True),  # another window: may differ
        ("count(order.placed, 90d) >= 2", "count(order.placed, 90d) == 0", False),
        ("customer.email_opt_in == true", "customer.email_opt_in == false", False),
        ("customer.total_spent >= 10000円", "customer.total_spent < 10000円", False),
    ],
)
def test_can_overlap(schema: CustomerSchema, first: str, second: str, overlap: bool) -> None:
    scope = Scope(schema, frozenset(), "order.placed", "entry event", False, "entry condition", in_order_trigger=True)
    a, b = audience([_cond(first)], {}), audience([_cond(second)], {})
    assert can_overlap(a, b, scope) is overlap
    assert can_overlap(b, a, scope) is overlap


def test_a_condition_too_branchy_to_expand_may_overlap_anything(schema: CustomerSchema) -> None:
    scope = Scope(schema, frozenset(), None, "entry event", False, "entry condition")
    branchy = " and ".join(f"(customer.points == {i} or customer.points == {i + 100})" for i in range(7))
    a, b = audience([_cond(branchy)], {}), audience([_cond("customer.points < 0")], {})
    assert a.conjunctions is None
    assert can_overlap(a, b, scope)
