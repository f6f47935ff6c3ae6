"""Webhooks to the shop's own systems (a support desk ticket, a CDP): the rendered payload as JSON.

With a secret, each request is signed like Stripe's webhooks: ``X-Ecrm-Signature: sha256=<hex>`` is the
HMAC-SHA256 of ``"<X-Ecrm-Timestamp>." + body``, so the receiver can check both origin and freshness.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from collections.abc import Callable, Mapping
from typing import Any

from ecrm_dsl.delivery.http_post import JsonPoster, check_url, post_and_classify
from ecrm_dsl.delivery.logs import log_result
from ecrm_dsl.delivery.message import TEST_HEADER, DeliveryResult, Message

SIGNATURE_HEADER = "X-Ecrm-Signature"
TIMESTAMP_HEADER = "X-Ecrm-Timestamp"


def signature(secret: str, timestamp: int, body: bytes) -> str:
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return f"sha256={mac.hexdigest()}"


def verify_signature(secret: str, headers: Mapping[str, str], body: bytes, now: float, tolerance: int = 300) -> bool:
    """For receivers: the signature matches and the timestamp is within ``tolerance`` seconds of ``now``."""
    lowered = {k.lower(): v for k, v in headers.items()}
    try:
        timestamp = int(lowered[TIMESTAMP_HEADER.lower()])
    except (KeyError, ValueError):
        return False
    given = lowered.get(SIGNATURE_HEADER.lower(), "")
    return abs(now - timestamp) <= tolerance and hmac.compare_digest(signature(secret, timestamp, body), given)


def webhook_document(message: Message) -> dict[str, Any]:
    """The JSON document the adapter posts for ``message``; a test send says so (``"test": true``)."""
    document = {
        "idempotency_key": message.idempotency_key,
        "scenario": message.scenario_id,
        "node": message.node_id,
        "customer_id": message.recipient.customer_id,
        "template": message.template,
        "payload": message.content,
    }
    return {**document, "test": True} if message.test else document


class WebhookAdapter:
    channel = "webhook"

    def __init__(
        self,
        url: str,
        *,
        secret: str | None = None,
        token: str | None = None,
        timeout: float = 10.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._url = check_url(url)
        self._secret = secret
        self._token = token
        self._clock = clock
        self._poster = JsonPoster(timeout)

    def send(self, message: Message) -> DeliveryResult:
        body = json.dumps(webhook_document(message), ensure_ascii=False, sort_keys=True).encode()
        headers = {"Idempotency-Key": message.idempotency_key}
        if message.test:
            headers[TEST_HEADER] = "1"
        if self._token:
            headers["Authorization"] = f"Bearer {self._token}"
        if self._secret:
            timestamp = int(self._clock())
            headers[TIMESTAMP_HEADER] = str(timestamp)
            headers[SIGNATURE_HEADER] = signature(self._secret, timestamp, body)
        return log_result(message, post_and_classify(self._poster, self._url, body, headers))

    def close(self) -> None:
        pass
