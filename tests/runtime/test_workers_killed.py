"""Three `ecrm run` workers on one store (SQLite, and PostgreSQL), killed at random (SIGKILL) and restarted
while orders stream in: every message is decided once, delivered (at least once, the same key every time),
nothing is lost, and each enrollment's decisions come in the order of its flow."""

from __future__ import annotations

import datetime as dt
import os
import random
import signal
import subprocess
import sys
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import ClassVar

import pytest
from sqlalchemy import Engine, func, select

from ecrm_dsl.store.tables import TABLES
from tests.runtime.adversarial_helpers import bulk_customers, bulk_orders, scenario
from tests.runtime.world import World, template

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
CUSTOMERS = 240
FLOW = ["entered", "sent", "sent", "completed"]  # what the scheduler decides for each enrollment, in order


class Gateway(BaseHTTPRequestHandler):
    """An SMS gateway on loopback that records every request's idempotency key."""

    keys: ClassVar[list[str]] = []
    lock = threading.Lock()

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers["Content-Length"]))
        with type(self).lock:
            type(self).keys.append(self.headers["Idempotency-Key"])
        time.sleep(0.002)  # a provider's round trip, so that kills land mid-batch too
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(b'{"id": "ok"}')

    def log_message(self, *_: object) -> None:
        pass


@pytest.fixture
def gateway() -> Iterator[str]:
    Gateway.keys = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), Gateway)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/sms"
    server.shutdown()


class Workers:
    def __init__(self, store: str, gateway: str, logs: Path):
        self.store, self.logs = store, logs
        self.env = {**os.environ, "ECRM_SMS_URL": gateway, "PYTHONPATH": str(ROOT)}
        self.running: list[tuple[subprocess.Popen[bytes], Path]] = []
        self.kills = 0

    def start(self) -> None:
        command = [sys.executable, "-m", "ecrm_dsl", "run", "--store", self.store, "--interval", "1"]
        command += ["--lease", "3"]
        log = self.logs / f"worker-{self.kills}-{len(self.running)}.log"
        with log.open("ab") as out:
            self.running.append((subprocess.Popen(command, env=self.env, stdout=out, stderr=out), log))

    def log(self) -> str:
        return "".join(p.read_text(encoding="utf-8", errors="replace") for p in sorted(self.logs.glob("*.log")))

    def kill_one(self, rng: random.Random) -> None:
        victim, _ = self.running.pop(rng.randrange(len(self.running)))
        victim.send_signal(signal.SIGKILL)
        victim.wait()
        self.kills += 1
        self.start()

    def stop(self) -> list[int | None]:
        # A worker restarted just before the end may still be starting: SIGTERM before `ecrm run` has set its
        # handler ends it as any process (-15). The clean stop is what is tested, so wait for its first line.
        deadline = time.monotonic() + 60
        for worker, log in self.running:
            while worker.poll() is None and not log.read_bytes() and time.monotonic() < deadline:
                time.sleep(0.1)
        for worker, _ in self.running:
            worker.send_signal(signal.SIGTERM)
        return [worker.wait(timeout=60) for worker, _ in self.running]


def settled(engine: Engine) -> bool:
    e, o = TABLES.enrollments, TABLES.outbox
    with engine.connect() as conn:
        done = conn.execute(select(func.count()).where(e.c.status == "completed")).scalar_one()
        unsent = conn.execute(select(func.count()).where(o.c.status != "sent")).scalar_one()
    return done == CUSTOMERS and unsent == 0


def test_killed_workers_lose_and_duplicate_nothing(tmp_path: Path, gateway: str) -> None:
    w = World(tmp_path)
    w.templates(*(template(n, category="transactional", channels=("sms",)) for n in ("welcome", "howto")))
    w.write("scenarios/welcome.ecrm", scenario("welcome", "order.placed", "  send sms welcome\n  send sms howto"))
    w.deploy(dt.datetime.now(dt.UTC) - dt.timedelta(minutes=1))
    store = w.engine.url.render_as_string(hide_password=False)  # a SQLite file, or a PostgreSQL database
    workers = Workers(store, gateway, tmp_path)
    for _ in range(3):
        workers.start()
    rng = random.Random(20261205)
    ids = [f"c{i:03d}" for i in range(CUSTOMERS)]
    next_kill = time.monotonic() + rng.uniform(0.5, 1.5)
    for start in range(0, CUSTOMERS, 12):  # orders stream in while workers die
        batch = ids[start : start + 12]
        bulk_customers(w, batch)
        bulk_orders(w, batch, dt.datetime.now(dt.UTC), prefix=f"o{start}")
        time.sleep(0.25)
        if time.monotonic() > next_kill:
            workers.kill_one(rng)
            next_kill = time.monotonic() + rng.uniform(0.5, 1.5)
    deadline = time.monotonic() + 120
    while not settled(w.engine) and time.monotonic() < deadline:
        time.sleep(0.5)
    codes = workers.stop()
    log = workers.log()
    assert settled(w.engine), f"not settled after {workers.kills} kills; workers said:\n{log[-3000:]}"
    assert codes == [0, 0, 0], log[-3000:]
    assert workers.kills >= 3
    assert "Traceback" not in log and "internal error" not in log

    o, e, d = TABLES.outbox, TABLES.enrollments, TABLES.decisions
    with w.engine.connect() as conn:
        keys = list(conn.execute(select(o.c.idempotency_key)).scalars())
        per_customer = Counter(conn.execute(select(e.c.customer_id)).scalars())
        journal = conn.execute(select(d.c.enrollment_id, d.c.kind, d.c.node_id).order_by(d.c.id)).all()
    # Decided once: one enrollment per order, two messages each; delivered: every key reached the gateway, and a
    # key sent twice was one a killed worker had handed over without settling (the gateway deduplicates it).
    assert per_customer == Counter({cid: 1 for cid in ids})
    assert len(keys) == len(set(keys)) == 2 * CUSTOMERS
    assert set(Gateway.keys) == set(keys)
    flows: dict[int, list[str]] = defaultdict(list)
    for enrollment_id, kind, _ in journal:
        if kind in FLOW:
            flows[enrollment_id].append(kind)
    assert len(flows) == CUSTOMERS and all(flow == FLOW for flow in flows.values())
