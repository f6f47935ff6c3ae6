"""``ecrm fmt`` as users run it: what is rewritten, --check / --diff output and exit codes, and files that must be
left alone (broken sources, and any result the formatter cannot prove equivalent)."""

from __future__ import annotations

import dataclasses
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from yaml.nodes import Node

from ecrm_dsl.cli.fmt_cmd import fmt_command
from ecrm_dsl.format import text_format, yaml_canonical
from ecrm_dsl.language import ast

GOLDEN = Path(__file__).parent / "golden" / "fmt"


def fmt(*args: str | Path) -> Result:
    return CliRunner().invoke(fmt_command, [str(a) for a in args], obj={}, catch_exceptions=False)


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A project whose sources are the golden 'before' files (one of each kind)."""
    root = tmp_path / "shop"
    for folder in ("scenarios", "segments", "templates"):
        (root / folder).mkdir(parents=True)
    (root / "ecrm.toml").write_text('scenarios = "scenarios"\n', encoding="utf-8")
    shutil.copy(GOLDEN / "text_step_mail" / "before.ecrm", root / "scenarios" / "f2_step_mail.ecrm")
    shutil.copy(GOLDEN / "yaml_scenario" / "before.yaml", root / "scenarios" / "dormant.yaml")
    shutil.copy(GOLDEN / "yaml_template" / "before.yaml", root / "templates" / "winback150_b.yaml")
    shutil.copy(GOLDEN / "yaml_policies" / "before.yaml", root / "policies.yaml")
    shutil.copy(GOLDEN / "yaml_resources" / "before.yaml", root / "customer_schema.yaml")
    (root / "segments" / "f3_plus.yaml").write_text("segment: f3_plus\nwhere: customer.order_count >= 3\n")
    return root


def snapshot(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def test_rewrites_what_changes_and_says_so(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(project)
    result = fmt()
    assert result.exit_code == 0
    assert result.stdout == ""
    assert result.stderr.splitlines() == [
        "reformatted customer_schema.yaml",
        "reformatted policies.yaml",
        "reformatted scenarios/dormant.yaml",
        "reformatted scenarios/f2_step_mail.ecrm",
        "reformatted templates/winback150_b.yaml",
        "5 files reformatted, 1 unchanged",
    ]
    expected = GOLDEN / "text_step_mail" / "after.ecrm"
    assert (project / "scenarios" / "f2_step_mail.ecrm").read_text(encoding="utf-8") == expected.read_text("utf-8")
    assert (project / "policies.yaml").read_bytes() == (GOLDEN / "yaml_policies" / "after.yaml").read_bytes()
    again = fmt()
    assert (again.exit_code, again.stderr) == (0, "0 files reformatted, 6 unchanged\n")


def test_check_writes_nothing_prints_the_diff_and_fails(project: Path) -> None:
    before = snapshot(project)
    result = fmt("--check", project / "policies.yaml", project / "segments")
    assert result.exit_code == 1
    assert snapshot(project) == before
    assert result.stdout.startswith("--- a/policies.yaml\n+++ b/policies.yaml\n@@ ")
    assert '-quiet_hours: {end: 09:00, start: "21:00"}   # 夜間は送らない\n' in result.stdout
    assert '+quiet_hours: {start: "21:00", end: "09:00"}  # 夜間は送らない\n' in result.stdout
    assert result.stderr == "would reformat policies.yaml\n1 file would be reformatted, 1 unchanged\n"


def test_check_passes_on_formatted_files(project: Path) -> None:
    assert fmt(project).exit_code == 0
    result = fmt("--check", project)
    assert (result.exit_code, result.stdout) == (0, "")
    assert result.stderr == "0 files would be reformatted, 6 unchanged\n"


def test_diff_previews_without_failing(project: Path) -> None:
    before = snapshot(project)
    result = fmt("--diff", project / "scenarios" / "f2_step_mail.ecrm")
    assert result.exit_code == 0
    assert snapshot(project) == before
    assert result.stdout.startswith("--- a/scenarios/f2_step_mail.ecrm\n+++ b/scenarios/f2_step_mail.ecrm\n")


def test_output_is_deterministic(project: Path) -> None:
    first, second = fmt("--check", project), fmt("--check", project)
    assert (first.stdout, first.stderr) == (second.stdout, second.stderr)


def test_a_file_that_does_not_parse_is_reported_and_left_alone(project: Path) -> None:
    broken_text = project / "scenarios" / "broken.ecrm"
    broken_text.write_text("scenario broken {\n  kind sell\n  when order.placed\n  send email\n}\n", encoding="utf-8")
    broken_yaml = project / "segments" / "broken.yaml"
    broken_yaml.write_text("segment: broken\nwhere: [unclosed\n", encoding="utf-8")
    before = snapshot(project)
    result = fmt(project / "scenarios", project / "segments")
    assert result.exit_code == 1
    assert "scenarios/broken.ecrm:5:1: error: unexpected '}' [E005 text-syntax]" in result.stderr
    assert "segments/broken.yaml:3:1: error: YAML syntax error" in result.stderr
    assert "cannot format scenarios/broken.ecrm: it does not parse (left unchanged)" in result.stderr
    assert broken_text.read_bytes() == before["scenarios/broken.ecrm"]
    assert broken_yaml.read_bytes() == before["segments/broken.yaml"]
    # the other files are still formatted
    assert "reformatted scenarios/f2_step_mail.ecrm" in result.stderr
    assert result.stderr.endswith("2 files reformatted, 1 unchanged, 2 could not be formatted\n")


def test_a_printer_that_drops_a_step_is_caught_before_writing(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    real = text_format.print_lines

    def drops_the_last_step(items: list[ast.SourceItem], positions: object = None) -> object:
        broken = [dataclasses.replace(s, steps=s.steps[:-1]) if isinstance(s, ast.Scenario) else s for s in items]
        return real(broken, positions)  # type: ignore[arg-type]

    monkeypatch.setattr(text_format, "print_lines", drops_the_last_step)
    target = project / "scenarios" / "f2_step_mail.ecrm"
    before = target.read_bytes()
    result = fmt(target)
    assert result.exit_code == 3
    assert target.read_bytes() == before
    assert "cannot format scenarios/f2_step_mail.ecrm: internal error: the formatted scenarios would differ" in (
        result.stderr
    )


def test_a_yaml_printer_that_retypes_a_value_is_caught_before_writing(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = yaml_canonical.Canonical._scalar

    def numbers_become_strings(self: yaml_canonical.Canonical, node: Node, is_key: bool = False) -> None:
        real(self, node, is_key)
        if node.tag == "tag:yaml.org,2002:int":
            node.tag = yaml_canonical.STR  # max: 5 would be printed "5"

    monkeypatch.setattr(yaml_canonical.Canonical, "_scalar", numbers_become_strings)
    target = project / "policies.yaml"
    before = target.read_bytes()
    result = fmt(target)
    assert result.exit_code == 3
    assert target.read_bytes() == before
    assert "internal error: document 1: the value at '/frequency_caps/0/max' would change" in result.stderr


def test_usage_errors_exit_2(project: Path) -> None:
    (project / "notes.txt").write_text("x", encoding="utf-8")
    assert fmt(project / "notes.txt").exit_code == 2
    assert fmt(project / "missing.yaml").exit_code == 2


def test_only_project_files_skips_other_yaml(project: Path) -> None:
    workflow = project / ".github" / "workflows" / "ci.yml"
    workflow.parent.mkdir(parents=True)
    workflow.write_text("on: [push]\njobs: {}\n", encoding="utf-8")
    (project / "notes.txt").write_text("x", encoding="utf-8")
    result = fmt("--check", "--only-project-files", workflow, project / "notes.txt", project / "policies.yaml")
    assert result.exit_code == 1
    assert result.stderr.endswith("would reformat policies.yaml\n1 file would be reformatted, 0 unchanged\n")


def test_line_ends_mode_and_bom(project: Path) -> None:
    target = project / "segments" / "f3_plus.yaml"
    target.write_bytes(b"\xef\xbb\xbfsegment: f3_plus\r\nwhere: 'customer.order_count >= 3'  # F3+\r\n")
    target.chmod(0o640)
    assert fmt(target).exit_code == 0
    assert target.read_bytes() == b"\xef\xbb\xbfsegment: f3_plus\nwhere: customer.order_count >= 3  # F3+\n"
    assert target.stat().st_mode & 0o777 == 0o640
    assert sorted(p.name for p in target.parent.iterdir()) == ["f3_plus.yaml"]  # no temporary file left behind


def test_diff_marks_a_missing_final_newline(project: Path) -> None:
    target = project / "segments" / "f3_plus.yaml"
    target.write_text("segment: f3_plus\nwhere: 'customer.order_count >= 3'", encoding="utf-8")
    result = fmt("--check", target)
    assert result.stdout.endswith(
        "-where: 'customer.order_count >= 3'\n\\ No newline at end of file\n+where: customer.order_count >= 3\n"
    )
