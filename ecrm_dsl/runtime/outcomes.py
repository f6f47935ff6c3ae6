"""Goals and stop rules end enrollments before any step acts, so nothing is sent after a repeat purchase even
when it happened between two ticks."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, Select

from ecrm_dsl.conditions.sql import NOW_PREFIX, clock_keys, select_enrollments
from ecrm_dsl.plan.scenario import ConditionStop, Goal, StopRule
from ecrm_dsl.runtime.journal import Journal
from ecrm_dsl.runtime.model import ScenarioVersion
from ecrm_dsl.runtime.steps import StepRunner
from ecrm_dsl.store import changes
from ecrm_dsl.store import enrollments as store
from ecrm_dsl.store.enrollments import Enrollment
from ecrm_dsl.store.tables import TABLES

BATCH = 5_000
# New enrollments since the last tick past which goals and event stops read the events by time for everyone:
# looking up each new enrollment's events (a newsletter's 58,000) costs more.
BIG_ENTRY = 5_000


@dataclass(frozen=True)
class StopScope:
    """Who a condition stop that does not read the clock is judged for: active enrollments of the customers
    changed since the last tick (``customers`` selects their ids), and enrollments after ``enrollment`` by id,
    which entered since and were never judged."""

    customers: changes.Customers
    enrollment: int
    new_enrollments: int = 0  # how many entered since: past a few thousand, reading events by time is cheaper


def settle_outcomes(
    conn: Connection,
    version: ScenarioVersion,
    runner: StepRunner,
    journal: Journal,
    since: datetime,
    scope: StopScope | None = None,
) -> None:
    """End enrollments whose goal or stop event happened in (since, now], or whose stop condition holds (for
    every active enrollment when ``scope`` is None)."""
    for goal in version.scenario.goals:
        _goal(conn, version, goal, runner, journal, since, scope)
    for rule in version.scenario.stop:
        _stop(conn, version, rule, runner, journal, since, scope)


def _goal(
    conn: Connection,
    version: ScenarioVersion,
    goal: Goal,
    runner: StepRunner,
    journal: Journal,
    since: datetime,
    scope: StopScope | None,
) -> None:
    within = goal.within_seconds
    window = timedelta(seconds=within) if within is not None else None
    # A completed enrollment can still convert on an event in (since, now] within its window, so it counts if it
    # entered after ``since - window``: measured from the tick instead, an event judged a tick late was missed.
    completed_since = since - window if window is not None else None
    converted: dict[int, Enrollment] = {}
    for row, event in store.event_pairs(
        conn,
        version.hash,
        goal.event,
        since=since,
        now=runner.now,
        completed_since=completed_since,
        changed=_changed(scope),
    ):
        if row.id in converted or event["id"] == row.entry_event_id:
            continue  # the entry order itself is not a repeat purchase
        if window is not None and event["occurred_at"] > row.entered_at + window:
            continue
        if (
            goal.match == "repeat"
            and row.entry_order_id
            and (event["properties"] or {}).get("order_id") == row.entry_order_id
        ):
            continue
        same = goal.property if goal.match == "same" else None
        if runner.event_matches(version, row, event, same, goal.where):
            journal.add(
                row,
                "converted",
                f"goal {goal.event}",
                node=row.node_id,
                at=event["occurred_at"],
                event_id=event["id"],
            )
            converted[row.id] = row
    store.mark(conn, sorted(converted), "converted", f"goal {goal.event}", runner.now)


def _stop(
    conn: Connection,
    version: ScenarioVersion,
    rule: StopRule,
    runner: StepRunner,
    journal: Journal,
    since: datetime,
    scope: StopScope | None,
) -> None:
    stopped: dict[int, Enrollment] = {}
    if not isinstance(rule, ConditionStop):
        reason = f"stop on {rule.event}"
        for row, event in store.event_pairs(
            conn, version.hash, rule.event, since=since, now=runner.now, completed_since=None, changed=_changed(scope)
        ):
            if (
                row.id not in stopped
                and event["id"] != row.entry_event_id
                and runner.event_matches(version, row, event, rule.same, rule.where)
            ):
                stopped[row.id] = row
    else:
        reason = "stop rule holds"
        query = select_enrollments(
            rule.when,
            now=runner.now,
            timezone=version.plan.timezone,
            segments=version.plan.segments,
            types=version.entry_types(),
        )
        e = TABLES.enrollments
        # scenario_id too, so the (scenario_id, status) index finds the version's active enrollments directly.
        own = (e.c.scenario_id == version.id, e.c.status == "active")
        mine = query.where(*own, e.c.scenario_hash == version.hash)
        if scope is not None and not _reads_clock(version.hash, rule, query):
            # Nothing else can make it hold: the clock only reveals orders and events, which the log covers.
            mine = changes.changed_enrollments(mine, scope.customers, scope.enrollment, *own)
        ids = list(conn.execute(mine).scalars())
        for row in store.by_ids(conn, ids):
            stopped[row.id] = row
    for row in stopped.values():
        journal.add(row, "exited", reason, node=row.node_id)
    store.mark(conn, sorted(stopped), "exited", reason, runner.now)


def _changed(scope: StopScope | None) -> tuple[changes.Customers, int] | None:
    """An event the last tick did not judge was written since, or became due since: its customer is in the
    change log either way (a late arrival too, however late)."""
    if scope is None or scope.new_enrollments > BIG_ENTRY:
        return None  # a big entry (a newsletter's audience) since the last tick: look by time, for all
    return (scope.customers, scope.enrollment)


_READS_CLOCK: dict[tuple[str, str], bool] = {}


def _reads_clock(scenario_hash: str, rule: ConditionStop, query: Select[Any]) -> bool:
    """Whether a stop condition reads the date or a time window (more than "now" as the cut-off for orders and
    events, whose times the change log keeps). Compiling is not free: remembered per version and rule."""
    key = (scenario_hash, repr(rule.when))
    if key not in _READS_CLOCK:
        _READS_CLOCK[key] = any(name != NOW_PREFIX for name in clock_keys(query))
    return _READS_CLOCK[key]
