"""``ecrm simulate``: copy the store's customer data into a scratch store, deploy the plan there at the start of
the window and tick a virtual clock to its end. Nothing is delivered: sends stop in the scratch store's outbox."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Engine

from ecrm_dsl.language.i18n import tr
from ecrm_dsl.plan.model import Plan
from ecrm_dsl.runtime.deploy import deploy
from ecrm_dsl.runtime.scheduler import Scheduler
from ecrm_dsl.simulate.clock import INSTANT, ActivityClock, Grid
from ecrm_dsl.simulate.scratch import SIMULATION_KEY, copy_history, log_since, open_scratch
from ecrm_dsl.store import simulation as store

DAY = timedelta(days=1)


@dataclass(frozen=True)
class Window:
    """A replay of ``[start, end)``: triggers at ``start`` count, what happens at ``end`` does not."""

    start: datetime
    end: datetime
    step: timedelta = timedelta(hours=1)
    segment_every: timedelta = timedelta(days=1)

    def __post_init__(self) -> None:
        if self.start.tzinfo is None or self.end.tzinfo is None:
            raise ValueError("the simulation window needs times with a timezone")
        if self.end <= self.start:
            raise ValueError("the simulation must end after it starts")
        if self.step <= timedelta(0) or self.segment_every < self.step:
            raise ValueError("the tick step must be positive, and segments checked no more often than every tick")


@dataclass
class Replay:
    scratch: Engine
    window: Window
    copied: dict[str, int]
    ticks: int
    grid_points: int


def simulate(
    source: Engine,
    plan: Plan,
    scratch_path: Path,
    window: Window,
    progress: Callable[[str], None] = lambda _: None,
    days: Callable[[int, int], None] | None = None,
) -> Replay:
    """Replay ``source``'s history from ``window.start`` to ``window.end`` with ``plan`` deployed at the start.

    ``progress`` gets a line now and then; ``days`` the days replayed and the window's days, after every tick.
    """
    scratch = open_scratch(scratch_path)
    copied = copy_history(source, scratch, progress, log_since(plan, window.start))
    with scratch.begin() as conn:
        store.save(conn, SIMULATION_KEY, _settings(window))
    # Deployed an instant before the window, so that triggers at its first instant (00:00 of --from) count.
    deploy(scratch, plan, window.start - INSTANT, note="ecrm simulate")
    scheduler = Scheduler(scratch, late_arrival=timedelta(0))  # the whole history is there: nothing comes late
    with scratch.connect() as conn:
        current, _ = scheduler.versions(conn)
    grid = Grid.shop_clock(window.start, window.end, window.step, plan.timezone)
    clock = ActivityClock(grid, current, window.segment_every)
    ticks, moment, month = 0, None, None
    while True:
        with scratch.connect() as conn:
            moment = clock.next_tick(conn, moment)
        if moment is None:
            break
        scheduler.tick(moment, check_segments=clock.checks_segments(moment))
        ticks += 1
        if days is not None:
            days((moment - window.start) // DAY, -(-(window.end - window.start) // DAY))
        if month != (moment.year, moment.month):
            month = (moment.year, moment.month)
            progress(tr("  {month}: tick {count}", month=f"{moment:%Y-%m}", count=f"{ticks:,}"))
    return Replay(scratch, window, copied, ticks, len(grid.points()))


def _settings(window: Window) -> str:
    return json.dumps(
        {
            "from": window.start.isoformat(),
            "to": window.end.isoformat(),
            "step_seconds": int(window.step.total_seconds()),
            "segment_every_seconds": int(window.segment_every.total_seconds()),
        },
        sort_keys=True,
    )


def simulation_settings(engine: Engine) -> dict[str, Any] | None:
    """The replay settings of a scratch store, or None for a store that is not one."""
    with engine.connect() as conn:
        value = store.read(conn, SIMULATION_KEY)
    return json.loads(value) if value is not None else None
