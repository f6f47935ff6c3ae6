"""EmailAdapter against a real SMTP server (aiosmtpd) on loopback: MIME, headers, classification."""

from __future__ import annotations

import email
import email.policy
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime
from email.message import EmailMessage
from typing import Any

import pytest
from aiosmtpd.smtp import AuthResult, LoginPassword

from ecrm_dsl.delivery.smtp import EmailAdapter, message_id
from tests.test_delivery_support import BODY, RECIPIENT, SUBJECT, UNSUBSCRIBE, Inbox, closed_port, make_message
from tests.test_delivery_support import smtp_server as start_smtp

FROM = "みのり堂 <info@minori.example>"
NOW = datetime(2025, 3, 1, 1, 0, tzinfo=UTC)


@pytest.fixture
def inbox() -> Iterator[Inbox]:
    box = Inbox()
    with start_smtp(box):
        yield box


def adapter_for(port: int, **kwargs: Any) -> EmailAdapter:
    return EmailAdapter("127.0.0.1", port, mail_from=FROM, starttls=False, timeout=2, clock=lambda: NOW, **kwargs)


def parse(raw: bytes) -> EmailMessage:
    return email.message_from_bytes(raw, policy=email.policy.default)  # type: ignore[return-value]


def test_marketing_mail_arrives_with_japanese_intact_and_one_click_unsubscribe(inbox: Inbox) -> None:
    adapter = adapter_for(inbox.port)
    result = adapter.send(make_message("email"))
    adapter.close()
    assert result.status == "sent"
    [received] = inbox.messages
    assert received.rcpt_tos == [RECIPIENT.email]
    assert received.mail_from == "info@minori.example"
    raw_headers = received.content.split(b"\r\n\r\n", 1)[0]
    assert raw_headers.isascii()  # encoded words: passes any relay, SMTPUTF8 or not
    assert b"=?utf-8?" in raw_headers.lower()
    mail = parse(received.content)
    assert mail["Subject"] == SUBJECT
    assert mail["From"].addresses[0].display_name == "みのり堂"
    assert mail["To"].addresses[0].display_name == "山田 花子"
    assert mail["List-Unsubscribe"] == f"<{UNSUBSCRIBE}>"
    assert mail["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert mail["Message-ID"] == message_id("42:coupon", "minori.example") == result.provider_id
    assert mail["Date"].datetime == NOW
    body = mail.get_body(preferencelist=("plain",))
    assert body is not None and body.get_content_charset() == "utf-8"
    assert body.get_content().replace("\r\n", "\n") == BODY  # text travels in canonical CRLF form


def test_transactional_mail_has_no_unsubscribe_headers(inbox: Inbox) -> None:
    adapter = adapter_for(inbox.port)
    assert adapter.send(make_message("email", category="transactional")).status == "sent"
    mail = parse(inbox.messages[0].content)
    assert mail["List-Unsubscribe"] is None and mail["List-Unsubscribe-Post"] is None
    assert mail["Subject"] == SUBJECT


def test_message_id_is_derived_from_the_idempotency_key(inbox: Inbox) -> None:
    adapter = adapter_for(inbox.port)
    for key in ("42:coupon", "42:coupon", "43:coupon"):
        assert adapter.send(make_message("email", key=key)).status == "sent"
    ids = [parse(m.content)["Message-ID"] for m in inbox.messages]
    assert ids[0] == ids[1] != ids[2]  # a retried send is recognisable as the same mail
    assert ids[0].endswith("@minori.example>")


def test_html_alternative_with_preheader_and_escaped_values(inbox: Inbox) -> None:
    content = {
        "subject": "春のご案内",
        "body": "テキスト版",
        "html": "<html><body><p>&lt;script&gt;様</p></body></html>",
        "preheader": "今だけ <送料無料>",
    }
    adapter = adapter_for(inbox.port)
    assert adapter.send(make_message("email", content=content)).status == "sent"
    mail = parse(inbox.messages[0].content)
    assert mail.get_content_type() == "multipart/alternative"
    plain, page = mail.get_body(("plain",)), mail.get_body(("html",))
    assert plain is not None and plain.get_content() == "テキスト版\r\n"
    assert page is not None
    html = page.get_content()
    assert html.index("<body>") < html.index("今だけ &lt;送料無料&gt;") < html.index("<p>")


def test_a_line_break_in_a_rendered_value_cannot_add_headers(inbox: Inbox) -> None:
    sneaky = replace(RECIPIENT, name="花子\r\nBcc: attacker@evil.example")
    message = make_message("email", recipient=sneaky, content={"subject": "件名\nBcc: x@evil.example", "body": "本文"})
    adapter = adapter_for(inbox.port)
    assert adapter.send(message).status == "sent"
    [received] = inbox.messages
    mail = parse(received.content)
    assert mail["Bcc"] is None and received.rcpt_tos == [RECIPIENT.email]
    assert "\n" not in mail["Subject"]


def test_greylisting_451_is_transient_and_550_is_permanent() -> None:
    box = Inbox(rcpt_replies={"gone@example.jp": "550 5.1.1 <gone@example.jp>: Recipient address rejected"})
    with start_smtp(box) as controller:
        adapter = adapter_for(controller.port)
        gone = make_message("email", recipient=replace(RECIPIENT, email="gone@example.jp"))
        refused = adapter.send(gone)
        assert refused.status == "permanent"
        assert refused.error == "smtp 550 5.1.1 recipient refused"  # the code, never the address
        assert adapter.send(make_message("email")).status == "sent"  # the connection survived the 550
        box.data_reply = "451 4.7.1 Greylisted, please try again later"
        later = adapter.send(make_message("email", key="43:coupon"))
        assert later.status == "transient" and later.error == "smtp 451 4.7.1 rejected"
        box.data_reply = None
        box.rcpt_replies[RECIPIENT.email or ""] = "452 4.2.2 Mailbox full"
        assert adapter.send(make_message("email", key="44:coupon")).status == "transient"
        adapter.close()
    assert len(box.messages) == 1


def test_server_down_is_transient() -> None:
    adapter = adapter_for(closed_port())
    result = adapter.send(make_message("email"))
    assert result.status == "transient"
    assert result.error == (
        f"the SMTP server 127.0.0.1:{adapter._session.port} refused the connection: is it running, and are "
        "ECRM_SMTP_HOST and ECRM_SMTP_PORT right?"
    )


def test_reconnects_after_the_server_restarts_the_connection(inbox: Inbox) -> None:
    adapter = adapter_for(inbox.port)
    assert adapter.send(make_message("email")).status == "sent"
    assert adapter._smtp is not None
    adapter._smtp.sock.close()  # type: ignore[union-attr]  # the server dropped us while idle
    assert adapter.send(make_message("email", key="43:coupon")).status == "sent"
    assert len(inbox.messages) == 2


def test_missing_address_and_missing_unsubscribe_link_are_permanent_without_sending(inbox: Inbox) -> None:
    adapter = adapter_for(inbox.port)
    no_email = adapter.send(make_message("email", recipient=replace(RECIPIENT, email=None)))
    assert (no_email.status, no_email.error) == ("permanent", "no email address")
    no_link = adapter.send(make_message("email", unsubscribe_url=None))
    assert no_link.status == "permanent"
    for address in ("not an address", "a@b@c", "foo@", "@example.com", "<x>", "x@y.jp\r\nBcc: z@evil.example"):
        bad = adapter.send(make_message("email", recipient=replace(RECIPIENT, email=address)))
        assert (bad.status, bad.error) == ("permanent", "invalid email address"), address
    assert inbox.messages == []


@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")
def test_login_with_the_configured_credentials() -> None:
    def authenticate(server: Any, session: Any, envelope: Any, mechanism: str, data: Any) -> AuthResult:
        ok = isinstance(data, LoginPassword) and (data.login, data.password) == (b"shop", b"s3cret")
        return AuthResult(success=ok, handled=False)  # let the server answer 235 or 535

    box = Inbox()
    with start_smtp(box, authenticator=authenticate, auth_required=True, auth_require_tls=False) as controller:
        good = adapter_for(controller.port, username="shop", password="s3cret")
        assert good.send(make_message("email")).status == "sent"
        good.close()
        wrong = adapter_for(controller.port, username="shop", password="wrong")
        result = wrong.send(make_message("email"))
        # A configuration problem, not the recipient's: retry later rather than drop the mail.
        assert result.status == "transient"
        assert result.error is not None and "refused the login (535" in result.error
        assert "check ECRM_SMTP_USER and ECRM_SMTP_PASSWORD" in result.error and "wrong" not in result.error
    assert len(box.messages) == 1
