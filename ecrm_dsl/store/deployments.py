"""Deployments: each deployed plan is kept, the newest is active, and every scenario version stays loadable.

A stored plan is checked like any other before the runtime uses it (``load_plan``); one written by an ecrm-dsl
with another plan format is refused with what to do. Checked plans are kept in memory by their text, since
every tick reads the active one.
"""

from __future__ import annotations

from datetime import datetime
from functools import lru_cache
from typing import Any

from sqlalchemy import Connection, func, insert, select

from ecrm_dsl.language.i18n import tr
from ecrm_dsl.plan.document import canonical_json, load_plan
from ecrm_dsl.plan.model import Plan
from ecrm_dsl.store.prepared import run
from ecrm_dsl.store.tables import TABLES

T = TABLES


def redeploy_remedy(deployment_id: int) -> str:
    return tr(
        "deployment #{id} cannot be run by this ecrm-dsl (stored by another version, or changed in the store): "
        "redeploy the project with `ecrm deploy` (add `--in-flight move` when customers are in flight on its "
        "scenarios)",
        id=deployment_id,
    )


@lru_cache(maxsize=16)
def _stored_plan(text: str, deployment_id: int) -> Plan:
    return load_plan(text, tr("deployment #{id} in the store", id=deployment_id), redeploy_remedy(deployment_id))


def record_deployment(
    conn: Connection, plan: Plan, plan_hash: str, in_flight: str, note: str | None, now: datetime
) -> int:
    """Store the plan as the active deployment and register its scenario versions; returns its id."""
    result = conn.execute(
        insert(T.deployments).values(
            deployed_at=now,
            plan_hash=plan_hash,
            plan=canonical_json(plan.to_json()),
            in_flight=in_flight,
            note=note,
        )
    )
    key = result.inserted_primary_key
    assert key is not None
    deployment_id = int(key[0])
    known = {(row.scenario_id, row.scenario_hash) for row in conn.execute(select(T.scenario_versions))}
    fresh = [
        {"scenario_id": s.id, "scenario_hash": s.hash, "deployment_id": deployment_id}
        for s in plan.scenarios
        if (s.id, s.hash) not in known
    ]
    if fresh:
        conn.execute(insert(T.scenario_versions), fresh)
    return deployment_id


def active_deployment(conn: Connection) -> tuple[int, Plan] | None:
    """The newest deployment and its plan; raises ``PlanError`` when that plan cannot be read."""
    row = conn.execute(
        select(T.deployments.c.id, T.deployments.c.plan).order_by(T.deployments.c.id.desc()).limit(1)
    ).first()
    return (int(row.id), _stored_plan(row.plan, int(row.id))) if row else None


def active_head(conn: Connection) -> tuple[int, str] | None:
    """The newest deployment's id and plan hash, without its plan (a tick asks every time; the plan rarely
    changes)."""
    row = run(conn, _HEAD).first()
    return (int(row.id), str(row.plan_hash)) if row else None


_HEAD = select(T.deployments.c.id, T.deployments.c.plan_hash).order_by(T.deployments.c.id.desc()).limit(1)


def deployment_plan(conn: Connection, deployment_id: int) -> Plan:
    text = conn.execute(select(T.deployments.c.plan).where(T.deployments.c.id == deployment_id)).scalar_one()
    return _stored_plan(text, deployment_id)


def version_deployments(conn: Connection, hashes: set[str]) -> dict[str, int]:
    """The deployment that first carried each scenario version."""
    if not hashes:
        return {}
    rows = conn.execute(
        select(T.scenario_versions.c.scenario_hash, T.scenario_versions.c.deployment_id).where(
            T.scenario_versions.c.scenario_hash.in_(sorted(hashes))
        )
    )
    return {row.scenario_hash: int(row.deployment_id) for row in rows}


def deployment_history(conn: Connection) -> list[dict[str, Any]]:
    rows = conn.execute(
        select(
            T.deployments.c.id,
            T.deployments.c.deployed_at,
            T.deployments.c.plan_hash,
            T.deployments.c.in_flight,
            T.deployments.c.note,
        ).order_by(T.deployments.c.id)
    )
    return [dict(row._mapping) for row in rows]


def count_deployments(conn: Connection) -> int:
    return int(conn.execute(select(func.count()).select_from(T.deployments)).scalar_one())
