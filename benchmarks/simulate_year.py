"""Simulation speed: replay a year of a generated shop's history with ``ecrm simulate``'s clock, against plain
hourly ticks measured in the same run.

1. A store is generated with the demo shop (``DemoShop``: customers with a year of history before 2025-03-01),
   using the bulk loader of ``tick_scale.py``.
2. **Year replay**: ``ecrm_dsl.simulate.replay.simulate`` over 2024-03-01 to 2025-03-01 with the example project,
   a 1-hour grid, segments checked daily: copy into a scratch store, deploy, tick. Timed end to end.
3. **Baseline**, in the same run: the plain scheduler over the first ``--baseline-days`` of the same window, one
   tick per hour with segments checked at every tick (what ``ecrm run`` does), on a fresh copy. Its time per
   simulated day is extrapolated to the year. The replay's own time over the same days is also measured, so
   there is one like-for-like ratio and one whole-year ratio.

It prints times and ratios and exits 0 whatever they are (1 only when something broke).

    python benchmarks/simulate_year.py --customers 10000           # a couple of minutes
    python benchmarks/simulate_year.py                              # 100,000 customers (see benchmarks/README.md)
    python benchmarks/simulate_year.py --customers 1000 --baseline-days 1 --json year.json   # every figure
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy import Engine, Table, func, select

sys.path.insert(0, str(Path(__file__).resolve().parent))
from tick_scale import bulk_generate, compile_plan

from ecrm_dsl.demo.generate import DemoShop
from ecrm_dsl.plan.model import Plan
from ecrm_dsl.runtime.deploy import deploy
from ecrm_dsl.runtime.scheduler import Scheduler
from ecrm_dsl.simulate.replay import Window, simulate
from ecrm_dsl.simulate.scratch import copy_history, open_scratch
from ecrm_dsl.store.database import open_store
from ecrm_dsl.store.tables import TABLES

ZONE = ZoneInfo("Asia/Tokyo")
SHOP_START = datetime(2025, 3, 1, 0, 0, tzinfo=ZONE)  # history lies in the year before
YEAR = Window(SHOP_START - timedelta(days=365), SHOP_START)


def count(engine: Engine, table: Table) -> int:
    with engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(table)).scalar_one())


# The replay's monthly progress lines, with the seconds since its start, for --json.
MONTHLY: list[dict[str, object]] = []


def replay(store: Path, plan: Plan, folder: Path, window: Window, label: str) -> tuple[float, int, int]:
    began = time.perf_counter()

    def progress(message: str) -> None:
        if message.startswith("  "):  # the replay's monthly line
            at = time.perf_counter() - began
            MONTHLY.append({"replay": label, "line": message.strip(), "at_s": at})
            print(f"  {label}: {message.strip()} at {at:.0f}s", flush=True)

    result = simulate(open_store(store, create=False), plan, folder / f"{label}.db", window, progress)
    seconds = time.perf_counter() - began
    return seconds, result.ticks, count(result.scratch, TABLES.decisions)


def plain_hourly(store: Path, plan: Plan, folder: Path, days: int) -> tuple[float, int, int]:
    began = time.perf_counter()
    scratch = open_scratch(folder / "baseline.db")
    copy_history(open_store(store, create=False), scratch)
    deploy(scratch, plan, YEAR.start, note="baseline")
    scheduler, moment, ticks = Scheduler(scratch), YEAR.start, 0
    while moment <= YEAR.start + timedelta(days=days):
        scheduler.tick(moment)
        moment += timedelta(hours=1)
        ticks += 1
    return time.perf_counter() - began, ticks, count(scratch, TABLES.decisions)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--baseline-days", type=int, default=7, help="days of plain hourly ticks (default 7)")
    parser.add_argument("--tmp", type=Path, default=None, help="where the stores go (100k: about 1.5 GB)")
    parser.add_argument("--json", type=Path, default=None, help="write every figure to this file (JSON)")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(dir=args.tmp, prefix="ecrm-sim-year-") as name:
        folder = Path(name)
        store = folder / "store.db"
        began = time.perf_counter()
        generated = bulk_generate(open_store(store), DemoShop(args.customers, SHOP_START, days=1))
        generation_s = time.perf_counter() - began
        print(f"generated {args.customers:,} customers ({generated}) in {generation_s:.1f}s", flush=True)
        plan = compile_plan()
        span = Window(YEAR.start, YEAR.start + timedelta(days=args.baseline_days))
        base_s, base_ticks, base_decisions = plain_hourly(store, plan, folder, args.baseline_days)
        print(f"plain hourly ticks, {args.baseline_days} days: {base_s:.1f}s, {base_ticks} ticks", flush=True)
        short_s, short_ticks, short_decisions = replay(store, plan, folder, span, "short")
        print(f"replay, same {args.baseline_days} days: {short_s:.1f}s, {short_ticks} ticks", flush=True)
        year_s, year_ticks, year_decisions = replay(store, plan, folder, YEAR, "year")
        print(f"replay, a year: {year_s:.1f}s, {year_ticks} ticks, {year_decisions:,} decisions", flush=True)
    per_day = base_s / args.baseline_days
    extrapolated = per_day * 365
    grid_points = int((YEAR.end - YEAR.start) / timedelta(hours=1)) + 1
    print()
    print(f"customers                     {args.customers:>12,}")
    print(
        f"year replay                   {year_s / 60:>11.1f} min  ({year_ticks:,} ticks of {grid_points:,} grid points)"
    )
    print(f"plain hourly, extrapolated    {extrapolated / 60:>11.1f} min  ({per_day:.1f}s per simulated day)")
    print(f"ratio, whole year             {extrapolated / year_s:>11.1f}x  (plain / replay)")
    print(
        f"ratio, first {args.baseline_days} days          {base_s / short_s:>11.1f}x  "
        f"(decisions: plain {base_decisions:,}, replay {short_decisions:,})"
    )
    if args.json is not None:
        figures = {
            "benchmark": "simulate_year",
            "customers": args.customers,
            "generated": generated,
            "generation_s": generation_s,
            "baseline_days": args.baseline_days,
            "plain_hourly": {"seconds": base_s, "ticks": base_ticks, "decisions": base_decisions},
            "replay_baseline_days": {"seconds": short_s, "ticks": short_ticks, "decisions": short_decisions},
            "replay_year": {"seconds": year_s, "ticks": year_ticks, "decisions": year_decisions},
            "grid_points": grid_points,
            "plain_seconds_per_simulated_day": per_day,
            "plain_year_extrapolated_s": extrapolated,
            "ratio_whole_year": extrapolated / year_s,
            "ratio_baseline_days": base_s / short_s,
            "monthly_progress": MONTHLY,
        }
        args.json.write_text(json.dumps(figures, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
