"""Files that ecrm writes for the user (``ecrm init``'s starter project, ``ecrm convert``'s output) are already
formatted: ``ecrm fmt --check`` passes on them, so a pre-commit hook or CI never fails on what ecrm wrote."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.test_lint_ci import ROOT, make_project, run_cli

EXAMPLES = sorted(
    p
    for p in (ROOT / "scenarios").iterdir()
    if p.suffix in (".ecrm", ".yaml") and p.stem not in ("customer_schema", "policies")
)
CONSTRUCTS = sorted((ROOT / "tests" / "golden" / "constructs").glob("*.ecrm")) + sorted(
    (ROOT / "tests" / "golden" / "constructs").glob("*.yaml")
)
SUFFIX = {"yaml": ".yaml", "text": ".ecrm"}


def test_the_starter_project_is_formatted(tmp_path: Path) -> None:
    project = make_project(tmp_path / "shop")
    run = run_cli("fmt", "--check", cwd=project)
    assert (run.code, run.stdout) == (0, ""), run.stdout + run.stderr
    assert run.stderr == "0 files would be reformatted, 6 unchanged\n"


@pytest.mark.parametrize("target", ["yaml", "text"])
@pytest.mark.parametrize("source", EXAMPLES + CONSTRUCTS, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_converted_files_are_formatted(source: Path, target: str, tmp_path: Path) -> None:
    output = tmp_path / f"{source.stem}{SUFFIX[target]}"
    converted = run_cli("convert", str(source), "--to", target, "-o", str(output), cwd=tmp_path)
    assert converted.code == 0, converted.stderr
    check = run_cli("fmt", "--check", output.name, cwd=tmp_path)
    assert (check.code, check.stdout) == (0, ""), check.stdout + check.stderr
    assert check.stderr == "0 files would be reformatted, 1 unchanged\n"


def test_converted_yaml_with_a_schema_line_is_formatted(tmp_path: Path) -> None:
    source = ROOT / "scenarios" / "subscription_churn_offer.ecrm"
    schema = "../ecrm_dsl/schemas/scenario.schema.json"
    assert run_cli("convert", str(source), "--schema", schema, "-o", "out.yaml", cwd=tmp_path).code == 0
    written = (tmp_path / "out.yaml").read_text(encoding="utf-8")
    assert written.startswith(f"# yaml-language-server: $schema={schema}\nscenario: subscription_churn_offer\n")
    assert run_cli("fmt", "--check", "out.yaml", cwd=tmp_path).code == 0


PRESET_USE = """scenario f2_sweets "スイーツ初回購入者のF2" from preset f2_step_mail with {
  coupon_code = "SWEETS10", coupon_day = 5, holdout = "10%",
  audience = "customer.order_count == 1 and contains(event.categories, \\"sweets\\")",
}
"""


def test_a_converted_preset_use_is_formatted_both_ways(tmp_path: Path) -> None:
    (tmp_path / "use.ecrm").write_text(PRESET_USE, encoding="utf-8")
    assert run_cli("convert", "use.ecrm", "-o", "use.yaml", cwd=tmp_path).code == 0
    assert run_cli("convert", "use.yaml", "-o", "back.ecrm", cwd=tmp_path).code == 0
    assert (tmp_path / "use.yaml").read_text(encoding="utf-8").startswith("scenario: f2_sweets\n")
    check = run_cli("fmt", "--check", "use.yaml", "back.ecrm", cwd=tmp_path)
    assert (check.code, check.stderr) == (0, "0 files would be reformatted, 2 unchanged\n"), check.stdout
