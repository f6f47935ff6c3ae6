"""Several workers on one store: one ticks at a time (the tick lease, renewed in every transaction as a fence),
and every worker claims deliveries without ever claiming a row another worker holds — on real SQLite, in real
processes started at the same instant, on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
import multiprocessing
import time
from pathlib import Path

import pytest
from sqlalchemy import Engine, insert, select

from ecrm_dsl.runtime.lease import LostLease, TickLease
from ecrm_dsl.runtime.scheduler import Scheduler, last_tick
from ecrm_dsl.runtime.status import status_document, status_text
from ecrm_dsl.store import outbox
from ecrm_dsl.store.database import open_store
from ecrm_dsl.store.tables import TABLES
from tests.runtime import world
from tests.runtime.adversarial_helpers import at, bulk_customers, bulk_orders, scenario
from tests.runtime.world import World, template

UTC = dt.UTC


class Clock:
    def __init__(self, start: float = 1_000_000.0):
        self.now = start

    def __call__(self) -> float:
        return self.now


def shop(tmp_path: Path) -> World:
    w = World(tmp_path)
    w.templates(template("welcome", category="transactional", channels=("email",)))
    w.write("scenarios/welcome.ecrm", scenario("welcome", "order.placed", "  send email welcome"))
    w.deploy(at(1, 0))
    bulk_customers(w, ["a", "b"])
    bulk_orders(w, ["a", "b"], at(1, 9))
    return w


def test_one_worker_holds_the_tick_lease_until_it_runs_out(tmp_path: Path) -> None:
    engine = open_store(world.new_store(tmp_path))
    clock = Clock()
    first, second = TickLease("w1", seconds=60, clock=clock), TickLease("w2", seconds=60, clock=clock)
    assert first.take(engine) and not second.take(engine)
    clock.now += 59
    assert first.take(engine)  # renewed: 60 s from now
    clock.now += 59
    assert not second.take(engine)
    clock.now += 2  # w1 stopped renewing (it died): the lease ran out
    assert second.take(engine) and not first.take(engine)
    assert TickLease.holder_of(engine, clock.now) is not None
    second.release(engine)  # a clean stop hands it over at once
    assert first.take(engine)


def test_a_worker_that_lost_the_lease_commits_nothing_of_its_tick(tmp_path: Path) -> None:
    w = shop(tmp_path)
    clock = Clock()
    mine, theirs = TickLease("w1", seconds=60, clock=clock), TickLease("w2", seconds=60, clock=clock)
    assert mine.take(w.engine)
    clock.now += 61  # paused past its lease (a long GC, a suspended VM) …
    assert theirs.take(w.engine)  # … and another worker took over
    with pytest.raises(LostLease, match="w2"):
        Scheduler(w.engine, lease=mine).tick(at(1, 10))
    assert w.sends() == [] and w.count("enrollments") == 0
    with w.engine.connect() as conn:
        assert last_tick(conn) is None
    report = Scheduler(w.engine, lease=theirs).tick(at(1, 10))
    assert report.total_entered == 2 and len(w.sends()) == 2


def _claim_all(url: str, start: multiprocessing.synchronize.Barrier, found: multiprocessing.Queue[list[int]]) -> None:
    engine = open_store(url, create=False)
    now = dt.datetime(2025, 3, 1, 10, tzinfo=UTC)
    claimed: list[int] = []
    start.wait()
    while True:
        with engine.begin() as conn:
            rows = outbox.claim(conn, now, now + dt.timedelta(minutes=10), 7)
        if not rows:
            break
        claimed += [r["id"] for r in rows]
        time.sleep(0.002)  # delivering the batch: lets the others claim too, however fast one claim is
    found.put(claimed)


def _pending(engine: Engine, count: int) -> None:
    when = dt.datetime(2025, 3, 1, 9, tzinfo=UTC)
    with engine.begin() as conn:
        conn.execute(insert(TABLES.customers).values(id="c"))
        conn.execute(
            insert(TABLES.outbox),
            [
                {
                    "idempotency_key": f"k{i}",
                    "customer_id": "c",
                    "scenario_id": "s",
                    "scenario_hash": "h",
                    "node_id": "n",
                    "channel": "email",
                    "template": "t",
                    "category": "transactional",
                    "params": {},
                    "status": "pending",
                    "attempts": 0,
                    "created_at": when,
                    "next_attempt_at": when,
                }
                for i in range(count)
            ],
        )


def test_processes_claiming_at_the_same_instant_never_claim_the_same_delivery(tmp_path: Path) -> None:
    store_url = str(world.new_store(tmp_path))
    engine = open_store(store_url)
    _pending(engine, 600)
    context = multiprocessing.get_context("spawn")
    start, found = context.Barrier(3), context.Queue()
    workers = [context.Process(target=_claim_all, args=(store_url, start, found)) for _ in range(3)]
    for worker in workers:
        worker.start()
    claims = [found.get(timeout=120) for _ in workers]
    for worker in workers:
        worker.join(timeout=60)
        assert worker.exitcode == 0
    every = [i for claim in claims for i in claim]
    assert len(every) == len(set(every)) == 600  # each claimed once, none lost
    assert sum(1 for claim in claims if claim) >= 2  # they really ran side by side
    with engine.connect() as conn:
        attempts = set(conn.execute(select(TABLES.outbox.c.attempts)).scalars())
    assert attempts == {1}


def test_status_names_the_worker_that_holds_the_tick_lease(tmp_path: Path) -> None:
    w = shop(tmp_path)
    held = TickLease("host-a:4242:abc123", seconds=60)  # the wall clock, as status reads it
    assert held.take(w.engine)
    with w.engine.connect() as conn:
        document = status_document(conn, at(1, 10))
    assert document["tick_lease"]["holder"] == "host-a:4242:abc123"
    assert "ticking: host-a:4242:abc123 (lease until " in status_text(
        {**document, "last_tick": "2025-03-01T00:00:00+00:00", "lag_seconds": 3600}
    )
    held.release(w.engine)
    with w.engine.connect() as conn:
        assert status_document(conn, at(1, 10))["tick_lease"] is None
