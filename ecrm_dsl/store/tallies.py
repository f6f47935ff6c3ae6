"""Counts over the journal and the enrollments within a time window: what simulations and reports summarise."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, Connection, case, func, select

from ecrm_dsl.store.tables import TABLES

D, N = TABLES.decisions, TABLES.enrollments


@dataclass(frozen=True)
class DecisionTally:
    scenario_id: str
    node_id: str | None
    kind: str
    label: str  # the channel of a send, the cause of a skip or deferral, the variant or arm, else the reason
    decisions: int
    enrollments: int  # distinct enrollments: a send deferred twice is one customer kept waiting


def decision_tallies(
    conn: Connection, start: datetime | None = None, end: datetime | None = None
) -> list[DecisionTally]:
    """Decisions (taken in ``[start, end]`` when given), grouped by scenario, step, kind and label."""
    label = func.coalesce(
        D.c.detail["channel"].as_string(),
        D.c.detail["cause"].as_string(),
        D.c.detail["variant"].as_string(),
        D.c.reason,
        "",
    ).label("label")
    query = (
        select(
            D.c.scenario_id,
            D.c.node_id,
            D.c.kind,
            label,
            func.count().label("decisions"),
            func.count(func.distinct(D.c.enrollment_id)).label("enrollments"),
        )
        .where(*_within(D.c.at, start, end))
        .group_by(D.c.scenario_id, D.c.node_id, D.c.kind, label)
        .order_by(D.c.scenario_id, D.c.node_id, D.c.kind, label)
    )
    return [DecisionTally(*row) for row in conn.execute(query)]


@dataclass(frozen=True)
class EnrollmentTally:
    scenario_id: str
    status: str  # active (still in flight), converted, exited, completed
    holdout: bool
    enrollments: int


def enrollment_tallies(
    conn: Connection, start: datetime | None = None, end: datetime | None = None
) -> list[EnrollmentTally]:
    """Enrollments (that entered in ``[start, end]`` when given), by scenario, status and holdout."""
    holdout = case((N.c.holdout, True), else_=False).label("holdout")
    query = (
        select(N.c.scenario_id, N.c.status, holdout, func.count())
        .where(*_within(N.c.entered_at, start, end))
        .group_by(N.c.scenario_id, N.c.status, holdout)
        .order_by(N.c.scenario_id, N.c.status, holdout)
    )
    return [EnrollmentTally(sid, status, bool(h), n) for sid, status, h, n in conn.execute(query)]


def _within(column: ColumnElement[datetime], start: datetime | None, end: datetime | None) -> list[ColumnElement[bool]]:
    return ([column >= start] if start else []) + ([column <= end] if end else [])
