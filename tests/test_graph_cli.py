"""``ecrm graph`` as users run it (CliRunner on the command itself): formats, files, plans, errors and exit codes."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from ecrm_dsl.cli.graph_cmd import graph_command
from ecrm_dsl.plan.document import canonical_json
from ecrm_dsl.review.graph import dot, mermaid
from tests.test_graph import ROOT, example_plan

CONFIG = str(ROOT / "pyproject.toml")


def run(*args: str, config: str | None = CONFIG) -> Result:
    return CliRunner().invoke(graph_command, list(args), obj={"config_path": config}, catch_exceptions=False)


@pytest.fixture
def plan_file(tmp_path: Path) -> Path:
    path = tmp_path / "plan.json"
    path.write_text(canonical_json(example_plan()), encoding="utf-8")
    return path


def _scenario(name: str) -> dict:
    return next(s for s in example_plan()["scenarios"] if s["id"] == name)


def test_default_is_mermaid_of_the_compiled_project() -> None:
    result = run("f2_step_mail")
    assert result.exit_code == 0
    assert result.output == mermaid(_scenario("f2_step_mail"))


def test_formats(plan_file: Path) -> None:
    assert run("cart_abandonment", "--format", "dot").output == dot(_scenario("cart_abandonment"))
    markdown = run("cart_abandonment", "--format", "markdown").output
    assert markdown == f"```mermaid\n{mermaid(_scenario('cart_abandonment'))}```\n"
    assert run("cart_abandonment", "--plan", str(plan_file)).output == mermaid(_scenario("cart_abandonment"))


def test_output_file_and_format_from_its_suffix(tmp_path: Path) -> None:
    target = tmp_path / "out" / "f2.dot"
    result = run("f2_step_mail", "-o", str(target))
    assert result.exit_code == 0 and "wrote" in result.output
    assert target.read_text(encoding="utf-8") == dot(_scenario("f2_step_mail"))
    markdown = tmp_path / "f2.md"
    run("f2_step_mail", "-o", str(markdown))
    assert markdown.read_text(encoding="utf-8").startswith("```mermaid\n")
    explicit = tmp_path / "f2.txt"
    run("f2_step_mail", "--format", "dot", "-o", str(explicit))
    assert explicit.read_text(encoding="utf-8").startswith("digraph ")


def test_unknown_scenario_exits_2_with_did_you_mean() -> None:
    result = run("f2_step")
    assert result.exit_code == 2
    assert "no scenario 'f2_step'; did you mean f2_step_mail?" in result.output
    assert "scenarios: birthday_coupon, cart_abandonment," in result.output


def test_unknown_scenario_without_a_close_match_lists_the_scenarios(plan_file: Path) -> None:
    result = run("zzz", "--plan", str(plan_file))
    assert result.exit_code == 2 and "did you mean" not in result.output and "subscription_churn_offer" in result.output


def test_a_file_that_is_not_a_plan_exits_2(tmp_path: Path) -> None:
    for content in ("not json", json.dumps({"format": "something-else", "scenarios": []})):
        path = tmp_path / "plan.json"
        path.write_text(content, encoding="utf-8")
        result = run("f2_step_mail", "--plan", str(path))
        assert result.exit_code == 2 and "plan" in result.output


def test_a_project_with_errors_is_refused(tmp_path: Path) -> None:
    (tmp_path / "scenarios").mkdir()
    (tmp_path / "ecrm.toml").write_text("", encoding="utf-8")
    (tmp_path / "scenarios" / "bad.ecrm").write_text(
        "scenario bad {\n  kind nurture\n  when order.placed where customer.ordr_count == 1\n  send email nothing\n}\n",
        encoding="utf-8",
    )
    result = run("bad", config=str(tmp_path / "ecrm.toml"))
    assert result.exit_code == 1
    assert "unknown attribute customer.ordr_count" in result.output and "fix them or pass --plan" in result.output


def test_svg_without_graphviz_says_what_to_do(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(shutil, "which", lambda name: None)
    result = run("f2_step_mail", "--format", "svg")
    assert result.exit_code == 2
    assert "install Graphviz (dot) or use --format dot" in result.output


@pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz's dot is not installed; SVG output not rendered")
def test_svg_with_graphviz(tmp_path: Path) -> None:
    target = tmp_path / "f2.svg"
    result = run("f2_step_mail", "-o", str(target))
    assert result.exit_code == 0
    svg = target.read_text(encoding="utf-8")
    assert svg.lstrip().startswith("<?xml") and "初回購入後のF2転換ステップメール (f2_step_mail)" in svg
