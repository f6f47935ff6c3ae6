"""SMS through an HTTP gateway: POST {"to": phone, "text": ...} with an Idempotency-Key header."""

from __future__ import annotations

import json
from typing import Any

from ecrm_dsl.delivery.http_post import JsonPoster, check_url, post_and_classify
from ecrm_dsl.delivery.logs import log_result
from ecrm_dsl.delivery.message import TEST_HEADER, DeliveryResult, Message, permanent


def sms_body(message: Message) -> dict[str, Any]:
    """The JSON document the adapter posts for ``message``."""
    return {"to": message.recipient.phone, "text": message.content.get("text", "")}


class SmsAdapter:
    channel = "sms"

    def __init__(self, url: str, token: str | None = None, timeout: float = 10.0) -> None:
        self._url = check_url(url)
        self._token = token
        self._poster = JsonPoster(timeout)

    def send(self, message: Message) -> DeliveryResult:
        return log_result(message, self._send(message))

    def _send(self, message: Message) -> DeliveryResult:
        phone = message.recipient.phone
        if not phone:
            return permanent("no phone number")
        text = message.content.get("text", "")
        if not text.strip():
            return permanent("empty SMS text")
        body = json.dumps(sms_body(message), ensure_ascii=False).encode()
        headers = {"Idempotency-Key": message.idempotency_key}
        if message.test:
            headers[TEST_HEADER] = "1"
        if self._token:
            headers["Authorization"] = f"Bearer {self._token}"
        return post_and_classify(self._poster, self._url, body, headers)

    def close(self) -> None:
        pass
