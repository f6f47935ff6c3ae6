"""A tick: enroll (triggers since the last tick), settle outcomes (goals, stop rules), advance due steps.

Each unit of work — one scenario's entries, one batch of one step — commits on its own together with its
journal entries and outbox rows. A crash loses at most the unit in progress, which the next tick redoes from
the same state; outbox keys make a redone send a no-op rather than a duplicate.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import Connection, Engine, insert, select, update

from ecrm_dsl.runtime.enroll import enroll
from ecrm_dsl.runtime.journal import Journal
from ecrm_dsl.runtime.model import Plan, ScenarioVersion, sort_for_priority
from ecrm_dsl.runtime.outcomes import settle_outcomes
from ecrm_dsl.runtime.steps import StepRunner
from ecrm_dsl.store import deployments
from ecrm_dsl.store import enrollments as store
from ecrm_dsl.store.tables import TABLES
from ecrm_dsl.store.triggers import LATE_ARRIVAL

BATCH = 2_000
MAX_ROUNDS = 10_000  # a plan is a finite acyclic graph; this only guards against a bug looping forever


class NoDeployment(RuntimeError):
    """There is no deployed plan to run."""


@dataclass
class TickReport:
    now: datetime
    entered: Counter[str] = field(default_factory=Counter)
    decisions: Counter[str] = field(default_factory=Counter)


def last_tick(conn: Connection) -> datetime | None:
    state = TABLES.scheduler_state
    value = conn.execute(select(state.c.value).where(state.c.key == "last_tick")).scalar_one_or_none()
    return datetime.fromisoformat(value) if value else None


def _save_last_tick(conn: Connection, now: datetime) -> None:
    state = TABLES.scheduler_state
    if last_tick(conn) is None:
        conn.execute(insert(state).values(key="last_tick", value=now.isoformat()))
    else:
        conn.execute(update(state).where(state.c.key == "last_tick").values(value=now.isoformat()))


class Scheduler:
    def __init__(self, engine: Engine):
        self.engine = engine

    def versions(self, conn: Connection) -> tuple[list[ScenarioVersion], dict[str, ScenarioVersion]]:
        """The active plan's versions (for new entries), and every version still running, by hash."""
        active = deployments.active_deployment(conn)
        if active is None:
            raise NoDeployment("no plan is deployed: run 'ecrm deploy' first")
        deployment_id, data = active
        current = sort_for_priority(Plan(data, deployment_id).scenarios())
        by_hash = {v.hash: v for v in current}
        missing = store.active_hashes(conn) - set(by_hash)
        for hash_, old_id in deployments.version_deployments(conn, missing).items():
            old = Plan(deployments.deployment_plan(conn, old_id), old_id)
            for version in old.scenarios():
                if version.hash == hash_:
                    by_hash[hash_] = version
        return current, by_hash

    def tick(self, now: datetime) -> TickReport:
        if now.tzinfo is None:
            raise ValueError("the tick time needs a timezone")
        report = TickReport(now)
        with self.engine.begin() as conn:
            current, by_hash = self.versions(conn)
            previous = last_tick(conn)
        since = (previous or now) - LATE_ARRIVAL
        new_ids: dict[str, list[int]] = {}
        for version in current:
            with self.engine.begin() as conn:
                journal = Journal(now)
                entries = enroll(conn, version, now, StepRunner(conn, now, journal), since)
                self._flush(conn, journal, report)
                report.entered[version.id] += entries.count
                new_ids[version.hash] = entries.early
        for version in sort_for_priority(list(by_hash.values())):
            with self.engine.begin() as conn:
                journal = Journal(now)
                settle_outcomes(
                    conn, version, StepRunner(conn, now, journal), journal, since, new_ids.get(version.hash, [])
                )
                self._flush(conn, journal, report)
        self._advance(now, by_hash, report)
        with self.engine.begin() as conn:
            _save_last_tick(conn, now)
        return report

    def _advance(self, now: datetime, by_hash: dict[str, ScenarioVersion], report: TickReport) -> None:
        rank = {h: (v.rank, v.id) for h, v in by_hash.items()}
        for _ in range(MAX_ROUNDS):
            progressed = self._listen(now, by_hash, report)
            with self.engine.begin() as conn:
                groups = sorted(store.due_groups(conn, now), key=lambda g: (rank.get(g[0], (0, "")), g[1]))
            for scenario_hash, node_id in groups:
                version = by_hash[scenario_hash]
                while True:
                    with self.engine.begin() as conn:
                        rows = store.due_batch(conn, scenario_hash, node_id, now, BATCH)
                        if not rows:
                            break
                        journal = Journal(now)
                        StepRunner(conn, now, journal).run(version, node_id, rows)
                        self._flush(conn, journal, report)
                    progressed = True
            if not progressed:
                return
        raise RuntimeError("the tick did not settle; this is a bug in ecrm-dsl")

    def _listen(self, now: datetime, by_hash: dict[str, ScenarioVersion], report: TickReport) -> bool:
        """Waiting enrollments whose awaited event has happened move on; returns whether any did."""
        moved = False
        with self.engine.begin() as conn:
            nodes = store.waiting_nodes(conn)
        for scenario_hash, node_id in nodes:
            version = by_hash[scenario_hash]
            after = 0
            while True:
                with self.engine.begin() as conn:
                    rows = store.waiting(conn, scenario_hash, node_id, BATCH, after)
                    if not rows:
                        break
                    after = rows[-1].id
                    journal = Journal(now)
                    StepRunner(conn, now, journal).listen(version, version.nodes[node_id], rows)
                    moved = moved or bool(journal.counts)
                    self._flush(conn, journal, report)
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
