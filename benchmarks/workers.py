"""Several workers on one store: ticks and deliveries per second with 1, 2 and 4 worker processes.

A shop of ``--customers`` customers each places an order; one tick decides a transactional SMS for each. Then,
for each worker count, the outbox is set back to pending and that many processes run worker rounds
(``runtime.worker.work_round``: tick if holding the tick lease, then deliver) against a real HTTP gateway on
loopback that answers after ``--latency-ms``, until every message is delivered. Measured per count:

- **deliveries per second** (wall clock, from the start signal until the outbox is empty), and CPU per delivery;
- **ticks per second**: rounds that ticked, over the same time — one worker holds the lease, so ticks do not
  add up with workers (by design: see the README's "Several workers");
- **duplicates**: keys the gateway saw more than once (must be 0 when no worker dies).

    python benchmarks/workers.py                                   # SQLite, 3,000 customers
    python benchmarks/workers.py --store postgresql+psycopg://u@127.0.0.1:5432/bench --json workers.json

It exits 1 if a message was lost or delivered twice.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import sys
import tempfile
import threading
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, ClassVar

from sqlalchemy import func, insert, select, update

from ecrm_dsl.api import build_plan, load_project
from ecrm_dsl.delivery.sms import SmsAdapter
from ecrm_dsl.plan.model import Plan
from ecrm_dsl.runtime.deploy import deploy
from ecrm_dsl.runtime.dispatch import Dispatcher
from ecrm_dsl.runtime.lease import TickLease
from ecrm_dsl.runtime.scheduler import Scheduler
from ecrm_dsl.runtime.worker import work_round
from ecrm_dsl.store.database import open_store
from ecrm_dsl.store.tables import TABLES

T0 = datetime(2025, 3, 3, 1, 0, tzinfo=UTC)  # 10:00 in Tokyo: no quiet hours for anyone
NOW = T0 + timedelta(minutes=5)

PROJECT = {
    "ecrm.toml": 'scenarios = "scenarios"\ntemplates = "templates"\npolicies = "policies.yaml"\n',
    "policies.yaml": "timezone: Asia/Tokyo\nconsent:\n  sms: {attribute: customer.sms_opt_in}\n",
    "templates/welcome.yaml": "template: welcome\ncategory: transactional\nchannels:\n"
    '  sms:\n    text: "{{ customer.name }}様 ご注文ありがとうございます"\n',
    "scenarios/welcome.ecrm": 'scenario welcome {\n  kind nurture\n  hypothesis f2_rate "thanks"\n'
    "  when order.placed\n\n  send sms welcome\n}\n",
}


class Gateway(BaseHTTPRequestHandler):
    keys: ClassVar[Counter[str]] = Counter()
    latency = 0.005
    lock = threading.Lock()

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers["Content-Length"]))
        time.sleep(type(self).latency)
        with type(self).lock:
            type(self).keys[self.headers["Idempotency-Key"]] += 1
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(b'{"id": "ok"}')

    def log_message(self, *_: object) -> None:
        pass


def make_store(url: str, folder: Path, customers: int) -> int:
    for name, text in PROJECT.items():
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_text(text, encoding="utf-8")
    result = build_plan(load_project(folder / "ecrm.toml"))
    if result.plan is None:
        raise SystemExit("the benchmark project does not build: " + "; ".join(d.message for d in result.blocking))
    engine = open_store(url)
    deploy(engine, Plan.from_json(result.plan), T0 - timedelta(hours=1), note="workers benchmark")
    ids = [f"w{i:06d}" for i in range(customers)]
    with engine.begin() as conn:
        conn.execute(
            insert(TABLES.customers),
            [{"id": c, "name": f"顧客{c}", "phone": "09000000000", "sms_opt_in": True, "attributes": {}} for c in ids],
        )
        conn.execute(
            insert(TABLES.orders), [{"id": f"o-{c}", "customer_id": c, "ordered_at": T0, "amount": 3000} for c in ids]
        )
        conn.execute(
            insert(TABLES.events),
            [
                {"customer_id": c, "type": "order.placed", "occurred_at": T0, "properties": {"order_id": f"o-{c}"}}
                for c in ids
            ],
        )
    Scheduler(engine).tick(NOW)
    with engine.connect() as conn:
        decided = int(conn.execute(select(func.count()).select_from(TABLES.outbox)).scalar_one())
    engine.dispose()
    return decided


def worker(url: str, gateway: str, go: Any, results: Any) -> None:
    engine = open_store(url, create=False)
    lease = TickLease(seconds=30)
    scheduler = Scheduler(engine, lease=lease)
    dispatcher = Dispatcher(engine, {"sms": SmsAdapter(gateway, timeout=10)})
    ticks = rounds = delivered = 0
    go.wait()
    began = time.process_time()
    while True:
        result = work_round(scheduler, dispatcher, NOW)
        rounds += 1
        ticks += result.tick is not None
        sent = sum(result.delivered.values())
        delivered += sent
        if not sent:
            with engine.connect() as conn:
                left = conn.execute(
                    select(func.count()).where(TABLES.outbox.c.status.in_(["pending", "sending"]))
                ).scalar_one()
            if not left:
                break
            time.sleep(0.05)  # the rest is claimed by others: poll, as `ecrm run` does between rounds
    lease.release(engine)
    results.put({"ticks": ticks, "rounds": rounds, "delivered": delivered, "cpu_s": time.process_time() - began})


def measure(url: str, gateway: str, count: int) -> dict[str, Any]:
    engine = open_store(url, create=False)
    with engine.begin() as conn:
        conn.execute(update(TABLES.outbox).values(status="pending", attempts=0, next_attempt_at=NOW))
        conn.execute(TABLES.decisions.delete().where(TABLES.decisions.c.kind == "delivered"))
        total = int(conn.execute(select(func.count()).select_from(TABLES.outbox)).scalar_one())
    engine.dispose()
    Gateway.keys = Counter()
    context = multiprocessing.get_context("spawn")
    go, results = context.Event(), context.Queue()
    processes = [context.Process(target=worker, args=(url, gateway, go, results)) for _ in range(count)]
    for process in processes:
        process.start()
    time.sleep(1.0)  # let every process import and connect before the clock starts
    began = time.perf_counter()
    go.set()
    reports = [results.get(timeout=600) for _ in processes]
    wall = time.perf_counter() - began
    for process in processes:
        process.join(timeout=60)
    delivered = sum(r["delivered"] for r in reports)
    cpu = sum(r["cpu_s"] for r in reports)
    return {
        "workers": count,
        "messages": total,
        "delivered": delivered,
        "wall_s": round(wall, 3),
        "deliveries_per_s": round(delivered / wall, 1),
        "ticks_per_s": round(sum(r["ticks"] for r in reports) / wall, 2),
        "cpu_ms_per_delivery": round(1000 * cpu / max(delivered, 1), 3),
        "per_worker": reports,
        "gateway_keys": len(Gateway.keys),
        "duplicates": sum(n - 1 for n in Gateway.keys.values() if n > 1),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--customers", type=int, default=3000)
    parser.add_argument("--workers", default="1,2,4", help="worker counts to measure (default 1,2,4)")
    parser.add_argument("--latency-ms", type=float, default=5.0, help="the gateway's answer time (default 5 ms)")
    parser.add_argument("--store", help="a store URL (default: a SQLite file in a temporary folder)")
    parser.add_argument("--json", type=Path, help="write every figure to this file")
    args = parser.parse_args(argv)
    Gateway.latency = args.latency_ms / 1000
    server = ThreadingHTTPServer(("127.0.0.1", 0), Gateway)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    gateway = f"http://127.0.0.1:{server.server_address[1]}/sms"
    with tempfile.TemporaryDirectory(prefix="ecrm-workers-") as tmp:
        folder = Path(tmp)
        url = args.store or f"sqlite:///{folder / 'store.db'}"
        decided = make_store(url, folder / "project", args.customers)
        print(f"{decided:,} messages decided; gateway latency {args.latency_ms:g} ms", file=sys.stderr)
        figures = [measure(url, gateway, int(n)) for n in args.workers.split(",")]
    server.shutdown()
    backend = "postgresql" if args.store and args.store.startswith("postgresql") else "sqlite"
    print(f"{'workers':>7} {'deliveries/s':>12} {'ticks/s':>8} {'CPU ms/msg':>10} {'wall s':>7} {'dup':>4}")
    base = figures[0]["deliveries_per_s"] or 1
    for f in figures:
        print(
            f"{f['workers']:>7} {f['deliveries_per_s']:>12,.1f} {f['ticks_per_s']:>8.2f} "
            f"{f['cpu_ms_per_delivery']:>10.3f} {f['wall_s']:>7.2f} {f['duplicates']:>4}"
            f"   {f['deliveries_per_s'] / base:.2f}x of one worker"
        )
    if args.json:
        document = {"backend": backend, "customers": args.customers, "latency_ms": args.latency_ms, "runs": figures}
        args.json.write_text(json.dumps(document, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    broken = [f for f in figures if f["duplicates"] or f["gateway_keys"] != f["messages"]]
    return 1 if broken else 0


if __name__ == "__main__":
    raise SystemExit(main())
