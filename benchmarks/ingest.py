"""Live ingest: accepted events per second through ``ecrm serve`` into SQLite, and the lag from an accepted order
to the scheduler's decision about it.

1. A project with one F2 scenario (``when order.placed where customer.order_count == 1``) is written to a
   temporary folder, compiled with ``ecrm_dsl.build_plan`` and deployed into a new SQLite store.
2. ``ecrm serve`` runs as its own process, pinned to one CPU (``os.sched_setaffinity``), on a loopback port; the
   client runs here, on the other CPU when there is one. Request bodies are encoded before the clock starts.
3. **Customers** (``--customers``, default 5,000) are posted in batches of ``--batch`` (500).
4. **Events, round 1**: ``--events`` (default 50,000) ``cart.abandoned`` events with distinct ids, spread over
   the customers, in batches of 500, one request after the other. Every item must be accepted.
   **Round 2** sends the same bodies again: every item must come back a duplicate and the store must not
   change (the ``events`` row count is compared). Both rounds report items per second (wall clock) and the
   server's CPU seconds (``/proc/<pid>/stat``).
5. **Lag**: a thread here runs ``Scheduler.tick`` at the current time every ``--tick-interval`` seconds (0.5);
   ``--orders`` (20) times, a new customer and their first order are posted (the order dated now), and the
   script polls the store until the F2 ``entered`` decision for that customer appears. The lag is from the
   order's 200 response to the decision being visible: about half the interval plus one tick on average.

The script exits 1 if an item of round 1 is not accepted, or round 2 is not all duplicates, or a decision does
not appear within 30 s; otherwise 0, whatever the speed. ``--json FILE`` writes every figure.

    python benchmarks/ingest.py                                   # 50,000 events: about a minute
    python benchmarks/ingest.py --events 5000 --customers 500 --orders 5   # smoke run, a few seconds
    python benchmarks/ingest.py --json ingest.json
"""

from __future__ import annotations

import argparse
import json
import os
import re
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import Engine, func, select

from ecrm_dsl import build_plan, load_project
from ecrm_dsl.plan.model import Plan
from ecrm_dsl.runtime.deploy import deploy
from ecrm_dsl.runtime.scheduler import Scheduler
from ecrm_dsl.store.database import open_store
from ecrm_dsl.store.tables import TABLES

REPO = Path(__file__).resolve().parent.parent
TOKEN = "benchmark-token-5b0e8f1c2d3a4e6f"
GOAL_PER_SECOND = 2_000
SCENARIO = """scenario f2 "初回購入後のF2" {
  kind sell
  hypothesis f2_rate "初回購入のお礼でF2転換率が上がる"
  when order.placed where customer.order_count == 1
  after 1d: send email thanks
}
"""
TEMPLATE = """template: thanks
category: transactional
channels:
  email:
    subject: ご購入ありがとうございます
    body: "{{ customer.name }}様、ありがとうございます"
"""


def write_project(root: Path) -> Path:
    for folder in ("scenarios", "templates", "segments"):
        (root / folder).mkdir(parents=True, exist_ok=True)
    (root / "ecrm.toml").write_text("", encoding="utf-8")
    (root / "customer_schema.yaml").write_text("customer_schema: bench\n", encoding="utf-8")
    (root / "policies.yaml").write_text("timezone: Asia/Tokyo\n", encoding="utf-8")
    (root / "templates" / "thanks.yaml").write_text(TEMPLATE, encoding="utf-8")
    (root / "scenarios" / "f2.ecrm").write_text(SCENARIO, encoding="utf-8")
    return root / "ecrm.toml"


def deploy_project(config: Path, store: Path) -> Engine:
    build = build_plan(load_project(config))
    assert build.plan is not None, [d.message for d in build.blocking]
    engine = open_store(store)
    deploy(engine, Plan.from_json(build.plan), now())
    return engine


def now() -> datetime:
    return datetime.now(UTC)


def start_server(config: Path, store: Path, cpu: int) -> tuple[subprocess.Popen[str], str]:
    env = {**os.environ, "ECRM_INGEST_TOKENS": TOKEN, "PYTHONPATH": str(REPO)}
    command = [sys.executable, "-m", "ecrm_dsl", "serve", "--project", str(config), "--store", str(store)]
    process = subprocess.Popen(
        [*command, "--port", "0", "--log-level", "warning"],
        env=env,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=lambda: os.sched_setaffinity(0, {cpu}),
    )
    assert process.stderr is not None
    line = process.stderr.readline()
    match = re.search(r"listening on (http://[\d.]+:\d+)", line)
    if not match:
        process.kill()
        raise SystemExit(f"ecrm serve did not start: {line}{process.stderr.read()}")
    return process, match.group(1)


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def bodies(items: list[dict[str, Any]], batch: int) -> list[bytes]:
    return [
        json.dumps({"items": items[i : i + batch]}, ensure_ascii=False).encode() for i in range(0, len(items), batch)
    ]


def send_all(client: httpx.Client, path: str, encoded: list[bytes], pid: int) -> dict[str, Any]:
    headers = {"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/json"}
    totals = {"accepted": 0, "duplicates": 0, "rejected": 0}
    cpu_before, started = cpu_seconds(pid), time.perf_counter()
    for body in encoded:
        response = client.post(path, content=body, headers=headers)
        response.raise_for_status()
        result = response.json()
        totals["accepted"] += result["accepted"]
        totals["duplicates"] += result["duplicates"]
        totals["rejected"] += len(result["rejected"])
    seconds = time.perf_counter() - started
    items = sum(totals.values())
    return {
        **totals,
        "items": items,
        "seconds": round(seconds, 3),
        "per_second": round(items / seconds, 1),
        "server_cpu_seconds": round(cpu_seconds(pid) - cpu_before, 3),
    }


def count_events(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(TABLES.events)).scalar_one())


def entered(engine: Engine, customer_id: str) -> bool:
    d = TABLES.decisions
    query = select(d.c.id).where(d.c.customer_id == customer_id, d.c.kind == "entered").limit(1)
    with engine.connect() as conn:
        return conn.execute(query).first() is not None


class Ticker(threading.Thread):
    """``Scheduler.tick`` at the current time every ``interval`` seconds, as ``ecrm run --interval`` would."""

    def __init__(self, engine: Engine, interval: float):
        super().__init__(daemon=True)
        self.scheduler, self.interval = Scheduler(engine), interval
        self.stop = threading.Event()
        self.durations: list[float] = []

    def run(self) -> None:
        while not self.stop.is_set():
            started = time.perf_counter()
            self.scheduler.tick(now())
            self.durations.append(time.perf_counter() - started)
            self.stop.wait(self.interval)


def measure_lag(client: httpx.Client, engine: Engine, orders: int, interval: float) -> dict[str, Any]:
    headers = {"Authorization": f"Bearer {TOKEN}"}
    ticker = Ticker(engine, interval)
    ticker.start()
    lags: list[float] = []
    try:
        for n in range(orders):
            cid = f"LAG{n:04d}"
            client.post("/v1/customers", json={"items": [{"id": cid, "name": f"遅延{n}"}]}, headers=headers)
            order = {"id": f"LAG-O{n}", "customer_id": cid, "ordered_at": now().isoformat(), "amount": 3980}
            response = client.post("/v1/orders", json={"items": [order]}, headers=headers)
            accepted_at = time.perf_counter()
            if response.json().get("accepted") != 1:
                raise SystemExit(f"order {n} was not accepted: {response.text}")
            deadline = accepted_at + 30
            while not entered(engine, cid):
                if time.perf_counter() > deadline:
                    raise SystemExit(f"no F2 decision for {cid} within 30 s")
                time.sleep(0.01)
            lags.append(time.perf_counter() - accepted_at)
            time.sleep((n % 5) * interval / 5)  # spread the orders over the tick cycle
    finally:
        ticker.stop.set()
        ticker.join()
    ordered = sorted(lags)
    return {
        "orders": orders,
        "tick_interval_seconds": interval,
        "median_seconds": round(statistics.median(ordered), 3),
        "p95_seconds": round(ordered[min(len(ordered) - 1, int(len(ordered) * 0.95))], 3),
        "max_seconds": round(ordered[-1], 3),
        "median_tick_seconds": round(statistics.median(ticker.durations), 3) if ticker.durations else None,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--customers", type=int, default=5_000)
    parser.add_argument("--events", type=int, default=50_000)
    parser.add_argument("--batch", type=int, default=500)
    parser.add_argument("--orders", type=int, default=20, help="orders whose lag to a decision is measured")
    parser.add_argument("--tick-interval", type=float, default=0.5)
    parser.add_argument("--json", type=Path, help="write every figure to this file")
    parser.add_argument("--tmp", type=Path, help="folder for the project and the store (default: a temporary one)")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as scratch:
        root = args.tmp or Path(scratch)
        config, store = write_project(root / "project"), root / "ingest.db"
        if store.exists():
            store.unlink()
        engine = deploy_project(config, store)
        cpus = sorted(os.sched_getaffinity(0))
        server_cpu = cpus[0]
        if len(cpus) > 1:
            os.sched_setaffinity(0, set(cpus[1:]))  # the client stays off the server's core
        process, url = start_server(config, store, server_cpu)
        try:
            figures = run(args, engine, url, process.pid)
        finally:
            process.send_signal(signal.SIGTERM)
            process.communicate(timeout=60)
        engine.dispose()
    figures["server_cpus"] = 1
    print_figures(figures)
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2) + "\n", encoding="utf-8")
    ok = figures["round_1"]["accepted"] == args.events and figures["idempotent"]
    return 0 if ok else 1


def run(args: argparse.Namespace, engine: Engine, url: str, pid: int) -> dict[str, Any]:
    start = datetime(2025, 3, 1, tzinfo=UTC)
    customers = [{"id": f"C{i:06d}", "name": f"顧客{i}", "email_opt_in": True} for i in range(args.customers)]
    events = [
        {
            "id": f"ev-{i:07d}",
            "customer_id": f"C{i % args.customers:06d}",
            "type": "cart.abandoned",
            "occurred_at": (start + timedelta(seconds=i)).isoformat(),
            "properties": {"cart_id": f"K{i}", "amount": 1980 + i % 5000},
        }
        for i in range(args.events)
    ]
    encoded = bodies(events, args.batch)
    with httpx.Client(base_url=url, timeout=120) as client:
        loaded = send_all(client, "/v1/customers", bodies(customers, args.batch), pid)
        first = send_all(client, "/v1/events", encoded, pid)
        stored = count_events(engine)
        second = send_all(client, "/v1/events", encoded, pid)
        unchanged = count_events(engine) == stored
        lag = measure_lag(client, engine, args.orders, args.tick_interval)
    return {
        "customers": loaded,
        "round_1": first,
        "round_2": second,
        "idempotent": second["duplicates"] == args.events and second["accepted"] == 0 and unchanged,
        "events_stored": stored,
        "batch": args.batch,
        "goal_per_second": GOAL_PER_SECOND,
        "ratio_to_goal": round(first["per_second"] / GOAL_PER_SECOND, 2),
        "lag": lag,
    }


def print_figures(f: dict[str, Any]) -> None:
    r1, r2, lag = f["round_1"], f["round_2"], f["lag"]
    print(f"customers: {f['customers']['accepted']:,} in {f['customers']['seconds']} s")
    print(
        f"events, round 1: {r1['accepted']:,} accepted in {r1['seconds']} s = {r1['per_second']:,.0f}/s "
        f"(server CPU {r1['server_cpu_seconds']} s, one core) — {f['ratio_to_goal']}x the goal of "
        f"{f['goal_per_second']:,}/s, batches of {f['batch']}"
    )
    print(
        f"events, round 2 (the same again): {r2['duplicates']:,} duplicates, {r2['accepted']} accepted in "
        f"{r2['seconds']} s = {r2['per_second']:,.0f}/s; store unchanged: {f['idempotent']}"
    )
    print(
        f"lag from an accepted order to its F2 decision, ticks every {lag['tick_interval_seconds']} s: median "
        f"{lag['median_seconds']} s, p95 {lag['p95_seconds']} s, max {lag['max_seconds']} s "
        f"(a tick takes {lag['median_tick_seconds']} s)"
    )


if __name__ == "__main__":
    sys.exit(main())
