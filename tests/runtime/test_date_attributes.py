"""Date triggers on custom attributes (kept as JSON text), yearly or once, on SQLite and PostgreSQL alike."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from sqlalchemy import select

from ecrm_dsl.store.tables import TABLES
from tests.runtime.adversarial_helpers import at, scenario
from tests.runtime.test_tick_entries import watching
from tests.runtime.world import SCHEMA, World, template

DATES = SCHEMA + "  anniversary: {type: date}\n  first_visit_at: {type: datetime}\n"


def test_yearly_and_one_off_date_triggers_read_custom_date_attributes(tmp_path: Path) -> None:
    w = World(tmp_path)
    w.write("customer_schema.yaml", DATES)
    w.templates(template("mail"))
    triggers = {
        "yearly": "date customer.anniversary at 09:00 yearly",
        "once": "date 1d after customer.anniversary at 09:00",
        "visit": "date customer.first_visit_at at 09:00 yearly",
    }
    for name, trigger in triggers.items():
        w.write(f"scenarios/{name}.ecrm", scenario(name, trigger, "  send email mail"))
    w.deploy(at(25, 0, month=2))
    w.customer("leap", attributes={"anniversary": "2000-02-29"})  # on 28 February in other years
    w.customer("now", attributes={"anniversary": "2025-02-26"})
    # 1 March 00:30 in Tokyo is still 28 February in UTC: the shop's date counts.
    w.customer("visit", attributes={"first_visit_at": "2024-02-29T15:30:00+00:00"})
    w.ticks(at(25, 0, month=2), at(3, 0), every=dt.timedelta(hours=3))
    o = TABLES.outbox.c
    with w.engine.connect() as conn:
        rows = conn.execute(select(o.customer_id, o.scenario_id, o.created_at).order_by(o.created_at, o.id)).all()
    assert [(r.customer_id, r.scenario_id, r.created_at) for r in rows] == [
        ("now", "yearly", at(26, 9, month=2)),
        ("now", "once", at(27, 9, month=2)),
        ("leap", "yearly", at(28, 9, month=2)),
        ("visit", "visit", at(1, 9)),
    ]


def test_a_date_trigger_condition_is_judged_for_the_days_matches_alone(tmp_path: Path) -> None:
    """``where`` on a date trigger filters the customers whose date falls on the day, row by row: it is not an
    IN over everyone the condition holds for (which judged every customer, every day)."""
    w = World(tmp_path)
    w.write("customer_schema.yaml", DATES)
    w.templates(template("mail"))
    trigger = "date customer.anniversary at 09:00 yearly where customer.order_count >= 1"
    w.write("scenarios/yearly.ecrm", scenario("yearly", trigger, "  send email mail"))
    w.deploy(at(25, 0, month=2))
    for cid, day in (("買った", "2020-02-26"), ("まだ", "2020-02-26"), ("別の日", "2020-02-27")):
        w.customer(cid, attributes={"anniversary": day})
    w.order("買った", at(20, 10, month=2))
    w.order("別の日", at(20, 10, month=2))
    with watching(w) as statements:
        w.ticks(at(25, 0, month=2), at(26, 12, month=2), every=dt.timedelta(hours=3))
    o = TABLES.outbox.c
    with w.engine.connect() as conn:
        rows = conn.execute(select(o.customer_id, o.created_at)).all()
    assert [(r.customer_id, r.created_at) for r in rows] == [("買った", at(26, 9, month=2))]
    matched = [sql for sql, params in statements.seen if any("anniversary" in str(v) for v in params.values())]
    assert matched and not any("IN (SELECT customers.id" in sql for sql in matched)
