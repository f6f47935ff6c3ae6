"""Frequency caps count a customer's recent marketing deliveries: failed ones and transactional ones do not
use up a cap, older ones have left the window."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import insert

from ecrm_dsl.store import outbox
from ecrm_dsl.store.database import open_store
from ecrm_dsl.store.tables import TABLES

UTC = dt.UTC
NOW = dt.datetime(2025, 3, 10, 12, tzinfo=UTC)


def test_recent_sends_count_marketing_deliveries_that_did_not_fail(store_url: str) -> None:
    engine = open_store(store_url)
    customers = [f"c{i:02d}" for i in range(12)]  # enough customers for SQLite to weigh another index
    rows = []
    for n, cid in enumerate(customers):
        for k, (status, category, hours_ago) in enumerate(
            [("sent", "marketing", 1), ("pending", "marketing", 2), ("failed", "marketing", 3),
             ("sending", "marketing", 4), ("sent", "transactional", 5), ("sent", "marketing", 24 * 8)]
        ):  # fmt: skip
            rows.append(
                {
                    "idempotency_key": f"{n}:{k}", "customer_id": cid, "scenario_id": "s", "scenario_hash": "h",
                    "node_id": f"n{k}", "channel": "email" if k % 2 else "line", "template": "t",
                    "category": category, "status": status, "created_at": NOW - dt.timedelta(hours=hours_ago),
                    "next_attempt_at": NOW,
                }
            )  # fmt: skip
    with engine.begin() as conn:
        conn.execute(insert(TABLES.customers), [{"id": cid, "attributes": {}} for cid in customers])
        conn.execute(insert(TABLES.outbox), rows)
        found = outbox.recent_sends(conn, customers, NOW - dt.timedelta(days=7))
    expected = [("line", NOW - dt.timedelta(hours=1)), ("email", NOW - dt.timedelta(hours=2)),
                ("email", NOW - dt.timedelta(hours=4))]  # fmt: skip
    assert found == {cid: expected for cid in customers}
