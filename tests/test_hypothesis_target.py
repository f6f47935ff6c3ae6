"""A hypothesis's target in both syntaxes: the same plan, printed back as written, shown by ``ecrm diff``, and
checked against its KPI (the E212 golden case has the positioned errors)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

import ecrm_dsl
from ecrm_dsl.cli import cli
from ecrm_dsl.language.diagnostics import DiagnosticError
from ecrm_dsl.language.targets import parse_amount, parse_target, target_problem
from ecrm_dsl.language.values import Duration, ValueError_
from ecrm_dsl.plan.model import Plan
from ecrm_dsl.review.diff_plans import diff_plans
from ecrm_dsl.review.diff_render import render_text
from ecrm_dsl.syntax.text import parse_text

TEXT = """scenario money "客単価" {
  kind sell
  hypothesis aov "同梱チラシで客単価が上がる" target +5% within 90d
  when order.placed
  holdout 10%
  send email thanks_first
}
"""
YAML = """scenario: money
title: 客単価
kind: sell
hypothesis:
  kpi: aov
  statement: 同梱チラシで客単価が上がる
  target: +5% within 90d
trigger:
  event: order.placed
holdout: 10%
steps:
  - send: {channel: email, template: thanks_first}
"""
TEMPLATE = """template: thanks_first
category: transactional
channels:
  email:
    subject: ありがとうございます
    body: "{{ customer.name }}様"
"""


def project(root: Path, name: str, text: str) -> Path:
    (root / "scenarios").mkdir(parents=True)
    (root / "templates").mkdir()
    (root / "ecrm.toml").write_text("", encoding="utf-8")
    (root / "templates" / "thanks_first.yaml").write_text(TEMPLATE, encoding="utf-8")
    (root / "scenarios" / name).write_text(text, encoding="utf-8")
    return root


def plan(root: Path) -> dict[str, Any]:
    build = ecrm_dsl.build_plan(ecrm_dsl.load_project(root))
    assert build.plan is not None, [(d.code, d.message) for d in build.blocking]
    result: dict[str, Any] = build.plan
    return result


def test_both_syntaxes_give_the_same_target_in_the_plan(tmp_path: Path) -> None:
    text_plan = plan(project(tmp_path / "text", "money.ecrm", TEXT))
    yaml_plan = plan(project(tmp_path / "yaml", "money.yaml", YAML))
    assert ecrm_dsl.canonical_json(text_plan) == ecrm_dsl.canonical_json(yaml_plan)
    hypothesis = text_plan["scenarios"][0]["hypothesis"]
    assert hypothesis["target"] == {"amount": 5, "unit": "%", "within_seconds": 90 * 86400}
    typed = Plan.from_json(text_plan).scenarios[0].hypothesis
    assert typed is not None and typed.target is not None and typed.to_json() == hypothesis


def test_the_printers_write_the_target_back(tmp_path: Path) -> None:
    assert "target +5% within 90d" in ecrm_dsl.format_source(TEXT, "money.ecrm")
    assert "target: +5% within 90d" in ecrm_dsl.format_source(YAML, "money.yaml")
    source = project(tmp_path, "money.ecrm", TEXT) / "scenarios" / "money.ecrm"
    converted = CliRunner().invoke(cli, ["convert", str(source)])
    assert converted.exit_code == 0, converted.output
    assert "target: +5% within 90d" in converted.stdout


def test_a_plan_without_targets_keeps_its_shape(tmp_path: Path) -> None:
    plain = plan(project(tmp_path, "money.ecrm", TEXT.replace(" target +5% within 90d", "")))
    assert "target" not in plain["scenarios"][0]["hypothesis"]  # older plans and their hashes are unchanged


def test_diff_shows_a_changed_target(tmp_path: Path) -> None:
    before = plan(project(tmp_path / "before", "money.ecrm", TEXT))
    after = plan(project(tmp_path / "after", "money.ecrm", TEXT.replace("+5% within 90d", "+800円 within 60d")))
    text = render_text(diff_plans(before, after))
    assert "hypothesis target +5% within 90d → +800円 within 60d" in text.replace("`", "")


def test_amounts_and_their_fit_to_the_kpi() -> None:
    assert (parse_amount("2.5pt").amount, parse_amount("-1pt").amount, parse_amount("+500円").unit) == (2.5, -1, "円")
    amount, within = parse_target("  +3pt   within 60d ")
    assert (str(amount), str(within)) == ("+3pt", "60d")
    for bad in ("3", "+3 pt", "+3points", "+1234567pt"):
        with pytest.raises(ValueError_):
            parse_amount(bad)
    with pytest.raises(ValueError_):
        parse_target("+3pt in 60d")
    month = Duration.parse("30d")
    assert target_problem("f2_rate", parse_amount("+3pt"), month) is None
    assert target_problem("ltv", parse_amount("+500円"), month) is None
    assert target_problem("aov", parse_amount("+5%"), month) is None
    problems = {
        ("f2_rate", "+5%"): "does not fit the rate KPI",
        ("ltv", "+3pt"): "does not fit the money KPI",
        ("open_rate", "+3pt"): "cannot measure a target",
        ("cvr", "0pt"): "is not an improvement",
        ("cvr", "+100pt"): "more than a rate can move",
    }
    for (kpi, text), message in problems.items():
        found = target_problem(kpi, parse_amount(text), month)
        assert found is not None and message in found[0], (kpi, text, found)
    short = target_problem("cvr", parse_amount("+1pt"), Duration.parse("12h"))
    assert short is not None and "shorter than a day" in short[0]


@pytest.mark.parametrize(
    ("target", "code", "column", "message"),
    [
        ("target +3 within 60d", "E006", 33, "'+3' is not a target"),
        ("target +3pt in 60d", "E005", 38, "unexpected 'in'"),
        ("target +3pt within 60", "E005", 45, "unexpected number '60'"),
    ],
)
def test_a_malformed_target_is_a_positioned_error(target: str, code: str, column: int, message: str) -> None:
    text = TEXT.replace("target +5% within 90d", target).replace(
        'hypothesis aov "同梱チラシで客単価が上がる"', 'hypothesis f2_rate "s"'
    )
    with pytest.raises(DiagnosticError) as raised:
        parse_text(text, "money.ecrm")
    (found,) = raised.value.diagnostics
    assert (found.code, found.span.line, found.span.column) == (code, 3, column)
    assert found.message.startswith(message)
