"""Shared helpers for the delivery tests: sample messages and real loopback servers (HTTP and SMTP).

No tests here; the servers bind port 0 so the OS picks a free port.
"""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller

from ecrm_dsl.delivery.message import Message, Recipient

DATA = Path(__file__).parent / "data" / "delivery"

RECIPIENT = Recipient(
    customer_id="c-1001",
    name="山田 花子",
    email="hanako.yamada@example.jp",
    phone="090-1234-5678",
    line_user_id="U4af4980629e3f1a2b3c4d5e6f7a8b9c0",
    push_token="push-token-7f3a9c",
    postal_address="東京都渋谷区神南1-2-3 みのりハイツ101",
)
UNSUBSCRIBE = "https://minori.example/unsubscribe?c=c-1001&ch=email&t=abc123"
SUBJECT = "山田 花子 様、次回使える500円OFFクーポンです"
BODY = "山田 花子 様\n\nクーポンコード: F2-WELCOME-500\n配信停止: " + UNSUBSCRIBE + "\n"

CONTENT = {
    "email": {"subject": SUBJECT, "body": BODY},
    "line": {"text": "山田 花子 さん、次回使える500円OFFクーポンです🎁\nコード: F2-WELCOME-500"},
    "sms": {"text": "【みのり堂】ご注文の商品を発送しました。"},
    "push": {"title": "クーポンが届きました", "body": "山田 花子 さん、500円OFF"},
    "dm": {"design": "DM-2025-SPRING", "copy": "いつもありがとうございます。\n春の感謝セールのご案内"},
    "insert": {"design": "INS-SAMPLE-01", "copy": "次回使えるサンプル引換券"},
    "webhook": {"queue": "cs-priority", "customer_name": "山田 花子", "comment": "届いた商品が傷んでいました"},
}


def make_message(channel: str, *, key: str = "42:coupon", category: str = "marketing", **changes: Any) -> Message:
    recipient = changes.pop("recipient", RECIPIENT)
    message = Message(
        idempotency_key=key,
        channel=channel,
        template="f2_second_order_coupon",
        category=category,
        recipient=recipient,
        content=dict(CONTENT[channel]),
        scenario_id="f2_step_mail",
        scenario_hash="sha256:0123abcd",
        node_id="coupon",
        unsubscribe_url=UNSUBSCRIBE if category == "marketing" else None,
    )
    return replace(message, **changes)


def personal_strings(message: Message) -> list[str]:
    """Everything that must never be logged: contact details and rendered content."""
    return [*message.recipient.contact_details(), *(v for v in message.content.values() if len(v) > 3)]


# --------------------------------------------------------------------------- HTTP


@dataclass
class Request:
    path: str
    headers: dict[str, str]  # lower-case names
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body.decode("utf-8"))


Reply = tuple[int, dict[str, str], bytes]


@dataclass
class LoopbackHttp:
    """A threaded HTTP server on 127.0.0.1; ``respond`` decides each reply, ``requests`` records them."""

    respond: Callable[[Request], Reply]
    requests: list[Request] = field(default_factory=list)
    url: str = ""


@contextmanager
def http_server(respond: Callable[[Request], Reply]) -> Iterator[LoopbackHttp]:
    state = LoopbackHttp(respond)

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            request = Request(self.path, {k.lower(): v for k, v in self.headers.items()}, body)
            state.requests.append(request)
            status, headers, payload = state.respond(request)
            self.send_response(status)
            for name, value in {"Content-Type": "application/json", **headers}.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, format: str, *args: Any) -> None:
            pass  # keep test output quiet

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    server.block_on_close = False
    state.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()


def json_reply(status: int, document: Any = None, **headers: str) -> Reply:
    return status, headers, json.dumps(document if document is not None else {}).encode()


def closed_port() -> int:
    """A port nothing listens on (bound by the OS, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# --------------------------------------------------------------------------- SMTP


@dataclass
class Received:
    mail_from: str
    rcpt_tos: list[str]
    content: bytes  # the raw message as received


@dataclass
class Inbox:
    """An aiosmtpd handler that stores mail, or answers with a scripted reply per recipient or at DATA."""

    messages: list[Received] = field(default_factory=list)
    port: int = 0  # set when a server starts
    rcpt_replies: dict[str, str] = field(default_factory=dict)
    data_reply: str | None = None

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str, options: Any) -> str:
        if address in self.rcpt_replies:
            return self.rcpt_replies[address]
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        if self.data_reply:
            return self.data_reply
        self.messages.append(Received(envelope.mail_from, list(envelope.rcpt_tos), envelope.original_content))
        return "250 2.0.0 Ok: queued"


class LoopbackSmtp(Controller):
    """aiosmtpd on a socket the OS bound (port 0): the Controller itself cannot start on port 0."""

    def __init__(self, handler: Any, **kwargs: Any) -> None:
        self._sock = socket.socket()
        self._sock.bind(("127.0.0.1", 0))
        self._sock.listen()
        super().__init__(handler, hostname="127.0.0.1", port=self._sock.getsockname()[1], **kwargs)

    def _create_server(self) -> Any:
        return self.loop.create_server(self._factory_invoker, sock=self._sock, ssl=self.ssl_context)

    def stop(self, no_assert: bool = False) -> None:
        super().stop(no_assert)
        self._sock.close()


@contextmanager
def smtp_server(inbox: Inbox, **kwargs: Any) -> Iterator[LoopbackSmtp]:
    controller = LoopbackSmtp(inbox, **kwargs)
    controller.start()
    inbox.port = controller.port
    try:
        yield controller
    finally:
        controller.stop()
