"""The simulation's clock: ticks on a regular grid, skipping the grid points at which nothing can happen.

A tick can only act when, since the previous tick, an event or order arrived (a trigger, a goal, a stop rule or
an awaited event), a step fell due, a cron schedule or a date trigger fired, or segment triggers are to be
checked again. Everything else a tick decides is a function of those, so skipping the other grid points changes
no decision, only how long the replay takes.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from croniter import croniter  # type: ignore[import-untyped]
from sqlalchemy import Connection

from ecrm_dsl.plan.scenario import DateTrigger, ScheduleTrigger
from ecrm_dsl.runtime.model import ScenarioVersion
from ecrm_dsl.store import simulation as store

# The store keeps times to the microsecond: one microsecond before an instant is the last moment before it.
INSTANT = timedelta(microseconds=1)


@dataclass(frozen=True)
class Grid:
    """The tick times of a replay of ``[start, end)``: its first instant, the points of the shop's clock strictly
    inside (multiples of ``step`` from ``anchor``, the shop-local midnight of the first day: whole hours with a
    1h step, whatever the time of ``start``), and its last instant, ``end`` less a microsecond."""

    start: datetime
    end: datetime
    step: timedelta
    anchor: datetime

    @classmethod
    def shop_clock(cls, start: datetime, end: datetime, step: timedelta, timezone: str) -> Grid:
        local = start.astimezone(ZoneInfo(timezone))
        midnight = datetime.combine(local.date(), time(0), tzinfo=local.tzinfo)
        return cls(start, end, step, midnight)

    @property
    def last(self) -> datetime:
        return self.end - INSTANT

    def after(self, previous: datetime, moment: datetime) -> datetime | None:
        """The first tick time later than ``previous`` and not before ``moment``; None past the window."""
        if moment > self.last:
            return None
        floor = max(moment, previous + INSTANT)
        steps = -((self.anchor - floor) // self.step)  # ceiling division of timedeltas
        point = self.anchor + steps * self.step
        if point < self.end:
            return point
        return self.last if previous < self.last else None

    def points(self) -> list[datetime]:
        """Every tick time of the grid: what plain ticking, without skipping idle points, would run."""
        found, moment = [self.start], self.after(self.start, self.start)
        while moment is not None:
            found.append(moment)
            moment = self.after(moment, moment)
        return found


class ActivityClock:
    """Where the next tick goes, given the store and the plan's triggers."""

    def __init__(self, grid: Grid, versions: Sequence[ScenarioVersion], segment_every: timedelta):
        self.grid = grid
        self.versions = list(versions)
        self.segment_every = segment_every
        self.has_segments = any(v.trigger.type == "segment" for v in self.versions)
        self.last_segment_check: datetime | None = None
        # Per version: (the moment a fire time was worked out after, that fire time). Still the next fire for any
        # moment before it, so the replay's ticks ask croniter once per fire, not once per tick.
        self._fires: dict[str, tuple[datetime, datetime | None]] = {}

    def next_tick(self, conn: Connection, previous: datetime | None) -> datetime | None:
        """The next grid point at which something can happen, or None when the replay is over."""
        if previous is None:
            return self.grid.start
        candidates = [
            *store.next_activity(conn, previous),
            *(self._next_fire(v, previous) for v in self.versions),
            self._next_segment_check(),
        ]
        soonest = min((c for c in candidates if c is not None), default=None)
        if soonest is None:
            return None
        return self.grid.after(previous, soonest)

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
        known = self._fires.get(version.id)
        if known is not None and known[0] <= after and (known[1] is None or after < known[1]):
            return known[1]
        fire = self._fire_after(version, after)
        self._fires[version.id] = (after, fire)
        return fire

    @staticmethod
    def _fire_after(version: ScenarioVersion, after: datetime) -> datetime | None:
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
