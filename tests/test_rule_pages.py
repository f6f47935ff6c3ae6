"""The rule pages in docs/rules: one per rule, generated from the registry, the notes and the golden cases, and
their examples really do what the page says (the failing one reports the rule, the passing one does not)."""

from __future__ import annotations

import tomllib
from functools import cache
from pathlib import Path

import pytest
from click.shell_completion import ShellComplete

from ecrm_dsl.cli import cli
from ecrm_dsl.docs import links, rule_pages
from ecrm_dsl.docs.rule_pages import GOLDEN, failing_example, pages, passing_examples
from ecrm_dsl.language.diagnostics import RULES, Diagnostic
from ecrm_dsl.language.rule_notes import ELSEWHERE, EXAMPLES, FIXES, WHY
from tests.test_lint_ci import run_cli
from tests.test_rules_golden import CASES, build_project, lint_project

ROOT = Path(__file__).resolve().parent.parent
PAGES = ROOT / "docs" / "rules"


def test_the_checked_in_pages_are_what_the_generator_writes() -> None:
    generated = pages()
    on_disk = {name: p.read_text(encoding="utf-8") for name, p in rule_pages.on_disk(PAGES).items()}
    assert sorted(on_disk) == sorted(generated), "regenerate: python -m ecrm_dsl.docs.rule_pages docs/rules"
    assert {name for name in generated if name.startswith("ja/")} == {f"ja/{code}.md" for code in RULES} | {
        "ja/README.md"
    }
    stale = [name for name in generated if on_disk[name] != generated[name]]
    assert not stale, f"out of date: {stale}; regenerate with python -m ecrm_dsl.docs.rule_pages docs/rules"


def test_every_rule_has_a_page_notes_and_examples() -> None:
    assert set(RULES) <= set(WHY) <= set(RULES) | set(ELSEWHERE)
    assert set(FIXES) <= set(RULES) and set(EXAMPLES) <= set(RULES)
    for code, rule in RULES.items():
        assert (PAGES / f"{code}.md").is_file()
        if code in ELSEWHERE:  # needs a store: no golden case can show it
            continue
        case, _, findings = failing_example(rule)
        assert case in CASES and findings, f"{code}: no failing golden example"
        passing_case, passing = passing_examples(rule)
        assert passing_case in CASES and passing, f"{code}: no passing example (a pass_* file beside {case})"


@cache
def _findings(case: str, root: Path) -> tuple[Diagnostic, ...]:
    with pytest.MonkeyPatch.context() as monkeypatch:
        return tuple(lint_project(build_project(case, root / case), monkeypatch))


@pytest.mark.parametrize("code", sorted(set(RULES) - set(ELSEWHERE)))
def test_the_failing_example_reports_the_rule_and_the_passing_one_does_not(code: str, tmp_path: Path) -> None:
    rule = RULES[code]
    case, name, _ = failing_example(rule)
    assert any(d.code == code and d.span.file == name for d in _findings(case, tmp_path))
    passing_case, passing = passing_examples(rule)
    shown = {file.name for file in passing}
    found = _findings(passing_case, tmp_path)
    assert not [d for d in found if d.span.file in shown], f"{code}: the passing example has findings"
    if passing_case != case:  # a whole case is the passing example: nothing of the rule anywhere in it
        assert not [d for d in found if d.code == code]


def test_the_rules_said_to_have_a_fix_have_one_and_no_other_does(tmp_path: Path) -> None:
    fixed: set[str] = set()
    for case in CASES:
        fixed |= {d.code for d in _findings(case, tmp_path) if d.fix is not None}
    missing, undocumented = set(FIXES) - fixed, fixed - set(FIXES)
    assert not missing, f"rule_notes.FIXES describes a fix no golden case shows: {sorted(missing)}"
    assert not undocumented, f"findings carry fixes that rule_notes.FIXES does not describe: {sorted(undocumented)}"


def test_ecrm_rule_prints_the_page_by_code_or_name(tmp_path: Path) -> None:
    page = (PAGES / "E204.md").read_text(encoding="utf-8")
    for word in ("E204", "e204", "unknown-attribute"):
        run = run_cli("rule", word, cwd=tmp_path)
        assert (run.code, run.stdout) == (0, page)


def test_ecrm_rule_with_an_unknown_rule_suggests_one(tmp_path: Path) -> None:
    run = run_cli("rule", "E2O4", cwd=tmp_path)
    assert run.code == 1
    assert run.stderr.strip() == "ecrm rule: no rule 'E2O4'; did you mean E204?"
    assert "did you mean unknown-attribute?" in run_cli("rule", "unknown-atribute", cwd=tmp_path).stderr


def test_ecrm_rule_alone_lists_every_rule(tmp_path: Path) -> None:
    run = run_cli("rule", cwd=tmp_path)
    assert run.code == 0
    assert [line.split()[0] for line in run.stdout.splitlines()] == sorted(RULES)


def test_shell_completion_offers_codes_and_names() -> None:
    complete = ShellComplete(cli, {}, "ecrm", "_ECRM_COMPLETE")
    assert [item.value for item in complete.get_completions(["rule"], "E20")] == [f"E20{i}" for i in range(1, 10)]
    names = [item.value for item in complete.get_completions(["rule"], "unknown-a")]
    assert names == ["unknown-attribute", "unknown-anchor"]  # in the order of their codes, E204 and E207


def test_rule_links_follow_the_documentation_url_of_pyproject() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    assert project["urls"]["Documentation"] == links.DOCUMENTATION
    assert links.rule_page_uri("E204").endswith("/docs/rules/E204.md")
    assert GOLDEN == ROOT / "tests" / "golden" / "rules"
