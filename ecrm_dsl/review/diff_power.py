"""``ecrm diff --store … --power 4w``: the power estimate of each added or changed scenario, from a replay.

The head plan is replayed over the store's last weeks exactly as ``ecrm simulate`` would (every scenario of the
plan, since caps, priority and quiet hours between them decide who is messaged), in a scratch store in a
temporary folder that is removed afterwards. The store itself is only read.
"""

from __future__ import annotations

import tempfile
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Engine

from ecrm_dsl.plan.model import Plan
from ecrm_dsl.simulate.replay import Window, simulate
from ecrm_dsl.simulate.summary import coupon_capacity, summarize

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
    weeks = span / timedelta(weeks=1)
    with tempfile.TemporaryDirectory(prefix="ecrm-diff-power-") as folder:
        replay = simulate(source, plan, Path(folder) / "replay.db", Window(now - span, now))
        try:
            with replay.scratch.connect() as conn:
                summaries = summarize(conn, plan, weeks=weeks, uplift=uplift)
                pools = coupon_capacity(conn, plan, now, weeks)
        finally:
            replay.scratch.dispose()
    return {s["id"]: s["power"] for s in summaries if s["id"] in wanted}, pools
