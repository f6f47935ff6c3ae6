"""Estimates from a replay of the store's recent weeks in a throwaway scratch store: each scenario's summary (with
its power estimate when an uplift is asked about) and how long each coupon pool lasts at the replay's pace.

``ecrm diff --store … --power`` and ``ecrm lint --store`` ask this before a plan goes live. The store itself is
only read; the scratch store lives in a temporary folder removed afterwards.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Engine

from ecrm_dsl.plan.model import Plan
from ecrm_dsl.simulate.replay import Window, simulate
from ecrm_dsl.simulate.summary import coupon_capacity, summarize
from ecrm_dsl.store import coupons

Json = dict[str, Any]


@dataclass(frozen=True)
class Estimates:
    summaries: list[Json]  # summarize()'s, one per scenario; with "power" when an uplift was given
    pools: list[Json]  # coupon_capacity()'s, one per pool the plan draws from, against the store's codes at now


def replay_estimates(
    source: Engine, plan: Plan, now: datetime, span: timedelta, uplift: float | None = None
) -> Estimates:
    """Replay ``plan`` over ``[now - span, now)`` of ``source`` (every scenario of the plan: caps, priority and
    quiet hours between them decide who is messaged) and summarise it. A pool's time left is counted from the
    codes usable in ``source`` at ``now``: the replay drew from those same codes, but the launch will too."""
    weeks = span / timedelta(weeks=1)
    with source.connect() as conn:
        usable = {stock.pool: stock.usable for stock in coupons.stock(conn, now)}
    with tempfile.TemporaryDirectory(prefix="ecrm-estimate-") as folder:
        replay = simulate(source, plan, Path(folder) / "replay.db", Window(now - span, now))
        try:
            with replay.scratch.connect() as conn:
                summaries = summarize(conn, plan, weeks=weeks, uplift=uplift)
                pools = coupon_capacity(conn, plan, now, weeks, usable)
        finally:
            replay.scratch.dispose()
    return Estimates(summaries, pools)
