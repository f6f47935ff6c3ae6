"""Japanese and English: the catalogue covers every message and help text, compiles to the .mo that ships, keeps
each message's fields, and the language is chosen by --lang, $ECRM_LANG or the locale."""

from __future__ import annotations

import ast
import json
import os
import re
import string
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from ecrm_dsl.cli import cli, wide_text
from ecrm_dsl.cli.language import localize
from ecrm_dsl.language import i18n
from tests import catalogue
from tests.test_lint_store import NOW, shop
from tests.test_rules_golden import build_project

ROOT = Path(__file__).resolve().parent.parent
FIELD = re.compile(r"\{(\w+)[^{}]*\}|%\((\w+)\)s")


@pytest.fixture(autouse=True)
def english_afterwards(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """A test that speaks Japanese leaves the process in English (and $LANGUAGE as it was)."""
    monkeypatch.delenv("LANGUAGE", raising=False)
    yield
    i18n.use("en")
    for command in catalogue.commands().values():  # help texts were translated in place: English again
        localize(command)
    localize(cli, cli.make_context("ecrm", [], resilient_parsing=True))


def ours(catalog: object) -> set[str]:
    """Message ids of the package's code and help texts (click's own are checked only where we ship them)."""
    return {
        str(m.id if isinstance(m.id, str) else m.id[0])
        for m in catalogue.extracted()
        if m.id and any(not path.startswith("click/") for path, _ in m.locations)
    }


def test_every_message_and_help_text_has_japanese() -> None:
    shipped = catalogue.japanese()
    translated = {str(m.id if isinstance(m.id, str) else m.id[0]) for m in shipped if m.id} - set(
        catalogue.untranslated(shipped)
    )
    missing = sorted(ours(shipped) - translated)
    assert not missing, f"untranslated (run `python -m tests.catalogue`, then translate): {missing[:10]}"
    assert not catalogue.untranslated(shipped), "every entry of the .po has its Japanese"


def test_the_catalogue_has_no_message_the_code_no_longer_has() -> None:
    extracted = {str(m.id if isinstance(m.id, str) else m.id[0]) for m in catalogue.extracted() if m.id}
    shipped = {str(m.id if isinstance(m.id, str) else m.id[0]) for m in catalogue.japanese() if m.id}
    stale = sorted(shipped - extracted)
    assert not stale, f"messages no longer in the code (run `python -m tests.catalogue`): {stale[:10]}"


def test_the_shipped_mo_is_the_po_compiled() -> None:
    assert catalogue.JA_MO.read_bytes() == catalogue.mo_bytes(catalogue.japanese())


def test_a_translation_keeps_the_fields_of_its_message() -> None:
    for message in catalogue.japanese():
        if not message.id:
            continue
        ids = [message.id] if isinstance(message.id, str) else list(message.id)
        strings = [message.string] if isinstance(message.string, str) else list(message.string)
        wanted = set().union(*(_fields(i) for i in ids))
        for translated in strings:
            assert _fields(translated) <= wanted, (message.id, translated)
            if isinstance(message.id, str):
                assert _fields(translated) == wanted, (message.id, translated)


def _fields(text: str) -> set[str]:
    return {a or b for a, b in FIELD.findall(text)}


def test_tr_is_always_given_the_message_itself() -> None:
    """Babel can only extract a literal: ``tr(f"...")`` or ``tr(name)`` would never be translated, and neither would
    a ``tr()`` inside an f-string (Babel does not look into them): every literal must reach the catalogue."""
    extracted = {m.id if isinstance(m.id, str) else m.id[0] for m in catalogue.extracted() if m.id}
    for path in sorted((ROOT / "ecrm_dsl").rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in ("tr", "trn", "n_"):
                first = node.args[0] if node.args else None
                literal = isinstance(first, ast.Constant) and isinstance(first.value, str)
                where = f"{path.relative_to(ROOT)}:{node.lineno}"
                assert literal, f"{where}: {node.func.id}() needs a string literal"
                assert isinstance(first, ast.Constant) and first.value in extracted, f"{where}: not extracted"
                if node.func.id != "n_" and not any(k.arg is None for k in node.keywords):
                    # tr() always formats: every {field} must be given by name, and a literal brace is doubled
                    assert isinstance(first, ast.Constant)
                    wanted = {name for _, name, _, _ in string.Formatter().parse(first.value) if name is not None}
                    given = {k.arg for k in node.keywords}
                    assert wanted == given, f"{where}: fields {sorted(wanted)} but given {sorted(given)}"


@pytest.mark.parametrize(
    ("requested", "environ", "expected"),
    [
        (None, {}, "en"),
        ("ja", {"LANG": "en_US.UTF-8"}, "ja"),
        (None, {"ECRM_LANG": "ja", "LANG": "C"}, "ja"),
        (None, {"LANG": "ja_JP.UTF-8"}, "ja"),
        (None, {"LC_ALL": "C.UTF-8", "LANG": "ja_JP.UTF-8"}, "en"),  # LC_ALL outranks LANG
        (None, {"LC_MESSAGES": "ja_JP.eucJP"}, "ja"),
        (None, {"LANG": "fr_FR.UTF-8"}, "en"),  # no French catalogue: English
        ("JA", {}, "ja"),
    ],
)
def test_the_language_comes_from_the_flag_the_variable_or_the_locale(
    requested: str | None, environ: dict[str, str], expected: str
) -> None:
    assert i18n.negotiate(requested, environ) == expected


def test_an_unknown_language_asked_for_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown language 'fr'"):
        i18n.negotiate("fr", {})
    result = CliRunner().invoke(cli, ["--lang", "fr", "lint"])
    assert result.exit_code == 2 and "'fr' is not a language ecrm speaks; choose one of en, ja" in result.output


def test_help_and_click_s_own_words_follow_lang() -> None:
    result = CliRunner().invoke(cli, ["--lang", "ja", "lint", "--help"], prog_name="ecrm")
    assert result.exit_code == 0
    assert "使い方: ecrm lint" in result.output
    joined = "".join(line.strip() for line in result.output.splitlines())
    assert "シナリオ（と、それが使うセグメント、テンプレート、スキーマ、ポリシー）を検査します。" in joined
    assert "このメッセージを表示して終了します。" in result.output
    english = CliRunner().invoke(cli, ["lint", "--help"], prog_name="ecrm").output
    assert "Usage: ecrm lint" in english and "Check scenarios" in english


def _ecrm(args: list[str], **environ: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("ECRM_LANG", "LANG", "LC_ALL", "LC_MESSAGES", "LANGUAGE")}
    code = "from ecrm_dsl.cli import main; main()"
    return subprocess.run(
        [sys.executable, "-c", code, *args], env={**env, **environ}, capture_output=True, text=True, check=False
    )


def test_the_locale_and_the_variable_choose_japanese_for_a_whole_run() -> None:
    by_locale = _ecrm(["--help"], LANG="ja_JP.UTF-8")
    assert by_locale.returncode == 0 and "コマンド:" in by_locale.stdout and "使い方:" in by_locale.stdout
    by_variable = _ecrm(["--help"], ECRM_LANG="ja", LANG="C.UTF-8")
    assert "このメッセージを表示して終了します。" in by_variable.stdout
    assert "Usage:" in _ecrm(["--help"], LANG="C.UTF-8").stdout
    wrong = _ecrm(["--help"], ECRM_LANG="xx")
    assert wrong.returncode == 2 and "ECRM_LANG" in wrong.stderr and "Traceback" not in wrong.stderr


# ------------------------------------------------------------------ findings of the semantic checks in Japanese


def _lint_json(config: Path, language: str, *extra: str) -> list[dict[str, object]]:
    args = ["--lang", language, "--config", str(config), "lint", "--format", "json", *extra]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 1, result.output
    return list(json.loads(result.stdout)["findings"])


def _same_findings_in_japanese(config: Path, code: str, message: str, hint: str, *extra: str) -> None:
    """The project's ``code`` findings, linted in English and in Japanese: the same places, one of them with
    ``message`` and ``hint`` (whole, in Japanese), none of them still in English."""
    english = [f for f in _lint_json(config, "en", *extra) if f["code"] == code]
    japanese = [f for f in _lint_json(config, "ja", *extra) if f["code"] == code]
    assert english, f"the project has no {code}"
    place = [(f["file"], f["line"], f["column"]) for f in english]
    assert [(f["file"], f["line"], f["column"]) for f in japanese] == place
    for en, ja in zip(english, japanese, strict=True):
        assert en["message"] != ja["message"] and (en["hint"] is None or en["hint"] != ja["hint"])
    assert (message, hint) in [(f["message"], f["hint"]) for f in japanese]


@pytest.mark.parametrize(
    ("case", "code", "message", "hint"),
    [
        pytest.param(
            "E404_negative-wait",
            "E404",
            "ステップ 'rewind' は前のステップから負の時間（-2d）待機します",
            "待機は先へ進む向きだけです。さかのぼって数えるのは delivery_date のような未来の日付からだけにしてください",
            id="structure",
        ),
        pytest.param(
            "E504_unreachable-customer",
            "E504",
            "送信 'no_address' は、どのチャネルでも届けられない経路で実行されます"
            "（customer.email が null; customer.line_opt_in が false）",
            "顧客に届くフォールバックチャネルを追加するか、分岐を変更してください",
            id="consent",
        ),
        pytest.param(
            "E411_segment-cycle",
            "E411",
            "セグメントが循環して参照し合っています: cycle_a → cycle_b → cycle_c → cycle_a",
            "循環を断ち切ってください。セグメントは自分自身を含められません",
            id="workspace_rules",
        ),
        pytest.param(
            "W507_no-goal",
            "W507",
            "sell シナリオ 'no_goal' にゴールがないため、転換を測定できません",
            "'goal order.placed repeat within 30d' などを追加してください",
            id="practice",
        ),
        pytest.param(
            "W513_overlapping-coupons",
            "W513",
            "クーポンが重なっています: 同じトリガーの後、'coupon_a' は 3 日目に f2_coupon を、'coupon_b' は 7 日目に "
            "skin_coupon を送ります",
            "2つのオファーを受け取った顧客は大きいほうを使い、次を待つようになります。クーポンは1回の参加につき1つにするか、"
            "オーディエンスを分けてください",
            id="cross_scenario",
        ),
        pytest.param(
            "E520_line-message-limit",
            "E520",
            "テンプレート 'line_rich': LINE のボタンメッセージにボタンが 5 個あります。ボタンは 1〜4 個必要です",
            "このままでは LINE がプッシュ全体を拒否します。"
            "テキスト、画像、ボタンの各メッセージについては Messaging API リファレンスを参照してください",
            id="line_messages",
        ),
        pytest.param(
            "E207_unknown-anchor",
            "E207",
            "'delivery_date'（顧客が指定したお届け希望日）には、それを持つ参加イベントが必要です。"
            "このシナリオの参加はセグメントトリガーです",
            "この日付を持つ参加イベント: order.placed, order.paid, order.shipped",
            id="references_anchor",
        ),
        pytest.param(
            "E212_hypothesis-target",
            "E212",
            "目標 '-1.5pt' は改善になっていません",
            "目標は、配信した群がどれだけ上回るべきかです。+3pt のように書いてください",
            id="hypothesis_target",
        ),
    ],
)
def test_a_check_s_findings_speak_japanese_at_the_same_places(
    case: str, code: str, message: str, hint: str, tmp_path: Path
) -> None:
    root = build_project(case, tmp_path / "project")
    _same_findings_in_japanese(root / "ecrm.toml", code, message, hint)


def test_a_coupon_pool_running_out_is_told_in_japanese(tmp_path: Path) -> None:
    w = shop(tmp_path, codes=4, buyers=6)
    _same_findings_in_japanese(
        w.root / "project" / "ecrm.toml",
        "W530",
        "クーポンプール 'f2_spring' は約 0.7 週間で尽きます: 使えるコードは 4 件で、シナリオの需要は週に約 6 件です"
        "（直近 1w の再生でのペース。再生では 2 件の送信でコードが残っていませんでした）",
        "開始前に `ecrm import coupons FILE` で 'f2_spring' のコードを追加で取り込んでください。"
        "コードが見つからない送信はスキップされます（no_coupon）",
        *("--store", w.store, "--now", NOW, "--replay", "1w"),
    )


def test_japanese_help_is_wrapped_by_the_columns_a_terminal_shows() -> None:
    result = CliRunner().invoke(cli, ["--lang", "ja", "lint", "--help"], prog_name="ecrm", terminal_width=80)
    lines = result.output.splitlines()
    assert result.exit_code == 0 and len(lines) > 20
    too_wide = [line for line in lines if wide_text.width(line) > 80 and " " in line.strip()]
    assert not too_wide, too_wide
    # a line never starts with 、 or 。 (kinsoku), and the words are all there, in order
    assert not [line for line in lines if line.strip()[:1] in ("、", "。", "）")]
    joined = "".join(line.strip() for line in lines)
    assert "終了コード:0問題なし、1指摘あり、2使い方または設定の誤り。" in joined.replace(" ", "")


def test_wide_wrapping_counts_two_columns_per_japanese_character() -> None:
    text = "シナリオ（と、それが使うセグメント、テンプレート、スキーマ、ポリシー）を検査します。"
    lines = wide_text.wrap(text, 20)
    assert all(wide_text.width(line) <= 20 for line in lines)
    assert "".join(lines) == text
    assert not any(line.startswith(("、", "。", "）")) for line in lines)
    assert wide_text.wrap("a plain English sentence stays in words", 12) == [
        "a plain",
        "English",
        "sentence",
        "stays in",
        "words",
    ]


def test_lint_s_own_lines_speak_japanese_and_keep_their_colour(tmp_path: Path) -> None:
    from ecrm_dsl.cli import paint

    project = tmp_path / "shop"
    assert CliRunner().invoke(cli, ["init", str(project), "--no-editor"]).exit_code == 0
    bad = 'scenario x "X" {\n  kind sell\n  when order.placed\n  after 7x: send email thanks_first\n}\n'
    (project / "scenarios" / "bad.ecrm").write_text(bad, encoding="utf-8")
    config = str(project / "ecrm.toml")

    japanese = CliRunner().invoke(cli, ["--lang", "ja", "--config", config, "lint"])
    english = CliRunner().invoke(cli, ["--config", config, "lint"])

    assert japanese.exit_code == english.exit_code == 1
    assert "error: " in japanese.output and "[E005 text-syntax]" in japanese.output  # what problem matchers read
    assert "      ヒント: " in japanese.output and "ルールの意味と直し方" in japanese.output
    summary = japanese.output.rstrip("\n").rsplit("\n", 1)[-1]
    assert summary.endswith("ファイルを検査: エラー 1 件、警告 0 件"), summary
    assert english.output.rstrip("\n").rsplit("\n", 1)[-1].endswith("files checked: 1 error, 0 warnings")
    painted = paint.findings(japanese.output)
    assert paint.plain(painted) == japanese.output
    assert paint.style(summary, "bold red") in painted and paint.style("ヒント:", "cyan") in painted


def test_an_unexpected_symbol_is_quoted_apart_and_a_value_token_named(tmp_path: Path) -> None:
    """Japanese spaces a quoted symbol from the words before it ("予期しない '}'") but not a kind word, which is
    Japanese itself ("予期しない数 '7'")."""
    stray = tmp_path / "stray.ecrm"
    stray.write_text("scenario x {\n  kind nurture\n}\n}\n", encoding="utf-8")
    number = tmp_path / "number.ecrm"
    number.write_text("scenario x {\n  kind nurture\n  after 7x: send email thanks\n}\n", encoding="utf-8")
    messages = {}
    for path in (stray, number):
        result = CliRunner().invoke(cli, ["--lang", "ja", "lint", "--format", "json", str(path)])
        messages[path.stem] = [f["message"] for f in json.loads(result.stdout)["findings"] if f["code"] == "E005"]
    assert messages == {"stray": ["予期しない '}'"], "number": ["予期しない数 '7'"]}


def test_fmt_s_refusals_speak_japanese(tmp_path: Path) -> None:
    """``ecrm fmt`` on a file it does not format: the same usage error (exit 2), in the language asked for."""
    notes = tmp_path / "notes.txt"
    notes.write_text("x: 1\n", encoding="utf-8")
    english = CliRunner().invoke(cli, ["--lang", "en", "fmt", str(notes)])
    japanese = CliRunner().invoke(cli, ["--lang", "ja", "fmt", str(notes)])
    assert english.exit_code == japanese.exit_code == 2
    assert f"{notes}: not a .ecrm, .yaml or .yml file" in english.stderr
    assert f"{notes}: .ecrm、.yaml、.yml のいずれのファイルでもありません" in japanese.stderr
