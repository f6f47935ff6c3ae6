"""The operator commands' own lines in Japanese (demo, explain, status, run's logs, deploy, store, simulate,
import): the same run in both languages, the same exit codes, English untouched, machine formats English."""

from __future__ import annotations

import json
import unicodedata
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from click.testing import CliRunner

from ecrm_dsl.cli import cli, paint
from ecrm_dsl.cli.run_log import TickLog
from ecrm_dsl.language import i18n
from ecrm_dsl.report.power import Design, PowerEstimate, describe, design_for
from ecrm_dsl.runtime.reason_text import reason_text
from ecrm_dsl.runtime.status import duration_words
from ecrm_dsl.simulate.summary import power_sentence
from tests.test_i18n import english_afterwards  # noqa: F401  (the fixture: each test leaves the process in English)

ROOT = Path(__file__).resolve().parent.parent
NOW = datetime(2025, 3, 1, 4, 0, tzinfo=UTC)


def _ecrm(*args: str, lang: str | None = None) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, [*(["--lang", lang] if lang else []), *args], catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


def _columns(text: str) -> int:
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


def _small_demo(folder: Path, lang: str | None = None) -> tuple[int, str, str]:
    """The smallest demo (10 customers, 2 days), its store and outbox in ``folder``."""
    store, outbox = str(folder / "demo.db"), str(folder / "outbox")
    config = str(ROOT / "pyproject.toml")
    args = ("--config", config, "demo", "--customers", "10", "--days", "2", "--store", store, "--outbox", outbox)
    return _ecrm(*args, lang=lang)


@pytest.fixture(scope="module")
def demo_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The smallest demo, run once in English for the module's tests to read."""
    folder = tmp_path_factory.mktemp("demo")
    code, out, _ = _small_demo(folder)
    assert code == 0, out
    assert "ecrm demo: 14 scenarios from scenarios" in out and "49 ticks in" in out
    i18n.use("en")
    return folder / "demo.db"


def test_the_demo_speaks_japanese_with_its_table_aligned(tmp_path: Path) -> None:
    code, out, _ = _small_demo(tmp_path, lang="ja")
    assert code == 0, out
    assert "ecrm demo: scenarios のシナリオ 14 件" in out
    assert "顧客 10 人、注文" in out and "ティックを 2 日分実行します" in out
    assert "ティック 49 回（" in out and "を " + str(tmp_path / "outbox") + "/ に書き出しました" in out
    assert "顧客 2 人のタイムライン（ecrm explain CUSTOMER_ID --store" in out
    assert "— 時刻は Asia/Tokyo" in out and "    チャネル別の送信: email " in out
    lines = out.splitlines()
    header = next(line for line in lines if line.startswith("シナリオ  "))
    assert "参加" in header and "ホールドアウト" in header and "転換" in header
    row = lines[lines.index(header) + 1]
    assert _columns(row) == _columns(header)  # each count under its heading: two columns per Japanese character
    assert "ticks in" not in out and "scenarios from" not in out


def test_explain_of_an_unknown_customer_says_so_in_japanese(demo_store: Path) -> None:
    english = _ecrm("explain", "NOBODY", "--store", str(demo_store))
    japanese = _ecrm("explain", "NOBODY", "--store", str(demo_store), lang="ja")
    assert english[0] == japanese[0] == 1
    assert "has no customer 'NOBODY' (ids are matched exactly, case included)" in english[2]
    assert f"ecrm explain: ストア {demo_store} に顧客 'NOBODY' はいません（ID は大文字・小文字も含めて" in japanese[2]


def test_explain_s_timeline_and_reasons_in_japanese(demo_store: Path) -> None:
    english = _ecrm("explain", "C0000001", "--store", str(demo_store))[1]
    code, out, _ = _ecrm("explain", "C0000001", "--store", str(demo_store), lang="ja")
    assert code == 0
    assert out.startswith("顧客 C0000001 — 時刻は Asia/Tokyo\n  2025-03-01 10:00  monthly_newsletter: 参加\n")
    assert english.startswith(
        "customer C0000001 — times in Asia/Tokyo\n  2025-03-01 10:00  monthly_newsletter: entered\n"
    )
    assert "\nデプロイ済みのほかのシナリオに参加していない理由:\n" in out
    assert (
        "  cart_abandonment: この顧客ではトリガーが一度も発火していません: cart.abandoned イベントがありません\n" in out
    )
    assert "  cart_abandonment: the trigger never fired for them: no cart.abandoned event\n" in english
    assert "`customer.days_since_last_order between 150 and 364` は偽でした: customer.days_since_last_order は " in out
    assert len(out.splitlines()) == len(english.splitlines())  # the same lines, each in Japanese
    assert "was false" not in out and "the trigger never fired" not in out


def test_status_and_a_text_run_line_in_japanese_json_in_english(demo_store: Path, tmp_path: Path) -> None:
    code, out, _ = _ecrm("status", "--store", str(demo_store), "--now", "2025-03-03T12:00+09:00", lang="ja")
    assert code == 0
    assert out.startswith("デプロイ #1（") and "最後のティック: 2025-03-03 00:00（12 時間前）" in out
    assert "送信待ち: 保留 " in out
    document = json.loads(_ecrm("status", "--store", str(demo_store), "--format", "json", lang="ja")[1])
    assert document["format"] == "ecrm-status" and "deployment" in document  # JSON keys never change

    run = ("run", "--once", "--store", str(demo_store), "--file-outbox", str(tmp_path / "out"))
    code, out, _ = _ecrm(*run, "--now", "2025-03-04T00:00+09:00", "--log-format", "text", lang="ja")
    assert code == 0, out
    assert out.startswith("2025-03-04T00:00:00+09:00 ティック: 参加 ") and "; 配信: 配信済み " in out
    code, out, _ = _ecrm(*run, "--now", "2025-03-04T01:00+09:00", "--log-format", "json", lang="ja")
    assert code == 0 and json.loads(out)["ticked_by"] == "this worker"

    # A tick earlier than the store's last one: exit 2 in both languages, the sentence in Japanese.
    english = _ecrm(*run, "--now", "2025-03-02T00:00+09:00")
    japanese = _ecrm(*run, "--now", "2025-03-02T00:00+09:00", lang="ja")
    assert english[0] == japanese[0] == 2
    assert "is before the store's last tick" in english[2]
    assert "ecrm run: ティックの時刻 2025-03-02T00:00:00+09:00 がストアの最後のティック" in japanese[2]


def test_a_store_that_is_not_there_is_refused_in_japanese(tmp_path: Path) -> None:
    missing = str(tmp_path / "typo.db")
    for command in (("status",), ("explain", "C1"), ("store", "version")):
        english = _ecrm(*command, "--store", missing)
        japanese = _ecrm(*command, "--store", missing, lang="ja")
        assert english[0] == japanese[0] == 2, command
        assert "ストア" in japanese[2] and "does not exist" not in japanese[2] and "no store at" not in japanese[2]
    assert not Path(missing).exists()


def test_tick_lines_in_japanese_keep_their_colour_and_english_its_bytes() -> None:
    failing = TickLog(
        NOW,
        {"f2": 1},
        {"sent": 2, "timed_out": 1},
        {"delivered": 1, "retrying": 1, "delivery_failed": 2},
        {"email": 1},
        {("line", "permanent", "401 Unauthorized"): 2},
    )
    english = failing.line("text")
    assert english == (
        "2025-03-01T04:00:00+00:00 tick: entered 1 (f2 1); sent 2, skipped 0, deferred 0, timed_out 1; "
        "deliveries: delivered 1 (email 1), retrying 1, failed 2\n  line: 2 failed for good: 401 Unauthorized"
    )
    i18n.use("ja")
    assert failing.line("text") == (
        "2025-03-01T04:00:00+00:00 ティック: 参加 1 (f2 1); 送信 2, スキップ 0, 延期 0, タイムアウト 1; "
        "配信: 配信済み 1 (email 1), 再試行 1, 失敗 2\n  line: 2 件が失敗しました（再試行なし）: 401 Unauthorized"
    )
    human = failing.human(ZoneInfo("Asia/Tokyo"))
    assert human.startswith("2025-03-01 13:00:00 JST  参加 1 · 送信 2 · スキップ 0 · 失敗 2 · 再試行 1")
    painted = paint.tick(human)
    assert paint.style("失敗 2", "bold red") in painted and paint.style("再試行 1", "yellow") in painted
    assert json.loads(failing.line("json"))["deliveries"] == {"delivered": 1, "delivery_failed": 2, "retrying": 1}
    assert duration_words(3 * 3600 + 20 * 60) == "3 時間 20 分"
    elsewhere = TickLog(NOW, {}, {}, {"delivered": 3}, {"email": 3}, {}, ticker="another worker")
    assert (
        "ほかのワーカー" in elsewhere.line("text")
        and json.loads(elsewhere.line("json"))["ticked_by"] == "another worker"
    )
    i18n.use("en")
    assert failing.line("text") == english and duration_words(3 * 3600 + 20 * 60) == "3 h 20 min"


def test_simulate_s_summary_in_japanese(demo_store: Path, tmp_path: Path) -> None:
    args = ("--config", str(ROOT / "pyproject.toml"), "simulate", "--from", "2025-03-01", "--to", "2025-03-01")
    code, english, _ = _ecrm(*args, "--store", str(demo_store), "--out", str(tmp_path / "en.db"))
    assert code == 0
    code, out, err = _ecrm(*args, "--store", str(demo_store), "--out", str(tmp_path / "ja.db"), lang="ja")
    assert code == 0
    assert out.startswith("シミュレーション 2025-03-01 00:00 〜 2025-03-02 00:00（Asia/Tokyo）、ティック間隔 1h、")
    assert "\n顧客 10 人、注文 " in out and "\n  参加 " in out and "（ホールドアウト " in out
    assert "customers を 10 行コピーしました" in err and "ecrm simulate: ティック " in err
    assert english.startswith("Simulation 2025-03-01 00:00 to 2025-03-02 00:00 (Asia/Tokyo), ticks every 1h,")
    assert len(out.splitlines()) == len(english.splitlines())
    code, _, err = _ecrm(
        *args[:-2], "--from", "2025-03-02", "--to", "2025-03-01", "--store", str(demo_store), lang="ja"
    )
    assert code == 2 and "--to は --from より後にしてください" in err


def test_import_s_own_lines_in_japanese(demo_store: Path, tmp_path: Path) -> None:
    config = ("--config", str(ROOT / "pyproject.toml"))
    good, bad = tmp_path / "c.csv", tmp_path / "bad.csv"
    good.write_text("id,name\nx1,\n", encoding="utf-8")
    bad.write_text("id,email_opt_in\nx1,maybe\nx2,perhaps\n", encoding="utf-8")
    code, out, _ = _ecrm(*config, "import", "customers", str(good), "--store", str(demo_store), "--dry-run", lang="ja")
    assert code == 0 and f"{good}: 1 行\n" in out and f"ドライラン: {demo_store} には何も書き込んでいません" in out
    assert "\n  customers: 追加 1、更新 0、変更なし 0\n" in out
    english = _ecrm(*config, "import", "customers", str(bad), "--store", str(demo_store))
    japanese = _ecrm(*config, "import", "customers", str(bad), "--store", str(demo_store), lang="ja")
    assert english[0] == japanese[0] == 1
    assert f"ecrm import: nothing imported — 2 problems on 2 lines of {bad}; the store is unchanged" in english[2]
    assert (
        f"ecrm import: 何も取り込んでいません — {bad} の 2 行に問題が 2 件あります。ストアは変更していません"
        in japanese[2]
    )


def test_ecrm_store_version_and_a_refused_deploy_in_japanese(demo_store: Path, tmp_path: Path) -> None:
    code, out, _ = _ecrm("store", "version", "--store", str(demo_store), lang="ja")
    assert code == 0 and out.startswith("ストア: sqlite:///") and "\nリビジョン: " in out and "\nコード: " in out
    # The starter project deployed over the demo's plan strands the demo's customers in flight: refused, exit 1.
    starter = tmp_path / "shop"
    assert _ecrm("init", str(starter), "--no-editor")[0] == 0
    deploy = ("--config", str(starter / "ecrm.toml"), "deploy", "--store", str(demo_store))
    english = _ecrm(*deploy, "--now", "2025-03-05T00:00+09:00")
    japanese = _ecrm(*deploy, "--now", "2025-03-05T00:00+09:00", lang="ja")
    assert english[0] == japanese[0] == 1
    assert english[2].startswith("ecrm deploy: refused, nothing changed\ncustomers are in flight on versions")
    assert japanese[2].startswith(
        "ecrm deploy: 拒否しました。何も変更していません\n"
        "このデプロイで変更または削除されるバージョンの途中に顧客がいます:\n"
    )
    assert "--in-flight keep（元のバージョンで最後まで進める）" in japanese[2]


@pytest.mark.parametrize(
    "estimate",
    [
        PowerEstimate(120.0, 0.1, Design(0.9, 0.1), "messaged vs holdout", 30.0, 0.02),
        PowerEstimate(3.0, 0.1, Design(0.45, 0.1), "variant b vs holdout", None, 0.05, "the hypothesis target"),
        PowerEstimate(2.0, 0.02, Design(0.5, 0.5), "variant a vs variant b", 14.0, 0.01),
        PowerEstimate(40.0, None, Design(0.9, 0.1), "messaged vs holdout", None, 0.02),
        PowerEstimate(40.0, 1.0, Design(0.9, 0.1), "messaged vs holdout", None, 0.02),
        PowerEstimate(40.0, None, None, "no goal: nothing to measure", None, 0.02),
        PowerEstimate(40.0, 0.1, *design_for(0, []), None, 0.02),
    ],
)
def test_simulate_s_power_line_says_what_the_english_sentence_says(
    estimate: PowerEstimate, monkeypatch: pytest.MonkeyPatch
) -> None:
    """In English the text shows the document's sentence (the JSON's); in another language it is said again from
    the figures: with the catalogue's English in place of Japanese, the two must be the same sentence."""
    document = estimate.as_dict()
    assert power_sentence(document) == document["sentence"] == describe(estimate)
    monkeypatch.setattr(i18n, "_language", "xx")  # the other path, in the messages' own words
    assert power_sentence(document) == describe(estimate)
    i18n.use("ja")
    japanese = power_sentence(document)
    assert japanese.startswith("週あたり約 ") and "entrants" not in japanese and " vs " not in japanese
    assert estimate.as_dict()["sentence"] == describe(estimate)  # what the JSON carries stays English


def test_run_refuses_a_bad_delivery_setting_or_none_in_japanese(demo_store: Path) -> None:
    run = ["--lang", "ja", "run", "--once", "--store", str(demo_store)]
    bad = CliRunner().invoke(cli, run, env={"ECRM_SMTP_HOST": "smtp.example.jp", "ECRM_SMTP_STARTTLS": "maybe"})
    assert bad.exit_code == 2
    assert bad.stderr.startswith("ecrm run: 配信の設定が正しくありません:\n  ECRM_SMTP_STARTTLS / smtp_starttls: ")
    assert "'maybe' は真偽値（true か false）ではありません" in bad.stderr
    assert "ECRM_MAIL_FROM: メールの送信に必要です（ECRM_SMTP_HOST が設定されています）" in bad.stderr
    none = CliRunner().invoke(cli, run, env={"ECRM_DEMO_OUTBOX": "", "ECRM_SMTP_HOST": ""})
    assert none.exit_code == 2 and none.stderr.startswith("ecrm run: 配信が設定されていないため")


@pytest.mark.parametrize(
    ("recorded", "japanese"),
    [
        ("reached the end of the scenario", "シナリオの最後まで到達"),
        ("goal order.placed", "ゴール order.placed"),
        ("no cart.abandoned in time", "期限内に cart.abandoned なし"),
        (
            "no reachable channel: line: no line_user_id; email: no consent (email_opt_in)",
            "届くチャネルなし: line: line_user_id なし; email: 同意なし（email_opt_in）",
        ),
        ("email (fallback; line: no line_user_id)", "email（フォールバック: line: line_user_id なし）"),
        ("re-entry: cool-down until 2025-03-08T10:00:00+09:00", "再参加: 2025-03-08T10:00:00+09:00 まで待機期間"),
        ("a reason written by a newer runtime", "a reason written by a newer runtime"),  # kept as recorded
    ],
)
def test_the_runtime_s_recorded_reasons_are_shown_in_japanese(recorded: str, japanese: str) -> None:
    assert reason_text(recorded) == recorded  # English: exactly as the journal keeps it
    i18n.use("ja")
    assert reason_text(recorded) == japanese
