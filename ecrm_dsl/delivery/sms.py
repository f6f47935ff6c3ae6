"""SMS through an HTTP gateway: POST {"to": phone, "text": ...} with an Idempotency-Key header."""

from __future__ import annotations

import json

from ecrm_dsl.delivery.http_post import JsonPoster, check_url, post_and_classify
from ecrm_dsl.delivery.logs import log_result
from ecrm_dsl.delivery.message import DeliveryResult, Message, permanent


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
        body = json.dumps({"to": phone, "text": text}, ensure_ascii=False).encode()
        headers = {"Idempotency-Key": message.idempotency_key}
        if self._token:
            headers["Authorization"] = f"Bearer {self._token}"
        return post_and_classify(self._poster, self._url, body, headers)

    def close(self) -> None:
        pass
