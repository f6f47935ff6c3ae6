"""Delivery logs name keys, channels, templates and outcomes — never bodies, subjects or contact details."""

from __future__ import annotations

import io
import logging
from dataclasses import replace
from pathlib import Path

import pytest

from ecrm_dsl.delivery import (
    BatchFileAdapter,
    ConsoleAdapter,
    DeliveryResult,
    EmailAdapter,
    FileAdapter,
    LineAdapter,
    SmsAdapter,
    WebhookAdapter,
)
from ecrm_dsl.delivery.message import Message
from tests.test_delivery_support import (
    RECIPIENT,
    Inbox,
    closed_port,
    http_server,
    json_reply,
    make_message,
    personal_strings,
    smtp_server,
)


def test_no_personal_data_in_logs_or_errors(caplog: pytest.LogCaptureFixture, tmp_path: Path) -> None:
    caplog.set_level(logging.DEBUG)
    sent: list[tuple[Message, DeliveryResult]] = []

    def send(adapter: object, message: Message) -> None:
        sent.append((message, adapter.send(message)))  # type: ignore[attr-defined]

    inbox = Inbox(rcpt_replies={"gone@example.jp": "550 5.1.1 <gone@example.jp>: user unknown"})
    with smtp_server(inbox):
        mail = EmailAdapter("127.0.0.1", inbox.port, mail_from="info@minori.example", starttls=False, timeout=2)
        send(mail, make_message("email"))
        send(mail, make_message("email", recipient=replace(RECIPIENT, email="gone@example.jp")))
        mail.close()
    send(
        EmailAdapter("127.0.0.1", closed_port(), mail_from="info@minori.example", starttls=False), make_message("email")
    )
    replies = iter([json_reply(200), json_reply(400, {"message": f"invalid to: {RECIPIENT.line_user_id}"})])
    with http_server(lambda request: next(replies)) as server:
        line = LineAdapter("token", server.url)
        send(line, make_message("line"))
        send(line, make_message("line", key="43:coupon"))
    with http_server(lambda request: json_reply(500)) as server:
        send(SmsAdapter(server.url), make_message("sms"))
        send(WebhookAdapter(server.url, secret="s"), make_message("webhook"))
    send(BatchFileAdapter("dm", tmp_path), make_message("dm"))
    send(BatchFileAdapter("dm", tmp_path), make_message("dm", recipient=replace(RECIPIENT, postal_address=None)))
    send(BatchFileAdapter("insert", tmp_path), make_message("insert"))
    send(FileAdapter("push", tmp_path / "push.jsonl"), make_message("push"))
    send(ConsoleAdapter("line", io.StringIO()), make_message("line"))

    assert {r.status for _, r in sent} == {"sent", "transient", "permanent"}  # every path was exercised
    ours = [r for r in caplog.records if r.name.startswith("ecrm")]
    assert len(ours) == len(sent)
    assert all(r.name == "ecrm.delivery" for r in ours)
    # Everything but the test SMTP server's own log (mail.log), which is not our code.
    lines = [caplog.handler.format(r) for r in caplog.records if r.name != "mail.log"]
    forbidden = {s for message, _ in sent for s in personal_strings(message)} | {"gone@example.jp"}
    for text in lines + [r.error for _, r in sent if r.error]:
        for secret in forbidden:
            assert secret not in text, f"{secret!r} leaked into {text!r}"
    assert any("key=42:coupon channel=email template=f2_second_order_coupon" in line for line in lines)
