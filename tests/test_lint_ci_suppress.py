"""Suppression comments, ``# ecrm: ignore[...]``: in the text syntax and in YAML (scenarios, segments,
templates), at the end of a line or on the line above, file-wide, and W901 for the ones that do nothing."""

from __future__ import annotations

from pathlib import Path

import pytest

from ecrm_dsl.project.config import load_config
from ecrm_dsl.project.lint import LintResult, lint
from tests.test_lint_ci import SCENARIO, break_attribute, edit, make_project

E204_WHERE = "  when order.placed where customer.ordr_count == 1"
YAML_SCENARIO = """\
scenario: yaml_one
title: YAML版
kind: nurture
hypothesis: {kpi: retention_rate, statement: お礼で継続率が上がる}
trigger:
  event: order.placed
  where: customer.ordr_count == 0
steps:
  - delay: {day: 1, at: "10:00"}
    send: {channel: email, template: thanks_first}
"""


@pytest.fixture
def project(tmp_path: Path) -> Path:
    return make_project(tmp_path / "shop")


def run_lint(project: Path, *paths: str) -> LintResult:
    return lint(load_config(project / "ecrm.toml"), [project / p for p in paths] or None)


def found(result: LintResult) -> list[tuple[str, str, int, int]]:
    return [(d.code, d.span.file, d.span.line, d.span.column) for d in result.diagnostics]


def codes(findings: list) -> list[str]:
    return [d.code for d in findings]


def write_yaml_scenario(project: Path, text: str = YAML_SCENARIO) -> str:
    (project / "scenarios" / "yaml_one.yaml").write_text(text, encoding="utf-8")
    return "scenarios/yaml_one.yaml"


# --------------------------------------------------------------------------- text syntax


def test_without_a_comment_the_finding_is_reported(project: Path) -> None:
    break_attribute(project)
    assert found(run_lint(project)) == [("E204", SCENARIO, 6, 27)]


@pytest.mark.parametrize(
    "comment", ["# ecrm: ignore[E204]", "#ecrm:ignore[ E204 ]", "# ecrm: ignore", "# x  # ecrm: ignore"]
)
def test_at_the_end_of_the_line(project: Path, comment: str) -> None:
    break_attribute(project, "  " + comment)
    result = run_lint(project)
    assert result.diagnostics == []
    assert codes(result.suppressed) == ["E204"]


def test_on_the_line_above(project: Path) -> None:
    break_attribute(project)
    edit(project / SCENARIO, E204_WHERE, "  # ecrm: ignore[E204] -- planned attribute\n" + E204_WHERE)
    result = run_lint(project)
    assert result.diagnostics == []
    assert [(d.code, d.span.line) for d in result.suppressed] == [("E204", 7)]


def test_directives_above_stack_and_an_unused_one_is_w901(project: Path) -> None:
    edit(project / SCENARIO, '  hypothesis f2_rate "初回購入7日後のクーポンでF2転換率が上がる"\n', "")
    edit(
        project / SCENARIO, "scenario f2_step_mail", "# ecrm: ignore[W506]\n# ecrm: ignore[W507]\nscenario f2_step_mail"
    )
    result = run_lint(project)
    assert codes(result.suppressed) == ["W506"]
    (unused,) = result.diagnostics
    assert (unused.code, unused.span.line, unused.span.column) == ("W901", 3, 1)
    assert unused.message == "unused suppression: no W507 finding on line 4"


def test_one_code_of_several_unused(project: Path) -> None:
    break_attribute(project, "  # ecrm: ignore[E204, W506]")
    result = run_lint(project)
    assert codes(result.suppressed) == ["E204"]
    (unused,) = result.diagnostics
    assert unused.code == "W901"
    assert (unused.span.line, unused.span.column, unused.span.end_column) == (6, 53, 79)
    assert (unused.message, unused.hint) == (
        "unused suppression: no W506 finding on line 6",
        "remove W506 from the comment",
    )


def test_a_comment_on_another_line_does_not_cover(project: Path) -> None:
    break_attribute(project)
    edit(project / SCENARIO, E204_WHERE, E204_WHERE + "\n  # ecrm: ignore[E204]")
    assert codes(run_lint(project).diagnostics) == ["E204", "W901"]


def test_file_level_in_the_first_five_lines(project: Path) -> None:
    break_attribute(project)
    edit(project / SCENARIO, "# The F2 step mail", "# ecrm: ignore-file[E204]\n# The F2 step mail")
    result = run_lint(project)
    assert result.diagnostics == [] and codes(result.suppressed) == ["E204"]


def test_file_level_too_late_is_w901_and_covers_nothing(project: Path) -> None:
    break_attribute(project)
    (project / SCENARIO).write_text(
        (project / SCENARIO).read_text(encoding="utf-8") + "# ecrm: ignore-file[E204]\n", encoding="utf-8"
    )
    messages = [(d.code, d.message) for d in run_lint(project).diagnostics]
    assert messages == [
        ("E204", "unknown attribute customer.ordr_count"),
        ("W901", "a file-level suppression must be in the first 5 lines"),
    ]


def test_a_directive_inside_a_string_is_text(project: Path) -> None:
    edit(project / SCENARIO, '  hypothesis f2_rate "初回購入7日後のクーポンでF2転換率が上がる"\n', "")
    edit(project / SCENARIO, '"初回購入後のF2転換"', '"F2転換 # ecrm: ignore[W506]"')
    assert codes(run_lint(project).diagnostics) == ["W506"]  # reported, and no W901 for a "comment"


@pytest.mark.parametrize(
    ("comment", "message"),
    [
        ("# ecrm: ignore[E2O4]", "unknown rule code 'E2O4' in a suppression"),
        ("# ecrm: ignore[]", "malformed suppression: no rule code in '[]'"),
        ("# ecrm: ignore[E204", "malformed suppression: the ']' is missing"),
        ("# ecrm: ingore[E204]", "unknown suppression directive 'ingore'"),
        ("# ecrm: ignore[E005]", "E005 cannot be suppressed"),
        ("# ecrm: ignore[W901]", "W901 cannot be suppressed by a comment"),
    ],
)
def test_broken_directives_are_w901(project: Path, comment: str, message: str) -> None:
    break_attribute(project, "  " + comment)
    result = run_lint(project)
    assert [(d.code, d.message) for d in result.diagnostics] == [
        ("E204", "unknown attribute customer.ordr_count"),
        ("W901", message),
    ]


def test_other_ecrm_comments_are_left_alone(project: Path) -> None:
    break_attribute(project, "  # ecrm: fmt-skip")
    assert codes(run_lint(project).diagnostics) == ["E204"]


def test_crlf_line_endings(project: Path) -> None:
    break_attribute(project, "  # ecrm: ignore[E204]")
    path = project / SCENARIO
    path.write_bytes(path.read_bytes().replace(b"\n", b"\r\n"))
    result = run_lint(project)
    assert result.diagnostics == [] and codes(result.suppressed) == ["E204"]


# --------------------------------------------------------------------------- YAML


def test_yaml_end_of_line_and_above(project: Path) -> None:
    name = write_yaml_scenario(project)
    assert found(run_lint(project)) == [("E204", name, 7, 10)]
    write_yaml_scenario(project, YAML_SCENARIO.replace("== 0\n", "== 0  # ecrm: ignore[E204]\n"))
    assert run_lint(project).diagnostics == []
    write_yaml_scenario(project, YAML_SCENARIO.replace("  where:", "  # ecrm: ignore[E204]\n  where:"))
    result = run_lint(project)
    assert result.diagnostics == [] and [(d.code, d.span.line) for d in result.suppressed] == [("E204", 8)]


def test_yaml_file_level_after_the_schema_line(project: Path) -> None:
    name = write_yaml_scenario(
        project, "# yaml-language-server: $schema=../schema.json\n# ecrm: ignore-file[E204]\n" + YAML_SCENARIO
    )
    result = run_lint(project)
    assert result.diagnostics == [] and [(d.span.file, d.code) for d in result.suppressed] == [(name, "E204")]


def test_yaml_quoted_strings_and_block_scalars_hold_no_directive(project: Path) -> None:
    template = project / "templates" / "repeat_coupon.yaml"
    edit(template, '{{ coupon_code }}"', '{{ coupn_code }} # ecrm: ignore[E503]"')
    edit(
        template,
        "      クーポンコード: {{ coupon_code }}",
        "      # ecrm: ignore[E503]\n      クーポンコード: {{ coupn_code }}",
    )
    result = run_lint(project)
    assert [(d.code, d.span.line) for d in result.diagnostics] == [("E503", 14), ("E503", 19)]
    assert result.suppressed == []


def test_templates_and_segments(project: Path) -> None:
    template = project / "templates" / "repeat_coupon.yaml"
    edit(template, "      クーポンコード: {{ coupon_code }}", "      クーポンコード: {{ coupn_code }}")
    edit(template, "template: repeat_coupon", "# ecrm: ignore-file[E503]\ntemplate: repeat_coupon")
    segment = project / "segments" / "dormant_90.yaml"
    edit(segment, ">= 90", ">= 90  # ecrm: ignore[E204]")
    edit(segment, "days_since_last_order", "days_since_last_ordr")
    result = run_lint(project)
    assert result.diagnostics == []
    assert [(d.code, d.span.file) for d in result.suppressed] == [
        ("E204", "segments/dormant_90.yaml"),
        ("E503", "templates/repeat_coupon.yaml"),
    ]


def test_load_errors_cannot_be_suppressed(project: Path) -> None:
    write_yaml_scenario(project, "# ecrm: ignore-file\nscenario: [unclosed  # ecrm: ignore\n")
    result = run_lint(project)
    assert sorted(codes(result.diagnostics)) == ["E003", "W901", "W901"]
    assert result.suppressed == []


# --------------------------------------------------------------------------- with the rule selection


def test_w901_can_be_switched_off_in_the_configuration(project: Path) -> None:
    break_attribute(project, "  # ecrm: ignore[E204, W506]")
    with (project / "ecrm.toml").open("a", encoding="utf-8") as config:
        config.write('[rules]\nignore = ["W901"]\n')
    result = run_lint(project)
    assert result.diagnostics == [] and codes(result.suppressed) == ["E204"]


def test_a_directive_for_a_switched_off_rule_is_not_unused(project: Path) -> None:
    break_attribute(project, "  # ecrm: ignore[E204, W506]")
    with (project / "ecrm.toml").open("a", encoding="utf-8") as config:
        config.write('[rules]\nignore = ["W5"]\n')
    assert run_lint(project).diagnostics == []


def test_only_the_named_files_directives_count(project: Path) -> None:
    break_attribute(project, "  # ecrm: ignore[E204, W506]")
    assert run_lint(project, "segments/dormant_90.yaml").diagnostics == []
    assert codes(run_lint(project, SCENARIO).diagnostics) == ["W901"]
