"""The rules in Japanese: the summaries and notes are in the catalogue, ``ecrm --lang ja rule CODE`` prints the
Japanese page (docs/rules/ja/CODE.md), those pages say everything the English ones say in Japanese (the examples,
findings and diffs unchanged), each page links to the other language's, and what machines read (SARIF, JSON's
help_uri) stays English."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.shell_completion import ShellComplete
from click.testing import CliRunner

from ecrm_dsl.build.pipeline import SUPPRESSIBLE_ERRORS
from ecrm_dsl.cli import cli, rule_cmd
from ecrm_dsl.cli.language import localize
from ecrm_dsl.docs.links import rule_page_uri
from ecrm_dsl.language import i18n
from ecrm_dsl.language.ast import Span
from ecrm_dsl.language.diagnostics import RULES, Diagnostic
from ecrm_dsl.language.rule_notes import ELSEWHERE, FIXES, WHY
from ecrm_dsl.lsp.findings import to_lsp
from tests import catalogue
from tests.test_lint_ci import break_attribute, make_project

ROOT = Path(__file__).resolve().parent.parent
PAGES = ROOT / "docs" / "rules"
JAPANESE = re.compile(r"[\u3040-\u30ff\u4e00-\u9fff]")
FILE_LABEL = re.compile(r"^`[^`]+`:$")  # the name of an example file, above its text


@pytest.fixture(autouse=True)
def english_afterwards(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """A test that speaks Japanese leaves the process in English, as tests/test_i18n.py's do."""
    monkeypatch.delenv("LANGUAGE", raising=False)
    yield
    monkeypatch.setenv("ECRM_LANG", "en")  # the group's --lang reads it again below
    i18n.use("en")
    for command in catalogue.commands().values():  # help texts were translated in place: English again
        localize(command)
    localize(cli, cli.make_context("ecrm", [], resilient_parsing=True))


def _ecrm(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, list(args), catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


def _blocks(page: str) -> tuple[list[str], list[str]]:
    """(prose paragraphs, fenced blocks) of a Markdown page, in order."""
    prose: list[str] = []
    fenced: list[str] = []
    for index, part in enumerate(re.split(r"^(```[^\n]*\n.*?^```)$", page, flags=re.M | re.S)):
        if index % 2:
            fenced.append(part)
        else:
            prose += [p.strip() for p in part.split("\n\n") if p.strip() and p.strip() != "---"]
    return prose, fenced


def test_every_summary_and_note_has_japanese() -> None:
    i18n.use("ja")
    notes = [rule.summary for rule in RULES.values()]
    notes += [*WHY.values(), *FIXES.values(), *ELSEWHERE.values(), *SUPPRESSIBLE_ERRORS.values()]
    untranslated = [text for text in notes if i18n.lookup(text) == text or not JAPANESE.search(i18n.lookup(text))]
    assert not untranslated, f"not in the catalogue (mark it with n_() and translate it): {untranslated[:5]}"


def test_ecrm_rule_in_japanese_prints_the_japanese_page() -> None:
    english = (PAGES / "E301.md").read_text(encoding="utf-8")
    japanese = (PAGES / "ja" / "E301.md").read_text(encoding="utf-8")
    assert _ecrm("rule", "E301") == (0, english, "")
    assert _ecrm("--lang", "ja", "rule", "E301") == (0, japanese, "")
    assert _ecrm("--lang", "ja", "rule", "type-mismatch")[1] == japanese
    assert japanese.startswith("# E301 type-mismatch\n\n[English](../E301.md)\n\n**エラー（error）** · ")
    for heading in ("## なぜ重要か", "## 指摘される例", "## 指摘されない例", "## 修正", "## 抑制"):
        assert f"\n{heading}\n" in japanese
    # the failing example's findings are the golden case's, as the English page shows them
    assert "scenarios/types.ecrm:4:51: error E301 customer.total_spent is an amount of money" in japanese
    assert english.startswith("# E301 type-mismatch\n\n[日本語](ja/E301.md)\n\n**error** · Compared or computed")


def test_an_unknown_rule_is_the_same_failure_in_japanese() -> None:
    code, out, _ = _ecrm("--lang", "ja", "rule", "E2O4")
    assert (code, out) == (1, "")


def test_the_listing_speaks_the_language_with_the_same_codes_and_names() -> None:
    _, english, _ = _ecrm("rule")
    _, japanese, _ = _ecrm("--lang", "ja", "rule")
    assert [line.split()[:3] for line in english.splitlines()] == [line.split()[:3] for line in japanese.splitlines()]
    assert "E301  type-mismatch" in english and english.rstrip().endswith("or is malformed.")
    assert all(JAPANESE.search(line) for line in japanese.splitlines())
    assert "抑制コメントがどの指摘にも当たらないか" in japanese.splitlines()[-1]


def test_without_the_pages_installed_the_summary_is_in_the_language(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(rule_cmd, "_PACKAGE_PAGES", tmp_path / "none")
    monkeypatch.setattr(rule_cmd, "_REPOSITORY_PAGES", tmp_path / "none")
    assert _ecrm("rule", "W406")[1] == "# W406 never-true\n\n**warning** · A condition can never be true.\n"
    assert (
        _ecrm("--lang", "ja", "rule", "W406")[1]
        == "# W406 never-true\n\n**警告（warning）** · 条件が決して真になりません。\n"
    )


@pytest.mark.parametrize("name", sorted(p.name for p in PAGES.glob("*.md")))
def test_a_japanese_page_says_everything_in_japanese_and_shows_the_same_examples(name: str) -> None:
    english = (PAGES / name).read_text(encoding="utf-8")
    japanese = (PAGES / "ja" / name).read_text(encoding="utf-8")
    en_prose, en_fenced = _blocks(english)
    ja_prose, ja_fenced = _blocks(japanese)
    assert ja_fenced == en_fenced, "the examples, their findings and the fix's diff are the same in both"
    assert len(ja_prose) == len(en_prose)
    if name == "README.md":
        assert (en_prose[0], ja_prose[0]) == ("# Rules", "# ルール")
    else:
        assert en_prose[0] == ja_prose[0]  # the title: the code and the name never change
    assert en_prose[1] == f"[日本語](ja/{name})" and ja_prose[1] == f"[English](../{name})"
    for en, ja in zip(en_prose[2:], ja_prose[2:], strict=True):
        if FILE_LABEL.match(en):  # the name of an example's file
            assert ja == en
            continue
        assert ja != en, f"{name}: still English: {ja[:80]}"
        if en.startswith("|"):  # the index: every row's meaning in Japanese
            rows = ja.splitlines()
            assert all(JAPANESE.search(row.split(" | ")[-1]) for row in rows[:1] + rows[2:]), ja
        else:
            assert JAPANESE.search(ja), f"{name}: no Japanese in {ja[:80]}"


def test_machines_get_english_and_the_english_page_whatever_the_language(tmp_path: Path) -> None:
    project = make_project(tmp_path / "shop")
    break_attribute(project)
    config = str(project / "ecrm.toml")
    result = CliRunner().invoke(cli, ["--lang", "ja", "--config", config, "lint", "--format", "sarif"])
    rules = {rule["id"]: rule for rule in json.loads(result.stdout)["runs"][0]["tool"]["driver"]["rules"]}
    assert rules["E204"]["shortDescription"]["text"] == RULES["E204"].summary
    assert rules["E204"]["helpUri"].endswith("/docs/rules/E204.md")
    result = CliRunner().invoke(cli, ["--lang", "ja", "--config", config, "lint", "--format", "json"])
    findings = json.loads(result.stdout)["findings"]
    assert findings and all(f["help_uri"].endswith(f"/docs/rules/{f['code']}.md") for f in findings)


def test_the_editor_links_a_finding_s_code_to_the_page_in_its_language() -> None:
    finding = Diagnostic("E204", "unknown attribute", Span("a.ecrm", 1, 1, 1, 2))
    english = to_lsp(finding, ["x"], "utf-16").code_description
    assert english is not None and english.href == rule_page_uri("E204")
    assert english.href.endswith("/docs/rules/E204.md")
    i18n.use("ja")
    japanese = to_lsp(finding, ["x"], "utf-16").code_description
    assert japanese is not None and japanese.href.endswith("/docs/rules/ja/E204.md")


def test_shell_completion_describes_a_rule_in_the_language(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ECRM_LANG", raising=False)
    monkeypatch.setenv("LANG", "C.UTF-8")
    complete = ShellComplete(cli, {}, "ecrm", "_ECRM_COMPLETE")
    english = complete.get_completions(["rule"], "E41")
    assert english[0].value == "E410" and english[0].help == RULES["E410"].summary
    monkeypatch.setenv("ECRM_LANG", "ja")
    japanese = complete.get_completions(["rule"], "E41")
    assert [item.value for item in japanese] == [item.value for item in english]
    assert japanese[0].help == "スケジュールが有効な 5 フィールドの cron 式ではありません。"
