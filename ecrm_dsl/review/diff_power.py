"""``ecrm diff --store … --power 4w``: the power estimate of each added or changed scenario, from a replay.

The head plan is replayed over the store's last weeks exactly as ``ecrm simulate`` would
(:func:`~ecrm_dsl.simulate.estimates.replay_estimates`). The store itself is only read.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Engine

from ecrm_dsl.plan.model import Plan
from ecrm_dsl.simulate.estimates import replay_estimates

Json = dict[str, Any]


def replayed_power(
    source: Engine, head: Json, subjects: list[str], now: datetime, span: timedelta, uplift: float
) -> tuple[dict[str, Json], list[Json]]:
    """Scenario id -> its power estimate (``summarize``'s ``"power"``), for the ``subjects`` still in ``head``;
    and how long each coupon pool the head plan draws from lasts at the replay's pace."""
    plan = Plan.from_json(head)
    wanted = set(subjects) & {s.id for s in plan.scenarios}
    if not wanted:
        return {}, []
    estimates = replay_estimates(source, plan, now, span, uplift)
    return {s["id"]: s["power"] for s in estimates.summaries if s["id"] in wanted}, estimates.pools
