"""SmsAdapter and WebhookAdapter against a loopback HTTP server: bodies, headers, signatures, classification."""

from __future__ import annotations

import time
from dataclasses import replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from threading import Thread
from typing import Any

import pytest

from ecrm_dsl.delivery.http_post import check_url
from ecrm_dsl.delivery.sms import SmsAdapter
from ecrm_dsl.delivery.webhook import SIGNATURE_HEADER, TIMESTAMP_HEADER, WebhookAdapter, signature, verify_signature
from tests.test_delivery_support import CONTENT, RECIPIENT, closed_port, http_server, json_reply, make_message

NOW = 1_740_000_000.0


def test_sms_posts_phone_and_text_with_idempotency_key_and_token() -> None:
    with http_server(lambda r: json_reply(202, {"id": "sms-9"}, **{"X-Request-Id": "sms-9"})) as server:
        result = SmsAdapter(server.url + "/send", token="gw-token").send(make_message("sms", category="transactional"))
    assert (result.status, result.provider_id) == ("sent", "sms-9")
    [request] = server.requests
    assert request.path == "/send"
    assert request.json() == {"to": RECIPIENT.phone, "text": CONTENT["sms"]["text"]}
    assert request.headers["idempotency-key"] == "42:coupon"
    assert request.headers["authorization"] == "Bearer gw-token"
    assert request.headers["content-type"] == "application/json; charset=utf-8"


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        (200, "sent"),
        (201, "sent"),
        (400, "permanent"),
        (401, "permanent"),
        (404, "permanent"),
        (422, "permanent"),
        (408, "transient"),
        (429, "transient"),
        (500, "transient"),
        (503, "transient"),
    ],
)
def test_status_classification(status: int, expected: str) -> None:
    with http_server(lambda r: json_reply(status)) as server:
        result = SmsAdapter(server.url).send(make_message("sms"))
    assert result.status == expected
    assert result.error == (None if expected == "sent" else f"http {status}")


def test_redirects_are_not_followed() -> None:
    with http_server(lambda r: (302, {"Location": "http://127.0.0.1:1/elsewhere"}, b"")) as server:
        result = SmsAdapter(server.url, token="gw-token").send(make_message("sms"))
    assert (result.status, result.error) == ("permanent", "http 302")
    assert len(server.requests) == 1


def test_sms_without_a_phone_number_is_permanent_and_sends_nothing() -> None:
    with http_server(lambda r: json_reply(200)) as server:
        result = SmsAdapter(server.url).send(make_message("sms", recipient=replace(RECIPIENT, phone=None)))
    assert (result.status, result.error) == ("permanent", "no phone number")
    assert server.requests == []


def test_gateway_down_or_slow_is_transient() -> None:
    refused = SmsAdapter(f"http://127.0.0.1:{closed_port()}").send(make_message("sms"))
    assert refused.status == "transient" and refused.error == "connection failed: ConnectionRefusedError"

    class Slow(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            time.sleep(0.5)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Slow)
    server.daemon_threads, server.block_on_close = True, False
    Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
    try:
        slow = SmsAdapter(f"http://127.0.0.1:{server.server_address[1]}", timeout=0.1).send(make_message("sms"))
    finally:
        server.shutdown()
        server.server_close()
    assert slow.status == "transient" and slow.error is not None and "timeout" in slow.error.lower()


def test_webhook_payload_and_hmac_signature() -> None:
    with http_server(lambda r: json_reply(204)) as server:
        adapter = WebhookAdapter(server.url + "/hooks/ecrm", secret="whsec", token="hook-token", clock=lambda: NOW)
        result = adapter.send(make_message("webhook", category="transactional"))
    assert result.status == "sent"
    [request] = server.requests
    assert request.json() == {
        "idempotency_key": "42:coupon",
        "scenario": "f2_step_mail",
        "node": "coupon",
        "customer_id": "c-1001",
        "template": "f2_second_order_coupon",
        "payload": CONTENT["webhook"],
    }
    assert request.headers["idempotency-key"] == "42:coupon"
    assert request.headers["authorization"] == "Bearer hook-token"
    assert request.headers[TIMESTAMP_HEADER.lower()] == str(int(NOW))
    assert request.headers[SIGNATURE_HEADER.lower()] == signature("whsec", int(NOW), request.body)
    assert verify_signature("whsec", request.headers, request.body, now=NOW + 10)
    assert not verify_signature("other-secret", request.headers, request.body, now=NOW)
    assert not verify_signature("whsec", request.headers, request.body + b" ", now=NOW)  # tampered body
    assert not verify_signature("whsec", request.headers, request.body, now=NOW + 3600)  # replayed later


def test_webhook_without_secret_or_token_sends_no_auth_headers() -> None:
    with http_server(lambda r: json_reply(503)) as server:
        result = WebhookAdapter(server.url).send(make_message("webhook"))
    assert result.status == "transient"
    headers = server.requests[0].headers
    assert "authorization" not in headers and SIGNATURE_HEADER.lower() not in headers


def test_urls_must_be_https_except_to_loopback() -> None:
    assert check_url("https://sms.example.jp/send")
    assert check_url("http://127.0.0.1:8080/x") and check_url("http://localhost/x") and check_url("http://[::1]/x")
    for url in ("http://sms.example.jp/send", "ftp://x.example/", "file:///etc/passwd", "not a url"):
        with pytest.raises(ValueError):
            check_url(url)
