"""The dispatcher settles a claimed batch at once: one statement for the outbox, one for the journal; exactly once
holds through a process killed between handing messages over and settling them, a delivery that raises, and a
batch that runs out of time. Real SQLite, a real SMS gateway on loopback, a real process killed with SIGKILL."""

from __future__ import annotations

import datetime as dt
import json
import os
import signal
import subprocess
import sys
import threading
from collections import Counter
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, ClassVar

import pytest
from sqlalchemy import event, select

from ecrm_dsl.delivery.message import DeliveryResult, Message
from ecrm_dsl.delivery.outbox import FileAdapter
from ecrm_dsl.delivery.sms import SmsAdapter
from ecrm_dsl.runtime import dispatch as dispatch_module
from ecrm_dsl.runtime.dispatch import LEASE, Dispatcher
from ecrm_dsl.runtime.lease import SECONDS as RUN_LEASE
from ecrm_dsl.store.tables import TABLES
from tests.runtime.adversarial_helpers import at, bulk_customers, bulk_orders, scenario
from tests.runtime.world import World, template

IDS = [f"c{i}" for i in range(5)]


def world(tmp_path: Path, channel: str, ids: list[str] = IDS) -> World:
    """Customers each with one decided, undelivered message on ``channel`` (decided at the 10:00 tick)."""
    w = World(tmp_path)
    w.templates(template("welcome", category="transactional", channels=(channel,)))
    w.write("scenarios/welcome.ecrm", scenario("welcome", "order.placed", f"  send {channel} welcome"))
    w.deploy(at(1, 0))
    bulk_customers(w, ids)
    bulk_orders(w, ids, at(1, 9))
    w.tick(at(1, 10))
    return w


def outbox(w: World) -> list[tuple[str, str, int]]:
    o = TABLES.outbox
    with w.engine.connect() as conn:
        rows = conn.execute(select(o.c.customer_id, o.c.status, o.c.attempts).order_by(o.c.customer_id))
        return [tuple(r) for r in rows]  # type: ignore[misc]


def delivered(w: World) -> Counter[str]:
    """Per idempotency key, how many 'delivered' decisions the journal holds."""
    d = TABLES.decisions
    with w.engine.connect() as conn:
        rows = conn.execute(select(d.c.detail).where(d.c.kind == "delivered")).scalars()
        return Counter(detail["key"] for detail in rows)


class Gateway(BaseHTTPRequestHandler):
    """An SMS gateway that accepts every message; with ``hang_at`` set, that request never gets an answer."""

    keys: ClassVar[list[str]] = []
    hang_at = 0
    hanging = threading.Event()
    release = threading.Event()

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers["Content-Length"]))
        cls = type(self)
        cls.keys.append(self.headers["Idempotency-Key"])
        if len(cls.keys) == cls.hang_at:
            cls.hanging.set()
            cls.release.wait(30)
            return
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(json.dumps({"id": f"sms-{len(cls.keys)}"}).encode())

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def gateway() -> Iterator[str]:
    Gateway.keys, Gateway.hang_at = [], 0
    Gateway.hanging, Gateway.release = threading.Event(), threading.Event()
    server = ThreadingHTTPServer(("127.0.0.1", 0), Gateway)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/sms"
    Gateway.release.set()
    server.shutdown()


def test_a_batch_is_settled_in_one_transaction_with_one_statement_per_table(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(dispatch_module, "BATCH", 16)
    ids = [f"c{i:02d}" for i in range(40)]  # three batches: 16, 16, 8
    w = world(tmp_path, "email", ids)
    statements: list[str] = []
    commits: list[int] = []
    event.listen(w.engine, "before_cursor_execute", lambda *args: statements.append(" ".join(args[2].split())))
    event.listen(w.engine, "commit", lambda conn: commits.append(1))
    dispatcher = Dispatcher(w.engine, {"email": FileAdapter("email", tmp_path / "email.jsonl")})

    assert dispatcher.run(at(1, 10)) == {"delivered": 40}

    writes = Counter(sql.split(" (")[0][:22] for sql in statements if sql.startswith(("UPDATE", "INSERT", "WITH")))
    # Per batch: the claim's UPDATE, then the settle (WITH settled … UPDATE outbox) and the journal's INSERT;
    # the last claim, which found nothing, is an UPDATE too.
    assert writes == {"UPDATE outbox SET stat": 4, "WITH settled(id, statu": 3, "INSERT INTO decisions": 3}
    assert len(commits) == 3 * 2 + 1  # claim and settle per batch, and the last claim that found nothing
    assert {status for _, status, _ in outbox(w)} == {"sent"}
    assert set(delivered(w).values()) == {1} and len(delivered(w)) == 40


def test_a_process_killed_between_handing_over_and_settling_loses_and_duplicates_nothing(
    tmp_path: Path, gateway: str
) -> None:
    w = world(tmp_path, "sms")
    Gateway.hang_at = 3  # the third message reaches the gateway, then the process dies waiting for the answer
    env = {k: v for k, v in os.environ.items() if not k.startswith("ECRM_")}
    env["ECRM_SMS_URL"] = gateway
    command = ["run", "--once", "--now", at(1, 10).isoformat(), "--store", w.store]
    process = subprocess.Popen(
        [sys.executable, "-m", "ecrm_dsl", *command],
        cwd=tmp_path / "project",
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        assert Gateway.hanging.wait(60), "the dispatcher never reached the gateway"
        process.send_signal(signal.SIGKILL)
        process.communicate(timeout=20)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
    assert process.returncode == -signal.SIGKILL
    # Nothing was settled: the whole batch is still leased, and no delivery is in the journal.
    assert outbox(w) == [(cid, "sending", 1) for cid in IDS]
    assert delivered(w) == Counter()
    handed_over = list(Gateway.keys)
    assert len(handed_over) == 3

    dispatcher = Dispatcher(w.engine, {"sms": SmsAdapter(gateway, timeout=5)})
    assert dispatcher.run(at(1, 10, 1)) == {}  # still leased (ecrm run's --lease): nobody takes the batch
    assert dispatcher.run(at(1, 10) + dt.timedelta(seconds=RUN_LEASE)) == {"delivered": 5}
    assert dispatcher.run(at(1, 12)) == {}
    # The batch went again with the same keys (the gateway deduplicates them); the store records each once.
    assert Gateway.keys[:3] == handed_over and sorted(Gateway.keys[3:]) == sorted(set(Gateway.keys))
    assert outbox(w) == [(cid, "sent", 2) for cid in IDS]
    assert delivered(w) == Counter({key: 1 for key in Gateway.keys})


class Breaks(FileAdapter):
    """Writes messages to a file and raises on the third, as a misbehaving provider library might."""

    def __init__(self, path: Path):
        super().__init__("email", path)
        self.calls = 0

    def send(self, message: Message) -> DeliveryResult:
        self.calls += 1
        if self.calls == 3:
            raise ConnectionResetError("the provider hung up")
        return super().send(message)


def test_a_delivery_that_raises_settles_what_went_before_and_gives_back_what_follows(tmp_path: Path) -> None:
    w = world(tmp_path, "email")
    adapter = Breaks(tmp_path / "email.jsonl")
    with pytest.raises(ConnectionResetError):
        Dispatcher(w.engine, {"email": adapter}).run(at(1, 10))
    # Two delivered; the third is in doubt and keeps its lease; the last two are pending again, attempt given back.
    assert outbox(w) == [
        ("c0", "sent", 1),
        ("c1", "sent", 1),
        ("c2", "sending", 1),
        ("c3", "pending", 0),
        ("c4", "pending", 0),
    ]
    assert Dispatcher(w.engine, {"email": adapter}).run(at(1, 10, 1)) == {"delivered": 2}
    assert Dispatcher(w.engine, {"email": adapter}).run(at(1, 10) + LEASE) == {"delivered": 1}
    assert set(delivered(w).values()) == {1} and len(delivered(w)) == 5
    assert {status for _, status, _ in outbox(w)} == {"sent"}


def test_a_batch_out_of_time_settles_what_it_handed_over_and_gives_back_the_rest(
    tmp_path: Path, gateway: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    w = world(tmp_path, "sms")
    settles: list[Any] = []
    real = dispatch_module.deliveries.settle_batch
    monkeypatch.setattr(
        dispatch_module.deliveries, "settle_batch", lambda conn, rows: (settles.append(len(rows)), real(conn, rows))
    )

    dispatcher = Dispatcher(w.engine, {"sms": SmsAdapter(gateway, timeout=5)})
    dispatcher.handover_budget = 0.0  # every batch runs out after its first message
    assert dispatcher.run(at(1, 10)) == {"delivered": 5}

    assert sorted(Gateway.keys) == sorted(set(Gateway.keys)) and len(Gateway.keys) == 5  # each handed over once
    assert settles == [5, 4, 3, 2, 1]  # one sent and the rest given back, batch after batch
    assert outbox(w) == [(cid, "sent", 1) for cid in IDS]  # given-back claims did not count as attempts
    assert delivered(w) == Counter({key: 1 for key in Gateway.keys})


def test_the_next_attempt_time_and_the_error_of_a_retry_are_recorded(tmp_path: Path) -> None:
    class Busy(FileAdapter):
        def send(self, message: Message) -> DeliveryResult:
            return DeliveryResult("transient", error="503 busy")

    w = world(tmp_path, "email", ["a"])
    assert Dispatcher(w.engine, {"email": Busy("email", tmp_path / "x.jsonl")}).run(at(1, 10)) == {"retrying": 1}
    o = TABLES.outbox
    with w.engine.connect() as conn:
        row = conn.execute(select(o.c.status, o.c.last_error, o.c.next_attempt_at, o.c.sent_at)).one()
    assert row.status == "pending" and row.last_error == "503 busy" and row.sent_at is None
    assert at(1, 10) + dt.timedelta(minutes=4) <= row.next_attempt_at <= at(1, 10) + dt.timedelta(minutes=10)
