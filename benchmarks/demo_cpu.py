"""ecrm demo's CPU time, in process: how much a tick costs, how many statements it runs, and where its CPU goes.

Runs what ``ecrm demo`` runs in this repository (the example project's 14 scenarios, 2,000 customers, a tick
every hour for 30 days, the dispatcher and the customers' reactions) through ``ecrm_dsl.demo.run.run_demo``,
in a temporary folder, and measures with ``time.process_time()`` (SQLite runs in this process):

- the whole demo and its 721 ticks (``Scheduler.tick``), each tick's CPU time and SQL statements (a SQLAlchemy
  cursor event), and the **quiet** ticks among them: those that entered nobody and decided nothing;
- the same-run reference that makes the figure mean something on a shared machine: how much of the ticks'
  CPU is the database executing statements (from each statement's cursor execution to its end, through
  SQLAlchemy's cursor events) and how much is everything else (building and binding statements, reading rows,
  the scheduler's own Python). With ``--profile`` (a second run, under cProfile) the "everything else" is
  split further by where it is spent: SQLAlchemy, the sqlite3 driver, ecrm-dsl, the rest.

    python benchmarks/demo_cpu.py                        # best of 3: about 30 s (20 s more with --profile)
    python benchmarks/demo_cpu.py --days 3 --repeat 1    # smoke run
    python benchmarks/demo_cpu.py --json demo_cpu.json --profile
"""

from __future__ import annotations

import argparse
import cProfile
import json
import pstats
import statistics
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Engine, event

from ecrm_dsl import build_plan, load_project
from ecrm_dsl.demo import run as demo_run
from ecrm_dsl.plan.model import Plan
from ecrm_dsl.runtime.scheduler import Scheduler, TickReport

REPO = Path(__file__).resolve().parent.parent
START = "2025-03-01"


@dataclass
class Tick:
    at: str
    cpu_s: float
    statements: int
    database_s: float  # CPU inside the statements' cursor executions
    entered: int
    decisions: int

    @property
    def quiet(self) -> bool:
        return not self.entered and not self.decisions


@dataclass
class Run:
    demo_cpu_s: float
    ticks: list[Tick] = field(default_factory=list)

    def summary(self) -> dict[str, Any]:
        ticks, quiet = self.ticks, [t for t in self.ticks if t.quiet]
        tick_cpu = sum(t.cpu_s for t in ticks)
        database = sum(t.database_s for t in ticks)
        return {
            "demo_cpu_s": self.demo_cpu_s,
            "ticks": len(ticks),
            "ticks_cpu_s": tick_cpu,
            "tick_cpu_ms_mean": 1000 * tick_cpu / len(ticks),
            "statements": sum(t.statements for t in ticks),
            "statements_per_tick": sum(t.statements for t in ticks) / len(ticks),
            "database_share": database / tick_cpu if tick_cpu else 0.0,
            "quiet_ticks": len(quiet),
            "quiet_tick_statements_median": statistics.median(t.statements for t in quiet) if quiet else None,
            "quiet_tick_statements_max": max((t.statements for t in quiet), default=None),
            "quiet_tick_cpu_ms_median": 1000 * statistics.median(t.cpu_s for t in quiet) if quiet else None,
            "busy_tick_statements_median": statistics.median(t.statements for t in ticks if not t.quiet)
            if len(quiet) < len(ticks)
            else None,
        }


class Meter:
    """Statements and the CPU spent inside their cursor executions, on every engine (SQLAlchemy events)."""

    def __init__(self) -> None:
        self.statements = 0
        self.database_s = 0.0
        self._started = 0.0

    def _before(self, *_: Any) -> None:
        self.statements += 1
        self._started = time.process_time()

    def _after(self, *_: Any) -> None:
        self.database_s += time.process_time() - self._started

    @contextmanager
    def listening(self) -> Iterator[None]:
        event.listen(Engine, "before_cursor_execute", self._before)
        event.listen(Engine, "after_cursor_execute", self._after)
        try:
            yield
        finally:
            event.remove(Engine, "before_cursor_execute", self._before)
            event.remove(Engine, "after_cursor_execute", self._after)


def example_plan() -> Plan:
    result = build_plan(load_project(REPO))
    if result.plan is None:
        raise SystemExit(f"the example project does not build ({len(result.blocking)} error(s)); run: ecrm lint")
    return Plan.from_json(result.plan)


@contextmanager
def timed_ticks(meter: Meter, ticks: list[Tick]) -> Iterator[None]:
    """Every ``Scheduler.tick`` of the demo timed (the demo builds its own scheduler)."""
    original: Callable[..., TickReport] = Scheduler.tick

    def tick(self: Scheduler, now: datetime, **options: Any) -> TickReport:
        statements, database, began = meter.statements, meter.database_s, time.process_time()
        report = original(self, now, **options)
        ticks.append(
            Tick(
                now.isoformat(),
                time.process_time() - began,
                meter.statements - statements,
                meter.database_s - database,
                report.total_entered,
                sum(report.decisions.values()),
            )
        )
        return report

    Scheduler.tick = tick  # type: ignore[method-assign]
    try:
        yield
    finally:
        Scheduler.tick = original  # type: ignore[method-assign]


def run_once(plan: Plan, args: argparse.Namespace, folder: Path, profile: cProfile.Profile | None = None) -> Run:
    start = datetime.fromisoformat(args.start).replace(tzinfo=ZoneInfo(plan.timezone))
    meter, ticks = Meter(), list[Tick]()
    with meter.listening(), timed_ticks(meter, ticks):
        began = time.process_time()
        if profile is not None:
            profile.enable()
        result = demo_run.run_demo(
            plan,
            folder / "demo.db",
            folder / "outbox",
            customers=args.customers,
            start=start,
            days=args.days,
            tick=timedelta(hours=1),
            progress=lambda _: None,
        )
        if profile is not None:
            profile.disable()
        cpu = time.process_time() - began
    result.engine.dispose()
    return Run(cpu, ticks)


def where_cpu_goes(profile: cProfile.Profile) -> dict[str, float]:
    """Shares of the profiled run's own time by where it was spent (cProfile's per-function self time)."""
    stats = pstats.Stats(profile)
    spent: Counter[str] = Counter()
    for (filename, _, name), row in stats.stats.items():  # type: ignore[attr-defined]
        self_time = row[2]
        if "sqlite3" in name or "sqlite3.Cursor" in name or "sqlite3.Connection" in name:
            spent["sqlite (driver and database)"] += self_time
        elif "/sqlalchemy/" in filename:
            spent["SQLAlchemy (building, compiling, binding, rows)"] += self_time
        elif "/ecrm_dsl/" in filename:
            spent["ecrm-dsl"] += self_time
        else:
            spent["other (builtins, standard library, json)"] += self_time
    total = sum(spent.values())
    return {key: value / total for key, value in spent.most_common()}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--customers", type=int, default=2000)
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--start", default=START)
    parser.add_argument("--repeat", type=int, default=3, help="runs; the best demo CPU time counts")
    parser.add_argument("--profile", action="store_true", help="one more run under cProfile: where the CPU goes")
    parser.add_argument("--json", type=Path, help="write every figure to this file")
    args = parser.parse_args(argv)
    plan = example_plan()
    runs = []
    for number in range(args.repeat):
        with tempfile.TemporaryDirectory(prefix="ecrm-demo-cpu-") as folder:
            runs.append(run_once(plan, args, Path(folder)))
        print(f"run {number + 1}: demo {runs[-1].demo_cpu_s:.2f} s CPU", file=sys.stderr)
    best = min(runs, key=lambda r: r.demo_cpu_s)
    summary = best.summary()
    shares: dict[str, float] | None = None
    if args.profile:
        profile = cProfile.Profile()
        with tempfile.TemporaryDirectory(prefix="ecrm-demo-cpu-") as folder:
            run_once(plan, args, Path(folder), profile)
        shares = where_cpu_goes(profile)
    print(report(args, plan, summary, [r.demo_cpu_s for r in runs], shares))
    if args.json:
        figures = {
            "customers": args.customers,
            "days": args.days,
            "scenarios": len(plan.scenarios),
            "runs_demo_cpu_s": [r.demo_cpu_s for r in runs],
            "best": summary,
            "profile_shares": shares,
            "ticks": [asdict(t) for t in best.ticks],
        }
        args.json.write_text(json.dumps(figures, indent=2) + "\n", encoding="utf-8")
    return 0


def report(
    args: argparse.Namespace,
    plan: Plan,
    summary: dict[str, Any],
    runs: list[float],
    shares: dict[str, float] | None,
) -> str:
    lines = [
        f"ecrm demo in process: {len(plan.scenarios)} scenarios, {args.customers:,} customers, {args.days} days, "
        f"{summary['ticks']} ticks",
        f"  demo CPU (best of {len(runs)}): {summary['demo_cpu_s']:.2f} s; runs: "
        + ", ".join(f"{r:.2f}" for r in runs),
        f"  ticks: {summary['ticks_cpu_s']:.2f} s CPU, {summary['tick_cpu_ms_mean']:.1f} ms and "
        f"{summary['statements_per_tick']:.1f} statements a tick ({summary['statements']:,} in all)",
        f"  database executing statements: {summary['database_share']:.0%} of the ticks' CPU; "
        f"the rest (building and binding statements, rows, the scheduler's Python): "
        f"{1 - summary['database_share']:.0%}",
        f"  quiet ticks (nobody entered, nothing decided): {summary['quiet_ticks']}, median "
        f"{summary['quiet_tick_statements_median']} statements (max {summary['quiet_tick_statements_max']}), "
        f"{summary['quiet_tick_cpu_ms_median'] or 0:.1f} ms CPU; other ticks: median "
        f"{summary['busy_tick_statements_median']} statements",
    ]
    if shares is not None:
        lines.append("  where the CPU goes (a profiled run, self time):")
        lines += [f"    {share:6.1%}  {where}" for where, share in shares.items()]
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
