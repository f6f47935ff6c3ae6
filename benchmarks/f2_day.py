"""F2 day: one shop day of F2 step-mail decisions, ecrm's scheduler against a cron job of four SQL statements.

1. A store is generated with the demo shop (``DemoShop``, 100,000 customers by default, through
   ``tick_scale.py``'s bulk loader). A quarter of its customers place their first order in the 30 days after
   2025-03-01, so every day of that month has about 830 first orders per 100,000 customers.
2. A project holding only the example F2 scenario (``scenarios/f2_step_mail.yaml``) is written to a temporary
   folder from the repository's files: the scenario, the four templates it sends, the customer schema, the
   policies and the one segment the policies name (``recently_dissatisfied``, for ``nurture_only``). The
   policies are the examples' except for the priority list, cut to the one scenario the project holds (a list
   naming absent scenarios is an error). Frequency caps are kept; they cannot bind here, because F2 alone sends
   a customer at most four marketing messages, three of them email, in seven days. The project is built with
   ``ecrm_dsl.build_plan`` and deployed with ``ecrm_dsl.runtime.deploy.deploy`` eight days before the measured
   day, and ``Scheduler.tick`` runs hourly up to it (untimed), so that every enrollment that can send on the day
   is in flight at the step it would be at in a running shop.
3. **ecrm**: ``Scheduler.tick`` at each of the day's 24 hours (00:00 to 23:00, Asia/Tokyo), timed in CPU time
   (``time.process_time()``; SQLite runs in this process). The sends are the outbox rows the day's ticks wrote.
4. **cron + SQL**, on a copy of the store as it was before the day: four hand-written ``INSERT … SELECT``
   statements, one per step of the scenario, write the day's sends into a result table. They pick the entries
   (an ``order.placed`` event with no other order up to it), the holdout (ecrm's deterministic draw, a SHA-256 of the
   scenario and the customer, as a registered SQLite function), consent and the LINE → email fallback, the
   "no repeat order" goal, the stop rule on a cancellation, the nurture-only policy and the send times (quiet
   hours 21:00–09:00 for the package insert, which goes with the order; 10:00 on day 1, 3 and 7).
5. **naive loop**, on the same copy: one query per customer for its orders (and, for customers who send that
   day, one for its events), decided in Python.

Each side ends its measured time with a WAL checkpoint, so the pages it wrote are in the store file when its
clock stops (ecrm checkpoints less often than SQLite's default, which would otherwise leave part of its day's
writes to a later day).

The three must produce the same set of (customer, step, channel) sends, at the same times, or the script exits
1. Each is run ``--repeat`` times, interleaved (ecrm again from the saved state before the day); the best CPU
time counts. It prints the ratios (ecrm ÷ cron+SQL, naive ÷ cron+SQL) and exits 0 whatever they are.

    python benchmarks/f2_day.py                                  # 100,000 customers: about 2 minutes on 2 cores
    python benchmarks/f2_day.py --customers 2000 --repeat 1      # smoke run, about 5 seconds
    python benchmarks/f2_day.py --json f2_day.json               # every figure, machine-readable
"""

from __future__ import annotations

import argparse
import hashlib
import json
import shutil
import sqlite3
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import closing
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime, timedelta
from datetime import time as clock
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import yaml
from sqlalchemy import Engine, event

sys.path.insert(0, str(Path(__file__).resolve().parent))
from tick_scale import bulk_generate, sqlite_instant

from ecrm_dsl import build_plan, load_project
from ecrm_dsl.demo.generate import DemoShop
from ecrm_dsl.plan.model import Plan
from ecrm_dsl.runtime.deploy import deploy
from ecrm_dsl.runtime.scheduler import Scheduler
from ecrm_dsl.store.database import open_store

REPO = Path(__file__).resolve().parent.parent
EXAMPLES = REPO / "scenarios"
SCENARIO = "f2_step_mail"
SHOP = ZoneInfo("Asia/Tokyo")
SHOP_START = datetime(2025, 3, 1, tzinfo=SHOP)  # DemoShop's start: new customers' first orders fall in 30 days after
SHOP_DAYS = 30
DAY = date(2025, 3, 11)  # the measured shop day (a Tuesday), ten days into the month of first orders
WARM_UP_DAYS = 8  # the last step goes out on day 7 after entry: its entrants must enter after the deploy

# The cron job's own copy of the scenario (f2_step_mail.yaml): its steps, in order, with their channels.
INSERT, THANKS, HOWTO, COUPON = "f2_welcome_leaflet", "f2_thanks", "f2_howto", "f2_second_order_coupon"
HOLDOUT_PERCENT = 10
SEND_HOUR = 10  # day 1, 3 and 7 at 10:00
QUIET_END, QUIET_START = 9, 21  # marketing waits from 21:00 to 09:00


class BenchmarkError(Exception):
    """Something broke: the numbers would not mean anything."""


Send = tuple[str, str, str, str]  # customer, step, channel, UTC instant as the store writes it


def progress(message: str) -> None:
    print(f"  [{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def shop_moment(day: date, hour: int = 0) -> datetime:
    return datetime.combine(day, clock(hour), tzinfo=SHOP)


def day_ticks(day: date) -> list[datetime]:
    return [shop_moment(day, hour) for hour in range(24)]


# --------------------------------------------------------------------------- the project


def write_project(folder: Path) -> list[str]:
    """The F2 scenario with everything it needs, copied from the examples; returns what differs from them."""
    for sub in ("scenarios", "templates", "segments"):
        (folder / sub).mkdir(parents=True)
    scenario_text = (EXAMPLES / f"{SCENARIO}.yaml").read_text(encoding="utf-8")
    (folder / "scenarios" / f"{SCENARIO}.yaml").write_text(scenario_text, encoding="utf-8")
    scenario = yaml.safe_load(scenario_text)
    for template in sorted({step["send"]["template"] for step in scenario["steps"] if "send" in step}):
        shutil.copyfile(EXAMPLES / "templates" / f"{template}.yaml", folder / "templates" / f"{template}.yaml")
    shutil.copyfile(EXAMPLES / "customer_schema.yaml", folder / "customer_schema.yaml")
    policies = yaml.safe_load((EXAMPLES / "policies.yaml").read_text(encoding="utf-8"))
    for segment in policies.get("nurture_only") or []:
        shutil.copyfile(EXAMPLES / "segments" / f"{segment}.yaml", folder / "segments" / f"{segment}.yaml")
    dropped = [name for name in policies.get("priority") or [] if name != SCENARIO]
    policies["priority"] = [name for name in policies.get("priority") or [] if name == SCENARIO]
    (folder / "policies.yaml").write_text(yaml.safe_dump(policies, allow_unicode=True, sort_keys=False), "utf-8")
    (folder / "ecrm.toml").write_text(
        'scenarios = "scenarios"\nsegments = "segments"\ntemplates = "templates"\n'
        'customer_schema = "customer_schema.yaml"\npolicies = "policies.yaml"\n',
        encoding="utf-8",
    )
    return [
        f"policies: the examples', with the priority list cut to {SCENARIO} ({len(dropped)} absent scenarios "
        "dropped; with one scenario the order decides nothing)",
        "frequency caps kept: they cannot bind (F2 alone sends at most 4 marketing messages, 3 of them email, in "
        "7 days; the tightest caps are 5 and 3 email per 7 days)",
    ]


def build(folder: Path) -> Plan:
    result = build_plan(load_project(folder / "ecrm.toml"))
    if result.plan is None:
        found = "; ".join(f"{d.code} {d.message}" for d in result.blocking)
        raise BenchmarkError(f"the F2 project does not build: {found}")
    return Plan.from_json(result.plan)


# --------------------------------------------------------------------------- stores


def copy_store(source: Path, target: Path) -> None:
    """A consistent copy through SQLite's backup API (the store runs in WAL mode)."""
    with closing(sqlite3.connect(source)) as src, closing(sqlite3.connect(target)) as dst:
        src.backup(dst)


def sqlite_pragmas(conn: sqlite3.Connection) -> None:
    """The settings ``open_store`` gives ecrm's connections, so both sides write alike."""
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")


def checkpoint(engine: Engine) -> None:
    """Copy what the WAL holds into the store, as a side's last act in its measured time: a store that checkpoints
    less often than SQLite's default pays for the day's writes in the day it made them."""
    with engine.connect() as conn:
        conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")


class StatementCounter:
    """SQL statements an engine executes while attached (a SQLAlchemy cursor event)."""

    def __init__(self, engine: Engine):
        self.engine, self.count = engine, 0

    def _seen(self, *_: Any) -> None:
        self.count += 1

    def __enter__(self) -> StatementCounter:
        event.listen(self.engine, "before_cursor_execute", self._seen)
        return self

    def __exit__(self, *_: object) -> None:
        event.remove(self.engine, "before_cursor_execute", self._seen)


# --------------------------------------------------------------------------- ecrm


@dataclass
class Timed:
    cpu_s: float
    wall_s: float
    sends: set[Send] = field(repr=False)


def prepare(store: Path, plan: Plan, day: date) -> tuple[Engine, float]:
    """Deploy ``WARM_UP_DAYS`` before ``day`` and tick hourly up to it; returns the engine and the CPU seconds."""
    engine = open_store(store, create=False)
    began = shop_moment(day - timedelta(days=WARM_UP_DAYS))
    deploy(engine, plan, began - timedelta(minutes=1), note="f2_day benchmark")
    scheduler, moment, cpu = Scheduler(engine), began, time.process_time()
    while moment < shop_moment(day):
        scheduler.tick(moment)
        moment += timedelta(hours=1)
    return engine, time.process_time() - cpu


@dataclass
class TickFigures:
    at: str  # shop time
    cpu_s: float
    statements: int


def ecrm_day(engine: Engine, day: date) -> tuple[Timed, list[TickFigures]]:
    """The day's 24 ticks on ``engine``'s store; returns the time and the sends, and each tick's CPU time and
    SQL statements (counting adds about a microsecond a statement)."""
    scheduler, ticks = Scheduler(engine), []
    with StatementCounter(engine) as counter:
        cpu, wall = time.process_time(), time.perf_counter()
        for moment in day_ticks(day):
            counted, began = counter.count, time.process_time()
            scheduler.tick(moment)
            ticks.append(TickFigures(f"{moment:%H:%M}", time.process_time() - began, counter.count - counted))
        checkpoint(engine)
        timed = Timed(time.process_time() - cpu, time.perf_counter() - wall, set())
    start, end = (sqlite_instant(shop_moment(d)) for d in (day, day + timedelta(days=1)))
    with engine.connect() as conn:
        rows = conn.exec_driver_sql(
            "SELECT customer_id, node_id, channel, created_at FROM outbox "
            "WHERE scenario_id = ? AND created_at >= ? AND created_at < ?",
            (SCENARIO, start, end),
        )
        timed.sends = {(r[0], r[1], r[2], str(r[3])) for r in rows}
    return timed, ticks


# --------------------------------------------------------------------------- cron + SQL: four statements


def holdout_draw(customer_id: str) -> int:
    """ecrm's holdout draw for this scenario (runtime/assign.py): the first 8 bytes of a SHA-256, mod 100."""
    digest = hashlib.sha256(f"holdout\x1f{SCENARIO}\x1f{customer_id}".encode()).digest()
    return int.from_bytes(digest[:8], "big") % 100


def in_holdout(customer_id: str) -> int:
    return int(holdout_draw(customer_id) < HOLDOUT_PERCENT)


# The entry: a customer's first order (no other order up to it, what `customer.order_count == 1` reads), not in
# the holdout, not unsubscribed (the stop rule; consent needs it anyway). Then the guards as of the send: no
# repeat order (the goal, and the coupon's `orders_since_entry == 0`), no cancellation (the stop rule), and not
# nurture-only (the latest survey up to the send says 2 or less, and one was answered in the last 90 days).
ENTRY = """
    e.type = 'order.placed'
    AND (SELECT COUNT(*) FROM orders o WHERE o.customer_id = e.customer_id AND o.ordered_at <= e.occurred_at) = 1
    AND NOT f2_holdout(e.customer_id)
    AND c.unsubscribed = 0"""
GUARDS = """
    AND NOT EXISTS (SELECT 1 FROM orders r WHERE r.customer_id = e.customer_id
                    AND r.ordered_at > e.occurred_at AND r.ordered_at <= {send})
    AND NOT EXISTS (SELECT 1 FROM events x WHERE x.customer_id = e.customer_id AND x.type = 'order.cancelled'
                    AND x.occurred_at > e.occurred_at AND x.occurred_at <= {send})
    AND NOT COALESCE(
          (SELECT json_extract(s.properties, '$.satisfaction') <= 2 FROM events s
           WHERE s.customer_id = e.customer_id AND s.type = 'survey.answered' AND s.occurred_at <= {send}
           ORDER BY s.occurred_at DESC, s.id DESC LIMIT 1)
          AND EXISTS (SELECT 1 FROM events s WHERE s.customer_id = e.customer_id AND s.type = 'survey.answered'
                      AND s.occurred_at >= {send_minus_90d} AND s.occurred_at <= {send}),
          0)"""
EMAIL_OK = "c.email_opt_in = 1 AND COALESCE(c.email, '') <> ''"
LINE_OK = "c.line_opt_in = 1 AND COALESCE(c.line_user_id, '') <> ''"

# The package insert goes with the order: sent at the first hourly run after it, or at 09:00 when that run falls
# in quiet hours. The runs of this day send the orders placed from 20:00 the evening before up to 20:00.
INSERT_SQL = f"""
INSERT INTO f2_sends (customer_id, step, channel, send_at)
SELECT e.customer_id, '{INSERT}', 'insert', e.send_at
FROM (SELECT e.*,
             CASE WHEN e.occurred_at <= :first_run THEN :first_run
                  WHEN substr(e.occurred_at, 15) = '00:00.000000' THEN e.occurred_at
                  ELSE strftime('%Y-%m-%d %H:00:00.000000', e.occurred_at, '+1 hour') END AS send_at
      FROM events e
      WHERE e.type = 'order.placed' AND e.occurred_at > :entered_after AND e.occurred_at <= :entered_until) AS e
JOIN customers c ON c.id = e.customer_id
WHERE {ENTRY}{GUARDS.format(send="e.send_at", send_minus_90d="datetime(e.send_at, '-90 days')")}
"""


def timed_step_sql(step: str, channel_sql: str, where_channel: str) -> str:
    """A step at 10:00 on the n-th day after entry: the entries of one shop-local day."""
    return f"""
INSERT INTO f2_sends (customer_id, step, channel, send_at)
SELECT e.customer_id, '{step}', {channel_sql}, :send_at
FROM events e JOIN customers c ON c.id = e.customer_id
WHERE e.occurred_at >= :entered_from AND e.occurred_at < :entered_to AND {where_channel} AND {ENTRY}
{GUARDS.format(send=":send_at", send_minus_90d=":send_minus_90d")}
"""


THANKS_SQL = timed_step_sql(THANKS, "'email'", EMAIL_OK)
HOWTO_SQL = timed_step_sql(HOWTO, f"CASE WHEN {LINE_OK} THEN 'line' ELSE 'email' END", f"(({LINE_OK}) OR ({EMAIL_OK}))")
COUPON_SQL = timed_step_sql(COUPON, "'email'", EMAIL_OK)


def cron_parameters(day: date) -> list[tuple[str, dict[str, str]]]:
    """The four statements with their parameters for ``day`` (instants as the store writes them: UTC text)."""
    send = shop_moment(day, SEND_HOUR)
    timed = {
        "send_at": sqlite_instant(send),
        "send_minus_90d": sqlite_instant(send - timedelta(days=90)),
    }

    def entered_on(days_before: int) -> dict[str, str]:
        entered = day - timedelta(days=days_before)
        return {
            "entered_from": sqlite_instant(shop_moment(entered)),
            "entered_to": sqlite_instant(shop_moment(entered + timedelta(days=1))),
            **timed,
        }

    insert = {
        "entered_after": sqlite_instant(shop_moment(day - timedelta(days=1), QUIET_START - 1)),
        "entered_until": sqlite_instant(shop_moment(day, QUIET_START - 1)),
        "first_run": sqlite_instant(shop_moment(day, QUIET_END)),
    }
    return [(INSERT_SQL, insert), (THANKS_SQL, entered_on(1)), (HOWTO_SQL, entered_on(3)), (COUPON_SQL, entered_on(7))]


def open_baseline(path: Path) -> sqlite3.Connection:
    conn = sqlite3.connect(path)
    sqlite_pragmas(conn)
    conn.create_function("f2_holdout", 1, in_holdout, deterministic=True)
    conn.execute(
        "CREATE TABLE IF NOT EXISTS f2_sends (customer_id TEXT NOT NULL, step TEXT NOT NULL, "
        "channel TEXT NOT NULL, send_at TEXT NOT NULL)"
    )
    conn.commit()
    return conn


def read_sends(conn: sqlite3.Connection) -> set[Send]:
    rows = conn.execute("SELECT customer_id, step, channel, send_at FROM f2_sends")
    return {(str(customer), str(step), str(channel), str(at)) for customer, step, channel, at in rows}


def cron_day(conn: sqlite3.Connection, day: date) -> Timed:
    conn.execute("DELETE FROM f2_sends")
    conn.commit()
    statements = cron_parameters(day)
    cpu, wall = time.process_time(), time.perf_counter()
    for sql, parameters in statements:
        conn.execute(sql, parameters)
    conn.commit()
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")  # as ecrm's side: the day's writes paid in the day
    timed = Timed(time.process_time() - cpu, time.perf_counter() - wall, set())
    timed.sends = read_sends(conn)
    return timed


# --------------------------------------------------------------------------- a naive per-customer loop


def _instant(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def _next_run(moment: datetime) -> datetime:
    """The hourly run that picks up something due at ``moment``, moved out of quiet hours."""
    run = (
        moment
        if moment == moment.replace(minute=0, second=0, microsecond=0)
        else moment.replace(minute=0, second=0, microsecond=0) + timedelta(hours=1)
    )
    local = run.astimezone(SHOP)
    if local.hour >= QUIET_START:
        return shop_moment(local.date() + timedelta(days=1), QUIET_END)
    if local.hour < QUIET_END:
        return shop_moment(local.date(), QUIET_END)
    return run


def naive_day(conn: sqlite3.Connection, day: date) -> Timed:
    """What a first script would do: look at every customer in turn, with its own queries."""
    conn.execute("DELETE FROM f2_sends")
    conn.commit()
    cpu, wall = time.process_time(), time.perf_counter()
    found: list[Send] = []
    day_start, day_end = shop_moment(day), shop_moment(day + timedelta(days=1))
    customers = conn.execute(
        "SELECT id, email, line_user_id, email_opt_in, line_opt_in, unsubscribed FROM customers"
    ).fetchall()
    for cid, email, line_id, email_opt_in, line_opt_in, unsubscribed in customers:
        orders = conn.execute(
            "SELECT ordered_at FROM orders WHERE customer_id = ? ORDER BY ordered_at", (cid,)
        ).fetchall()
        if not orders or unsubscribed or (len(orders) > 1 and orders[1][0] == orders[0][0]):
            continue  # no first order (two at the same instant make order_count 2), or stopped
        entered = _instant(orders[0][0])
        local_day = entered.astimezone(SHOP).date()
        email_ok, line_ok = bool(email_opt_in and email), bool(line_opt_in and line_id)
        due: list[tuple[str, str | None, datetime]] = [(INSERT, "insert", _next_run(entered))]
        for step, days, channel in (
            (THANKS, 1, "email" if email_ok else None),
            (HOWTO, 3, "line" if line_ok else "email" if email_ok else None),
            (COUPON, 7, "email" if email_ok else None),
        ):
            due.append((step, channel, shop_moment(local_day + timedelta(days=days), SEND_HOUR)))
        today = [(step, channel, at) for step, channel, at in due if channel and day_start <= at < day_end]
        if not today or in_holdout(cid):
            continue
        later = [_instant(row[0]) for row in orders[1:]]
        events = conn.execute(
            "SELECT type, occurred_at, properties FROM events WHERE customer_id = ? AND type IN "
            "('order.cancelled', 'survey.answered') ORDER BY occurred_at, id",
            (cid,),
        ).fetchall()
        for step, channel, at in today:
            if any(entered < t <= at for t in later):
                continue  # the goal: a repeat order
            seen = [(kind, _instant(when), props) for kind, when, props in events if _instant(when) <= at]
            if any(kind == "order.cancelled" and when > entered for kind, when, _ in seen):
                continue
            surveys = [(when, json.loads(props)) for kind, when, props in seen if kind == "survey.answered"]
            if surveys and surveys[-1][1].get("satisfaction", 99) <= 2 and surveys[-1][0] >= at - timedelta(days=90):
                continue  # nurture-only
            assert channel is not None
            found.append((cid, step, channel, sqlite_instant(at)))
    conn.executemany("INSERT INTO f2_sends (customer_id, step, channel, send_at) VALUES (?, ?, ?, ?)", found)
    conn.commit()
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    return Timed(time.process_time() - cpu, time.perf_counter() - wall, set(found))


# --------------------------------------------------------------------------- comparing


def differences(name: str, theirs: set[Send], ours: set[Send], show: int = 5) -> list[str]:
    """Why two send sets differ, in a few lines; empty when they agree."""
    if theirs == ours:
        return []
    lines = [
        f"ecrm and {name} disagree: {len(ours - theirs):,} sends only in ecrm, {len(theirs - ours):,} only in {name}"
    ]
    for label, extra in (("only ecrm", ours - theirs), (f"only {name}", theirs - ours)):
        lines += [f"  {label}: {send}" for send in sorted(extra)[:show]]
    triples = {s[:3] for s in ours} == {s[:3] for s in theirs}
    if triples:
        lines.append("  the same (customer, step, channel) sets: only the send times differ")
    return lines


def by_step(sends: set[Send]) -> dict[str, dict[str, int]]:
    counts: dict[str, Counter[str]] = {}
    for _, step, channel, _ in sends:
        counts.setdefault(step, Counter())[channel] += 1
    return {step: dict(sorted(counts[step].items())) for step in (INSERT, THANKS, HOWTO, COUPON) if step in counts}


# --------------------------------------------------------------------------- main


@dataclass
class Figures:
    customers: int
    day: str
    notes: list[str]
    generation_s: float = 0.0
    generated: dict[str, int] = field(default_factory=dict)
    warm_up_cpu_s: float = 0.0
    ecrm_cpu_s: list[float] = field(default_factory=list)
    ecrm_wall_s: list[float] = field(default_factory=list)
    ecrm_statements: int = 0
    ecrm_ticks: list[TickFigures] = field(default_factory=list)  # of the fastest run
    cron_cpu_s: list[float] = field(default_factory=list)
    cron_wall_s: list[float] = field(default_factory=list)
    naive_cpu_s: list[float] = field(default_factory=list)
    naive_wall_s: list[float] = field(default_factory=list)
    sends: int = 0
    sends_by_step: dict[str, dict[str, int]] = field(default_factory=dict)
    sends_agree: bool = False
    ratios: dict[str, float] = field(default_factory=dict)


def run(args: argparse.Namespace, folder: Path) -> Figures:
    notes = write_project(folder / "project")
    figures = Figures(args.customers, DAY.isoformat(), notes)
    plan = build(folder / "project")
    store, snapshot, baseline = folder / "store.db", folder / "before-the-day.db", folder / "baseline.db"
    began = time.perf_counter()
    figures.generated = bulk_generate(open_store(store), DemoShop(args.customers, SHOP_START, SHOP_DAYS))
    figures.generation_s = time.perf_counter() - began
    progress(f"generated {args.customers:,} customers in {figures.generation_s:.1f}s")
    engine, figures.warm_up_cpu_s = prepare(store, plan, DAY)
    progress(f"deployed and ticked {WARM_UP_DAYS} days up to {DAY} in {figures.warm_up_cpu_s:.1f}s CPU")
    engine.dispose()
    copy_store(store, snapshot)
    copy_store(snapshot, baseline)
    expected: set[Send] | None = None
    problems: list[str] = []
    with closing(open_baseline(baseline)) as conn:
        for attempt in range(args.repeat):  # interleaved, so that noise on a shared machine hits all alike
            if attempt:
                engine.dispose()
                copy_store(snapshot, store)  # the same engine: its statement cache stays warm, as in a long run
            ecrm, ticks = ecrm_day(engine, DAY)
            if not figures.ecrm_cpu_s or ecrm.cpu_s < min(figures.ecrm_cpu_s):
                figures.ecrm_ticks, figures.ecrm_statements = ticks, sum(t.statements for t in ticks)
            cron = cron_day(conn, DAY)
            runs = [("ecrm", ecrm), ("cron+SQL", cron)]
            if not args.no_naive:
                runs.append(("naive loop", naive_day(conn, DAY)))
            progress(f"run {attempt + 1}: " + ", ".join(f"{n} {t.cpu_s:.3f}s" for n, t in runs))
            if expected is None:
                expected = ecrm.sends
            for name, timed in runs:
                problems += differences(name, timed.sends, expected)
            for name, timed in runs:
                key = {"ecrm": "ecrm", "cron+SQL": "cron", "naive loop": "naive"}[name]
                getattr(figures, f"{key}_cpu_s").append(timed.cpu_s)
                getattr(figures, f"{key}_wall_s").append(timed.wall_s)
    engine.dispose()
    assert expected is not None
    figures.sends, figures.sends_by_step = len(expected), by_step(expected)
    figures.sends_agree = not problems
    best = {name: min(getattr(figures, f"{name}_cpu_s"), default=0.0) for name in ("ecrm", "cron", "naive")}
    figures.ratios = {"ecrm / cron+SQL": best["ecrm"] / max(best["cron"], 1e-9)}
    if best["naive"]:
        figures.ratios["naive / cron+SQL"] = best["naive"] / max(best["cron"], 1e-9)
        figures.ratios["ecrm / naive"] = best["ecrm"] / best["naive"]
    if problems:
        raise Disagreement(figures, problems)
    return figures


class Disagreement(BenchmarkError):
    def __init__(self, figures: Figures, problems: list[str]):
        super().__init__("\n".join(dict.fromkeys(problems)))
        self.figures = figures


def report(f: Figures) -> Iterator[str]:
    yield f"F2 day {f.day} (Asia/Tokyo), {f.customers:,} customers ({f.generated})"
    for note in f.notes:
        yield f"  {note}"
    yield f"  {f.sends:,} sends, the same in all three: " + "; ".join(
        f"{step} " + ", ".join(f"{ch} {n:,}" for ch, n in channels.items())
        for step, channels in f.sends_by_step.items()
    )
    yield f"{'':<34} {'best CPU s':>10} {'runs (CPU s)':<30}"
    rows: list[tuple[str, list[float]]] = [
        ("ecrm Scheduler.tick, 24 ticks", f.ecrm_cpu_s),
        ("cron + SQL, 4 statements", f.cron_cpu_s),
    ]
    if f.naive_cpu_s:
        rows.append(("naive per-customer loop", f.naive_cpu_s))
    for label, runs in rows:
        yield f"{label:<34} {min(runs):>10.3f} {' '.join(f'{r:.3f}' for r in runs)}"
    yield (
        f"ecrm: {f.ecrm_statements:,} SQL statements over the day; "
        f"warm-up ({WARM_UP_DAYS} days) {f.warm_up_cpu_s:.1f}s CPU"
    )
    if f.ecrm_ticks:
        busy = sorted(f.ecrm_ticks, key=lambda t: t.cpu_s, reverse=True)
        yield "ecrm's busiest ticks: " + ", ".join(
            f"{t.at} {t.cpu_s:.3f}s ({t.statements} statements)" for t in busy[:3]
        )
        rest = busy[3:]
        if rest:
            yield (
                f"ecrm's other {len(rest)} ticks: {sum(t.cpu_s for t in rest) / len(rest):.3f}s and "
                f"{sum(t.statements for t in rest) / len(rest):.0f} statements a tick on average"
            )
    for name, ratio in f.ratios.items():
        yield f"ratio {name:<20} {ratio:>7.2f}x"


def write_json(path: Path, f: Figures) -> None:
    data: dict[str, Any] = {"benchmark": "f2_day", **asdict(f)}
    data["best_cpu_s"] = {
        name: min(getattr(f, f"{name}_cpu_s")) for name in ("ecrm", "cron", "naive") if getattr(f, f"{name}_cpu_s")
    }
    path.write_text(json.dumps(data, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--customers", type=int, default=100_000, help="customers in the shop (default 100000)")
    parser.add_argument("--repeat", type=int, default=3, help="runs of each side; the best counts (default 3)")
    parser.add_argument("--no-naive", action="store_true", help="leave out the naive per-customer loop")
    parser.add_argument("--json", type=Path, help="write every figure to this file")
    parser.add_argument("--tmp", type=Path, help="folder for the stores (default: the system's; 100k: ~1.5 GB)")
    args = parser.parse_args(argv)
    if args.customers < 10 or args.repeat < 1:
        parser.error("--customers must be at least 10 and --repeat at least 1")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="ecrm-f2-day-", dir=args.tmp) as name:
        try:
            figures = run(args, Path(name))
        except Disagreement as exc:
            for line in report(exc.figures):
                print(line)
            if args.json:
                write_json(args.json, exc.figures)
            print(f"benchmark failed: {exc}", file=sys.stderr)
            return 1
        except BenchmarkError as exc:
            print(f"benchmark failed: {exc}", file=sys.stderr)
            return 1
    for line in report(figures):
        print(line)
    if args.json:
        write_json(args.json, figures)
    return 0


if __name__ == "__main__":
    sys.exit(main())
