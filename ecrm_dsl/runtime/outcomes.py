"""Goals and stop rules end enrollments before any step acts, so nothing is sent after a repeat purchase even
when it happened between two ticks."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Connection

from ecrm_dsl.conditions.sql import select_enrollments
from ecrm_dsl.runtime.journal import Journal
from ecrm_dsl.runtime.model import Json, ScenarioVersion
from ecrm_dsl.runtime.steps import StepRunner
from ecrm_dsl.store import enrollments as store
from ecrm_dsl.store.enrollments import Enrollment
from ecrm_dsl.store.tables import TABLES

BATCH = 5_000


def settle_outcomes(
    conn: Connection,
    version: ScenarioVersion,
    runner: StepRunner,
    journal: Journal,
    since: datetime,
    new_ids: Sequence[int],
) -> None:
    """End enrollments whose goal or stop event happened since ``since`` (all events, for ``new_ids``)."""
    for goal in version.body["goals"]:
        _goal(conn, version, goal, runner, journal, since, new_ids)
    for rule in version.body["stop"]:
        _stop(conn, version, rule, runner, journal, since, new_ids)


def _pairs(
    conn: Connection,
    version: ScenarioVersion,
    event: str,
    since: datetime,
    now: datetime,
    completed_since: datetime | None,
    new_ids: Sequence[int],
) -> list[tuple[Enrollment, dict[str, Any]]]:
    pairs = store.event_pairs(conn, version.hash, event, since=since, now=now, completed_since=completed_since)
    if new_ids:  # just entered (possibly backfilled): their whole history since entry counts
        seen = {(e.id, ev["id"]) for e, ev in pairs}
        for start in range(0, len(new_ids), BATCH):
            extra = store.event_pairs(
                conn,
                version.hash,
                event,
                since=datetime.min.replace(tzinfo=UTC),
                now=now,
                completed_since=completed_since,
                only_ids=new_ids[start : start + BATCH],
            )
            pairs += [(e, ev) for e, ev in extra if (e.id, ev["id"]) not in seen]
    return pairs


def _goal(
    conn: Connection,
    version: ScenarioVersion,
    goal: Json,
    runner: StepRunner,
    journal: Journal,
    since: datetime,
    new_ids: Sequence[int],
) -> None:
    within = goal.get("within_seconds")
    window = timedelta(seconds=within) if within is not None else None
    completed_since = runner.now - window if window is not None else None
    converted: dict[int, Enrollment] = {}
    for row, event in _pairs(conn, version, goal["event"], since, runner.now, completed_since, new_ids):
        if row.id in converted or event["id"] == row.entry_event_id:
            continue  # the entry order itself is not a repeat purchase
        if window is not None and event["occurred_at"] > row.entered_at + window:
            continue
        if (
            goal["match"] == "repeat"
            and row.entry_order_id
            and (event["properties"] or {}).get("order_id") == row.entry_order_id
        ):
            continue
        same = goal["property"] if goal["match"] == "same" else None
        if runner.event_matches(version, row, event, same, goal.get("where")):
            journal.add(
                row,
                "converted",
                f"goal {goal['event']}",
                node=row.node_id,
                at=event["occurred_at"],
                event_id=event["id"],
            )
            converted[row.id] = row
    store.mark(conn, sorted(converted), "converted", f"goal {goal['event']}", runner.now)


def _stop(
    conn: Connection,
    version: ScenarioVersion,
    rule: Json,
    runner: StepRunner,
    journal: Journal,
    since: datetime,
    new_ids: Sequence[int],
) -> None:
    stopped: dict[int, Enrollment] = {}
    if rule.get("event") is not None:
        reason = f"stop on {rule['event']}"
        for row, event in _pairs(conn, version, rule["event"], since, runner.now, None, new_ids):
            if (
                row.id not in stopped
                and event["id"] != row.entry_event_id
                and runner.event_matches(version, row, event, rule.get("same"), rule.get("where"))
            ):
                stopped[row.id] = row
    else:
        reason = "stop rule holds"
        query = select_enrollments(
            rule["when"],
            now=runner.now,
            timezone=version.plan.timezone,
            segments=version.plan.segments,
            types=version.entry_types(),
        )
        e = TABLES.enrollments
        ids = list(conn.execute(query.where(e.c.scenario_hash == version.hash, e.c.status == "active")).scalars())
        for row in store.by_ids(conn, ids):
            stopped[row.id] = row
    for row in stopped.values():
        journal.add(row, "exited", reason, node=row.node_id)
    store.mark(conn, sorted(stopped), "exited", reason, runner.now)
