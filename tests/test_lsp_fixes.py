"""The fixes the reference checks carry: a misspelt name with one close spelling is replaced, and nothing else."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

import ecrm_dsl
from ecrm_dsl.language.diagnostics import Diagnostic

STARTER = Path(ecrm_dsl.__file__).parent / "starter"

TEXT = """\
scenario winback "休眠🎁顧客" {
  kind sell
  owner "crm-team"
  hypothesis repeat_rate "休眠顧客🎁にクーポン"
  when segment dormant_9O
  goal order.placd within 30d
  day 1 at 10:00 if customer.persona == "ギフト🎁": send emial repeat_cupon with { coupon_code = "WB10" }
  @later 72h after entyr: send email repeat_coupon with { coupon_cod = "X" }
}
"""
YAML = """\
scenario: winback
title: 休眠🎁顧客
kind: sell
owner: crm-team
hypothesis: {kpi: repeat_rate, statement: 休眠顧客🎁にクーポン}
trigger:
  segment: dormant_9O
goals:
- {event: order.placd, within: 30d}
steps:
- delay: {day: 1, at: "10:00"}
  send: {channel: email, template: repeat_cupon, params: {coupon_code: WB10}}
"""


@pytest.fixture
def project(tmp_path: Path) -> Path:
    shutil.copytree(STARTER, tmp_path / "shop")
    return tmp_path / "shop"


def _findings(project: Path, name: str, text: str) -> list[Diagnostic]:
    (project / "scenarios" / name).write_text(text, encoding="utf-8")
    result = ecrm_dsl.lint(ecrm_dsl.load_project(project))
    return [d for d in result.diagnostics if d.span.file == f"scenarios/{name}"]


def _fixed(text: str, findings: list[Diagnostic]) -> str:
    """Apply every fix (1-based code-point columns), last first."""
    lines = text.split("\n")
    for fix in sorted((d.fix for d in findings if d.fix), key=lambda f: (f.span.line, f.span.column), reverse=True):
        line = lines[fix.span.line - 1]
        assert fix.span.end_line == fix.span.line
        lines[fix.span.line - 1] = line[: fix.span.column - 1] + fix.replacement + line[fix.span.end_column - 1 :]
    return "\n".join(lines)


@pytest.mark.parametrize(("name", "text"), [("winback.ecrm", TEXT), ("winback.yaml", YAML)])
def test_each_fix_covers_exactly_the_misspelt_name(project: Path, name: str, text: str):
    findings = _findings(project, name, text)
    lines = text.split("\n")
    fixes = {d.code: d.fix for d in findings if d.fix is not None}
    for finding in findings:
        fix = finding.fix
        if fix is None:
            continue
        written = lines[fix.span.line - 1][fix.span.column - 1 : fix.span.end_column - 1]
        assert f"'{written}'" in finding.message and f"with '{fix.replacement}'" in fix.title
        assert f"did you mean {fix.replacement}?" == finding.hint
    assert fixes["E201"] is not None and fixes["E201"].replacement == "dormant_90"
    assert fixes["E205"] is not None and fixes["E205"].replacement == "order.placed"
    assert fixes["E202"] is not None and fixes["E202"].replacement == "repeat_coupon"


def test_the_fixed_text_lints_clean_in_both_syntaxes(project: Path):
    for name, text in (("winback.ecrm", TEXT), ("winback.yaml", YAML)):
        findings = _findings(project, name, text)
        assert {d.code for d in findings} >= {"E201", "E202", "E205"}
        assert _findings(project, name, _fixed(text, findings)) == []
        (project / "scenarios" / name).unlink()


def test_text_fixes_for_channel_anchor_and_parameter(project: Path):
    findings = _findings(project, "winback.ecrm", TEXT)
    fixes = {d.code: d.fix for d in findings if d.fix is not None and d.code in ("E203", "E207", "E210")}
    assert {code: (f.replacement if f else None) for code, f in fixes.items()} == {
        "E203": "email",
        "E207": "entry",
        "E210": "coupon_code",
    }
    send = fixes["E203"]
    assert send is not None and TEXT.split("\n")[6][send.span.column - 1 :].startswith("emial repeat_cupon")


def test_no_fix_without_one_close_spelling_or_when_the_name_is_written_twice(project: Path):
    far = _findings(project, "winback.ecrm", TEXT.replace("dormant_9O", "zzz"))
    assert next(d for d in far if d.code == "E201").fix is None  # nothing close: no guess
    twice = _findings(project, "winback.ecrm", TEXT.replace("send emial repeat_cupon", "send emial emial"))
    channel = next(d for d in twice if d.code == "E203")
    assert channel.hint == "did you mean email?" and channel.fix is None  # which 'emial' is the channel?
