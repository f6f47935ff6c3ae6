"""Previews with products, on a real store (SQLite and PostgreSQL): what a preview shows of the entry order, the
last purchase and the recommendation is what the dispatcher then sends, and a webhook, a direct mail and an SMS
preview are the adapters' own documents."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from ecrm_dsl.delivery.config import DeliveryConfig
from ecrm_dsl.delivery.outbox import redact
from ecrm_dsl.preview import PreviewError, build_preview, resolve
from tests.runtime.world import World
from tests.test_products_render import at, delivered, lines
from tests.test_products_render import world as world

LINK = "https://m.jp/u?c={}"
# 65 characters after a 5-character name: the 70 UTF-16 units one Japanese SMS holds, exactly.
SHIPPED = (
    "様、ご注文の商品を発送しました。お届けまで今しばらくお待ちください。配送状況はマイページからご確認ください。"
    + "よろしくお願いします。"
)
NOTICE = f"""template: notice
category: transactional
channels:
  webhook:
    payload: {{queue: cs, customer_name: "{{{{ customer.name }}}}"}}
  dm:
    design: DM-01
    copy: "{{{{ customer.name }}}}様へ 春のご案内"
  sms:
    text: "{{{{ customer.name }}}}{SHIPPED}"
"""
NOTICE_FLOW = """scenario notice "発送のお知らせ" {
  kind nurture
  hypothesis engagement "t"
  when order.placed

  after 1h: send webhook notice
}
"""


def link(customer_id: str, channel: str) -> str:
    return LINK.format(customer_id)


def test_the_preview_of_a_step_is_what_the_dispatcher_sends(world: World, tmp_path: Path) -> None:
    w = world
    lines(w, w.order("a", at(1, 9), order_id="a-2"), ("SERUM", 1, 4980), ("GIFT-BOX", 2, 100))
    w.tick(at(1, 10))
    w.tick(at(1, 10) + dt.timedelta(minutes=1))
    plan = w.plan()
    config = DeliveryConfig()
    with w.engine.connect() as conn:
        shown = {
            step: build_preview(conn, plan, resolve(plan, f"thanks:{step}"), "a", at(1, 11), config, unsubscribe=link)
            for step in ("thanks", "thanks_line")
        }
    email, line = shown["thanks"].channels[0], shown["thanks_line"].channels[0]
    assert shown["thanks"].context == (
        f"event and order values: from their entry into thanks at {at(1, 9).isoformat()}",
    )
    body = email.payload["text"].replace("\r\n", "\n")  # the body as the mail carries it, CRLF
    assert body.splitlines()[1:3] == ["GIFT-BOX ×2", "発酵美容液 ×1"]
    assert "おすすめ: 発酵クリーム 3,980円 https://m.jp/CREAM\n" in body
    sent = delivered(w, tmp_path, at(1, 11))
    secrets = email.message.recipient.contact_details()
    assert redact(email.message.content, secrets) == sent[("a", "email")]
    assert redact(line.message.content, secrets) == sent[("a", "line")]


def test_a_template_alone_takes_the_latest_order(world: World) -> None:
    w = world
    plan = w.plan()
    with w.engine.connect() as conn:
        shown = build_preview(conn, plan, resolve(plan, "thanks"), "b", at(1, 11), DeliveryConfig(), unsubscribe=link)
    assert shown.context == ("event and order values: from their latest order.placed event",)
    [email, line] = shown.channels
    assert email.payload["text"].splitlines()[1] == "<b>シート</b>マスク ×1"  # b-2, their latest order
    assert email.payload["html"].startswith("<p>&lt;b&gt;シート&lt;/b&gt;マスク</p>")  # escaped as it is sent
    assert line.payload == {"to": "Ub", "messages": [{"type": "text", "text": line.message.content["text"]}]}


def test_webhook_direct_mail_and_sms_previews_are_the_adapters_documents(world: World) -> None:
    w = world
    w.templates(NOTICE)
    w.write("scenarios/notice.ecrm", NOTICE_FLOW)
    plan = w.plan()
    with w.engine.connect() as conn:
        shown = build_preview(conn, plan, resolve(plan, "notice"), "a", at(1, 11), DeliveryConfig())
    by_channel = {c.channel: c.payload for c in shown.channels}
    assert by_channel["webhook"] == {
        "idempotency_key": "preview-a:notice",
        "scenario": "",
        "node": "",
        "customer_id": "a",
        "template": "notice",
        "payload": {"queue": "cs", "customer_name": "山田 花子"},
    }
    assert by_channel["dm"]["copy"] == "山田 花子様へ 春のご案内" and by_channel["dm"]["postal_address"] == "東京都"
    sms = by_channel["sms"]
    assert sms["to"] == "09000000000" and sms["encoding"] == "UCS-2"
    assert (sms["segments"], len(sms["text"])) == (1, 70)


def test_an_unknown_customer_gets_a_did_you_mean(world: World) -> None:
    plan = world.plan()
    with world.engine.connect() as conn, pytest.raises(PreviewError) as raised:
        build_preview(conn, plan, resolve(plan, "thanks"), "A", at(1, 11), DeliveryConfig())
    assert (
        str(raised.value) == "the store has no customer 'A'; did you mean 'a'? (ids are matched exactly, case included)"
    )


def test_a_channel_the_step_or_template_does_not_send_on_is_refused(world: World) -> None:
    plan = world.plan()
    with world.engine.connect() as conn:
        with pytest.raises(PreviewError, match=r"^thanks:thanks sends on email, not sms$"):
            build_preview(
                conn, plan, resolve(plan, "thanks:thanks"), "a", at(1, 11), DeliveryConfig(), channels=["sms"]
            )
        with pytest.raises(PreviewError, match=r"^template thanks has content for email or line, not sms or dm$"):
            build_preview(conn, plan, resolve(plan, "thanks"), "a", at(1, 11), DeliveryConfig(), channels=["sms", "dm"])
