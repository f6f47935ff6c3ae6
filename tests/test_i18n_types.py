"""The type checks' findings in Japanese (issue 13, "Japanese throughout"): E204, E206, E301, E302 and E303 at the
same codes, lines and columns as in English, with the type words (整数, 金額, 文字列 …), the condition's role and
each sentence's word order Japanese, and the fixes' titles too."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from ecrm_dsl.cli import cli
from tests.test_i18n import _same_findings_in_japanese
from tests.test_rules_golden import build_project

TYPED = (
    'scenario typed "型の誤り" {\n'
    "  kind sell\n"
    "  when order.placed where customer.total_spent >= 30000\n"
    "  day 1 at 10:00 if customer.order_count: send email thanks_first\n"
    '  @again day 2 at 10:00 if has_tags("vip") and orders_since_entry + "x" > 1: send email thanks_first\n'
    "}\n"
)


def _findings(config: Path, *language: str) -> list[dict[str, object]]:
    result = CliRunner().invoke(cli, [*language, "--config", str(config), "lint", "--format", "json"])
    assert result.exit_code == 1, result.output
    return [f for f in json.loads(result.stdout)["findings"] if str(f["code"])[1] in "23"]


def test_a_project_s_type_errors_are_told_in_japanese_at_the_same_places(tmp_path: Path) -> None:
    project = tmp_path / "shop"
    assert CliRunner().invoke(cli, ["init", str(project), "--no-editor"]).exit_code == 0
    (project / "scenarios" / "typed.ecrm").write_text(TYPED, encoding="utf-8")
    (project / "segments" / "entered.yaml").write_text(
        "segment: entered\ntitle: 参加後の注文\nwhere: orders_since_entry >= 1\n", encoding="utf-8"
    )
    config = project / "ecrm.toml"

    english, japanese = _findings(config), _findings(config, "--lang", "ja")

    def place(f: dict[str, object]) -> tuple[object, ...]:
        return (f["code"], f["file"], f["line"], f["column"])

    assert [place(f) for f in japanese] == [place(f) for f in english]
    assert [(f["code"], f["line"], f["column"], f["message"], f["hint"]) for f in english] == [
        (
            "E301",
            3,
            51,
            "customer.total_spent is an amount of money, but it is compared with a whole number",
            "write the amount with its currency, e.g. 30000円 or ¥30,000",
        ),
        (
            "E303",
            4,
            21,
            "this step condition is a whole number, not true/false",
            "compare it, e.g. 'customer.order_count >= 2'",
        ),
        ("E206", 5, 28, "unknown function has_tags()", "did you mean has_tag()?"),
        (
            "E301",
            5,
            69,
            "the value is text: it cannot be used in arithmetic",
            "arithmetic works on numbers, money, durations and a date and time plus a duration",
        ),
        (
            "E204",
            3,
            8,
            "orders_since_entry is not defined in a segment condition: the customer has not entered yet",
            "use it in step conditions, goals and stop rules",
        ),
    ]
    assert [(f["message"], f["hint"]) for f in japanese] == [
        (
            "customer.total_spent は金額ですが、整数と比べられています",
            "金額は通貨を付けて書いてください。例: 30000円、¥30,000",
        ),
        (
            "このステップ条件は真偽値（true/false）ではなく整数です",
            "値と比べてください。例: 'customer.order_count >= 2'",
        ),
        ("不明な関数 has_tags()", "もしかして has_tag()？"),
        ("値は文字列です: 計算には使えません", "計算できるのは数、金額、期間と、日時に期間を足す形だけです"),
        (
            "orders_since_entry はセグメント条件では定義されていません: 顧客はまだ参加していません",
            "ステップ条件、ゴール、停止ルールで使ってください",
        ),
    ]
    # the same fixes, titled in the reader's language
    fixes = [(f["fix"] or {}) for f in japanese]
    assert [fix.get("title") for fix in fixes] == [
        "30000円と書いてください",
        None,
        "has_tags を has_tag に置き換える",
        None,
        None,
    ]
    assert (
        [fix.get("replacement") for fix in fixes]
        == [(f["fix"] or {}).get("replacement") for f in english]
        == ["30000円", None, "has_tag", None, None]
    )


def test_lint_s_text_output_puts_the_japanese_type_error_where_the_english_one_is(tmp_path: Path) -> None:
    project = tmp_path / "shop"
    assert CliRunner().invoke(cli, ["init", str(project), "--no-editor"]).exit_code == 0
    (project / "scenarios" / "typed.ecrm").write_text(TYPED, encoding="utf-8")
    config = str(project / "ecrm.toml")
    english = CliRunner().invoke(cli, ["--config", config, "lint"])
    japanese = CliRunner().invoke(cli, ["--lang", "ja", "--config", config, "lint"])
    assert english.exit_code == japanese.exit_code == 1
    assert (
        "scenarios/typed.ecrm:4:21: error: this step condition is a whole number, not true/false [E303 not-boolean]"
        in english.output.splitlines()
    )
    assert (
        "scenarios/typed.ecrm:4:21: error: このステップ条件は真偽値（true/false）ではなく整数です [E303 not-boolean]"
        in japanese.output.splitlines()
    )


@pytest.mark.parametrize(
    ("case", "code", "message", "hint"),
    [
        pytest.param(
            "E204_unknown-attribute",
            "E204",
            "待機するイベント order.placed にプロパティ 'cartid' はありません",
            "もしかして cart_id？",
            id="event-role",
        ),
        pytest.param(
            "E204_metric-in-entry-condition",
            "E204",
            "orders_since_entry は参加条件では定義されていません: 顧客はまだ参加していません",
            "ステップ条件、ゴール、停止ルールで使ってください",
            id="article",
        ),
        pytest.param(
            "E302_bad-arguments",
            "E302",
            "opened() の引数は 2 個（channel, duration）ですが、1 個渡されています",
            "そのチャネルで直近の期間内にメッセージを開封した",
            id="function-description",
        ),
        pytest.param(
            "E302_keyword-arguments",
            "E302",
            "purchases() はキーワード引数だけを取ります。この引数に名前を付けてください",
            "purchases(category: …, sku: …, within: …) と書いてください（どれも省略できます）",
            id="keywords",
        ),
        pytest.param(
            "E301_type-mismatch",
            "E301",
            "customer.days_since_last_order は整数ですが、期間と比べられています",
            "期間は期間（7d）と、日数は整数と比べてください",
            id="type-words",
        ),
    ],
)
def test_the_type_checks_golden_cases_speak_japanese_at_the_same_places(
    case: str, code: str, message: str, hint: str, tmp_path: Path
) -> None:
    root = build_project(case, tmp_path / "project")
    _same_findings_in_japanese(root / "ecrm.toml", code, message, hint)
