"""Steps already scheduled for customers: what higher-priority scenarios will send them soon, so that a
lower-priority send leaves a capped slot to them."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, bindparam, select

from ecrm_dsl.store.prepared import run
from ecrm_dsl.store.tables import TABLES

E = TABLES.enrollments


@dataclass(frozen=True)
class ScheduledStep:
    enrollment_id: int
    customer_id: str
    scenario_id: str
    scenario_hash: str
    node_id: str
    due_at: datetime
    has_entry_order: bool


_SCHEDULED = select(
    E.c.id,
    E.c.customer_id,
    E.c.scenario_id,
    E.c.scenario_hash,
    E.c.node_id,
    E.c.due_at,
    E.c.entry_order_id,
    E.c.status,
    E.c.holdout,
    E.c.waiting_since,
).where(
    E.c.customer_id.in_(bindparam("customers", expanding=True)),
    E.c.scenario_id.in_(bindparam("scenarios", expanding=True)),
)


def scheduled_steps(
    conn: Connection, customer_ids: Sequence[str], scenario_ids: Sequence[str], before: datetime
) -> list[ScheduledStep]:
    """Active enrollments of ``scenario_ids`` for these customers whose step falls due before ``before``; holdout
    members (never messaged) and waits that listen for an event are left out. One statement for a whole batch."""
    if not customer_ids or not scenario_ids:
        return []
    # Only the (customer_id, scenario_id) index is selective here; status, holdout and the due time are
    # checked on the few rows it finds (in SQL they tempt SQLite into the (status, due_at) index, which reads
    # every active enrollment).
    params = {"customers": sorted(set(customer_ids)), "scenarios": sorted(set(scenario_ids))}
    rows = run(conn, _SCHEDULED, params)
    return [
        ScheduledStep(
            r.id, r.customer_id, r.scenario_id, r.scenario_hash, r.node_id, r.due_at, r.entry_order_id is not None
        )
        for r in rows
        if r.status == "active"
        and not r.holdout
        and r.waiting_since is None
        and r.node_id is not None
        and r.due_at is not None
        and r.due_at < before
    ]
