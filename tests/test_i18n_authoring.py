"""The authoring commands' own lines in Japanese (lint, fmt, init, rule, graph, diff): the same exit codes as in
English, the sentences in Japanese, machine formats unchanged. Through the real CLI, in process."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from ecrm_dsl.cli import cli
from ecrm_dsl.cli.language import localize
from ecrm_dsl.language import i18n
from tests import catalogue
from tests.test_operator_cli import ecrm
from tests.test_operator_cli import project as project
from tests.test_preview import COUPON_DAY, preview
from tests.test_preview import shop as shop

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(autouse=True)
def english_afterwards(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """A test that speaks Japanese leaves the process in English (help texts too)."""
    monkeypatch.delenv("LANGUAGE", raising=False)
    yield
    i18n.use("en")
    for command in catalogue.commands().values():
        localize(command)
    localize(cli, cli.make_context("ecrm", [], resilient_parsing=True))


DIFF_CASE = ROOT / "tests" / "golden" / "diff" / "f2_release"


def _in_both(args: list[str]) -> tuple[Result, Result]:
    """``ecrm ARGS`` in English, then in Japanese (in process)."""
    english = CliRunner().invoke(cli, args)
    japanese = CliRunner().invoke(cli, ["--lang", "ja", *args])
    return english, japanese


def test_an_unknown_rule_is_refused_in_japanese_with_the_same_exit_code() -> None:
    english, japanese = _in_both(["rule", "E998"])
    assert english.exit_code == japanese.exit_code == 1
    assert english.stderr.startswith("ecrm rule: no rule 'E998'; ")
    assert japanese.stderr.startswith("ecrm rule: ルール 'E998' はありません。"), japanese.stderr


def test_init_speaks_japanese_and_refuses_to_overwrite_with_the_same_exit_code(tmp_path: Path) -> None:
    project = tmp_path / "shop"
    created = CliRunner().invoke(cli, ["--lang", "ja", "init", str(project), "--no-editor"])
    assert created.exit_code == 0
    assert f"{project / 'ecrm.toml'} を作成しました" in created.stdout
    assert f"次は: cd {project} && ecrm lint" in created.stdout
    english, japanese = _in_both(["init", str(project), "--no-editor"])
    assert english.exit_code == japanese.exit_code == 2
    assert "already exists; nothing was written" in english.stderr
    assert "はすでにあります。何も書き込んでいません" in japanese.stderr and "already" not in japanese.stderr


def test_lint_s_usage_errors_and_fmt_s_summary_speak_japanese(tmp_path: Path) -> None:
    english, japanese = _in_both(["lint", "--fix", "--diff"])
    assert english.exit_code == japanese.exit_code == 2
    assert "use --fix to apply the fixes or --diff to see them, not both" in english.stderr
    assert "修正を適用するなら --fix、確認するなら --diff を使ってください。両方は指定できません" in japanese.stderr

    project = tmp_path / "shop"
    assert CliRunner().invoke(cli, ["init", str(project), "--no-editor"]).exit_code == 0
    scenario = project / "scenarios" / "f2_step_mail.ecrm"
    scenario.write_text(scenario.read_text(encoding="utf-8").replace("  kind sell", "  kind    sell"), encoding="utf-8")
    config = ["--config", str(project / "ecrm.toml")]
    english = CliRunner().invoke(cli, [*config, "fmt", "--check"])
    japanese = CliRunner().invoke(cli, ["--lang", "ja", *config, "fmt", "--check"])
    assert english.exit_code == japanese.exit_code == 1
    assert english.stderr.rstrip("\n").endswith("1 file would be reformatted, 5 unchanged"), english.stderr
    assert "scenarios/f2_step_mail.ecrm は整形されます" in japanese.stderr
    assert japanese.stderr.rstrip("\n").endswith("1 ファイルが整形対象、5 件は変更なし"), japanese.stderr


def test_graph_names_an_unknown_scenario_in_japanese(tmp_path: Path) -> None:
    project = tmp_path / "shop"
    assert CliRunner().invoke(cli, ["init", str(project), "--no-editor"]).exit_code == 0
    english, japanese = _in_both(["--config", str(project / "ecrm.toml"), "graph", "f2_step_mial"])
    assert english.exit_code == japanese.exit_code == 2
    assert "ecrm graph: no scenario 'f2_step_mial'; did you mean f2_step_mail?" in english.stderr
    assert "ecrm graph: シナリオ 'f2_step_mial' はありません。もしかして f2_step_mail？" in japanese.stderr
    assert "シナリオ: f2_step_mail" in japanese.stderr


def test_diff_s_summary_and_pull_request_comment_speak_japanese(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(DIFF_CASE)
    english, japanese = _in_both(["diff", "before", "after"])
    assert english.exit_code == japanese.exit_code == 1  # changes
    assert english.stdout == (DIFF_CASE / "expected.txt").read_text(encoding="utf-8")
    summary = japanese.stdout.splitlines()[0]
    assert summary.startswith("シナリオ 3 件を変更、1 件を追加、1 件を削除；セグメント 1 件を変更、1 件を削除；"), (
        summary
    )
    assert summary.endswith("ポリシーを変更；顧客スキーマを変更；4 ファイルを追加、3 件を削除"), summary
    assert "\nシナリオ f2_step_mail: 変更\n" in japanese.stdout and "\nポリシー: 変更\n" in japanese.stdout
    assert "  使用元: dormant_150_winback\n" in japanese.stdout
    # each change in words, the source pieces as written
    assert "  - f2_second_order_coupon のタイミングを day 7 at 10:00 から day 5 at 10:00 に変更（2 日早く）\n" in (
        japanese.stdout
    )
    assert "  - wait_1h: 待機 1h → 2h（1 時間遅く）\n" in japanese.stdout
    assert "  - 優先度 #2 → #1（今後は cart_abandonment より先）\n" in japanese.stdout

    markdown = ["diff", "before", "after", "--format", "markdown", "--no-mermaid"]
    english, japanese = _in_both(markdown)
    assert english.exit_code == japanese.exit_code == 1
    assert "\n#### Scenarios\n" in english.stdout and "\n#### シナリオ\n" in japanese.stdout
    assert "<summary><code>f2_step_mail</code> — 変更: 4 件の変更</summary>" in japanese.stdout
    assert "- `f2_second_order_coupon` のタイミングを `day 7 at 10:00` から `day 5 at 10:00` に変更（2 日早く）" in (
        japanese.stdout
    )
    assert "\n#### テンプレート\n" in japanese.stdout and "\n#### ファイル\n" in japanese.stdout
    short = CliRunner().invoke(cli, ["--lang", "ja", *markdown, "--max-size", "2000"])
    assert "GitHub のコメントのサイズ上限に収めるため短くしました: " in short.stdout
    assert len(short.stdout) <= 2000

    # JSON is for scripts: the same in every language
    document = CliRunner().invoke(cli, ["--lang", "ja", "diff", "before", "after", "--format", "json"]).stdout
    assert document == (DIFF_CASE / "expected.json").read_text(encoding="utf-8")


def test_diff_s_refusals_speak_japanese_with_the_same_exit_codes(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(DIFF_CASE)
    english, japanese = _in_both(["diff", "before", "no-such-revision"])
    assert english.exit_code == japanese.exit_code == 2
    assert "is neither a plan file, a project folder nor a git revision" in english.stderr
    assert "'no-such-revision' は実行計画ファイルでも、プロジェクトのフォルダーでも、git リビジョンでもありません" in (
        japanese.stderr
    )
    english, japanese = _in_both(["diff", "before", "after", "--now", "yesterday", "--detailed-exitcode"])
    assert english.exit_code == japanese.exit_code == 1  # terraform's "error"
    assert "ecrm diff: --now 'yesterday' は時刻ではありません。" in japanese.stderr


# preview and send-test, through a new interpreter with ECRM_LANG=ja (the shop of tests/test_preview.py)


def test_preview_and_send_test_speak_japanese_with_the_same_exit_codes(shop: Path) -> None:
    ja = {"ECRM_LANG": "ja"}
    shown = preview(shop, "f2_step_mail:repeat_coupon", "--customer", "c1", "--at", COUPON_DAY, env=ja)
    assert shown.returncode == 0, shown.stderr
    assert shown.stdout.startswith(
        "顧客 c1 への f2_step_mail:repeat_coupon のプレビュー（2025-03-08T10:00:00+09:00 時点）\n"
    )
    assert "\n  チャネル: line\n" in shown.stdout
    assert "\n  クーポン: プール f2_spring の SPRING-A、2025-03-31 まで有効（" in shown.stdout
    assert '"text": "[redacted]様、次回使えるクーポンです: SPRING-A"' in shown.stdout  # the message itself as sent
    as_json = preview(
        shop, "f2_step_mail:repeat_coupon", "--customer", "c1", "--at", COUPON_DAY, "--format", "json", env=ja
    )
    assert "channel: line" in json.loads(as_json.stdout)["delivery"]  # JSON is for scripts: English in every language

    english = preview(shop, "f2_step:repeat_coupon", "--customer", "c1")
    japanese = preview(shop, "f2_step:repeat_coupon", "--customer", "c1", env=ja)
    assert english.returncode == japanese.returncode == 1
    assert english.stderr.startswith("ecrm preview: no scenario 'f2_step'; did you mean 'f2_step_mail'?")
    assert japanese.stderr.startswith("ecrm preview: シナリオ 'f2_step' はありません。もしかして 'f2_step_mail'？")

    args = ("send-test", "repeat_coupon", "--customer", "c1", "--delivery-config", "delivery.toml")
    refused = ecrm(shop, *args, "--to", "boss@evil.minori.example", env=ja)
    assert refused.returncode == 2
    assert refused.stderr.startswith(
        "ecrm send-test: b***@evil.minori.example はテスト送信の許可リスト（delivery.toml の [test_send] allow）に"
        "ありません。"
    ), refused.stderr
