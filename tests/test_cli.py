"""The command line as users run it: exit codes, formats, determinism, and nothing lost on failure."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from ecrm_dsl.build.compiler import compile_scenario
from ecrm_dsl.cli import cli
from ecrm_dsl.plan.document import canonical_json
from ecrm_dsl.syntax.text import parse_text
from ecrm_dsl.syntax.text_printer import print_text
from ecrm_dsl.syntax.yaml_frontend import parse_yaml_scenarios
from ecrm_dsl.syntax.yaml_printer import print_yaml

ROOT = Path(__file__).parent.parent
EXAMPLES = sorted(
    p
    for p in (ROOT / "scenarios").iterdir()
    if p.suffix in (".yaml", ".ecrm") and p.name not in ("customer_schema.yaml", "policies.yaml")
)


def run(*args: str, cwd: Path = ROOT) -> tuple[int, str]:
    runner = CliRunner()
    old = Path.cwd()
    os.chdir(cwd)
    try:
        result = runner.invoke(cli, list(args), catch_exceptions=False)
    finally:
        os.chdir(old)
    return result.exit_code, result.output


@pytest.fixture
def project(tmp_path: Path) -> Path:
    code, _ = run("init", str(tmp_path / "shop"))
    assert code == 0
    return tmp_path / "shop"


def test_examples_lint_clean() -> None:
    code, out = run("lint", "scenarios")
    assert code == 0, out
    assert out.endswith("no findings\n")


def test_starter_project_lints_and_compiles(project: Path) -> None:
    assert run("lint", cwd=project) == (0, "6 files checked: no findings\n")
    code, _ = run("compile", "-o", "plan.json", cwd=project)
    assert code == 0
    plan = json.loads((project / "plan.json").read_text(encoding="utf-8"))
    assert [s["id"] for s in plan["scenarios"]] == ["f2_step_mail"]
    source_map = json.loads((project / "plan.map.json").read_text(encoding="utf-8"))
    assert source_map["scenarios"]["f2_step_mail"]["nodes"]["thanks_first"].startswith("scenarios/f2_step_mail.ecrm:")


def test_init_never_overwrites(project: Path) -> None:
    marker = project / "policies.yaml"
    marker.write_text("timezone: Asia/Tokyo\n", encoding="utf-8")
    code, out = run("init", str(project))
    assert code == 2 and "already exists" in out
    assert marker.read_text(encoding="utf-8") == "timezone: Asia/Tokyo\n"


def test_findings_exit_1_with_json_output(project: Path) -> None:
    bad = project / "scenarios" / "bad.yaml"
    bad.write_text(
        "scenario: bad\nkind: sell\ntrigger:\n  event: order.placed\n  where: customer.ordr_count == 1\n"
        "steps:\n  - send: {channel: email, template: thanks_first}\n",
        encoding="utf-8",
    )
    code, out = run("lint", "--format", "json", "scenarios/bad.yaml", cwd=project)
    assert code == 1
    report = json.loads(out)
    assert report["version"] == 1 and report["errors"] == 1
    unknown = [f for f in report["findings"] if f["code"] == "E204"]
    assert unknown == [
        {
            "code": "E204",
            "rule": "unknown-attribute",
            "severity": "error",
            "message": "unknown attribute customer.ordr_count",
            "hint": "did you mean order_count?",
            "file": "scenarios/bad.yaml",
            "line": 5,
            "column": 10,
            "end_line": 5,
            "end_column": 29,
            "help_uri": "https://github.com/ecrm-dsl/ecrm-dsl/blob/main/docs/rules/E204.md",
            "fix": {
                "title": "replace customer.ordr_count with customer.order_count",
                "line": 5,
                "column": 10,
                "end_line": 5,
                "end_column": 29,
                "replacement": "customer.order_count",
            },
        }
    ]
    code, out = run("lint", "--fail-on", "error", "scenarios/f2_step_mail.ecrm", cwd=project)
    assert code == 0


def test_warnings_only_pass_with_fail_on_error(project: Path) -> None:
    (project / "scenarios" / "nurture.ecrm").write_text(
        'scenario nurture_only "育てる" {\n  kind nurture\n  when order.shipped\n\n  send email thanks_first\n}\n',
        encoding="utf-8",
    )
    code, out = run("lint", "scenarios/nurture.ecrm", cwd=project)
    assert code == 1 and "W506" in out
    assert run("lint", "--fail-on", "error", "scenarios/nurture.ecrm", cwd=project)[0] == 0


def test_usage_and_config_errors_exit_2(project: Path) -> None:
    assert run("lint", "no/such/file.yaml", cwd=project)[0] == 2
    (project / "ecrm.toml").write_text("scenarios = [1\n", encoding="utf-8")
    code, out = run("lint", cwd=project)
    assert code == 2 and "ecrm.toml" in out and "not valid TOML" in out
    (project / "ecrm.toml").write_text('scenario = "x"\n', encoding="utf-8")
    code, out = run("lint", cwd=project)
    assert code == 2 and "unknown configuration key 'scenario'" in out


def test_compile_is_deterministic_and_refuses_errors_without_touching_the_old_plan(project: Path) -> None:
    assert run("compile", "-o", "plan.json", cwd=project)[0] == 0
    first = (project / "plan.json").read_bytes()
    assert run("compile", "-o", "plan.json", cwd=project)[0] == 0
    assert (project / "plan.json").read_bytes() == first
    (project / "scenarios" / "broken.ecrm").write_text("scenario broken {\n  kind sell\n", encoding="utf-8")
    code, out = run("compile", "-o", "plan.json", cwd=project)
    assert code == 1 and "not compiled" in out
    assert (project / "plan.json").read_bytes() == first


def test_whole_example_plan_is_identical_when_every_scenario_is_converted(tmp_path: Path) -> None:
    """Converting every example to the other syntax leaves the compiled plan byte-identical."""
    copy = tmp_path / "repo"
    shutil.copytree(ROOT / "scenarios", copy / "scenarios")
    shutil.copy(ROOT / "pyproject.toml", copy / "pyproject.toml")
    assert run("compile", "-o", "before.json", cwd=copy)[0] == 0
    for source in EXAMPLES:
        target = copy / "scenarios" / (source.stem + (".yaml" if source.suffix == ".ecrm" else ".ecrm"))
        code, _ = run("convert", str(copy / "scenarios" / source.name), "-o", str(target), cwd=copy)
        assert code == 0
        (copy / "scenarios" / source.name).unlink()
    assert run("compile", "-o", "after.json", cwd=copy)[0] == 0
    assert (copy / "after.json").read_bytes() == (copy / "before.json").read_bytes()


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.name)
def test_example_round_trips(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    parse = parse_text if path.suffix == ".ecrm" else parse_yaml_scenarios
    scenarios, findings = parse(text, path.name)
    assert findings == []
    as_text, _ = parse_text(print_text(scenarios), "t.ecrm")
    as_yaml, _ = parse_yaml_scenarios(print_yaml(scenarios), "t.yaml")
    assert as_text == scenarios == as_yaml
    plans = {canonical_json([compile_scenario(s)[0] for s in group]) for group in (scenarios, as_text, as_yaml)}
    assert len(plans) == 1


def test_console_script_never_prints_a_traceback(tmp_path: Path) -> None:
    (tmp_path / "ecrm.toml").write_text("", encoding="utf-8")
    (tmp_path / "scenarios").mkdir()
    (tmp_path / "scenarios" / "sjis.ecrm").write_bytes('scenario s "初回" {}'.encode("shift_jis"))
    result = subprocess.run(
        [sys.executable, "-m", "ecrm_dsl", "lint"], cwd=tmp_path, capture_output=True, text=True, encoding="utf-8"
    )
    assert result.returncode == 1
    assert "Traceback" not in result.stdout + result.stderr
    assert "scenarios/sjis.ecrm:1:" in result.stdout and "not UTF-8" in result.stdout
