"""The editor's hover and completion in its language: a client that says ``locale: "ja"`` reads Japanese headings,
timing examples and built-in descriptions; one that says ``en`` reads today's English, exactly. The project's own
titles and descriptions are shown as written in both. pytest-lsp starts the real ``ecrm lsp`` for each client."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import pytest_lsp
from lsprotocol import types
from pytest_lsp import LanguageClient

from tests.lsp_locale import SERVER, open_session

# Entered by an order; a send with a purchase filter and a segment test; a business-day timing off an anchor.
SCENARIO = """\
scenario hover_i18n "ホバーの例" {
  kind sell
  owner "crm-team"
  hypothesis f2_rate "初回購入7日後のクーポンでF2転換率が上がる"
  when order.placed where customer.order_count == 1
  goal order.placed repeat within 30d

  day 7 at 10:00 if bought(category: "skincare"): send line repeat_coupon with { coupon_code = "F2OFF10" }
  5 business days after payment: send email thanks_first
  day 30 at 10:00 if in_segment(dormant_90): send email thanks_first
}
"""
# A project attribute whose description happens to be a built-in's English: still shown as written.
SCHEMA_ADDITION = """\
  vip_note:
    type: string
    description: customer name
  persona:
    type: string
    values: [student, parent]
"""


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("lsp_i18n") / "shop"
    subprocess.run([sys.executable, "-m", "ecrm_dsl", "init", str(root)], check=True, capture_output=True)
    (root / "scenarios" / "hover_i18n.ecrm").write_text(SCENARIO, encoding="utf-8")
    schema = root / "customer_schema.yaml"
    text = schema.read_text(encoding="utf-8")
    schema.write_text(text.replace("attributes:\n", "attributes:\n" + SCHEMA_ADDITION, 1), encoding="utf-8")
    return root


@pytest_lsp.fixture(config=SERVER)
async def japanese(lsp_client: LanguageClient, project: Path):
    await open_session(lsp_client, project, "ja")
    yield
    await lsp_client.shutdown_session()


@pytest_lsp.fixture(config=SERVER)
async def english(lsp_client: LanguageClient, project: Path):
    await open_session(lsp_client, project, "en")
    yield
    await lsp_client.shutdown_session()


def _open(client: LanguageClient, path: Path, text: str) -> str:
    uri = path.as_uri()
    language = "ecrm" if path.suffix == ".ecrm" else "yaml"
    client.text_document_did_open(types.DidOpenTextDocumentParams(types.TextDocumentItem(uri, language, 1, text)))
    return uri


def _at(text: str, needle: str, after: int = 0) -> types.Position:
    """The position ``after`` characters into the first ``needle`` (the texts here are ASCII where it matters)."""
    for number, line in enumerate(text.split("\n")):
        if needle in line:
            before = line[: line.index(needle) + after]
            return types.Position(number, len(before.encode("utf-16-le")) // 2)
    raise AssertionError(f"{needle!r} not in the text")


async def _hover(client: LanguageClient, uri: str, text: str, needle: str, after: int = 1) -> str:
    result = await client.text_document_hover_async(
        types.HoverParams(types.TextDocumentIdentifier(uri), _at(text, needle, after))
    )
    assert result is not None and isinstance(result.contents, types.MarkupContent)
    return result.contents.value


async def _details(client: LanguageClient, uri: str, text: str, needle: str) -> dict[str, str | None]:
    """label -> detail of the completion items right after ``needle``."""
    result = await client.text_document_completion_async(
        types.CompletionParams(types.TextDocumentIdentifier(uri), _at(text, needle, len(needle)))
    )
    assert isinstance(result, types.CompletionList)
    return {item.label: item.detail for item in result.items}


async def _hovers(client: LanguageClient, project: Path) -> dict[str, str]:
    uri = _open(client, project / "scenarios" / "hover_i18n.ecrm", SCENARIO)
    found = {
        "segment": await _hover(client, uri, SCENARIO, "dormant_90", 3),
        "function": await _hover(client, uri, SCENARIO, "bought(", 2),
        "timing": await _hover(client, uri, SCENARIO, "day 7 at 10:00", 2),
        "business": await _hover(client, uri, SCENARIO, "5 business days", 2),
        "anchor": await _hover(client, uri, SCENARIO, "payment", 2),
        "channel": await _hover(client, uri, SCENARIO, "send line", 6),
        "template": await _hover(client, uri, SCENARIO, "repeat_coupon", 2),
        "attribute": await _hover(client, uri, SCENARIO, "customer.order_count", 10),
    }
    for name in ("vip_note", "persona", "favourite_category"):
        text = SCENARIO.replace("customer.order_count == 1", f"customer.{name} == 1")
        uri = _open(client, project / "scenarios" / f"hover_{name}.ecrm", text)
        found[name] = await _hover(client, uri, text, f"customer.{name}", 10)
    event = SCENARIO.replace("customer.order_count == 1", "event.amount > 1000")
    uri = _open(client, project / "scenarios" / "hover_event.ecrm", event)
    found["property"] = await _hover(client, uri, event, "event.amount", 7)
    found["event"] = await _hover(client, uri, event, "order.placed where", 3)
    preset = 'scenario sweets "スイーツ" from preset birthday_coupon with { template = repeat_coupon }\n'
    uri = _open(client, project / "scenarios" / "hover_preset.ecrm", preset)
    found["preset"] = await _hover(client, uri, preset, "birthday_coupon", 3)
    return found


async def _completions(client: LanguageClient, project: Path) -> dict[str, dict[str, str | None]]:
    text = SCENARIO.replace('bought(category: "skincare")', "customer.")
    uri = _open(client, project / "scenarios" / "complete_i18n.ecrm", text)
    found = {"attributes": await _details(client, uri, text, "if customer."), "channels": {}}
    found["channels"] = await _details(client, uri, text, ": send ")
    call = text.replace("if customer.", "if days_since(")
    uri = _open(client, project / "scenarios" / "complete_call.ecrm", call)
    found["names"] = await _details(client, uri, call, "if days_since(")
    yaml = "scenario: y\ntitle: t\nkind: sell\ntrigger:\n  \n"
    uri = _open(client, project / "scenarios" / "y_i18n.yaml", yaml)
    result = await client.text_document_completion_async(
        types.CompletionParams(types.TextDocumentIdentifier(uri), types.Position(4, 2))
    )
    assert isinstance(result, types.CompletionList)
    found["keys"] = {item.label: item.detail for item in result.items}
    return found


@pytest.mark.asyncio
async def test_hover_and_completion_speak_japanese_to_a_japanese_editor(japanese: LanguageClient, project: Path):
    hovers = await _hovers(japanese, project)
    assert hovers["segment"] == (
        "**セグメント dormant_90** — 90日以上購入のない顧客\n\n```\ncustomer.days_since_last_order >= 90\n```"
    )
    assert hovers["function"] == (
        "```\nbought(category: string, sku: string, within: duration) → bool\n```\n条件に合う明細を含む注文がある"
    )
    assert hovers["timing"] == "`day 7 at 10:00` → 2026-12-01 14:00 JST に参加した場合、2026-12-08 10:00 JST に送信"
    assert hovers["business"] == (
        "`5 business days after payment` → 2026-12-01 14:00 JST に参加した場合、2026-12-08 15:00 JST に送信  \n"
        "（payment を 2026-12-01 15:00 と仮定）  \n"
        "営業日でない日: 12-05 週末, 12-06 週末"
    )
    assert hovers["anchor"] == "**起点 payment**: 参加注文の支払い時点"
    assert hovers["channel"] == "**チャネル line**: LINE（クーポン、ポイント。開封率が高い）"
    assert hovers["template"].startswith("**テンプレート repeat_coupon** — 2回目購入クーポン（marketing）\n\n")
    assert "\n\nパラメーター: `coupon_code`: string\n\n" in hovers["template"]
    assert "山田 花子様、次回使える10%OFFクーポンです: F2OFF10" in hovers["template"]  # the customer's text as is
    assert hovers["attribute"] == "**customer.order_count**: `int`（注文とイベントから算出）\n\n注文数"
    assert hovers["persona"] == (
        "**customer.persona**: `string`\n\nペルソナ・ライフステージのセグメント\n\n値: student, parent"
    )
    assert hovers["vip_note"] == "**customer.vip_note**: `string`\n\ncustomer name"  # the project's words, as written
    assert hovers["favourite_category"] == "**customer.favourite_category**: `string`\n\nよく購入するカテゴリ"
    assert hovers["property"].startswith("**event.amount**: 照合するイベントのプロパティ\n\n- `cart.abandoned`: money")
    assert hovers["event"].startswith("**イベント order.placed**\n\n- `amount`: money")
    assert hovers["preset"] == (
        "**プリセット birthday_coupon** — 誕生日クーポン\n\n誕生日の数日前の朝にクーポンを届ける。毎年。\n\n"
        "パラメーター: `template`, `coupon_code`, `days_before`, `at`"
    )

    completions = await _completions(japanese, project)
    assert completions["attributes"]["order_count"] == "int — 注文数"
    assert completions["attributes"]["email_opt_in"] == "bool — マーケティングメールに同意"
    assert completions["attributes"]["vip_note"] == "string — customer name"
    assert completions["channels"]["line"] == "LINE（クーポン、ポイント。開封率が高い）"
    assert (
        completions["names"]["days_since"] == "days_since(datetime) → int — 日付または日時の属性からの経過日数（整数）"
    )
    assert completions["names"]["orders_since_entry"] == "int — 参加後の注文数（参加時の注文は数えない）"
    assert all(detail and not detail.isascii() for detail in completions["keys"].values()), completions["keys"]


@pytest.mark.asyncio
async def test_an_english_editor_reads_the_english_it_always_did(english: LanguageClient, project: Path):
    hovers = await _hovers(english, project)
    assert hovers["segment"] == (
        "**segment dormant_90** — 90日以上購入のない顧客\n\n```\ncustomer.days_since_last_order >= 90\n```"
    )
    assert hovers["function"] == (
        "```\nbought(category: string, sku: string, within: duration) → bool\n```\nsome order has a matching line"
    )
    assert hovers["timing"] == "`day 7 at 10:00` → for an entry on 2026-12-01 14:00 JST, sent 2026-12-08 10:00 JST"
    assert hovers["business"] == (
        "`5 business days after payment` → for an entry on 2026-12-01 14:00 JST, sent 2026-12-08 15:00 JST  \n"
        "(assuming payment is 2026-12-01 15:00)  \n"
        "not business days: 12-05 週末, 12-06 週末"
    )
    assert hovers["anchor"] == "**anchor payment**: when the entry order was paid"
    assert hovers["channel"] == "**channel line**: LINE (coupons, points; high open rate)"
    assert hovers["template"].startswith("**template repeat_coupon** — 2回目購入クーポン (marketing)\n\n")
    assert "\n\nparams: `coupon_code`: string\n\n" in hovers["template"]
    assert (
        hovers["attribute"] == "**customer.order_count**: `int` (computed from orders and events)\n\nnumber of orders"
    )
    assert (
        hovers["persona"] == "**customer.persona**: `string`\n\npersona / life-stage segment\n\nvalues: student, parent"
    )
    assert hovers["vip_note"] == "**customer.vip_note**: `string`\n\ncustomer name"
    assert hovers["favourite_category"] == "**customer.favourite_category**: `string`\n\nよく購入するカテゴリ"
    assert hovers["property"].startswith(
        "**event.amount**, a property of the event being matched\n\n- `cart.abandoned`"
    )
    assert hovers["event"].startswith("**event order.placed**\n\n- `amount`: money")
    assert hovers["preset"] == (
        "**preset birthday_coupon** — 誕生日クーポン\n\n誕生日の数日前の朝にクーポンを届ける。毎年。\n\n"
        "parameters: `template`, `coupon_code`, `days_before`, `at`"
    )

    completions = await _completions(english, project)
    assert completions["attributes"]["order_count"] == "int — number of orders"
    assert completions["attributes"]["email_opt_in"] == "bool — agreed to marketing email"
    assert completions["attributes"]["vip_note"] == "string — customer name"
    assert completions["channels"]["line"] == "LINE (coupons, points; high open rate)"
    assert (
        completions["names"]["days_since"] == "days_since(datetime) → int — whole days since a date or time attribute"
    )
    assert (
        completions["names"]["orders_since_entry"] == "int — orders placed after entering (the entry order not counted)"
    )
    assert completions["keys"]["event: "] == "An event type such as order.placed, cart.abandoned, survey.answered."
