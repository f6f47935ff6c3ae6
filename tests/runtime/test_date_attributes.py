"""Date triggers on custom attributes (kept as JSON text), yearly or once, on SQLite and PostgreSQL alike."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from sqlalchemy import select

from ecrm_dsl.store.tables import TABLES
from tests.runtime.adversarial_helpers import at, scenario
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
