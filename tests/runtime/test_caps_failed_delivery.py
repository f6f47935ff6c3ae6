"""A failed delivery gives its capped slot back; one still being retried keeps it. ``ecrm run`` (ticks and the
dispatcher) and ``ecrm simulate`` (nothing delivered, so nothing fails) count a customer's slots the same way.
Real SQLite, real adapters (a JSON-lines file, an HTTP gateway on a closed loopback port)."""

from __future__ import annotations

import datetime as dt
import socket
from collections.abc import Mapping
from pathlib import Path

from sqlalchemy import Engine, select

from ecrm_dsl.delivery.adapters import Adapter
from ecrm_dsl.delivery.outbox import FileAdapter
from ecrm_dsl.delivery.sms import SmsAdapter
from ecrm_dsl.runtime.dispatch import Dispatcher
from ecrm_dsl.simulate.replay import Window, simulate
from ecrm_dsl.store.tables import TABLES
from tests.runtime.world import JST, POLICIES, World, template

HOUR = dt.timedelta(hours=1)
ONE_A_DAY = POLICIES.replace(
    "  - {channel: all, max: 3, per: 1d, on_exceed: defer}", "  - {channel: all, max: 1, per: 1d, on_exceed: defer}"
)


def at(day: int, hour: int, minute: int = 0) -> dt.datetime:
    return dt.datetime(2025, 3, day, hour, minute, tzinfo=JST)


def shop(root: Path, first_channel: str = "email") -> World:
    """A first mail an hour after the order (10:00), then a LINE message an hour later; one message a day."""
    w = World(root)
    w.templates(template("first", channels=(first_channel,)), template("second", channels=("line",)))
    w.write(
        "scenarios/two.ecrm",
        'scenario two {\n  kind nurture\n  hypothesis engagement "t"\n  when order.placed\n\n'
        f"  after 1h: send {first_channel} first\n  after 1h: send line second\n}}\n",
    )
    w.write("policies.yaml", ONE_A_DAY)
    w.customer("a")
    w.order("a", at(1, 9))
    return w


def run_live(w: World, adapters: Mapping[str, Adapter], until: dt.datetime) -> None:
    """What ``ecrm run`` does every hour: a tick, then deliver what it decided."""
    dispatcher = Dispatcher(w.engine, adapters)
    moment = at(1, 10)
    while moment <= until:
        w.tick(moment)
        dispatcher.run(moment)
        moment += HOUR
    dispatcher.close()


def statuses(engine: Engine) -> list[tuple[str, dt.datetime, str]]:
    o = TABLES.outbox
    with engine.connect() as conn:
        rows = conn.execute(select(o.c.node_id, o.c.created_at, o.c.status).order_by(o.c.created_at, o.c.id))
        return [(r.node_id, r.created_at.astimezone(JST), r.status) for r in rows]


def test_a_failed_delivery_gives_the_slot_back(tmp_path: Path) -> None:
    w = shop(tmp_path / "w")
    w.deploy(at(1, 0))
    # No email adapter: the 10:00 mail fails for good, so the LINE message at 11:00 may use the day.
    run_live(w, {"line": FileAdapter("line", tmp_path / "line.jsonl")}, at(1, 12))
    assert statuses(w.engine) == [("first", at(1, 10), "failed"), ("second", at(1, 11), "sent")]
    assert w.decisions("a", "deferred") == []


def test_a_delivery_being_retried_keeps_the_slot(tmp_path: Path) -> None:
    with socket.socket() as probe:  # a port nothing listens on: the gateway is down, a transient failure
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    w = shop(tmp_path / "w", first_channel="sms")
    w.deploy(at(1, 0))
    adapters: dict[str, Adapter] = {
        "sms": SmsAdapter(f"http://127.0.0.1:{port}/sms", timeout=2),
        "line": FileAdapter("line", tmp_path / "line.jsonl"),
    }
    run_live(w, adapters, at(1, 12))
    assert statuses(w.engine) == [("first", at(1, 10), "pending")]  # waiting for its next attempt
    [deferred] = w.decisions("a", "deferred")
    assert deferred["node_id"] == "second" and deferred["detail"]["cause"] == "frequency_cap"
    decided, *attempts = [d["kind"] for d in w.decisions("a") if d["node_id"] == "first"]
    assert decided == "sent" and attempts and set(attempts) == {"retrying"}


def test_a_replay_counts_slots_as_a_live_run_whose_deliveries_succeed(tmp_path: Path) -> None:
    live = shop(tmp_path / "live")
    live.deploy(at(1, 0))
    adapters = {ch: FileAdapter(ch, tmp_path / f"{ch}.jsonl") for ch in ("email", "line")}
    run_live(live, adapters, at(2, 12))

    source = shop(tmp_path / "source")
    replay = simulate(source.engine, source.plan(), tmp_path / "sim.db", Window(at(1, 0), at(2, 12)))

    # Live, the first mail is delivered ("sent"); in the replay it stays undelivered ("pending"): both hold the
    # day's slot, so both defer the LINE message to the next morning.
    assert statuses(live.engine) == [("first", at(1, 10), "sent"), ("second", at(2, 9), "sent")]
    assert statuses(replay.scratch) == [("first", at(1, 10), "pending"), ("second", at(2, 9), "pending")]
    d = TABLES.decisions
    with replay.scratch.connect() as conn:
        replayed = conn.execute(select(d.c.reason).where(d.c.kind == "deferred")).scalars().all()
    assert replayed == [r["reason"] for r in live.decisions("a", "deferred")]
