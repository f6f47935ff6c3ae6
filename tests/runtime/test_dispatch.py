"""From decision to delivery: real SMTP and HTTP servers on loopback, retries, and a crash mid-delivery."""

from __future__ import annotations

import datetime as dt
import email
import email.policy
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import ClassVar

import pytest

from ecrm_dsl.delivery.outbox import FileAdapter
from ecrm_dsl.delivery.sms import SmsAdapter
from ecrm_dsl.delivery.smtp import EmailAdapter
from ecrm_dsl.runtime.dispatch import LEASE, Dispatcher
from ecrm_dsl.store import outbox
from tests.runtime.world import JST, World, template
from tests.test_delivery_support import Inbox, smtp_server

ORDER = """scenario welcome "ようこそ" {
  kind nurture
  hypothesis engagement "t"
  when order.placed

  after 1h: send CHANNEL welcome
}
"""


def at(day: int, hour: int, minute: int = 0) -> dt.datetime:
    return dt.datetime(2025, 3, day, hour, minute, tzinfo=JST)


def world_for(tmp_path: Path, channel: str) -> World:
    w = World(tmp_path)
    w.templates(template("welcome", channels=(channel,)))
    w.write("scenarios/welcome.ecrm", ORDER.replace("CHANNEL", channel))
    w.deploy(at(1, 0))
    w.customer("a", name="山田 花子")
    w.order("a", at(1, 9))
    w.tick(at(1, 10))
    return w


@pytest.fixture
def inbox() -> Iterator[Inbox]:
    box = Inbox()
    with smtp_server(box) as controller:
        box.port = controller.port  # type: ignore[attr-defined]
        yield box


def test_a_decided_email_arrives_rendered_in_japanese_with_one_click_unsubscribe(tmp_path: Path, inbox: Inbox) -> None:
    w = world_for(tmp_path, "email")
    adapter = EmailAdapter(
        "127.0.0.1",
        inbox.port,
        mail_from="みのり堂 <info@minori.example>",  # type: ignore[attr-defined]
        starttls=False,
        timeout=5,
    )
    dispatcher = Dispatcher(
        w.engine,
        {"email": adapter},
        shop={"name": "みのり堂"},
        unsubscribe=lambda cid, ch: f"https://minori.example/unsubscribe?c={cid}",
    )
    assert dispatcher.run(at(1, 10)) == {"delivered": 1}
    assert dispatcher.run(at(1, 11)) == {}  # nothing is sent twice
    [received] = inbox.messages
    mail = email.message_from_bytes(received.content, policy=email.policy.default)
    assert mail["Subject"] == "welcomeの件名"
    assert "山田 花子様 welcome https://minori.example/unsubscribe?c=a" in mail.get_body().get_content()
    assert mail["List-Unsubscribe"] == "<https://minori.example/unsubscribe?c=a>"
    assert [d["kind"] for d in w.decisions("a")] == ["entered", "sent", "completed", "delivered"]


class Gateway(BaseHTTPRequestHandler):
    """An SMS gateway on loopback that fails with 503 a given number of times, then accepts."""

    failures_left = 0
    requests: ClassVar[list[dict]] = []

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        type(self).requests.append({"key": self.headers["Idempotency-Key"], "body": body})
        status = 503 if type(self).failures_left > 0 else 200
        type(self).failures_left -= 1
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(b'{"id": "sms-1"}')

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def gateway() -> Iterator[str]:
    Gateway.failures_left, Gateway.requests = 0, []
    server = ThreadingHTTPServer(("127.0.0.1", 0), Gateway)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/sms"
    server.shutdown()


def test_transient_failures_retry_with_backoff_and_the_same_key(tmp_path: Path, gateway: str) -> None:
    w = world_for(tmp_path, "sms")
    Gateway.failures_left = 1
    dispatcher = Dispatcher(w.engine, {"sms": SmsAdapter(gateway, timeout=5)})
    assert dispatcher.run(at(1, 10)) == {"retrying": 1}
    assert dispatcher.run(at(1, 10, 1)) == {}  # backing off
    assert dispatcher.run(at(1, 11)) == {"delivered": 1}
    assert [r["key"] for r in Gateway.requests] == ["1:welcome", "1:welcome"]
    assert Gateway.requests[0]["body"]["text"] == "山田 花子様 welcome"


def test_a_crash_after_handing_over_is_retried_after_the_lease_with_the_same_key(tmp_path: Path, gateway: str) -> None:
    w = world_for(tmp_path, "sms")
    with w.engine.begin() as conn:  # a dispatcher leased the delivery, sent it, and died before settling
        [leased] = outbox.claim(conn, at(1, 10), at(1, 10) + LEASE, 10)
    dispatcher = Dispatcher(w.engine, {"sms": SmsAdapter(gateway, timeout=5)})
    assert dispatcher.run(at(1, 10, 5)) == {}  # still leased: nobody else takes it
    assert dispatcher.run(at(1, 10) + LEASE) == {"delivered": 1}
    assert [r["key"] for r in Gateway.requests] == [leased["idempotency_key"]]


def test_no_adapter_for_a_channel_is_a_recorded_permanent_failure(tmp_path: Path) -> None:
    w = world_for(tmp_path, "line")
    dispatcher = Dispatcher(w.engine, {"email": FileAdapter("email", tmp_path / "email.jsonl")})
    assert dispatcher.run(at(1, 10)) == {"delivery_failed": 1}
    assert w.decisions("a", "delivery_failed")[0]["reason"] == "no delivery adapter is configured for line"
