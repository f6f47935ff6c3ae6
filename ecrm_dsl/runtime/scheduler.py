"""A tick: settle outcomes (goals, stop rules), enroll (triggers since the last tick), advance due steps.

Each unit of work — the tick's outcomes and entries together, one batch of one step — commits on its own with
its journal entries and outbox rows. A crash loses at most the unit in progress, which the next tick redoes from
the same state; outbox keys make a redone send a no-op rather than a duplicate.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

from sqlalchemy import Connection, Engine

from ecrm_dsl.language.i18n import tr
from ecrm_dsl.plan.model import Plan
from ecrm_dsl.plan.nodes import WaitNode
from ecrm_dsl.plan.project import Policies
from ecrm_dsl.runtime.enroll import enroll_all, segment_reader
from ecrm_dsl.runtime.journal import Journal
from ecrm_dsl.runtime.lease import TickLease
from ecrm_dsl.runtime.model import DeployedPlan, ScenarioVersion, sort_for_priority
from ecrm_dsl.runtime.outcomes import BIG_ENTRY, StopScope, settle_outcomes
from ecrm_dsl.runtime.steps import StepRunner
from ecrm_dsl.store import changes, deployments, state
from ecrm_dsl.store import enrollments as store
from ecrm_dsl.store.triggers import LATE_ARRIVAL

BATCH = 2_000
STOP_READER = "stop"  # the change-log reader of the stop rules (one for all versions)
MAX_ROUNDS = 1_000_000  # batches in a tick; a plan is a finite acyclic graph, this only guards against a bug


class NoDeployment(RuntimeError):
    """There is no deployed plan to run."""


class ClockWentBack(ValueError):
    """A tick earlier than the last one: refused, because state would be judged as of the past."""

    def __init__(self, now: datetime, last: datetime):
        self.now, self.last = now, last
        super().__init__(
            f"the tick time {now.isoformat()} is before the last tick {last.isoformat()}; "
            "ticks only go forward (re-running the last one is fine)"
        )


@dataclass
class TickReport:
    now: datetime
    entered: Counter[str] = field(default_factory=Counter)
    decisions: Counter[str] = field(default_factory=Counter)

    @property
    def total_entered(self) -> int:
        return sum(self.entered.values())


LAST_TICK = "last_tick"


def last_tick(conn: Connection) -> datetime | None:
    value = state.read(conn, LAST_TICK)
    return datetime.fromisoformat(value) if value else None


class Scheduler:
    def __init__(self, engine: Engine, late_arrival: timedelta = LATE_ARRIVAL, lease: TickLease | None = None):
        """``late_arrival``: how far back each tick looks again for events that reached the store late (a replay
        of history, where everything is already there, needs none). ``lease``: with several workers on the
        store, every transaction of a tick renews it first, and the tick stops (:class:`LostLease`) if another
        worker has it."""
        self.engine = engine
        self.late_arrival = late_arrival
        self.lease = lease
        # The stored plan and the policies are held with the view, so their ids in the key stay theirs.
        self._plans: dict[tuple[int, int, int], tuple[Plan, Policies | None, DeployedPlan]] = {}
        self._active: tuple[tuple[int, str], Plan] | None = None  # (deployment id, plan hash), its plan

    @contextmanager
    def _begin(self) -> Iterator[Connection]:
        with self.engine.begin() as conn:
            if self.lease is not None:
                self.lease.fence(conn)
            yield conn

    def versions(self, conn: Connection) -> tuple[list[ScenarioVersion], dict[str, ScenarioVersion]]:
        """The active plan's versions (for new entries), and every version still running, by hash."""
        head = deployments.active_head(conn)
        if head is None:
            raise NoDeployment(tr("no plan is deployed: run 'ecrm deploy' first"))
        deployment_id = head[0]
        if self._active is None or self._active[0] != head:  # read and checked once per deployment
            self._active = (head, deployments.deployment_plan(conn, deployment_id))
        plan = self._active[1]
        current = sort_for_priority(self._deployed(deployment_id, plan).scenarios())
        by_hash = {v.hash: v for v in current}
        missing = store.active_hashes(conn) - set(by_hash)
        for hash_, old_id in deployments.version_deployments(conn, missing).items():
            # Policies are the project's, not a version's: kept customers get today's quiet hours and caps.
            old = self._deployed(old_id, deployments.deployment_plan(conn, old_id), plan.policies)
            for version in old.scenarios():
                if version.hash == hash_:
                    by_hash[hash_] = version
        return current, by_hash

    def _deployed(self, deployment_id: int, plan: Plan, policies: Policies | None = None) -> DeployedPlan:
        """The same runtime view of a deployment from tick to tick (what it derives and builds once is kept),
        as long as the stored plan and the policies it runs under are the same objects (the store's plans are
        cached by their text)."""
        key = (deployment_id, id(plan), id(policies))
        kept = self._plans.get(key)
        if kept is None or kept[0] is not plan or kept[1] is not policies:
            deployed = DeployedPlan(plan, deployment_id)
            if policies is not None:
                deployed = deployed.with_policies(policies)
            if len(self._plans) >= 16:
                self._plans.clear()
            kept = self._plans[key] = (plan, policies, deployed)
        return kept[2]

    def tick(self, now: datetime, *, check_segments: bool = True) -> TickReport:
        """One tick at ``now``. ``check_segments=False`` leaves segment triggers for a later tick: the simulator
        checks them on its own, coarser cadence, because evaluating a segment costs a pass over every customer."""
        if now.tzinfo is None:
            raise ValueError("the tick time needs a timezone")
        report = TickReport(now)
        with self._begin() as conn:
            current, by_hash = self.versions(conn)
            # The last tick and the stop rules' mark in one read; both are written in one at the end.
            kept = state.read_many(conn, [LAST_TICK, changes.mark_key(STOP_READER)])
            previous = datetime.fromisoformat(kept[LAST_TICK]) if kept.get(LAST_TICK) else None
            deployment = current[0].plan.deployment_id if current else 0
            stop_mark = changes.decode_mark(kept.get(changes.mark_key(STOP_READER)))
            # Read before any work: whatever changes after this is judged again next tick.
            next_mark = changes.Mark(changes.head(conn), now, changes.last_enrollment(conn), deployment)
            if previous is not None and now < previous:
                raise ClockWentBack(now, previous)
            scope = None  # the first tick, and the first after a deploy (new rules, moved enrollments), judge all
            if stop_mark is not None and stop_mark.deployment == deployment:
                customers = changes.changed_list(conn, stop_mark, now)
                big = next_mark.enrollment - stop_mark.enrollment > BIG_ENTRY
                by_scenario = store.entered_since(conn, stop_mark.enrollment) if big else {}
                scope = StopScope(customers, stop_mark.enrollment, by_scenario, newest=next_mark.enrollment)
            since = (previous or now) - self.late_arrival
            # One transaction for outcomes and entries: a crash redoes them all from the same state.
            # Outcomes first: the purchase that converts one enrollment may start the next one.
            self._settle(conn, now, list(by_hash.values()), since, report, scope)
            entering = [v for v in current if check_segments or v.trigger.type != "segment"]
            journal = Journal(now)
            changed = scope.customers if scope is not None else None
            runner = StepRunner(conn, now, journal)
            after = stop_mark if scope is not None else None
            found = enroll_all(conn, entering, now, runner, self.late_arrival, changed, after, next_mark.seq)
            self._flush(conn, journal, report)
            earliest, last_entrant = now, next_mark.enrollment
            for version_id, entries in found.items():
                report.entered[version_id] += entries.count
                earliest = min(earliest, entries.earliest or now)
                last_entrant = max(last_entrant, entries.last_id)
            # A catch-up or backfill entry may already have met its goal. Only this tick's entrants need a second
            # look (the enrollments after the newest id as the tick began): the first pass settled everyone else
            # up to now, and entering changes no customer data.
            entered = [v for v in current if report.entered[v.id]]
            if entered:
                counts = {v.id: report.entered[v.id] for v in entered}
                entrants = StopScope([], next_mark.enrollment, counts, rest_judged_now=True)
                self._settle(conn, now, entered, min(since, earliest), report, entrants)
                # Judged as of now: the next tick needs to look at them only if their customers change, so the
                # mark moves past them (a newsletter's 58,000 entrants are not counted again an hour later).
                next_mark = replace(next_mark, enrollment=last_entrant)
        self._advance(now, by_hash, report)
        with self._begin() as conn:
            ends = {LAST_TICK: now.isoformat(), changes.mark_key(STOP_READER): changes.encode_mark(next_mark)}
            state.write_many(conn, ends)
            readers = {STOP_READER} | {segment_reader(v) for v in current if v.trigger.type == "segment"}
            changes.prune_due(conn, readers, now, next_mark.seq)
        return report

    def _settle(
        self,
        conn: Connection,
        now: datetime,
        versions: list[ScenarioVersion],
        since: datetime,
        report: TickReport,
        scope: StopScope | None,
    ) -> None:
        journal = Journal(now)
        settle_outcomes(conn, sort_for_priority(versions), StepRunner(conn, now, journal), journal, since, scope)
        self._flush(conn, journal, report)

    def _advance(self, now: datetime, by_hash: dict[str, ScenarioVersion], report: TickReport) -> None:
        """Act on due steps, always the highest-priority due step first (asked again after every batch), so a
        scenario's rank decides who gets a customer's capped day whatever the shape of the flows.

        After a full batch, the due steps are those known before it and the steps its enrollments are due at now:
        a batch moves only its own enrollments, and asking again over every due row would read all of a
        newsletter's 58,000 at every batch. After a short batch, and always before the tick ends, the question
        goes to every due row."""
        rank = {h: (v.rank, v.id) for h, v in by_hash.items()}
        due: set[tuple[str, str]] | None = None
        for _ in range(MAX_ROUNDS):
            with self._begin() as conn:  # one transaction a round: the question and the batch it picks
                if due is None:
                    due = set(store.due_groups(conn, now))
                if due:
                    scenario_hash, node_id = min(due, key=lambda g: (rank.get(g[0], (0, "")), g[1]))
                    rows = store.due_batch(conn, scenario_hash, node_id, now, BATCH)
                    if rows:  # none: the last full batch took this step's last rows
                        journal = Journal(now)
                        StepRunner(conn, now, journal, by_hash).run(by_hash[scenario_hash], node_id, rows)
                        self._flush(conn, journal, report)
                    if len(rows) < BATCH:
                        due = None
                    else:
                        due.update(store.due_groups_among(conn, [row.id for row in rows], now))
                    continue
            due = None
            if not self._listen(now, by_hash, report):
                return
        raise RuntimeError("the tick did not settle; this is a bug in ecrm-dsl")

    def _listen(self, now: datetime, by_hash: dict[str, ScenarioVersion], report: TickReport) -> bool:
        """Waiting enrollments whose awaited event has happened move on; returns whether any did."""
        moved = False
        # Only a wait for an event of a running version can hold listeners: found in the plans, not by a scan.
        listening = sorted(
            (version.hash, node.id)
            for version in by_hash.values()
            for node in version.nodes.values()
            if isinstance(node, WaitNode) and node.event is not None
        )
        if not listening:
            return False
        with self._begin() as conn:  # a batch at a time (memory stays flat), in one transaction
            for scenario_hash, node_id in listening:
                version = by_hash[scenario_hash]
                node = version.nodes[node_id]
                assert isinstance(node, WaitNode) and node.event is not None
                after = 0
                scenario = (version.id, scenario_hash)
                while rows := store.waiting(conn, scenario, node_id, node.event, now, BATCH, after):
                    after = rows[-1].id
                    journal = Journal(now)
                    StepRunner(conn, now, journal).listen(version, node, rows)
                    moved = moved or bool(journal.counts)
                    self._flush(conn, journal, report)
                    if len(rows) < BATCH:
                        break  # the last batch: nobody can start waiting here meanwhile (a plan has no cycles)
        return moved

    @staticmethod
    def _flush(conn: Connection, journal: Journal, report: TickReport) -> None:
        journal.flush(conn)
        report.decisions.update(journal.counts)


def run_ticks(scheduler: Scheduler, start: datetime, end: datetime, every: timedelta) -> list[TickReport]:
    """Ticks from ``start`` to ``end`` inclusive — a simulated clock for demos and tests."""
    reports = []
    moment = start
    while moment <= end:
        reports.append(scheduler.tick(moment))
        moment += every
    return reports
