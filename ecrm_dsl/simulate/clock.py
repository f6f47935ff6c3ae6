"""The simulation's clock: ticks on a regular grid, skipping the grid points at which nothing can happen.

A tick can only act when, since the previous tick, an event or order arrived (a trigger, a goal, a stop rule or
an awaited event), a step fell due, a cron schedule or a date trigger fired, or segment triggers are to be
checked again. Everything else a tick decides is a function of those, so skipping the other grid points changes
no decision, only how long the replay takes.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from croniter import croniter  # type: ignore[import-untyped]
from sqlalchemy import Connection, func, select

from ecrm_dsl.plan.scenario import DateTrigger, ScheduleTrigger
from ecrm_dsl.runtime.model import ScenarioVersion
from ecrm_dsl.store.tables import TABLES


@dataclass(frozen=True)
class Grid:
    start: datetime
    end: datetime
    step: timedelta

    def at_or_after(self, moment: datetime) -> datetime:
        """The first grid point not before ``moment`` (the start when ``moment`` is earlier)."""
        if moment <= self.start:
            return self.start
        steps = -((self.start - moment) // self.step)  # ceiling division of timedeltas
        return self.start + steps * self.step


class ActivityClock:
    """Where the next tick goes, given the store and the plan's triggers."""

    def __init__(self, grid: Grid, versions: Sequence[ScenarioVersion], segment_every: timedelta):
        self.grid = grid
        self.versions = list(versions)
        self.segment_every = segment_every
        self.has_segments = any(v.trigger.type == "segment" for v in self.versions)
        self.last_segment_check: datetime | None = None

    def next_tick(self, conn: Connection, previous: datetime | None) -> datetime | None:
        """The next grid point at which something can happen, or None when the replay is over."""
        if previous is None:
            return self.grid.start
        candidates = [
            _next_event(conn, previous),
            _next_order(conn, previous),
            _next_due(conn),
            *(self._next_fire(v, previous) for v in self.versions),
            self._next_segment_check(),
        ]
        soonest = min((c for c in candidates if c is not None), default=None)
        if soonest is None:
            return None
        moment = self.grid.at_or_after(max(soonest, previous + self.grid.step))
        return moment if moment <= self.grid.end else None

    def checks_segments(self, moment: datetime) -> bool:
        """Whether the tick at ``moment`` evaluates segment triggers (and remembers that it did)."""
        due = self.last_segment_check is None or moment >= self.last_segment_check + self.segment_every
        if due and self.has_segments:
            self.last_segment_check = moment
        return due

    def _next_segment_check(self) -> datetime | None:
        if not self.has_segments or self.last_segment_check is None:
            return None
        return self.last_segment_check + self.segment_every

    def _next_fire(self, version: ScenarioVersion, after: datetime) -> datetime | None:
        trigger = version.trigger
        zone = ZoneInfo(version.plan.timezone)
        if isinstance(trigger, ScheduleTrigger):
            fire: datetime = croniter(trigger.cron, after.astimezone(zone)).get_next(datetime)
            return fire
        if isinstance(trigger, DateTrigger):
            hour, minute = (int(x) for x in (trigger.at or "00:00").split(":"))
            local = after.astimezone(zone)
            moment = local.replace(hour=hour, minute=minute, second=0, microsecond=0)
            return moment if moment > local else moment + timedelta(days=1)
        return None


def _next_event(conn: Connection, after: datetime) -> datetime | None:
    e = TABLES.events
    return conn.execute(select(func.min(e.c.occurred_at)).where(e.c.occurred_at > after)).scalar()


def _next_order(conn: Connection, after: datetime) -> datetime | None:
    o = TABLES.orders
    return conn.execute(select(func.min(o.c.ordered_at)).where(o.c.ordered_at > after)).scalar()


def _next_due(conn: Connection) -> datetime | None:
    n = TABLES.enrollments
    return conn.execute(select(func.min(n.c.due_at)).where(n.c.status == "active", n.c.due_at.is_not(None))).scalar()
