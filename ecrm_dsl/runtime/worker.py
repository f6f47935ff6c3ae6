"""One round of an ``ecrm run`` worker: tick if this worker holds the tick lease, then deliver what is due."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime

from ecrm_dsl.runtime.dispatch import Dispatcher
from ecrm_dsl.runtime.lease import LostLease
from ecrm_dsl.runtime.scheduler import Scheduler, TickReport


@dataclass
class Round:
    now: datetime
    tick: TickReport | None = None  # None: another worker ticked (it holds the lease)
    ticker: str | None = None  # that worker, when known
    delivered: Counter[str] = field(default_factory=Counter)


def work_round(scheduler: Scheduler, dispatcher: Dispatcher, now: datetime) -> Round:
    """Tick (when this worker holds or can take the lease), then deliver; any worker delivers, since claims
    never overlap."""
    result = Round(now)
    lease = scheduler.lease
    if lease is None or lease.take(scheduler.engine):
        try:
            result.tick = scheduler.tick(now)
        except LostLease as lost:
            result.ticker = lost.holder
    else:
        holding = lease.holder_of(scheduler.engine)
        result.ticker = holding.holder if holding is not None else None
    result.delivered = dispatcher.run(now)
    return result
