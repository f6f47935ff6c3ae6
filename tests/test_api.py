"""The library façade: the same findings, plans and formatting as the commands, without the command line."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

import ecrm_dsl

REPO = Path(__file__).resolve().parents[1]


def test_importing_the_package_loads_no_front_end() -> None:
    heavy = "('lark', 'yaml', 'jsonschema', 'sqlalchemy')"
    code = f"import sys, ecrm_dsl; print(sorted(m for m in {heavy} if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_build_plan_gives_the_bytes_ecrm_compile_writes(tmp_path: Path) -> None:
    project = ecrm_dsl.load_project(REPO)
    result = ecrm_dsl.build_plan(project)
    assert result.ok and not result.blocking
    assert result.plan is not None
    subprocess.run(
        [sys.executable, "-m", "ecrm_dsl", "compile", "-o", str(tmp_path / "plan.json")], cwd=REPO, check=True
    )
    assert ecrm_dsl.canonical_json(result.plan) == (tmp_path / "plan.json").read_text(encoding="utf-8")
    assert {s["id"] for s in result.plan["scenarios"]} >= {"f2_step_mail"}


def test_lint_and_build_report_what_the_commands_report(tmp_path: Path) -> None:
    (tmp_path / "scenarios").mkdir()
    (tmp_path / "ecrm.toml").write_text("", encoding="utf-8")
    (tmp_path / "scenarios" / "bad.ecrm").write_text(
        'scenario bad "x" {\n  kind sell\n  when order.placed where customer.ordr_count == 1\n\n  send email nope\n}\n',
        encoding="utf-8",
    )
    project = ecrm_dsl.load_project(tmp_path / "ecrm.toml")
    codes = {d.code for d in ecrm_dsl.lint(project).diagnostics}
    assert {"E204", "E202"} <= codes
    result = ecrm_dsl.build_plan(project)
    assert result.plan is None and {"E204", "E202"} <= {d.code for d in result.blocking}
    lint_json = subprocess.run(
        [sys.executable, "-m", "ecrm_dsl", "lint", "--format", "json"], cwd=tmp_path, capture_output=True, text=True
    )
    assert {f["code"] for f in json.loads(lint_json.stdout)["findings"]} == codes


def test_load_project_finds_the_configuration_from_a_folder_and_rejects_a_broken_one(tmp_path: Path) -> None:
    assert ecrm_dsl.load_project(REPO).root.resolve() == REPO
    (tmp_path / "ecrm.toml").write_text("scenarios = [", encoding="utf-8")
    with pytest.raises(ecrm_dsl.DiagnosticError) as raised:
        ecrm_dsl.load_project(tmp_path)
    assert raised.value.diagnostics[0].code == "E007"


def test_format_source_is_ecrm_fmt_and_refuses_what_does_not_parse() -> None:
    messy = 'scenario a "x" { kind sell\n when order.placed\n send email thanks }\n'
    tidy = ecrm_dsl.format_source(messy, "a.ecrm")
    assert tidy == 'scenario a "x" {\n  kind sell\n  when order.placed\n\n  send email thanks\n}\n'
    assert ecrm_dsl.format_source(tidy, "a.ecrm") == tidy
    with pytest.raises(ecrm_dsl.DiagnosticError):
        ecrm_dsl.format_source("scenario a {", "a.ecrm")


def test_unknown_names_are_attribute_errors() -> None:
    with pytest.raises(AttributeError):
        ecrm_dsl.no_such_thing  # noqa: B018
