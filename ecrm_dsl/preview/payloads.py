"""What each channel's adapter would send for a message, built by the adapters' own payload builders."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from email.errors import MessageError
from typing import Any

from ecrm_dsl.delivery.batch import COLUMNS, csv_row
from ecrm_dsl.delivery.line import push_body
from ecrm_dsl.delivery.message import Message
from ecrm_dsl.delivery.sms import sms_body
from ecrm_dsl.delivery.smtp import EmailAdapter
from ecrm_dsl.delivery.webhook import webhook_document
from ecrm_dsl.preview.sms_segments import segments

# Shown as the sender when no ECRM_MAIL_FROM is configured (the preview says so).
PLACEHOLDER_FROM = "preview <preview@example.invalid>"
_TRANSPORT_HEADERS = ("content-type", "content-transfer-encoding", "mime-version")  # how, not what: not shown
NO_ADDRESS = "no-address@example.invalid"  # the To of a customer without a usable email address


def payload(message: Message, *, mail_from: str | None, at: datetime) -> dict[str, Any]:
    """The channel's payload as data: email its headers and bodies (from the MIME message the SMTP adapter
    builds), LINE the push body, SMS the gateway's body and its segments, webhook the posted document, direct
    mail and inserts the CSV row; push (no provider yet) the rendered content."""
    channel = message.channel
    if channel == "email":
        return _email(message, mail_from or PLACEHOLDER_FROM, at)
    if channel == "line":
        return push_body(message)
    if channel == "sms":
        body = sms_body(message)
        shown = segments(str(body["text"]))
        return {**body, "segments": shown.count, "encoding": shown.encoding}
    if channel == "webhook":
        return webhook_document(message)
    if channel in ("dm", "insert"):
        return dict(zip(COLUMNS, csv_row(message), strict=True))
    return dict(message.content)


def _email(message: Message, mail_from: str, at: datetime) -> dict[str, Any]:
    # The adapter is only asked to build the MIME message: nothing connects to the host.
    adapter = EmailAdapter("localhost", mail_from=mail_from, tls="none", clock=lambda: at)
    try:
        mime = adapter.build(message)
    except (ValueError, IndexError, MessageError):  # no usable address: show the message all the same
        nowhere = replace(message.recipient, email=NO_ADDRESS)
        mime = adapter.build(replace(message, recipient=nowhere))
    text = mime.get_body(("plain",))
    html = mime.get_body(("html",)) if mime.is_multipart() else None
    headers = {name: str(value) for name, value in mime.items() if name.lower() not in _TRANSPORT_HEADERS}
    return {
        "headers": headers,
        "subject": str(mime["Subject"]),
        "text": text.get_content() if text is not None else "",
        "html": html.get_content() if html is not None else None,
    }
