"""Demo adapters: one JSON line per message, to a file or a stream, with contact details redacted.

The recipient appears only as its customer id, and any contact detail the rendered content repeats (the
name in a greeting, an address in a payload) is replaced with ``[redacted]``: demo outboxes get shared.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import Any, TextIO

from ecrm_dsl.delivery.logs import log_result
from ecrm_dsl.delivery.message import DeliveryResult, Message, sent

REDACTED = "[redacted]"


def outbox_record(message: Message) -> dict[str, Any]:
    """The redacted JSON object written for ``message``."""
    return {
        "idempotency_key": message.idempotency_key,
        "channel": message.channel,
        "template": message.template,
        "category": message.category,
        "customer_id": message.recipient.customer_id,
        "scenario": message.scenario_id,
        "scenario_hash": message.scenario_hash,
        "node": message.node_id,
        "content": redact(message.content, message.recipient.contact_details()),
    }


def redact(value: Any, secrets: Iterable[str]) -> Any:
    """``value`` (text, or mappings and lists of it, as LINE's image, buttons and link) with every secret
    replaced by ``[redacted]`` in its texts; keys, numbers and None stay as they were."""
    ordered = sorted(secrets, key=len, reverse=True)  # longest first: no partial leaks

    def scrub(item: Any) -> Any:
        if isinstance(item, dict):
            return {key: scrub(sub) for key, sub in item.items()}
        if isinstance(item, list):
            return [scrub(sub) for sub in item]
        if item is None or isinstance(item, bool | int | float):
            return item
        text = str(item)
        for secret in ordered:
            text = text.replace(secret, REDACTED)
        return text

    return scrub(value)


class ConsoleAdapter:
    """Writes to a text stream (stdout by default)."""

    def __init__(self, channel: str, stream: TextIO | None = None) -> None:
        self.channel = channel
        self._stream = stream

    def send(self, message: Message) -> DeliveryResult:
        stream = self._stream or sys.stdout
        stream.write(json.dumps(outbox_record(message), ensure_ascii=False, sort_keys=True) + "\n")
        stream.flush()
        return log_result(message, sent(message.idempotency_key))

    def close(self) -> None:
        pass


class FileAdapter:
    """Appends to a JSON Lines file (created with its folder on first send)."""

    def __init__(self, channel: str, path: Path | str) -> None:
        self.channel = channel
        self.path = Path(path)
        self._file: TextIO | None = None

    def send(self, message: Message) -> DeliveryResult:
        if self._file is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._file = self.path.open("a", encoding="utf-8")
        self._file.write(json.dumps(outbox_record(message), ensure_ascii=False, sort_keys=True) + "\n")
        self._file.flush()
        return log_result(message, sent(message.idempotency_key))

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None
