"""Moving enrollments through a scenario's steps, a whole group (same version, same step) at a time.

Conditions of a group are evaluated in one SQL query; each enrollment then takes its path. A step's completion
time is the moment it was due, so a scheduler that was down catches up with the planned spacing (frequency
caps keep the catch-up from flooding anyone), and every decision lands in the journal in the same transaction as
the move it explains.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Connection

from ecrm_dsl.conditions.evaluate import (
    CustomerSnapshot,
    EnrollmentSnapshot,
    EventSnapshot,
    evaluate,
    load_snapshots,
)
from ecrm_dsl.conditions.normal import Normal, reads_only_the_event
from ecrm_dsl.conditions.sql import ClockKeys, as_of, clock_keys, select_enrollments
from ecrm_dsl.language.timing import due_at
from ecrm_dsl.plan.nodes import BranchNode, ExitNode, Node, SendNode, SplitNode, UpdateNode, WaitNode
from ecrm_dsl.plan.project import TemplatePlan
from ecrm_dsl.runtime.assign import pick_variant
from ecrm_dsl.runtime.journal import Journal
from ecrm_dsl.runtime.model import DeployedPlan, ScenarioVersion
from ecrm_dsl.runtime.policy import CapCheck, Reservation, cap_lookback, quiet_until, reachable
from ecrm_dsl.store import coupons, customers, outbox, scheduled
from ecrm_dsl.store import enrollments as store
from ecrm_dsl.store.bulk import one_of_param, one_of_value
from ecrm_dsl.store.enrollments import Enrollment
from ecrm_dsl.store.prepared import run
from ecrm_dsl.store.scheduled import ScheduledStep
from ecrm_dsl.store.tables import TABLES


@dataclasses.dataclass(frozen=True)
class _GuardTest:
    """A step's guard (or a branch arm's condition) over the enrollments bound as ``ids``, built once per plan."""

    query: Any
    keys: ClockKeys  # its clock parameters, bound as of each tick (``conditions.sql.as_of``)


def _guard_test(version: ScenarioVersion, condition: Normal, dialect: str, now: datetime) -> _GuardTest:
    # Kept with the plan: the statement depends on its segments, types and timezone as well as the condition.
    # By the condition's text: the nurture-only test is a condition made afresh for every batch.
    memo, key = version.plan.memo, ("guard", version.hash, repr(condition), dialect)
    found: _GuardTest | None = memo.get(key)
    if found is None:
        query = select_enrollments(
            condition,
            now=now,
            timezone=version.plan.timezone,
            segments=version.plan.segments,
            types=version.entry_types(),
        ).where(one_of_param(dialect, TABLES.enrollments.c.id, "ids"))
        found = memo[key] = _GuardTest(query, clock_keys(query))
    return found


def _heard_in_time(row: Enrollment, occurred_at: datetime, now: datetime) -> bool:
    """An event counts for a wait if it happened after the wait began and by its deadline (and by now)."""
    assert row.waiting_since is not None
    return row.waiting_since < occurred_at <= min(row.due_at or now, now)


HELD_MOVES = 5_000  # moves ``held_moves`` keeps before it writes them


class StepRunner:
    def __init__(
        self,
        conn: Connection,
        now: datetime,
        journal: Journal,
        versions: Mapping[str, ScenarioVersion] | None = None,
    ):
        """``versions``: every running scenario version by hash, so that a send can see the steps other
        scenarios have scheduled for its customers (by default, the sending version's own deployment)."""
        self.conn = conn
        self.now = now
        self.journal = journal
        self.versions = versions
        # Moves ``place`` keeps for one write (see ``held_moves``); None: each call writes its own.
        self._held: list[dict[str, Any]] | None = None
        # What ``event_matches`` reads, loaded for a whole batch inside ``matching`` (None outside it).
        self._snapshots: dict[str, CustomerSnapshot] | None = None
        self._entry_properties: dict[int, dict[str, Any]] | None = None

    # ------------------------------------------------------------------ placing at a step

    def place(
        self, version: ScenarioVersion, rows: Sequence[Enrollment], target: str | None, previous: dict[int, datetime]
    ) -> None:
        """Put each enrollment at ``target`` with its due time; steps whose date anchor is missing are skipped."""
        # Only a step counting from an order or subscription date can be skipped (to the next one): the dates
        # those steps count from are loaded, and none when the target counts from the previous step or entry.
        dated = _date_anchors(version, target)
        anchors = customers.entry_anchors(self.conn, rows, dated) if dated else {}
        moves, completed = [], []
        for row in rows:
            node_id, acted = target, previous[row.id]
            while node_id is not None:
                node = version.nodes[node_id]
                due = due_at(
                    version.timings[node_id],
                    previous=acted,
                    entry=row.entered_at,
                    anchors=anchors.get(row.id, _NO_ANCHORS),
                    timezone=version.plan.timezone,
                    calendar=version.plan.calendar,
                )
                if due is not None:
                    break
                anchor = node.timing.anchor if node.timing is not None else "anchor"
                self.journal.add(row, "skipped", f"no {anchor} date for this customer", node=node_id, at=acted)
                node_id = node.next
            if node_id is None:
                completed.append(row)
            else:
                moves.append({"eid": row.id, "node": node_id, "due": due, "previous": acted, "waiting": None})
        if self._held is None:
            store.place(self.conn, moves)
        else:
            self._held.extend(moves)
            if len(self._held) >= HELD_MOVES:  # memory stays flat however many enter
                store.place(self.conn, self._held)
                self._held = []
        for row in completed:
            self.journal.add(row, "completed", "reached the end of the scenario", at=previous[row.id])
        if completed:
            store.finish(
                self.conn, [r.id for r in completed], "completed", "end of flow", max(previous[r.id] for r in completed)
            )

    @contextmanager
    def held_moves(self) -> Iterator[None]:
        """Inside, ``place`` keeps the step and due time it gives each enrollment, and they are written in one
        statement on the way out (a tick's entries into every scenario: nothing reads them meanwhile). Ending
        an enrollment is never held: the re-entry rule reads it."""
        self._held = []
        try:
            yield
            store.place(self.conn, self._held)
        finally:
            self._held = None

    def _continue(self, version: ScenarioVersion, rows: Sequence[Enrollment], target: str | None) -> None:
        self.place(version, rows, target, {r.id: r.due_at or self.now for r in rows})

    # ------------------------------------------------------------------ acting at a step

    def run(self, version: ScenarioVersion, node_id: str, rows: list[Enrollment]) -> None:
        node = version.nodes[node_id]
        fresh = [r for r in rows if r.waiting_since is None]  # a wait that is listening was already let in
        if node.guard is not None and fresh:
            passing = self.holds(version, node.guard, fresh)
            skipped = [r for r in fresh if r.id not in passing]
            for row in skipped:
                self.journal.add(row, "skipped", "the step's condition does not hold", node=node_id, cause="condition")
            self._continue(version, skipped, node.next)
            rows = [r for r in rows if r not in skipped]
        if rows:
            self._act(version, node, rows)

    def _act(self, version: ScenarioVersion, node: Node, rows: list[Enrollment]) -> None:
        if isinstance(node, SendNode):
            self._send(version, node, rows)
        elif isinstance(node, UpdateNode):
            self._update(version, node, rows)
        elif isinstance(node, ExitNode):
            self._exit(version, node, rows)
        elif isinstance(node, WaitNode):
            self._wait(version, node, rows)
        elif isinstance(node, BranchNode):
            self._branch(version, node, rows)
        else:
            self._split(version, node, rows)

    def holds(self, version: ScenarioVersion, condition: Normal, rows: Sequence[Enrollment]) -> set[int]:
        return self._holding(version, condition, [r.id for r in rows])

    def _holding(self, version: ScenarioVersion, condition: Normal, ids: Sequence[int]) -> set[int]:
        """The enrollments among ``ids`` for which ``condition`` holds now, in one query."""
        dialect = self.conn.dialect.name
        test = _guard_test(version, condition, dialect, self.now)
        params = {**as_of(test.keys, self.now, version.plan.timezone), "ids": one_of_value(dialect, ids)}
        return set(run(self.conn, test.query, params).scalars())

    def _update(self, version: ScenarioVersion, node: UpdateNode, rows: list[Enrollment]) -> None:
        stored = set(TABLES.customers.c.keys())
        columns = {k: _plain(v) for k, v in node.set.items() if k in stored}
        custom = {k: _plain(v) for k, v in node.set.items() if k not in stored}
        add, remove = list(node.add_tags), list(node.remove_tags)
        for row in rows:
            customers.apply_updates(self.conn, row.customer_id, columns, custom, add, remove)
            self.journal.add(row, "updated", None, node=node.id, set=node.set, tags=add, untags=remove)
        self._continue(version, rows, node.next)

    def _exit(self, version: ScenarioVersion, node: ExitNode, rows: list[Enrollment]) -> None:
        for row in rows:
            self.journal.add(row, "exited", node.reason or "exit step", node=node.id)
        store.finish(self.conn, [r.id for r in rows], "exited", node.reason or "exit step", self.now)

    def _branch(self, version: ScenarioVersion, node: BranchNode, rows: list[Enrollment]) -> None:
        remaining = list(rows)
        for index, arm in enumerate(node.arms):
            if not remaining:
                break
            condition = arm.condition
            if condition is None:
                chosen = remaining
            else:
                holding = self.holds(version, condition, remaining)  # one query for the arm, not one per row
                chosen = [r for r in remaining if r.id in holding]
            label = "else" if condition is None else f"arm {index + 1}"
            for row in chosen:
                self.journal.add(row, "branched", label, node=node.id, arm=index)
            self._continue(version, chosen, arm.next)
            remaining = [r for r in remaining if r not in chosen]
        for row in remaining:
            self.journal.add(row, "branched", "no arm matched", node=node.id)
        self._continue(version, remaining, node.next)

    def _split(self, version: ScenarioVersion, node: SplitNode, rows: list[Enrollment]) -> None:
        weights = [(v.name, v.weight) for v in node.variants]
        targets = {v.name: v.next for v in node.variants}
        by_variant: dict[str, list[Enrollment]] = {}
        for row in rows:
            name = pick_variant(row.customer_id, version.id, node.id, weights)
            by_variant.setdefault(name, []).append(row)
            self.journal.add(row, "assigned", f"variant {name}", node=node.id, variant=name)
        for name, group in sorted(by_variant.items()):
            self._continue(version, group, targets[name])

    def _wait(self, version: ScenarioVersion, node: WaitNode, rows: list[Enrollment]) -> None:
        if not node.listens:
            self._continue(version, rows, node.next)
            return
        starting = [r for r in rows if r.waiting_since is None]
        if starting:
            timeout = node.timeout_seconds
            store.place(
                self.conn,
                [
                    {
                        "eid": r.id,
                        "node": node.id,
                        "previous": r.previous_at,
                        "waiting": r.due_at,
                        "due": r.due_at + timedelta(seconds=timeout) if timeout and r.due_at else None,
                    }
                    for r in starting
                ],
            )
            for row in starting:
                self.journal.add(row, "waiting", f"for {node.event}", node=node.id)
        timed_out = [r for r in rows if r.waiting_since is not None]
        if timed_out:
            self.listen(version, node, timed_out)
            still = store.by_ids(self.conn, [r.id for r in timed_out])
            expired = [r for r in still if r.node_id == node.id and r.waiting_since is not None]
            for row in expired:
                self.journal.add(row, "timed_out", f"no {node.event} in time", node=node.id)
            self._continue(version, expired, node.on_timeout)

    def listen(self, version: ScenarioVersion, node: WaitNode, rows: list[Enrollment]) -> None:
        """Waiting enrollments whose event has happened take the on-event path."""
        assert node.event is not None, "only a wait for an event listens"
        found = customers.matching_events(
            self.conn,
            [r.customer_id for r in rows],
            node.event,
            min(r.waiting_since for r in rows if r.waiting_since),
            self.now,
        )
        heard: dict[int, dict[str, Any]] = {}
        in_time = {
            row.id: [e for e in found.get(row.customer_id, []) if _heard_in_time(row, e["occurred_at"], self.now)]
            for row in rows
        }
        listening = [row for row in rows if in_time[row.id]]
        with self.matching(listening, where=node.where, same=node.same is not None):
            for row in listening:
                for event in in_time[row.id]:
                    if self.event_matches(version, row, event, node.same, node.where):
                        heard[row.id] = event
                        break
        for row in rows:
            if row.id in heard:
                self.journal.add(row, "heard", f"{node.event}", node=node.id, event_id=heard[row.id]["id"])
        self.place(
            version,
            [r for r in rows if r.id in heard],
            node.on_event,
            {r.id: heard[r.id]["occurred_at"] for r in rows if r.id in heard},
        )

    @contextmanager
    def matching(self, rows: Sequence[Enrollment], *, where: Normal | None, same: bool) -> Iterator[None]:
        """Within the block, :meth:`event_matches` for ``rows`` reads what it needs from one load for all of them:
        their customers' snapshots (a rule whose condition ``where`` reads more than the event) and their entry
        events' properties (``same``: a rule keyed to the entry event) — not one load per row. Nothing is kept
        after the block, so a later check sees the store as it is then."""
        if where is not None and not reads_only_the_event(where) and rows:
            self._snapshots = load_snapshots(self.conn, customer_ids={r.customer_id for r in rows})
        if same and rows:
            entry_ids = [r.entry_event_id for r in rows if r.entry_event_id]
            self._entry_properties = customers.entry_event_properties(self.conn, entry_ids)
        try:
            yield
        finally:
            self._snapshots, self._entry_properties = None, None

    def event_matches(
        self, version: ScenarioVersion, row: Enrollment, event: dict[str, Any], same: str | None, where: Normal | None
    ) -> bool:
        """Whether an event counts for this enrollment: keyed to the entry event (same …) and its condition."""
        if same is not None:
            entry = self._entry_properties
            if entry is None:
                entry = customers.entry_event_properties(self.conn, [row.entry_event_id] if row.entry_event_id else [])
            wanted = entry.get(row.entry_event_id or -1, {}).get(same)
            if wanted is None or (event["properties"] or {}).get(same) != wanted:
                return False
        if where is None:
            return True
        snapshot = (self._snapshots or {}).get(row.customer_id)
        if snapshot is None and reads_only_the_event(where):
            snapshot = CustomerSnapshot(row.customer_id)  # nothing of the customer is read
        if snapshot is None:
            snapshot = load_snapshots(self.conn, customer_ids=[row.customer_id])[row.customer_id]
        seen = EventSnapshot(
            event["id"], str(version.entry_event or ""), event["occurred_at"], event["properties"] or {}
        )
        enrollment = EnrollmentSnapshot(row.id, row.scenario_id, row.entered_at, entry_event=seen)
        return evaluate(
            where,
            dataclasses.replace(snapshot, enrollment=enrollment),
            now=self.now,
            timezone=version.plan.timezone,
            segments=version.plan.segments,
            types=version.plan.types(None),
        )

    # ------------------------------------------------------------------ sending

    def _send(self, version: ScenarioVersion, node: SendNode, rows: list[Enrollment]) -> None:
        plan = version.plan
        template = plan.templates[node.template]
        marketing = template.marketing
        custom = any(
            rule.attribute is not None and rule.attribute not in customers.PROFILE_COLUMNS
            for rule in plan.policies.consent.values()
        )
        profiles = customers.profiles(self.conn, [r.customer_id for r in rows], custom=custom)
        caps = plan.policies.frequency_caps
        capped = marketing and bool(caps)
        since = cap_lookback(self.now, caps)
        recent = outbox.recent_sends(self.conn, [r.customer_id for r in rows], since) if capped else {}
        check = CapCheck(caps, plan.timezone)
        reserved = self._reservations(version, rows, profiles) if capped else {}
        quiet = quiet_until(self.now, plan.policies.quiet_hours, plan.timezone) if marketing else None
        protected = self._protected(version, rows)
        # A customer moved to a new version can reach a step id they were already sent under the old one.
        already = outbox.existing_keys(self.conn, [f"{r.id}:{node.id}" for r in rows])
        sent, skipped, deferred = [], [], []
        ready: list[tuple[Enrollment, str, str]] = []  # passed every check: (row, channel, fallback note)
        queued: list[tuple[Any, ...]] = []
        for row in rows:
            if row.holdout:
                self.journal.add(
                    row, "skipped", "holdout: enrolled and measured, never messaged", node=node.id, cause="holdout"
                )
                skipped.append(row)
                continue
            if f"{row.id}:{node.id}" in already:
                self.journal.add(
                    row,
                    "skipped",
                    "already sent at this step (under an earlier version)",
                    node=node.id,
                    cause="already_sent",
                )
                skipped.append(row)
                continue
            if row.id in protected:
                self.journal.add(
                    row,
                    "skipped",
                    "nurture-only: the policies keep this customer from sell scenarios",
                    node=node.id,
                    cause="nurture_only",
                )
                skipped.append(row)
                continue
            if quiet is not None:
                self.journal.add(
                    row,
                    "deferred",
                    f"quiet hours until {self._shop_time(plan, quiet)}",
                    node=node.id,
                    cause="quiet_hours",
                )
                deferred.append((row.id, quiet))
                continue
            reach = reachable(
                [node.channel, *node.fallback],
                profiles.get(row.customer_id, {}),
                marketing,
                plan.policies.consent,
                row.entry_order_id is not None,
            )
            if reach.channel is None:
                self.journal.add(
                    row,
                    "skipped",
                    "no reachable channel: " + "; ".join(reach.reasons),
                    node=node.id,
                    cause="no_channel",
                )
                skipped.append(row)
                continue
            if marketing:
                verdict = check.verdict(
                    reach.channel, recent.get(row.customer_id, ()), self.now, reserved.get(row.customer_id, ())
                )
                if verdict.action == "skip":
                    self.journal.add(row, "skipped", verdict.reason, node=node.id, cause=verdict.cause)
                    skipped.append(row)
                    continue
                if verdict.action == "defer":
                    assert verdict.until is not None
                    # The window opens at a shop midnight, which is usually quiet: go when both allow.
                    quiet_end = quiet_until(verdict.until, plan.policies.quiet_hours, plan.timezone)
                    until = quiet_end or verdict.until
                    opens = f", open again {self._shop_time(plan, verdict.until)} in quiet hours" if quiet_end else ""
                    self.journal.add(
                        row,
                        "deferred",
                        f"{verdict.reason}{opens}, until {self._shop_time(plan, until)}",
                        node=node.id,
                        cause=verdict.cause,
                    )
                    deferred.append((row.id, until))
                    continue
                recent.setdefault(row.customer_id, []).insert(0, (reach.channel, self.now))
            ready.append((row, reach.channel, f" (fallback; {'; '.join(reach.reasons)})" if reach.reasons else ""))
        drawn = self._coupons(plan, template, node, [row for row, _, _ in ready])
        for row, channel, fallback in ready:
            if drawn is not None and row.id not in drawn:
                assert template.coupon is not None
                self.journal.add(
                    row,
                    "skipped",
                    f"coupon pool {template.coupon.pool} has no unused code left: import more with ecrm import coupons",
                    node=node.id,
                    cause="no_coupon",
                )
                skipped.append(row)
                continue
            queued.append(self._delivery(row, node, channel, template, drawn.get(row.id) if drawn else None))
            self.journal.add(
                row,
                "sent",
                f"{channel}{fallback}",
                node=node.id,
                channel=channel,
                template=node.template,
                key=queued[-1][0],
            )
            sent.append(row)
        outbox.enqueue(self.conn, queued)
        store.defer(self.conn, deferred)
        self.place(version, sent + skipped, node.next, {r.id: self.now for r in sent + skipped})

    def _reservations(
        self, version: ScenarioVersion, rows: list[Enrollment], profiles: Mapping[str, dict[str, Any]]
    ) -> dict[str, list[Reservation]]:
        """Per customer, the marketing sends higher-priority scenarios have scheduled within reach of the caps:
        each keeps its slot. A step counts when its customer is messaged (not holdout), its guard holds now, and
        a channel of it (or a fallback) can reach the customer; it counts at its due time, moved past quiet hours."""
        versions = self.versions or {v.hash: v for v in version.plan.scenarios()}
        higher = {h: v for h, v in versions.items() if v.rank < version.rank}
        if not higher:
            return {}
        policies = version.plan.policies
        horizon = self.now + (self.now - cap_lookback(self.now, policies.frequency_caps))
        found = scheduled.scheduled_steps(
            self.conn, [r.customer_id for r in rows], sorted({v.id for v in higher.values()}), horizon
        )
        sends: list[tuple[ScheduledStep, SendNode, ScenarioVersion]] = []
        for step in found:
            other = higher.get(step.scenario_hash)
            node = other.nodes.get(step.node_id) if other is not None else None
            if other is None or not isinstance(node, SendNode) or not other.plan.templates[node.template].marketing:
                continue
            sends.append((step, node, other))
        guarded: dict[tuple[str, str], list[int]] = {}
        for step, node, other in sends:
            if node.guard is not None:
                guarded.setdefault((other.hash, node.id), []).append(step.enrollment_id)
        failing: set[int] = set()
        for (scenario_hash, node_id), ids in sorted(guarded.items()):
            other = higher[scenario_hash]
            guard = other.nodes[node_id].guard
            assert guard is not None
            failing |= set(ids) - self._holding(other, guard, ids)
        out: dict[str, list[Reservation]] = {}
        for step, node, _other in sends:
            if step.enrollment_id in failing:
                continue
            reach = reachable(
                [node.channel, *node.fallback],
                profiles.get(step.customer_id, {}),
                True,
                policies.consent,
                step.has_entry_order,
            )
            if reach.channel is None:
                continue
            at = max(step.due_at, self.now)
            at = quiet_until(at, policies.quiet_hours, policies.timezone) or at
            out.setdefault(step.customer_id, []).append(Reservation(reach.channel, at, step.scenario_id, node.id))
        return out

    @staticmethod
    def _shop_time(plan: DeployedPlan, moment: datetime) -> str:
        """A moment for a reason in the journal: ISO 8601 in the shop's timezone, as ``ecrm explain`` shows it."""
        return moment.astimezone(ZoneInfo(plan.timezone)).isoformat()

    def _protected(self, version: ScenarioVersion, rows: list[Enrollment]) -> set[int]:
        """Enrollments of a sell scenario whose customer is in a segment the policies keep for nurture only."""
        segments = version.plan.policies.nurture_only
        if version.scenario.kind != "sell" or not segments:
            return set()
        condition: Normal = ["or", *(["call", "in_segment", ["name", s]] for s in segments)]
        return self.holds(version, condition if len(segments) > 1 else condition[1], rows)

    def _coupons(
        self, plan: DeployedPlan, template: TemplatePlan, node: SendNode, rows: list[Enrollment]
    ) -> dict[int, dict[str, str]] | None:
        """For a template that draws coupons: enrollment id -> its coupon as the template shows it (an enrollment
        missing from it found the pool empty). None for a template without a pool."""
        draw = template.coupon
        if draw is None:
            return None
        valid_until = self.now + timedelta(seconds=draw.valid_for_seconds)
        drawn = coupons.draw(self.conn, draw.pool, [(r.id, r.customer_id) for r in rows], self.now, valid_until)
        zone = ZoneInfo(plan.timezone)
        return {
            enrollment: {
                "code": coupon.code,
                # The last shop day it is valid on: a code that expires at 00:00 is good through the day before.
                "expires_on": (coupon.expires_at - _INSTANT).astimezone(zone).date().isoformat()
                if coupon.expires_at
                else "",
            }
            for enrollment, coupon in drawn.items()
        }

    def _delivery(
        self,
        row: Enrollment,
        node: SendNode,
        channel: str,
        template: TemplatePlan,
        coupon: dict[str, str] | None = None,
    ) -> tuple[Any, ...]:
        """A new outbox row, in the order of ``outbox.COLUMNS``."""
        return (
            f"{row.id}:{node.id}",
            row.id,
            row.customer_id,
            row.scenario_id,
            row.scenario_hash,
            node.id,
            channel,
            node.template,
            template.category,
            {**node.params, "coupon": coupon} if coupon else node.params,
            self.now,
            self.now,
        )


_NO_ANCHORS: dict[str, datetime | date | None] = {}
_INSTANT = timedelta(microseconds=1)


def _date_anchor(timing: Any) -> str | None:
    """The order or subscription date a step's timing counts from, if any (not the previous step, not entry)."""
    if timing is None:
        return None
    anchor = timing.get("anchor", "previous")
    return None if anchor in ("previous", "entry") else str(anchor)


def _date_anchors(version: ScenarioVersion, target: str | None) -> frozenset[str]:
    """The dates placing at ``target`` can read: its own, and while a step counts from a date (and may be
    skipped for the lack of it), the next step's."""
    found: set[str] = set()
    while target is not None:
        anchor = _date_anchor(version.timings[target])
        if anchor is None:
            break
        found.add(anchor)
        target = version.nodes[target].next
    return frozenset(found)


def _plain(value: Any) -> Any:
    """A plan literal as the store keeps it: money in yen, durations in seconds."""
    if isinstance(value, dict):
        return value.get("money", value.get("seconds"))
    return value
