"""Test sends to staff: who may receive one (the allow-list), and the message marked as a test.

The allow-list is the ``[test_send]`` table of the delivery settings file (``allow = ["staff@shop.example",
"*@shop.example", "U0123…"]``): a test goes to nobody else, so a mistyped customer address cannot receive a
draft. A test is the customer's message with ``[TEST] `` before its subject or text and the ``X-Ecrm-Test: 1``
header, under a key of its own; it never enters the outbox or the journal, so reports never count it.
"""

from __future__ import annotations

import re
import tomllib
import uuid
from dataclasses import dataclass, replace
from pathlib import Path

from ecrm_dsl.delivery.message import Message
from ecrm_dsl.language.i18n import tr

PREFIX = "[TEST] "
CHANNELS = ("email", "line", "sms")  # those a staff address or id can receive
# The unsubscribe link of a test names this instead of the customer: a staff member who clicks it unsubscribes
# nobody.
TEST_CUSTOMER = "ecrm-test-send"
_LINE_ID = re.compile(r"U[0-9a-f]{32}")
_PHONE = re.compile(r"\+?[0-9][0-9-]{6,}")


class AllowListError(ValueError):
    """The allow-list cannot be read or is malformed; the message says where and how to fix it."""


@dataclass(frozen=True)
class AllowList:
    entries: tuple[str, ...]

    @classmethod
    def load(cls, path: Path | None) -> AllowList:
        """From ``[test_send] allow`` of the delivery settings file; none given is an empty list."""
        if path is None:
            return cls(())
        try:
            document = tomllib.loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as error:
            raise AllowListError(f"{path}: {error}") from None
        table = document.get("test_send", {})
        allow = table.get("allow", []) if isinstance(table, dict) else None
        if not isinstance(allow, list) or not all(isinstance(entry, str) and entry.strip() for entry in allow):
            raise AllowListError(
                tr(
                    '{path}: [test_send] allow must be a list of addresses, e.g. allow = ["staff@shop.example", '
                    '"*@shop.example"]',
                    path=path,
                )
            )
        return cls(tuple(entry.strip() for entry in allow))

    def allows(self, address: str) -> bool:
        """An exact entry (email case aside, phone numbers without their dashes), or ``*@domain`` for email."""
        wanted = _normal(address)
        for entry in self.entries:
            if entry.startswith("*@") and "@" in wanted:
                if wanted.rpartition("@")[2] == entry[2:].lower():
                    return True
            elif _normal(entry) == wanted:
                return True
        return False


def channel_of(address: str) -> str | None:
    """The channel an address is for: email (has @), LINE (a user id, U and 32 hex digits), SMS (a number)."""
    if "@" in address:
        return "email"
    if _LINE_ID.fullmatch(address):
        return "line"
    if _PHONE.fullmatch(address):
        return "sms"
    return None


def as_test(message: Message, address: str) -> Message:
    """``message`` for ``address`` instead of the customer, marked as a test under a key of its own (a test
    sent twice is two tests: no provider deduplicates it against the other, or against the real send)."""
    contact = {"email": "email", "line": "line_user_id", "sms": "phone"}[message.channel]
    recipient = replace(
        message.recipient, email=None, phone=None, line_user_id=None, push_token=None, postal_address=None
    )
    content = dict(message.content)
    field = "subject" if message.channel == "email" else "text"
    content[field] = PREFIX + str(content.get(field) or "").lstrip()
    return replace(
        message,
        idempotency_key=f"test:{uuid.uuid4()}",
        recipient=replace(recipient, **{contact: address}),
        content=content,
        test=True,
    )


def mask(address: str) -> str:
    """An address as logs and the terminal show it: enough to recognise, not enough to copy."""
    if "@" in address:
        local, _, domain = address.rpartition("@")
        return f"{local[:1]}***@{domain}"
    return f"{address[:3]}…{address[-4:]}" if len(address) > 8 else "***"


def _normal(address: str) -> str:
    text = address.strip()
    if "@" in text:
        return text.lower()
    return text.replace("-", "").replace(" ", "") if _PHONE.fullmatch(text) else text
