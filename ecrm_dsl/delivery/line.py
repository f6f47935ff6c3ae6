"""LINE Messaging API push messages (POST /v2/bot/message/push).

Every push carries an ``X-Line-Retry-Key`` derived from the idempotency key, so a retry after a lost response
is not delivered twice: LINE answers 409 for a key it already accepted (keys are honoured for 24 hours).
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping
from typing import Any

from ecrm_dsl.delivery.http_post import JsonPoster, TransportError, check_url, classify
from ecrm_dsl.delivery.logs import log_result
from ecrm_dsl.delivery.message import TEST_HEADER, DeliveryResult, Message, permanent, sent, transient
from ecrm_dsl.language.line_limits import line_problems

DEFAULT_BASE_URL = "https://api.line.me"
# uuid5 namespace of ecrm-dsl retry keys: the same idempotency key always gives the same retry key.
RETRY_KEY_NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, "https://ecrm-dsl.example/line-retry-key")


def line_messages(content: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The Messaging API message objects for rendered ``line`` content, in the order text, image, buttons,
    link; a text that rendered blank is left out, as are an empty title and thumbnail."""
    messages: list[dict[str, Any]] = []
    text = str(content.get("text") or "")
    if text.strip():
        messages.append({"type": "text", "text": text})
    image = content.get("image")
    if isinstance(image, Mapping):
        messages.append({"type": "image", "originalContentUrl": image["url"], "previewImageUrl": image["preview_url"]})
    alt_text = str(content.get("alt_text") or "")
    buttons = content.get("buttons")
    if isinstance(buttons, Mapping):
        template: dict[str, Any] = {"type": "buttons"}
        if buttons.get("image_url"):
            template["thumbnailImageUrl"] = buttons["image_url"]
        if buttons.get("title"):
            template["title"] = buttons["title"]
        template["text"] = buttons["text"]
        template["actions"] = [_uri_action(action) for action in buttons["actions"]]
        messages.append({"type": "template", "altText": alt_text, "template": template})
    link = content.get("link")
    if isinstance(link, Mapping):
        template = {"type": "buttons", "text": link["text"], "actions": [_uri_action(link)]}
        messages.append({"type": "template", "altText": alt_text, "template": template})
    return messages


def _uri_action(action: Mapping[str, Any]) -> dict[str, Any]:
    return {"type": "uri", "label": action["label"], "uri": action["url"]}


def push_body(message: Message) -> dict[str, Any]:
    """The JSON document the adapter posts for ``message`` (``ecrm preview`` shows this same document)."""
    return {"to": message.recipient.line_user_id, "messages": line_messages(message.content)}


def retry_key(idempotency_key: str) -> str:
    return str(uuid.uuid5(RETRY_KEY_NAMESPACE, idempotency_key))


class LineAdapter:
    channel = "line"

    def __init__(self, channel_token: str, base_url: str = DEFAULT_BASE_URL, timeout: float = 10.0) -> None:
        self._token = channel_token
        self._url = check_url(base_url.rstrip("/")) + "/v2/bot/message/push"
        self._poster = JsonPoster(timeout)

    def send(self, message: Message) -> DeliveryResult:
        return log_result(message, self._send(message))

    def _send(self, message: Message) -> DeliveryResult:
        to = message.recipient.line_user_id
        if not to:
            return permanent("no LINE user id")
        messages = line_messages(message.content)
        if not messages:
            return permanent("empty LINE text")
        problems = line_problems(message.content, rendered=True)
        if problems:
            # LINE would refuse the whole push with a 400; say which limit, without the text itself.
            return permanent("not sent: " + "; ".join(problem.message for problem in problems))
        body = push_body(message)
        headers = {"Authorization": f"Bearer {self._token}", "X-Line-Retry-Key": retry_key(message.idempotency_key)}
        if message.test:
            headers[TEST_HEADER] = "1"
        try:
            response = self._poster.post(self._url, json.dumps(body, ensure_ascii=False).encode(), headers)
        except TransportError as error:
            return transient(f"connection failed: {error}")
        if response.status == 409:
            # Every push carries a retry key, so 409 means an earlier attempt got through (its response was lost).
            return sent(response.headers.get("x-line-accepted-request-id"))
        return classify(response, response.headers.get("x-line-request-id"))

    def close(self) -> None:
        pass
