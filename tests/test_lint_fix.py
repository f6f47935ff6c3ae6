"""``ecrm lint --fix`` and ``--diff`` on real files in a temporary project: the fixes are applied and nothing
else changes (Japanese comments, CRLF, a byte order mark), --diff writes nothing, a file edited meanwhile or
outside the project is never written, and the JSON and SARIF outputs carry the fixes and each rule's page."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from jsonschema import Draft4Validator

from ecrm_dsl.language.ast import Span
from ecrm_dsl.language.diagnostics import Fix
from ecrm_dsl.project.autofix import apply_edits, plan_fixes, write_fixes
from ecrm_dsl.project.config import load_config
from tests.test_lint_ci import SCENARIO, break_attribute, make_project, run_cli
from tests.test_rules_golden import CASES, build_project, lint_project

SARIF_SCHEMA = Path(__file__).parent / "data" / "sarif" / "sarif-schema-2.1.0.json"

# Typos that each have one close spelling, between Japanese comments that must survive byte for byte.
TYPOS_YAML = """\
# 初回購入者へのお礼とクーポン（コメントはそのまま残ること）
scenario: welcome_typos
kind: sell  # 売るCRM
hypothesis: {kpi: f2_rate, statement: 初回購入者にクーポンを送るとF2が上がる}
trigger:
  event: order.paid
  where: customer.ordr_count == 1  # 初回だけ
goals:
  - {event: order.placed, match: repeat, within: 30d}
steps:
  # ７日後、まだ買っていなければクーポン
  - delay: {day: 7, at: "10:00"}
    if: 'orders_since_entry == 0 and customer.total_spent >= 3000 and has_tags("vip")'
    send: {channel: email, template: repeat_coupon, params: {coupon_code: F2OFF10}}  # 末尾のコメント
"""
FIXED_YAML = (
    TYPOS_YAML.replace("customer.ordr_count", "customer.order_count")
    .replace(">= 3000 and", ">= 3000円 and")
    .replace("has_tags(", "has_tag(")
)


@pytest.fixture(autouse=True)
def _no_outer_repository(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GIT_CEILING_DIRECTORIES", str(tmp_path))
    monkeypatch.delenv("GITHUB_WORKSPACE", raising=False)


def project_with(tmp_path: Path, name: str, content: bytes) -> Path:
    project = make_project(tmp_path / "shop")
    (project / "scenarios" / name).write_bytes(content)
    return project


def test_fix_applies_every_safe_fix_and_keeps_every_other_byte(tmp_path: Path) -> None:
    project = project_with(tmp_path, "welcome.yaml", TYPOS_YAML.encode("utf-8"))
    before = run_cli("lint", cwd=project)
    assert before.code == 1 and "3 fixable with `ecrm lint --fix` (preview: `ecrm lint --diff`)" in before.stdout
    run = run_cli("lint", "--fix", cwd=project)
    assert run.code == 0, run.stdout
    assert run.stdout.splitlines()[0] == "fixed 3 findings in 1 file"
    assert run.stdout.splitlines()[-1] == "7 files checked: no findings"
    assert (project / "scenarios" / "welcome.yaml").read_bytes() == FIXED_YAML.encode("utf-8")
    again = run_cli("lint", "--fix", cwd=project)
    assert again.stdout.splitlines()[0] == "fixed 0 findings in 0 files"


def test_text_syntax_fix_and_the_findings_that_remain(tmp_path: Path) -> None:
    project = make_project(tmp_path / "shop")
    break_attribute(project, " and customer.qqq == 1")  # one fix; nothing is close to qqq
    original = (project / SCENARIO).read_text(encoding="utf-8")
    run = run_cli("lint", "--fix", cwd=project)
    assert run.stdout.splitlines()[0] == "fixed 1 finding in 1 file"
    assert run.code == 1  # what remains decides the exit code, as for plain lint
    assert "unknown attribute customer.qqq" in run.stdout
    fixed = (project / SCENARIO).read_text(encoding="utf-8")
    assert fixed == original.replace("customer.ordr_count", "customer.order_count")


def test_money_plus_a_whole_number_gets_its_yen_and_a_fraction_does_not(tmp_path: Path) -> None:
    project = make_project(tmp_path / "shop")
    condition = "customer.total_spent + 500 >= 3000円 and customer.total_spent - 1.5 > 0円"
    break_attribute(project)
    original = (project / SCENARIO).read_text(encoding="utf-8").replace("customer.ordr_count == 1", condition)
    (project / SCENARIO).write_text(original, encoding="utf-8")
    run = run_cli("lint", "--fix", cwd=project)
    assert run.stdout.splitlines()[0] == "fixed 1 finding in 1 file"
    assert "hint: subtract 1.5円, not 1.5" in run.stdout  # yen are whole: 1.5円 is no amount, so no fix
    assert (project / SCENARIO).read_text(encoding="utf-8") == original.replace("+ 500 ", "+ 500円 ")


def test_diff_prints_the_change_and_writes_nothing(tmp_path: Path) -> None:
    project = project_with(tmp_path, "welcome.yaml", TYPOS_YAML.encode("utf-8"))
    path = project / "scenarios" / "welcome.yaml"
    stamp = path.stat().st_mtime_ns
    files = sorted(p.relative_to(project) for p in project.rglob("*"))
    run = run_cli("lint", "--diff", cwd=project)
    assert run.code == 1
    assert run.stdout.startswith("--- a/scenarios/welcome.yaml\n+++ b/scenarios/welcome.yaml\n")
    assert (
        "-  where: customer.ordr_count == 1  # 初回だけ\n+  where: customer.order_count == 1  # 初回だけ\n"
        in run.stdout
    )
    assert run.stderr.strip() == "would fix 3 findings in 1 file"
    assert path.read_bytes() == TYPOS_YAML.encode("utf-8") and path.stat().st_mtime_ns == stamp
    assert sorted(p.relative_to(project) for p in project.rglob("*")) == files  # no scratch file left behind
    assert run_cli("lint", "--fix", cwd=project).code == 0
    clean = run_cli("lint", "--diff", cwd=project)
    assert (clean.code, clean.stdout) == (0, "")


def test_crlf_and_byte_order_mark_are_kept(tmp_path: Path) -> None:
    crlf = b"\xef\xbb\xbf" + TYPOS_YAML.replace("\n", "\r\n").encode("utf-8")
    project = project_with(tmp_path, "welcome.yaml", crlf)
    assert run_cli("lint", "--fix", cwd=project).code == 0
    expected = b"\xef\xbb\xbf" + FIXED_YAML.replace("\n", "\r\n").encode("utf-8")
    assert (project / "scenarios" / "welcome.yaml").read_bytes() == expected


def test_a_fix_that_uncovers_another_is_applied_in_the_next_round(tmp_path: Path) -> None:
    # The misspelt key stops the document from being read, so the name inside it is only found once it is fixed.
    typos = TYPOS_YAML.replace("trigger:", "triger:")
    project = project_with(tmp_path, "welcome.yaml", typos.encode("utf-8"))
    run = run_cli("lint", "--fix", cwd=project)
    assert run.stdout.splitlines()[0] == "fixed 4 findings in 1 file"
    assert (project / "scenarios" / "welcome.yaml").read_text(encoding="utf-8") == FIXED_YAML


def test_unused_suppressions_are_removed_unless_they_give_a_reason(tmp_path: Path) -> None:
    source = (
        "# ecrm: ignore[W506]\n"
        "# 初回購入のお礼\n"
        'scenario thanks "お礼" {\n'
        "  kind nurture  # ecrm: ignore\n"
        '  hypothesis f2_rate "お礼でF2が上がる"  # ecrm: ignore[E204] 移行中のため\n'
        "  when order.paid\n"
        "  send email thanks_first\n"
        "}\n"
    )
    project = project_with(tmp_path, "thanks.ecrm", source.encode("utf-8"))
    run = run_cli("lint", "--fix", cwd=project)
    assert run.stdout.splitlines()[0] == "fixed 2 findings in 1 file"
    expected = source.replace("# ecrm: ignore[W506]\n", "").replace("  # ecrm: ignore\n", "\n")
    assert (project / "scenarios" / "thanks.ecrm").read_text(encoding="utf-8") == expected
    assert "unused suppression: no E204 finding on line 4" in run.stdout  # the one with a reason is kept


def test_only_reported_findings_are_fixed(tmp_path: Path) -> None:
    source = TYPOS_YAML.replace("  # 初回だけ", "  # ecrm: ignore[E204]")
    project = project_with(tmp_path, "welcome.yaml", source.encode("utf-8"))
    run = run_cli("lint", "--fix", "--ignore", "E206", cwd=project)
    assert run.stdout.splitlines()[0] == "fixed 1 finding in 1 file"  # the 円; E204 is suppressed, E206 ignored
    expected = source.replace(">= 3000 and", ">= 3000円 and")
    assert (project / "scenarios" / "welcome.yaml").read_text(encoding="utf-8") == expected


def test_overlapping_edits_wait_for_the_next_round() -> None:
    def fix(line: int, column: int, end: int, text: str) -> Fix:
        return Fix("t", Span("f", line, column, line, end), text)

    text = "ab\r\ncdef\r\n"
    fixed, applied = apply_edits(text, [fix(2, 1, 3, "X"), fix(2, 2, 4, "Y"), fix(1, 3, 3, "!"), fix(9, 1, 2, "Z")])
    assert fixed == "ab!\r\ncYf\r\n"  # the later of the overlapping pair; the line that is not there is skipped
    assert [f.replacement for f in applied] == ["Y", "!"]
    assert apply_edits("ab\n", [fix(1, 1, 2, "x\ny")])[0] == "x\nyb\n"
    assert apply_edits("ab\r\n", [fix(1, 1, 2, "x\ny")])[0] == "x\r\nyb\r\n"


def test_a_file_changed_meanwhile_is_not_overwritten(tmp_path: Path) -> None:
    project = project_with(tmp_path, "welcome.yaml", TYPOS_YAML.encode("utf-8"))
    outcome = plan_fixes(load_config(project / "ecrm.toml"))
    assert [f.name for f in outcome.files] == ["scenarios/welcome.yaml"]
    path = project / "scenarios" / "welcome.yaml"
    path.write_text(TYPOS_YAML + "# 誰かが編集した\n", encoding="utf-8")
    write_fixes(outcome)
    assert outcome.not_written == ["scenarios/welcome.yaml"]
    assert path.read_text(encoding="utf-8") == TYPOS_YAML + "# 誰かが編集した\n"


def test_named_files_and_folders_limit_what_is_fixed(tmp_path: Path) -> None:
    project = project_with(tmp_path, "welcome.yaml", TYPOS_YAML.encode("utf-8"))
    break_attribute(project)
    run = run_cli("lint", "--fix", "scenarios/welcome.yaml", cwd=project)
    assert run.stdout.splitlines()[0] == "fixed 3 findings in 1 file"
    assert "customer.ordr_count" in (project / SCENARIO).read_text(encoding="utf-8")  # not named: left alone
    run = run_cli("lint", "--fix", "scenarios", cwd=project)
    assert run.stdout.splitlines()[0] == "fixed 1 finding in 1 file"
    assert "customer.order_count == 1" in (project / SCENARIO).read_text(encoding="utf-8")


def test_a_file_that_cannot_be_written_is_named_and_left_as_it_was(tmp_path: Path) -> None:
    project = project_with(tmp_path, "welcome.yaml", TYPOS_YAML.encode("utf-8"))
    (project / "scenarios" / ".welcome.yaml.ecrm-fix").mkdir()  # where the new text would be written first
    run = run_cli("lint", "--fix", cwd=project)
    assert run.stdout.splitlines()[0] == "fixed 0 findings in 0 files"
    assert run.stderr.startswith("ecrm lint --fix: scenarios/welcome.yaml could not be written: ")
    assert (project / "scenarios" / "welcome.yaml").read_text(encoding="utf-8") == TYPOS_YAML


def test_a_file_outside_the_project_is_never_written(tmp_path: Path) -> None:
    project = make_project(tmp_path / "shop")
    outside = tmp_path / "elsewhere" / "welcome.yaml"
    outside.parent.mkdir()
    outside.write_text(TYPOS_YAML, encoding="utf-8")
    run = run_cli("--config", str(project / "ecrm.toml"), "lint", "--fix", str(outside), cwd=tmp_path)
    assert run.stdout.splitlines()[0] == "fixed 0 findings in 0 files"
    assert "unknown attribute customer.ordr_count" in run.stdout  # reported, not fixed
    assert outside.read_text(encoding="utf-8") == TYPOS_YAML


def test_json_carries_the_fix_and_the_rule_page(tmp_path: Path) -> None:
    project = make_project(tmp_path / "shop")
    break_attribute(project)
    run = run_cli("lint", "--format", "json", cwd=project)
    (finding,) = json.loads(run.stdout)["findings"]
    assert finding["help_uri"].endswith("/docs/rules/E204.md")
    assert finding["fix"] == {
        "title": "replace customer.ordr_count with customer.order_count",
        "line": 6,
        "column": 27,
        "end_line": 6,
        "end_column": 46,
        "replacement": "customer.order_count",
    }
    fixed = run_cli("lint", "--fix", "--format", "json", cwd=project)
    assert json.loads(fixed.stdout)["findings"] == []  # standard output stays JSON
    assert fixed.stderr.splitlines()[0] == "fixed 1 finding in 1 file"


def test_sarif_fixes_are_valid_and_each_rule_links_its_page(tmp_path: Path) -> None:
    project = project_with(tmp_path, "welcome.yaml", TYPOS_YAML.encode("utf-8"))
    run = run_cli("lint", "--format", "sarif", cwd=project)
    log = json.loads(run.stdout)
    validator = Draft4Validator(json.loads(SARIF_SCHEMA.read_text(encoding="utf-8")))
    assert not list(validator.iter_errors(log))
    results = log["runs"][0]["results"]
    fixes = [r["fixes"][0] for r in results if "fixes" in r]
    assert len(fixes) == 3
    first = fixes[0]["artifactChanges"][0]
    assert first["artifactLocation"] == {"uri": "scenarios/welcome.yaml", "uriBaseId": "%SRCROOT%"}
    assert first["replacements"] == [
        {
            "deletedRegion": {"startLine": 7, "startColumn": 10, "endLine": 7, "endColumn": 29},
            "insertedContent": {"text": "customer.order_count"},
        }
    ]
    rules = log["runs"][0]["tool"]["driver"]["rules"]
    assert len({rule["helpUri"] for rule in rules}) == len(rules)


def test_text_output_names_ecrm_rule_once(tmp_path: Path) -> None:
    project = project_with(tmp_path, "welcome.yaml", TYPOS_YAML.encode("utf-8"))
    run = run_cli("lint", cwd=project)
    assert len([line for line in run.stdout.splitlines() if "ecrm rule" in line]) == 1
    assert "`ecrm rule CODE` (e.g. `ecrm rule E204`)" in run.stdout
    assert "ecrm rule" not in run_cli("lint", cwd=make_project(tmp_path / "clean")).stdout


def test_fix_and_diff_together_is_a_usage_error(tmp_path: Path) -> None:
    project = make_project(tmp_path / "shop")
    assert run_cli("lint", "--fix", "--diff", cwd=project).code == 2


# --------------------------------------------------------------------------- every fix of the golden cases


def _span_text(text: str, span: Span) -> str:
    lines = text.split("\n")
    start = sum(len(line) + 1 for line in lines[: span.line - 1]) + span.column - 1
    end = sum(len(line) + 1 for line in lines[: span.end_line - 1]) + span.end_column - 1
    return text[start:end]


@pytest.mark.parametrize("case", [case for case in CASES if not case.startswith(("E001", "E002"))])
def test_each_golden_fix_replaces_the_word_its_finding_names(
    case: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = build_project(case, tmp_path / "project")
    for finding in lint_project(root, monkeypatch):
        if finding.fix is None:
            continue
        original = _span_text((root / finding.fix.span.file).read_text(encoding="utf-8"), finding.fix.span)
        assert original and original != finding.fix.replacement
        if finding.code == "E301" and finding.fix.replacement.endswith("円"):  # a whole number that needs its 円
            assert original.isdigit() and finding.fix.replacement == f"{original}円"
        elif finding.code == "W801":  # a stale schema copy: the whole file becomes what `ecrm schema export` writes
            assert finding.fix.replacement.startswith("{") and '"$schema"' in finding.fix.replacement
            continue
        elif finding.message.startswith("unused suppression"):  # the whole comment goes
            assert original.strip().startswith("# ecrm:") and finding.fix.replacement == ""
        else:
            assert original.rsplit(".", 1)[-1] in finding.message, (finding, original)  # event.amout: 'amout'
            assert "\n" not in original + finding.fix.replacement


@pytest.mark.parametrize("case", [case for case in CASES if not case.startswith(("E001", "E002", "E007"))])
def test_fixing_a_golden_case_never_breaks_its_syntax(
    case: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = build_project(case, tmp_path / "project")
    syntax = {"E003", "E004", "E005", "E008", "E009"}
    before = [d for d in lint_project(root, monkeypatch) if d.code in syntax]
    outcome = plan_fixes(load_config(root / "ecrm.toml"))
    write_fixes(outcome)
    after = [d for d in lint_project(root, monkeypatch) if d.code in syntax]
    assert len(after) <= len(before)
    fixed_again = [d for d in lint_project(root, monkeypatch) if d.fix is not None]
    assert not fixed_again, "after --fix nothing fixable is left"
