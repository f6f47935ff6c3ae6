"""Steps that count from a date of the entry: the dates are read where the step needs them — the entry order, or
the entry event's properties — and a step whose date is missing is skipped to the next, which reads its own."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from tests.runtime.world import JST, World, template


def at(day: int, hour: int, minute: int = 0) -> dt.datetime:
    return dt.datetime(2025, 3, day, hour, minute, tzinfo=JST)


def world(tmp_path: Path, trigger: str, body: str) -> World:
    w = World(tmp_path)
    w.templates(template("remind"), template("thanks"), template("welcome"))
    w.write(
        "scenarios/s.ecrm",
        f'scenario s {{\n  kind nurture\n  hypothesis engagement "t"\n  when {trigger}\n{body}\n}}\n',
    )
    w.deploy(at(1, 0))
    return w


def test_a_missing_subscription_date_skips_to_the_step_that_counts_from_the_shipment(tmp_path: Path) -> None:
    w = world(
        tmp_path,
        "subscription.shipped",
        "  @remind 5d before next_shipment at 10:00: send email remind\n"
        "  @thanks 1d after shipment at 12:00: send email thanks",
    )
    for cid in ("both", "no_next", "neither"):
        w.customer(cid)
    shipped = at(2, 15).isoformat()
    w.event("both", "subscription.shipped", at(2, 15), next_shipment_date="2025-03-12", shipped_at=shipped)
    w.event("no_next", "subscription.shipped", at(2, 15), shipped_at=shipped)
    w.event("neither", "subscription.shipped", at(2, 15))
    w.ticks(at(2, 16), at(8, 12))
    # The reminder is due on 7 March; the thanks step's moment (3 March 12:00) has passed by then: due at once.
    assert [(s[0], s[1], s[3]) for s in w.sends()] == [
        ("no_next", "thanks", at(3, 12)),
        ("both", "remind", at(7, 10)),
        ("both", "thanks", at(7, 10)),
    ]
    assert [d["reason"] for d in w.decisions("no_next", "skipped")] == ["no next_shipment date for this customer"]
    assert [d["reason"] for d in w.decisions("neither", "skipped")] == [
        "no next_shipment date for this customer",
        "no shipment date for this customer",
    ]
    assert w.enrollment_status("neither") == ["completed"]


def test_an_order_date_comes_from_the_entry_order_after_steps_that_read_none(tmp_path: Path) -> None:
    w = world(
        tmp_path,
        "order.placed",
        "  send email welcome\n  @remind 1d before delivery_date at 18:00: send email remind",
    )
    w.customer("dated")
    w.customer("undated")
    w.order("dated", at(1, 10), delivery_date=dt.date(2025, 3, 5))
    w.order("undated", at(1, 10))
    w.ticks(at(1, 11), at(5, 11))
    assert [(s[0], s[1], s[3]) for s in w.sends()] == [
        ("dated", "welcome", at(1, 11)),
        ("undated", "welcome", at(1, 11)),
        ("dated", "remind", at(4, 18)),
    ]
    assert [d["reason"] for d in w.decisions("undated", "skipped")] == ["no delivery_date date for this customer"]
