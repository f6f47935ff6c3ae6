"""Goals and stop rules end enrollments before any step acts, so nothing is sent after a repeat purchase even
when it happened between two ticks.

Every running version is settled at once. The (enrollment, event) pairs of every event type are read in one query
for all versions with a goal or a stop rule on any of them, and a stop condition that several versions share (the
usual ``customer.unsubscribed == true``) is one query for all of them. Then each version, in priority order, takes
its goals and its stop rules in order, exactly as if it were settled alone: an enrollment ended by one rule is
not seen by the next.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, Select

from ecrm_dsl.conditions.sql import NOW_PREFIX, ClockKeys, as_of, clock_keys, select_enrollments
from ecrm_dsl.plan.scenario import ConditionStop, EventStop, Goal
from ecrm_dsl.runtime.journal import Journal
from ecrm_dsl.runtime.model import ScenarioVersion
from ecrm_dsl.runtime.steps import StepRunner
from ecrm_dsl.store import changes
from ecrm_dsl.store import enrollments as store
from ecrm_dsl.store.enrollments import Enrollment, EventPair

# New enrollments since the last tick (in the versions one query reads) past which goals and event stops read
# the events by time for everyone: looking up each new enrollment's events (a newsletter's 58,000) costs more.
BIG_ENTRY = 5_000


@dataclass(frozen=True)
class StopScope:
    """Who can have an outcome not judged yet: enrollments of the customers changed since the last tick
    (``customers`` selects their ids), and enrollments after ``enrollment`` by id, which entered since and were
    never judged (``entered``: how many, per scenario id)."""

    customers: changes.Customers
    enrollment: int
    entered: Mapping[str, int] = field(default_factory=dict)
    newest: int | None = None  # the newest enrollment id when the scope is used (None: not known)
    # Everyone outside the scope was judged as of this very moment already (a tick's second look, at its
    # entrants): then even a condition that reads the clock holds for nobody else.
    rest_judged_now: bool = False

    @property
    def nothing_new(self) -> bool:
        """No customer changed and nobody entered since the last tick: no event and no change in the log can
        end an enrollment that the last tick did not judge."""
        listed = changes.inline(self.customers)
        return listed is not None and not listed and self.newest is not None and self.newest <= self.enrollment

    def narrowing(self, scenario_ids: Sequence[str]) -> tuple[changes.Customers, int] | None:
        """The scope for a query over these scenarios' enrollments, or None to read by time for everyone."""
        if sum(self.entered.get(s, 0) for s in set(scenario_ids)) > BIG_ENTRY:
            return None
        return (self.customers, self.enrollment)


def settle_outcomes(
    conn: Connection,
    versions: Sequence[ScenarioVersion],
    runner: StepRunner,
    journal: Journal,
    since: datetime,
    scope: StopScope | None = None,
) -> None:
    """End enrollments whose goal or stop event happened in (since, now], or whose stop condition holds (for every
    active enrollment when ``scope`` is None). ``versions`` come in priority order; the journal gets each
    version's outcomes in that order."""
    pairs = _event_pairs(conn, versions, since, runner.now, scope)
    holding = _condition_stops(conn, versions, runner.now, scope)
    ended: dict[int, tuple[str, str]] = {}  # enrollment id → (status, outcome)
    for version in versions:
        for goal in version.scenario.goals:
            _goal(version, goal, pairs.get(goal.event, []), runner, journal, since, ended)
        for index, rule in enumerate(version.scenario.stop):
            if isinstance(rule, ConditionStop):
                rows = [r for r in holding.get((version.hash, index), []) if r.id not in ended]
                _end(rows, "stop rule holds", journal, ended)
            else:
                _event_stop(version, rule, pairs.get(rule.event, []), runner, journal, ended)
    by_outcome: dict[tuple[str, str], list[int]] = {}
    for enrollment_id, outcome in ended.items():
        by_outcome.setdefault(outcome, []).append(enrollment_id)
    for (status, reason), ids in sorted(by_outcome.items()):
        store.mark(conn, sorted(ids), status, reason, runner.now)


def _completed_since(goal: Goal, since: datetime) -> datetime | None:
    """A completed enrollment can still convert on an event in (since, now] within its window, so it counts if it
    entered after ``since - window``: measured from the tick instead, an event judged a tick late was missed."""
    return since - timedelta(seconds=goal.within_seconds) if goal.within_seconds is not None else None


def _event_pairs(
    conn: Connection, versions: Sequence[ScenarioVersion], since: datetime, now: datetime, scope: StopScope | None
) -> dict[str, list[EventPair]]:
    """Per event type, the pairs every goal and event stop on it may need: one query for all types."""
    if scope is not None and scope.nothing_new:
        return {}
    readers: dict[str, dict[str, str]] = {}  # event type → {scenario hash: scenario id}
    completed: dict[str, list[datetime]] = {}
    for version in versions:
        for goal in version.scenario.goals:
            readers.setdefault(goal.event, {})[version.hash] = version.id
            window = _completed_since(goal, since)
            if window is not None:
                completed.setdefault(goal.event, []).append(window)
        for rule in version.scenario.stop:
            if isinstance(rule, EventStop):
                readers.setdefault(rule.event, {})[version.hash] = version.id
    # One query for every type: each rule takes the pairs of its own type and version, and a completed
    # enrollment only within its own goal's window (``_open``), so reading the union of them changes nothing.
    hashes = {h: sid for readers_of in readers.values() for h, sid in readers_of.items()}
    narrowing = scope.narrowing(list(hashes.values())) if scope is not None else None
    windows = [moment for moments in completed.values() for moment in moments]
    return store.event_pairs(
        conn,
        hashes,
        sorted(readers),
        since=since,
        now=now,
        completed_since=min(windows) if windows else None,
        changed=narrowing,
    )


def _open(pair: EventPair, completed_since: datetime | None) -> bool:
    """Whether a rule sees this enrollment: active, or completed within the goal's window."""
    if pair.status == store.ACTIVE:
        return True
    return completed_since is not None and pair.status == "completed" and pair.enrollment.entered_at >= completed_since


def _goal(
    version: ScenarioVersion,
    goal: Goal,
    pairs: list[EventPair],
    runner: StepRunner,
    journal: Journal,
    since: datetime,
    ended: dict[int, tuple[str, str]],
) -> None:
    window = timedelta(seconds=goal.within_seconds) if goal.within_seconds is not None else None
    completed_since = _completed_since(goal, since)
    outcome = ("converted", f"goal {goal.event}")
    candidates = []
    for pair in pairs:
        row, event = pair.enrollment, pair.event
        if row.scenario_hash != version.hash or row.id in ended or not _open(pair, completed_since):
            continue
        if event["id"] == row.entry_event_id:
            continue  # the entry order itself is not a repeat purchase
        if window is not None and event["occurred_at"] > row.entered_at + window:
            continue
        if (
            goal.match == "repeat"
            and row.entry_order_id
            and (event["properties"] or {}).get("order_id") == row.entry_order_id
        ):
            continue
        candidates.append(pair)
    same = goal.property if goal.match == "same" else None
    rows = [pair.enrollment for pair in candidates]
    with runner.matching(rows, where=goal.where, same=same is not None):
        for pair in candidates:
            row, event = pair.enrollment, pair.event
            if row.id not in ended and runner.event_matches(version, row, event, same, goal.where):
                journal.add(
                    row,
                    "converted",
                    f"goal {goal.event}",
                    node=row.node_id,
                    at=event["occurred_at"],
                    event_id=event["id"],
                )
                ended[row.id] = outcome


def _event_stop(
    version: ScenarioVersion,
    rule: EventStop,
    pairs: list[EventPair],
    runner: StepRunner,
    journal: Journal,
    ended: dict[int, tuple[str, str]],
) -> None:
    stopped: dict[int, Enrollment] = {}
    candidates = [
        pair
        for pair in pairs
        if pair.enrollment.scenario_hash == version.hash
        and pair.enrollment.id not in ended
        and _open(pair, None)
        and pair.event["id"] != pair.enrollment.entry_event_id
    ]
    rows = [pair.enrollment for pair in candidates]
    with runner.matching(rows, where=rule.where, same=rule.same is not None):
        for pair in candidates:
            row, event = pair.enrollment, pair.event
            if row.id not in stopped and runner.event_matches(version, row, event, rule.same, rule.where):
                stopped[row.id] = row
    _end(list(stopped.values()), f"stop on {rule.event}", journal, ended)


def _end(rows: list[Enrollment], reason: str, journal: Journal, ended: dict[int, tuple[str, str]]) -> None:
    for row in rows:
        journal.add(row, "exited", reason, node=row.node_id)
        ended[row.id] = ("exited", reason)


# --------------------------------------------------------------------------- stop conditions


@dataclass(frozen=True)
class _StopQuery:
    """A version's stop condition, built once: the query, its clock parameters, and what it shares with other
    versions (``shape``: the SQL and its non-clock values; versions with the same shape are one query)."""

    query: Select[Any]
    keys: ClockKeys
    shape: tuple[Any, ...]

    @property
    def reads_clock(self) -> bool:
        """Whether it reads the date or a time window: more than "now" as the cut-off for orders and events,
        whose times the change log keeps, so the changed customers are not all it can hold for."""
        return any(name != NOW_PREFIX for name in self.keys)


def _stop_query(version: ScenarioVersion, index: int, rule: ConditionStop, now: datetime) -> _StopQuery:
    memo, key = version.plan.memo, ("stop", version.hash, index)
    if key not in memo:
        plan = version.plan
        query = select_enrollments(
            rule.when, now=now, timezone=plan.timezone, segments=plan.segments, types=version.entry_types()
        )
        compiled = query.compile()
        keys = clock_keys(query)
        values = tuple(sorted((k, repr(v)) for k, v in compiled.params.items() if k not in keys))
        memo[key] = _StopQuery(query, keys, (str(compiled), values, plan.timezone))
    stop = memo[key]
    assert isinstance(stop, _StopQuery)
    return stop


def _condition_stops(
    conn: Connection, versions: Sequence[ScenarioVersion], now: datetime, scope: StopScope | None
) -> dict[tuple[str, int], list[Enrollment]]:
    """Per (version hash, stop rule index), the active enrollments whose stop condition holds now."""
    groups: dict[tuple[Any, ...], list[tuple[ScenarioVersion, int, _StopQuery]]] = {}
    for version in versions:
        for index, rule in enumerate(version.scenario.stop):
            if isinstance(rule, ConditionStop):
                stop = _stop_query(version, index, rule, now)
                groups.setdefault(stop.shape, []).append((version, index, stop))
    holding: dict[tuple[str, int], list[int]] = {}
    for members in groups.values():
        stop = members[0][2]
        # Nothing but a change in the log can make a condition that does not read the clock hold.
        narrowed = scope is not None and (not stop.reads_clock or scope.rest_judged_now)
        changed = (scope.customers, scope.enrollment) if scope is not None and narrowed else None
        if changed is not None and scope is not None and scope.nothing_new:
            continue
        found = store.holding(
            conn,
            stop.query,
            stop.shape,
            {v.hash: v.id for v, _, _ in members},
            as_of(stop.keys, now, members[0][0].plan.timezone),
            changed,
        )
        index_of: dict[str, int] = {}
        for version, index, _ in members:
            index_of.setdefault(version.hash, index)  # the same condition twice: the first rule stops
        for enrollment_id, scenario_hash in found:
            holding.setdefault((scenario_hash, index_of[scenario_hash]), []).append(enrollment_id)
    rows = {r.id: r for r in store.by_ids(conn, sorted(i for ids in holding.values() for i in ids))}
    return {key: [rows[i] for i in sorted(ids)] for key, ids in holding.items()}
