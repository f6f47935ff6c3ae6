"""Tick scale: scheduler tick time, peak memory and entry evaluation against hand-written SQL, per store size.

For each size (default 100,000 and 1,000,000 customers) two new Python processes run one after the other, so
that peak RSS is per size and the measurement's peak does not include the generator's:

1. The generation process creates a fresh SQLite store in a temporary folder and fills it with the demo shop's
   customers, orders, order items, subscriptions and events (``ecrm_dsl.demo.generate.DemoShop``: a year of
   history and a month ahead). The default ``bulk`` generator writes the rows ``DemoShop`` makes (the same
   rows, in the same order) through the DB-API's ``executemany``, and builds the secondary indexes after the
   load. ``--generator demo`` uses ``DemoShop.generate`` itself. Before any size runs, the parent checks that
   both give the same schema and the same rows.
2. The measuring process lints and compiles the example project (``[tool.ecrm]`` in the repository's
   ``pyproject.toml``), deploys it at 2025-03-01 09:58 (Asia/Tokyo) and times scheduler ticks. Nothing is
   dispatched: there are no delivery adapters, and the outbox only fills.
   - first tick, 09:59: the first tick after the deploy. Segment triggers record their baseline. A trigger's
     watermark starts at its first tick, so this tick cannot include a cron fire; that is why the newsletter
     gets its own tick.
   - cron tick, 10:00: the monthly newsletter's ``0 10 1 * *`` fires, and its audience is enrolled and sent;
   - steady tick, 11:00;
   - a day of hourly ticks from 12:00 (``--day-ticks``, default 24): mean and max.
   It then times entry evaluation: ``select_customers`` for four audiences of the example scenarios, run to a
   list of ids, against a hand-written SQLite query for the same audience. Both must return the same ids. The
   runs are interleaved and the best of ``--repeat`` counts. When the ratio is above 3, it prints the query
   plans (``EXPLAIN QUERY PLAN``).

   Every tick is timed in wall-clock and CPU time, with the SQL statements it executed (a SQLAlchemy cursor
   event). Last, the steady tick is compared with the **incremental hand-written minimum**: one statement that
   re-checks only the customers who changed in that hour (a new order or counted event, or one leaving a rolling
   window) against the three segments that start scenarios, timed in CPU time (best of several runs). Its
   answers must equal ecrm's segment queries, for those customers and for everyone.
   It is also compared with the whole hour done by hand-written SQL: seven statements over every scenario (the
   re-check, entries, goals and stops, sends, journal, steps moved on, watermarks) on a copy of the store as the
   steady tick found it, each run rolled back (see benchmarks/README.md).

Peak RSS (``ru_maxrss``) and SQLite's heap high-water mark are recorded after each phase. The headline number
is the peak RSS at the end of the ticks. The entry comparison comes after it, because building the id lists
needs memory in proportion to the audience. The script measures and does not enforce a threshold: it exits 0
whatever the numbers, and 1 only when something broke (a process failed, the id sets differ, or the bulk
generator disagrees with DemoShop).

    python benchmarks/tick_scale.py                         # 100k and 1M customers
    python benchmarks/tick_scale.py --sizes 2000            # quick run, well under a minute
    python benchmarks/tick_scale.py --sizes 10000,100000 --fk-indexes
    python benchmarks/tick_scale.py --sizes 100000 --json ticks.json   # every figure, machine-readable
"""

from __future__ import annotations

import argparse
import ctypes
import ctypes.util
import json
import random
import resource
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable, Sequence
from contextlib import closing
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import yaml
from sqlalchemy import JSON, Boolean, Column, Connection, Date, Engine, Select, Table, event

from ecrm_dsl import build_plan, load_project
from ecrm_dsl.conditions.sql import select_customers
from ecrm_dsl.demo.generate import DemoShop
from ecrm_dsl.plan.model import Plan
from ecrm_dsl.plan.scenario import EventStop, EventTrigger
from ecrm_dsl.project.config import load_config
from ecrm_dsl.runtime.deploy import deploy
from ecrm_dsl.runtime.model import DeployedPlan
from ecrm_dsl.runtime.scheduler import Scheduler
from ecrm_dsl.store.database import open_store
from ecrm_dsl.store.tables import TABLES, UTCDateTime

REPO = Path(__file__).resolve().parent.parent
CONFIG = REPO / "pyproject.toml"
ZONE = ZoneInfo("Asia/Tokyo")
START = datetime(2025, 3, 1, 9, 59, tzinfo=ZONE)  # the first tick; the newsletter's cron fires a minute later
DAYS = 30
RESULT_MARK = "RESULT "
# Foreign keys to enrollments that the store does not index: with PRAGMA foreign_keys=ON, deleting an
# enrollment (enroll.py drops the pending rows that fail the entry condition or the re-entry rule) scans both.
CHILD_KEY_INDEXES = (("decisions", "enrollment_id"), ("outbox", "enrollment_id"))
RATIO_WORTH_EXPLAINING = 3.0
GENERATED_TABLES = ("customers", "customer_tags", "orders", "order_items", "subscriptions", "events")
FLUSH_ROWS = 50_000
NOT_IMPORTS = [
    tracemalloc.Filter(False, "<frozen importlib._bootstrap>"),
    tracemalloc.Filter(False, "<frozen importlib._bootstrap_external>"),
]


class BenchmarkError(Exception):
    """Something broke: the numbers would not mean anything."""


# --------------------------------------------------------------------------- memory


def peak_rss_mb() -> float:
    """Peak resident set size of this process so far, in MB (Linux reports ru_maxrss in KiB)."""
    kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return kib / 1024 if sys.platform != "darwin" else kib / 1024 / 1024


def _sqlite_library() -> Any | None:
    """The shared SQLite library, for its heap counters; None where it cannot be loaded."""
    try:
        library = ctypes.CDLL(ctypes.util.find_library("sqlite3") or "libsqlite3.so.0")
        library.sqlite3_memory_highwater.restype = ctypes.c_int64
        library.sqlite3_memory_highwater.argtypes = [ctypes.c_int]
    except (OSError, AttributeError):
        return None
    return library


SQLITE = _sqlite_library()


def sqlite_heap_peak_mb() -> float | None:
    """SQLite's heap high-water mark (page caches, prepared statements, sorters), in MB.

    None when the library cannot be loaded, or is not the one the sqlite3 module uses (it then reads 0).
    """
    if SQLITE is None:
        return None
    peak = int(SQLITE.sqlite3_memory_highwater(0))
    return peak / 1024 / 1024 if peak > 0 else None


@dataclass
class MemoryLog:
    """After each phase of the measuring process: peak RSS, and SQLite's heap high-water mark, in MB."""

    rss: dict[str, float] = field(default_factory=dict)
    sqlite: dict[str, float] = field(default_factory=dict)

    def checkpoint(self, label: str) -> None:
        self.rss[label] = peak_rss_mb()
        heap = sqlite_heap_peak_mb()
        if heap is not None:
            self.sqlite[label] = heap


def progress(message: str) -> None:
    print(f"  [{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


# --------------------------------------------------------------------------- generating the store


def copy_sqlite(engine: Engine, target: Path) -> None:
    """A consistent copy of ``engine``'s SQLite store through the backup API (the store runs in WAL mode)."""
    with engine.connect() as conn, closing(sqlite3.connect(target)) as copy:
        source = conn.connection.driver_connection
        assert isinstance(source, sqlite3.Connection)
        source.backup(copy)


def sqlite_instant(moment: datetime) -> str:
    """An instant as ``UTCDateTime`` stores it on SQLite: naive UTC text with microseconds."""
    return moment.astimezone(UTC).replace(tzinfo=None).isoformat(" ", "microseconds")


def _converter(column: Column[Any]) -> Callable[[Any], Any] | None:
    """What SQLAlchemy's bind processing does to a (non-null) value of this column on SQLite; None: nothing."""
    kind = column.type
    if isinstance(kind, UTCDateTime):
        return sqlite_instant
    if isinstance(kind, Date):
        return date.isoformat
    if isinstance(kind, Boolean):
        return int
    if isinstance(kind, JSON):
        return json.dumps
    return None


@dataclass
class BulkTable:
    """One table's INSERT: its columns, their scalar defaults and converters, and the rows waiting to be written."""

    table: Table
    names: list[str] = field(default_factory=list)
    defaults: list[Any] = field(default_factory=list)
    converters: list[tuple[int, Callable[[Any], Any]]] = field(default_factory=list)  # (column index, converter)
    rows: list[list[Any]] = field(default_factory=list)
    known: set[str] = field(default_factory=set)

    def add(self, row: dict[str, Any]) -> None:
        if not self.names:
            self._columns(row)
        if not row.keys() <= self.known:
            raise BenchmarkError(f"a {self.table.name} row has columns the first row lacked: {row.keys() - self.known}")
        values = [row.get(name, default) for name, default in zip(self.names, self.defaults, strict=True)]
        for index, convert in self.converters:
            if values[index] is not None:
                values[index] = convert(values[index])
        self.rows.append(values)

    def _columns(self, row: dict[str, Any]) -> None:
        for column in self.table.columns:
            default = column.default
            scalar = default is not None and getattr(default, "is_scalar", False)
            if column.name not in row and not scalar:
                continue  # NULL, or the autoincrement key
            convert = _converter(column)
            if convert is not None:
                self.converters.append((len(self.names), convert))
            self.names.append(column.name)
            self.defaults.append(getattr(default, "arg", None) if scalar else None)
        self.known = set(self.names)

    def sql(self) -> str:
        return f"INSERT INTO {self.table.name} ({', '.join(self.names)}) VALUES ({', '.join('?' * len(self.names))})"


def bulk_generate(engine: Engine, shop: DemoShop) -> dict[str, int]:
    """The rows ``DemoShop.generate`` writes (same seed, same order, so the same event ids), via executemany.

    The secondary indexes of the generated tables are dropped for the load and created again after it (a sort
    instead of random B-tree inserts through a 2 MB page cache); the store ends with the same schema.
    """
    indexes = [index for name in GENERATED_TABLES for index in TABLES.metadata.tables[name].indexes]
    with engine.begin() as conn:
        for index in indexes:
            index.drop(conn)
    counts = _bulk_rows(engine, shop)
    with engine.begin() as conn:
        for index in indexes:
            index.create(conn)
    return counts


def _bulk_rows(engine: Engine, shop: DemoShop) -> dict[str, int]:
    rng = random.Random(shop.seed)
    tables = {name: BulkTable(TABLES.metadata.tables[name]) for name in GENERATED_TABLES}
    counts = {"customers": 0, "orders": 0, "events": 0}
    pending = 0
    raw = engine.raw_connection()
    try:
        for index in range(shop.customers):
            for name, row in shop._customer(rng, index):  # the generator's own rows, one customer at a time
                tables[name].add(row)
                counts[name] = counts.get(name, 0) + 1
                pending += 1
            if pending >= FLUSH_ROWS:
                _flush(raw, tables)
                pending = 0
        _flush(raw, tables)
    finally:
        raw.close()
    return {k: counts[k] for k in ("customers", "orders", "events")}


def _flush(raw: Any, tables: dict[str, BulkTable]) -> None:
    cursor = raw.cursor()
    for name in GENERATED_TABLES:  # parents first: foreign keys are on
        bulk = tables[name]
        if bulk.rows:
            cursor.executemany(bulk.sql(), bulk.rows)
            bulk.rows = []
    cursor.close()
    raw.commit()


def demo_generate(engine: Engine, shop: DemoShop) -> dict[str, int]:
    return shop.generate(engine)


GENERATORS: dict[str, Callable[[Engine, DemoShop], dict[str, int]]] = {"bulk": bulk_generate, "demo": demo_generate}


def table_rows(path: Path, table: str) -> list[tuple[Any, ...]]:
    with closing(sqlite3.connect(path)) as conn:
        return conn.execute(f"SELECT * FROM {table} ORDER BY 1, 2").fetchall()


def schema_rows(path: Path) -> list[tuple[Any, ...]]:
    with closing(sqlite3.connect(path)) as conn:
        return conn.execute("SELECT type, name, tbl_name, sql FROM sqlite_master ORDER BY name").fetchall()


def check_bulk_generator(folder: Path, customers: int) -> int:
    """Generate ``customers`` both ways; compare the schema and every generated table row for row.

    Returns the rows compared.
    """
    paths = {name: folder / f"check-{name}.db" for name in GENERATORS}
    for name, path in paths.items():
        engine = open_store(path)
        GENERATORS[name](engine, DemoShop(customers, START, DAYS))
        engine.dispose()
    if schema_rows(paths["bulk"]) != schema_rows(paths["demo"]):
        raise BenchmarkError("the bulk generator leaves a different schema (tables or indexes) than DemoShop")
    compared = 0
    for table in GENERATED_TABLES:
        bulk, demo = table_rows(paths["bulk"], table), table_rows(paths["demo"], table)
        if bulk != demo:
            raise BenchmarkError(
                f"the bulk generator's {table} differ from DemoShop.generate's ({len(bulk)} vs {len(demo)} rows)"
            )
        compared += len(bulk)
    return compared


# --------------------------------------------------------------------------- the plan


def compile_plan() -> Plan:
    """The example project's plan, through the same gate as ``ecrm compile``."""
    result = build_plan(load_project(CONFIG))
    if result.plan is None:
        raise BenchmarkError(f"the example project does not build ({len(result.blocking)} error(s)); run: ecrm lint")
    return Plan.from_json(result.plan)


# --------------------------------------------------------------------------- ticks


class StatementCounter:
    """SQL statements an engine executes (a SQLAlchemy cursor event), read per tick."""

    def __init__(self, engine: Engine):
        self.count = 0
        event.listen(engine, "before_cursor_execute", self._seen)

    def _seen(self, *_: Any) -> None:
        self.count += 1


@dataclass
class TickTime:
    label: str
    at: str
    seconds: float  # wall clock
    entered: int
    decisions: int
    cpu_s: float = 0.0  # CPU time of this process (SQLite runs in it)
    statements: int = 0  # SQL statements the tick executed


def timed_tick(scheduler: Scheduler, label: str, moment: datetime, counter: StatementCounter) -> TickTime:
    counted = counter.count
    cpu, began = time.process_time(), time.perf_counter()
    report = scheduler.tick(moment)
    seconds, cpu = time.perf_counter() - began, time.process_time() - cpu
    at = moment.astimezone(ZONE).strftime("%m-%d %H:%M")
    entered, decisions = sum(report.entered.values()), sum(report.decisions.values())
    return TickTime(label, at, seconds, entered, decisions, cpu, counter.count - counted)


def run_ticks(engine: Engine, day_ticks: int, memory: MemoryLog, before_steady: Path) -> dict[str, Any]:
    """The ticks; the store as the steady tick finds it is copied to ``before_steady`` (for the whole-hour
    minimum, which must start from the same state)."""
    scheduler, counter = Scheduler(engine), StatementCounter(engine)
    first = timed_tick(scheduler, "first (baseline)", START, counter)
    progress(f"first tick {first.seconds:.2f}s (peak RSS {peak_rss_mb():.0f} MB)")
    cron = timed_tick(scheduler, "cron (newsletter)", START + timedelta(minutes=1), counter)
    progress(f"cron tick {cron.seconds:.2f}s, {cron.entered:,} entered (peak RSS {peak_rss_mb():.0f} MB)")
    memory.checkpoint("first + cron ticks")
    copy_sqlite(engine, before_steady)
    steady = timed_tick(scheduler, "steady", START + timedelta(minutes=61), counter)
    progress(f"steady tick {steady.seconds:.2f}s, {steady.statements} statements")
    day = []
    for hour in range(day_ticks):
        day.append(timed_tick(scheduler, f"day {hour + 1}", START + timedelta(minutes=121 + 60 * hour), counter))
        progress(f"hourly tick {day[-1].at}: {day[-1].seconds:.2f}s, {day[-1].entered:,} entered")
    memory.checkpoint("all ticks")
    warm = [steady_again(engine, scheduler, counter, before_steady) for _ in range(WARM_RUNS)]
    for again in warm:
        if (again.entered, again.decisions, again.statements) != (steady.entered, steady.decisions, steady.statements):
            raise BenchmarkError(
                f"the steady tick run again decided otherwise: {again.entered:,} entered and {again.decisions:,} "
                f"decisions in {again.statements:,} statements, against {steady.entered:,}, {steady.decisions:,} "
                f"and {steady.statements:,} the first time"
            )
    best = asdict(min(warm, key=lambda t: t.cpu_s))
    best["cpu_runs"] = [t.cpu_s for t in warm]
    progress(f"steady tick again, warm: best {best['cpu_s'] * 1000:.1f} ms CPU of {WARM_RUNS}")
    return {
        "first": asdict(first),
        "cron": asdict(cron),
        "steady": asdict(steady),
        "steady_warm": best,
        "day": [asdict(t) for t in day],
    }


# The steady tick is the process's first incremental tick: it also compiles the statements only such a tick runs
# (a few milliseconds). Run again on the store as it found it, by the same scheduler, it costs what it costs in
# a scheduler that has been running: best of these runs, as the hand-written hour is the best of its runs.
WARM_RUNS = 3


def steady_again(engine: Engine, scheduler: Scheduler, counter: StatementCounter, snapshot: Path) -> TickTime:
    """The steady tick once more, on the store copied back from ``snapshot`` (the engine's connections closed
    first), with everything the scheduler and the process built and compiled so far."""
    engine.dispose()
    database = engine.url.database
    assert database is not None
    with closing(sqlite3.connect(snapshot)) as source, closing(sqlite3.connect(database)) as target:
        source.backup(target)
    return timed_tick(scheduler, "steady (warm)", START + timedelta(minutes=61), counter)


# --------------------------------------------------------------------------- entry evaluation vs hand-written SQL


@dataclass(frozen=True)
class Audience:
    segment: str  # the example project's segment whose condition ecrm evaluates
    handwritten: Callable[[datetime], tuple[str, tuple[Any, ...]]]  # the same audience: SQL and parameters

    def where(self) -> str:
        """The condition as the project's segment file writes it."""
        source = load_config(CONFIG).segments / f"{self.segment}.yaml"
        return " ".join(str(yaml.safe_load(source.read_text(encoding="utf-8"))["where"]).split())


def _local_midnight_utc(day: date) -> str:
    return sqlite_instant(datetime(day.year, day.month, day.day, tzinfo=ZONE))


def dormant_sql(now: datetime) -> tuple[str, tuple[Any, ...]]:
    """days_since_last_order between 150 and 364: the last order's shop-local date in [today-364, today-150]."""
    today = now.astimezone(ZONE).date()
    oldest, newest_excluded = today - timedelta(days=364), today - timedelta(days=149)
    sql = (
        "SELECT customer_id FROM orders WHERE ordered_at <= ? GROUP BY customer_id "
        "HAVING MAX(ordered_at) >= ? AND MAX(ordered_at) < ?"
    )
    return sql, (sqlite_instant(now), _local_midnight_utc(oldest), _local_midnight_utc(newest_excluded))


def loyal_sql(now: datetime) -> tuple[str, tuple[Any, ...]]:
    sql = (
        "SELECT customer_id FROM orders WHERE ordered_at <= ? GROUP BY customer_id "
        "HAVING COUNT(*) >= 5 OR SUM(amount) >= 50000"
    )
    return sql, (sqlite_instant(now),)


def newsletter_sql(now: datetime) -> tuple[str, tuple[Any, ...]]:
    return "SELECT id FROM customers WHERE email_opt_in = 1 AND unsubscribed = 0 AND email IS NOT NULL", ()


def skincare_without_lotion_sql(now: datetime) -> tuple[str, tuple[Any, ...]]:
    """Bought in skincare (or below it) on one of the last 60 shop-local days, never bought LOTION-150: the lines
    in the category through its index (a range for the paths below it), their orders by key; minus the buyers."""
    since = now.astimezone(ZONE).date() - timedelta(days=60)
    sql = (
        "SELECT o.customer_id FROM order_items i JOIN orders o ON o.id = i.order_id "
        "WHERE (i.category = ? OR (i.category >= ? AND i.category < ?)) AND o.ordered_at >= ? AND o.ordered_at <= ? "
        "EXCEPT SELECT o.customer_id FROM order_items i JOIN orders o ON o.id = i.order_id "
        "WHERE i.sku = ? AND o.ordered_at <= ?"
    )
    instant = sqlite_instant(now)
    return sql, ("skincare", "skincare/", "skincare0", _local_midnight_utc(since), instant, "LOTION-150", instant)


AUDIENCES = (  # the segments behind the dormant win-back, loyal-customer, newsletter and cross-sell scenarios
    Audience("dormant_150", dormant_sql),
    Audience("loyal_customers", loyal_sql),
    Audience("newsletter_readers", newsletter_sql),
    Audience("skincare_without_lotion", skincare_without_lotion_sql),
)


def ecrm_query(plan: Plan, segment: str, now: datetime) -> Select[Any]:
    view = DeployedPlan(plan, 0)
    return select_customers(
        view.segments[segment], now=now, timezone=view.timezone, segments=view.segments, types=view.types(None)
    )


def timed_ids(run: Callable[[], list[str]]) -> tuple[float, list[str]]:
    began = time.perf_counter()
    ids = run()
    return time.perf_counter() - began, ids


def explain(conn: Connection, query: Select[Any]) -> list[str]:
    """SQLite's plan for the generated SQL (placeholders bound to NULL: the plan does not depend on values)."""
    compiled = query.compile(dialect=conn.dialect)
    return explain_text(conn, str(compiled), len(compiled.positiontup or []))


def explain_text(conn: Connection, sql: str, placeholders: int) -> list[str]:
    """``EXPLAIN QUERY PLAN`` as an indented tree."""
    raw = conn.connection.driver_connection
    assert raw is not None
    cursor = raw.execute("EXPLAIN QUERY PLAN " + sql, [None] * placeholders)
    depth: dict[int, int] = {}
    lines = []
    for node, parent, _, detail in cursor.fetchall():
        depth[node] = depth.get(parent, -1) + 1
        lines.append("  " * depth[node] + detail)
    return lines


def compare_audience(
    conn: Connection, plan: Plan, audience: Audience, now: datetime, repeat: int, always_explain: bool
) -> dict[str, Any]:
    query = ecrm_query(plan, audience.segment, now)
    sql, params = audience.handwritten(now)

    def ecrm() -> list[str]:
        return list(conn.execute(query).scalars())

    def hand() -> list[str]:
        return [row[0] for row in conn.exec_driver_sql(sql, params)]

    ecrm_runs, hand_runs = [], []
    for _ in range(repeat):  # interleaved, so that noise on a shared machine hits both alike
        seconds, ecrm_ids = timed_ids(ecrm)
        ecrm_runs.append(seconds)
        seconds, hand_ids = timed_ids(hand)
        hand_runs.append(seconds)
        if set(ecrm_ids) != set(hand_ids):
            raise BenchmarkError(
                f"{audience.segment}: ecrm selects {len(set(ecrm_ids)):,} customers, the "
                f"hand-written query {len(set(hand_ids)):,}"
            )
    ratio = min(ecrm_runs) / max(min(hand_runs), 1e-9)
    found: dict[str, Any] = {
        "name": audience.segment,
        "rows": len(ecrm_ids),
        "ecrm": ecrm_runs,
        "hand": hand_runs,
        "ratio": ratio,
        "handwritten_sql": sql,
    }
    if always_explain or ratio > RATIO_WORTH_EXPLAINING:
        found["ecrm_plan"] = explain(conn, query)
        found["hand_plan"] = explain_text(conn, sql, len(params))
    if always_explain:
        found["ecrm_sql"] = " ".join(str(query.compile(dialect=conn.dialect)).split())
    return found


def compare_entries(engine: Engine, plan: Plan, repeat: int, always_explain: bool) -> list[dict[str, Any]]:
    now = START + timedelta(minutes=1)
    with engine.connect() as conn:
        return [compare_audience(conn, plan, audience, now, repeat, always_explain) for audience in AUDIENCES]


# --------------------------------------------------------------------------- the incremental hand-written minimum

# The segments that start scenarios (dormancy_signs, dormant_150_winback, loyal_privileges), which every tick
# re-evaluates over every customer. Between two ticks only these customers can change membership: those with a
# new order or a new event of a type the segments count, and those with such an event leaving a rolling window
# (opened(email, 30d), count(…, 60d)). The shop-local day moving (days_since_last_order) needs a full pass.
RECHECKED_SEGMENTS = ("dormancy_signs", "dormant_150", "loyal_customers")
CHANGED_SQL = """
SELECT customer_id FROM orders WHERE ordered_at > :since AND ordered_at <= :now
UNION SELECT customer_id FROM events
      WHERE type IN ('message.opened', 'subscription.skipped', 'subscription.interval_changed')
      AND occurred_at > :since AND occurred_at <= :now
UNION SELECT customer_id FROM events
      WHERE type = 'message.opened' AND occurred_at >= :since_30d AND occurred_at < :now_30d
UNION SELECT customer_id FROM events
      WHERE type IN ('subscription.skipped', 'subscription.interval_changed')
      AND occurred_at >= :since_60d AND occurred_at < :now_60d"""
RECHECK_SQL = f"""
WITH changed AS ({CHANGED_SQL}),
o AS (SELECT customer_id, COUNT(*) AS n, MAX(ordered_at) AS last, SUM(amount) AS spent,
             CAST(julianday(MAX(ordered_at), :local) - 1721424.5 AS INTEGER) AS last_day,
             CAST(julianday(MIN(ordered_at), :local) - 1721424.5 AS INTEGER) AS first_day FROM orders
      WHERE customer_id IN (SELECT customer_id FROM changed) AND ordered_at <= :now GROUP BY customer_id)
SELECT o.customer_id,
       o.n >= 2 AND (
         (o.last >= :day_89 AND :today - o.last_day > 1.5 * ((o.last_day - o.first_day) / (o.n - 1))
          AND NOT EXISTS (
            SELECT 1 FROM events m WHERE m.customer_id = o.customer_id AND m.type = 'message.opened'
            AND m.occurred_at >= :now_30d AND m.occurred_at <= :now
            AND json_extract(m.properties, '$.channel') = 'email'))
         OR (SELECT COUNT(*) FROM events s WHERE s.customer_id = o.customer_id AND s.type = 'subscription.skipped'
             AND s.occurred_at >= :now_60d AND s.occurred_at <= :now) >= 2
         OR EXISTS (SELECT 1 FROM events s WHERE s.customer_id = o.customer_id
                    AND s.type = 'subscription.interval_changed' AND s.occurred_at >= :now_60d
                    AND s.occurred_at <= :now)),
       o.last >= :day_364 AND o.last < :day_149,
       o.n >= 5 OR o.spent >= 50000
FROM o"""


def recheck_parameters(since: datetime, now: datetime) -> dict[str, Any]:
    """Instants as the store writes them; day windows as the UTC bounds of shop-local days."""
    today = now.astimezone(ZONE).date()
    days = {f"day_{n}": _local_midnight_utc(today - timedelta(days=n)) for n in (59, 89, 149, 364)}
    windows = {
        f"{name}_{n}d": sqlite_instant(moment - timedelta(days=n))
        for name, moment in (("since", since), ("now", now))
        for n in (30, 60)
    }
    local = f"{int((now.astimezone(ZONE).utcoffset() or timedelta(0)).total_seconds()):+d} seconds"
    clock = {"today": today.toordinal(), "local": local}  # dormancy_signs: days since the last order vs its interval
    return {"since": sqlite_instant(since), "now": sqlite_instant(now), **days, **windows, **clock}


def check_recheck(
    conn: Connection, plan: Plan, params: dict[str, Any], now: datetime, everyone: bool = False
) -> tuple[int, dict[str, int]]:
    """The re-check's members of each segment must be ecrm's among the changed customers (``everyone``: in the
    whole store, for a ``since`` before the first order); returns how many customers changed, and the members."""
    raw = conn.connection.driver_connection
    assert raw is not None
    rows = raw.execute(RECHECK_SQL, params).fetchall()
    changed = sorted(row[0] for row in raw.execute(CHANGED_SQL, params))
    members = {}
    for index, segment in enumerate(RECHECKED_SEGMENTS):
        hand = {row[0] for row in rows if row[index + 1]}
        query = ecrm_query(plan, segment, now)
        if not everyone:
            query = query.where(TABLES.customers.c.id.in_(changed))
        ecrm = set(conn.execute(query).scalars())
        if hand != ecrm:
            raise BenchmarkError(
                f"{segment}: of {len(changed):,} changed customers, ecrm selects {len(ecrm):,}, "
                f"the hand-written re-check {len(hand):,}"
            )
        members[segment] = len(hand)
    return len(changed), members


def incremental_minimum(
    engine: Engine, plan: Plan, steady: dict[str, Any], warm: dict[str, Any], repeat: int
) -> dict[str, Any]:
    """Re-check only the customers that changed in the steady tick's hour against the three segments, in
    hand-written SQL (timed, best of several runs), and check the answers against ecrm's segment queries."""
    since, now = START + timedelta(minutes=1), START + timedelta(minutes=61)
    if now.astimezone(ZONE).date() != since.astimezone(ZONE).date():
        raise BenchmarkError("the steady hour crosses the shop's midnight: that needs a full pass, not a re-check")
    params = recheck_parameters(since, now)
    with engine.connect() as conn:
        raw = conn.connection.driver_connection
        assert raw is not None
        cpu_runs, wall_runs = [], []
        for _ in range(max(10, 5 * repeat)):
            cpu, wall = time.process_time(), time.perf_counter()
            raw.execute(RECHECK_SQL, params).fetchall()
            cpu_runs.append(time.process_time() - cpu)
            wall_runs.append(time.perf_counter() - wall)
        changed, members = check_recheck(conn, plan, params, now)
        # The hour has few changed customers: the statement is also checked with everyone changed.
        checked, _ = check_recheck(conn, plan, recheck_parameters(now - timedelta(days=3650), now), now, True)
    best = min(cpu_runs)
    return {
        "since": since.isoformat(),
        "now": now.isoformat(),
        "changed_customers": changed,
        "members": members,
        "checked_customers": checked,
        "cpu_s": cpu_runs,
        "wall_s": wall_runs,
        "best_cpu_s": best,
        "steady_cpu_s": steady["cpu_s"],
        "steady_statements": steady["statements"],
        "ratio_steady_to_minimum": steady["cpu_s"] / max(best, 1e-9),
        "warm_steady_cpu_s": warm["cpu_s"],
        "ratio_warm_steady_to_minimum": warm["cpu_s"] / max(best, 1e-9),
        "sql": " ".join(RECHECK_SQL.split()),
    }


# --------------------------------------------------------------------------- the whole hour, hand-written

# The least an hourly cron job could do for the steady tick's hour, written by hand: the segment re-check above,
# then one statement per kind of work over every scenario at once: enter the customers whose events of a
# trigger type came in the hour (no entry condition, consent or re-entry rule: it enters more than ecrm), end
# the enrollments whose goal or stop event came, write an outbox row and a journal row for every step due
# (no template, channel choice, consent, caps or quiet hours), move those steps on, and set the watermarks. It
# runs on a copy of the store as the steady tick found it, in a transaction rolled back after each run, so each
# run does the same work (a commit's cost is left out: a floor, not an estimate).
HOUR_SQL = (
    ("segment re-check", RECHECK_SQL),
    (
        "entries",
        """INSERT INTO enrollments (customer_id, scenario_id, entered_at, entry_event_id, status, scenario_hash,
           node_id, due_at, holdout)
         SELECT e.customer_id, t.scenario_id, e.occurred_at, e.id, 'active', t.scenario_hash, t.start,
                e.occurred_at, 0
         FROM events e JOIN temp.bench_triggers t ON t.event = e.type
         WHERE e.occurred_at > :since AND e.occurred_at <= :now AND NOT EXISTS (
           SELECT 1 FROM enrollments x WHERE x.customer_id = e.customer_id AND x.scenario_id = t.scenario_id
           AND x.status = 'active')""",
    ),
    (
        "goals and stops",
        """UPDATE enrollments SET finished_at = :now, status = (
           SELECT d.outcome FROM temp.bench_endings d WHERE d.scenario_id = enrollments.scenario_id LIMIT 1)
         WHERE status = 'active' AND EXISTS (
           SELECT 1 FROM events e JOIN temp.bench_endings d ON d.event = e.type
           WHERE d.scenario_id = enrollments.scenario_id AND e.customer_id = enrollments.customer_id
           AND e.occurred_at > :since AND e.occurred_at <= :now)""",
    ),
    (
        "sends",
        """INSERT INTO outbox (idempotency_key, enrollment_id, customer_id, scenario_id, scenario_hash, node_id,
           channel, template, category, params, status, attempts, created_at, next_attempt_at)
         SELECT 'hour:' || id || ':' || node_id, id, customer_id, scenario_id, scenario_hash, node_id, 'email',
                node_id, 'marketing', '{}', 'pending', 0, :now, :now
         FROM enrollments WHERE status = 'active' AND due_at <= :now""",
    ),
    (
        "journal",
        """INSERT INTO decisions (at, customer_id, scenario_id, scenario_hash, enrollment_id, node_id, kind, detail)
         SELECT :now, customer_id, scenario_id, scenario_hash, id, node_id, 'sent', '{}'
         FROM enrollments WHERE status = 'active' AND due_at <= :now""",
    ),
    (
        "steps moved on",
        "UPDATE enrollments SET previous_at = due_at, due_at = NULL WHERE status = 'active' AND due_at <= :now",
    ),
    ("watermarks", "UPDATE trigger_state SET watermark = :now"),
)


def _hour_tables(raw: sqlite3.Connection, plan: Plan) -> None:
    """The plan's event triggers and goal/stop events, as the hand-written job would keep them."""
    raw.execute("CREATE TEMP TABLE bench_triggers (scenario_id, scenario_hash, start, event)")
    raw.execute("CREATE TEMP TABLE bench_endings (scenario_id, event, outcome)")
    for s in plan.scenarios:
        if isinstance(s.trigger, EventTrigger):
            raw.execute("INSERT INTO bench_triggers VALUES (?, ?, ?, ?)", (s.id, s.hash, s.start, s.trigger.event))
        ends = [(g.event, "converted") for g in s.goals] + [
            (r.event, "exited") for r in s.stop if isinstance(r, EventStop)
        ]
        raw.executemany("INSERT INTO bench_endings VALUES (?, ?, ?)", [(s.id, *end) for end in ends])


def hour_minimum(
    snapshot: Path, plan: Plan, steady: dict[str, Any], warm: dict[str, Any], repeat: int
) -> dict[str, Any]:
    """The steady tick's hour done by the hand-written job above (timed, best of several runs)."""
    since, now = START + timedelta(minutes=1), START + timedelta(minutes=61)
    params = recheck_parameters(since, now)
    cpu_runs: list[float] = []
    rows: dict[str, int] = {}
    with closing(sqlite3.connect(snapshot, isolation_level=None)) as raw:
        _hour_tables(raw, plan)
        for _ in range(max(10, 5 * repeat)):
            raw.execute("BEGIN")
            cpu = time.process_time()
            for name, sql in HOUR_SQL:
                cursor = raw.execute(sql, params)
                rows[name] = len(cursor.fetchall()) if cursor.description else cursor.rowcount
            cpu_runs.append(time.process_time() - cpu)
            raw.execute("ROLLBACK")
    best = min(cpu_runs)
    return {
        "rows": rows,
        "cpu_s": cpu_runs,
        "best_cpu_s": best,
        "steady_cpu_s": steady["cpu_s"],
        "steady_decisions": steady["decisions"],
        "ratio_steady_to_hour": steady["cpu_s"] / max(best, 1e-9),
        "warm_steady_cpu_s": warm["cpu_s"],
        "ratio_warm_steady_to_hour": warm["cpu_s"] / max(best, 1e-9),
    }


# --------------------------------------------------------------------------- one size, in a child process


def top_allocations(before: tracemalloc.Snapshot, after: tracemalloc.Snapshot, top: int) -> list[str]:
    """Where memory traced since ``before`` is still held: top lines, and the call path of the largest."""
    stats = after.compare_to(before, "traceback")
    lines = []
    for stat in stats[:top]:
        frame = stat.traceback[-1] if stat.traceback else None
        where = f"{frame.filename}:{frame.lineno}" if frame else "?"
        lines.append(f"{stat.size_diff / 1024 / 1024:+8.2f} MB  {stat.count_diff:+9,} blocks  {where}")
    if stats and len(stats[0].traceback) > 1:
        lines.append("largest, called from (oldest call first):")
        lines += [f"    {frame.filename}:{frame.lineno}" for frame in stats[0].traceback]
    return lines


def add_child_key_indexes(engine: Engine) -> None:
    """The proposed fix, tried on the benchmark's own store only: index the child keys that deletes check."""
    with engine.begin() as conn:
        for table, column in CHILD_KEY_INDEXES:
            conn.exec_driver_sql(f"CREATE INDEX IF NOT EXISTS bench_ix_{table}_{column} ON {table} ({column})")


def generate_store(customers: int, args: argparse.Namespace, store: Path) -> dict[str, Any]:
    """Child process 1: write the store (its own process, so that its memory is not counted in the ticks')."""
    engine = open_store(store)
    began = time.perf_counter()
    counts = GENERATORS[args.generator](engine, DemoShop(customers, START, DAYS))
    generation = time.perf_counter() - began
    engine.dispose()
    progress(
        f"generated {counts['customers']:,} customers in {generation:.1f}s ({args.generator}; "
        f"peak RSS {peak_rss_mb():.0f} MB)"
    )
    return {
        "counts": counts,
        "generator": args.generator,
        "generation_s": generation,
        "generation_rss": peak_rss_mb(),
        "store_mb": store.stat().st_size / 1024 / 1024,
    }


def measure_store(customers: int, args: argparse.Namespace, store: Path) -> dict[str, Any]:
    """Child process 2: deploy on the generated store, time the ticks and the entry queries."""
    memory = MemoryLog()
    memory.checkpoint("start")
    plan = compile_plan()
    engine = open_store(store, create=False)
    if args.fk_indexes:
        add_child_key_indexes(engine)
    deploy(engine, plan, START - timedelta(minutes=1), note="tick_scale benchmark")
    memory.checkpoint("compiled + deployed")
    before = None
    if args.trace_memory:  # from here on only: tracing makes everything several times slower
        tracemalloc.start(args.trace_frames)
        before = tracemalloc.take_snapshot()
    snapshot = store.with_name(f"{store.stem}.before-steady.db")
    ticks = run_ticks(engine, args.day_ticks, memory, snapshot)
    traced = _traced(before, args.top) if before is not None else None
    entries = compare_entries(engine, plan, args.repeat, args.explain)
    memory.checkpoint("entry comparison")
    incremental = incremental_minimum(engine, plan, ticks["steady"], ticks["steady_warm"], args.repeat)
    engine.dispose()
    hour = hour_minimum(snapshot, plan, ticks["steady"], ticks["steady_warm"], args.repeat)
    snapshot.unlink()
    return {
        "customers": customers,
        "fk_indexes": args.fk_indexes,
        "ticks": ticks,
        "rss": memory.rss,
        "sqlite_heap": memory.sqlite,
        "entries": entries,
        "incremental": incremental,
        "hour": hour,
        "traced": traced,
    }


def _traced(before: tracemalloc.Snapshot, top: int) -> dict[str, Any]:
    after = tracemalloc.take_snapshot().filter_traces(NOT_IMPORTS)
    before = before.filter_traces(NOT_IMPORTS)
    current, peak = tracemalloc.get_traced_memory()
    return {
        "current_mb": current / 1024 / 1024,
        "peak_mb": peak / 1024 / 1024,
        "top": top_allocations(before, after, top),
    }


def child_main(args: argparse.Namespace) -> int:
    role, customers = args.child
    work = generate_store if role == "generate" else measure_store
    print(RESULT_MARK + json.dumps(work(int(customers), args, args.store)), flush=True)
    return 0


def run_child(role: str, customers: int, store: Path, args: argparse.Namespace) -> dict[str, Any]:
    command = [
        sys.executable,
        str(Path(__file__).resolve()),
        "--child",
        role,
        str(customers),
        "--store",
        str(store),
        "--day-ticks",
        str(args.day_ticks),
        "--repeat",
        str(args.repeat),
        "--generator",
        args.generator,
        "--top",
        str(args.top),
        "--trace-frames",
        str(args.trace_frames),
    ]
    flags = {"--trace-memory": args.trace_memory, "--explain": args.explain, "--fk-indexes": args.fk_indexes}
    command += [flag for flag, on in flags.items() if on]
    done = subprocess.run(command, stdout=subprocess.PIPE, text=True, check=False)
    results = [line for line in done.stdout.splitlines() if line.startswith(RESULT_MARK)]
    if done.returncode != 0 or not results:
        raise BenchmarkError(f"the {role} process for {customers:,} customers failed (exit {done.returncode})")
    result: dict[str, Any] = json.loads(results[-1][len(RESULT_MARK) :])
    return result


def run_size(customers: int, args: argparse.Namespace) -> dict[str, Any]:
    """Generate a store and measure on it, each in a new process; the store is deleted unless ``--keep``."""
    folder = Path(tempfile.mkdtemp(prefix=f"ecrm-tick-scale-{customers}-", dir=args.tmp))
    store = folder / "store.db"
    began = time.perf_counter()
    try:
        result = run_child("generate", customers, store, args)
        result.update(run_child("measure", customers, store, args))
    finally:
        if not args.keep:
            shutil.rmtree(folder, ignore_errors=True)
    result["wall_s"] = time.perf_counter() - began
    if args.keep:
        result["kept"] = str(store)
    return result


# --------------------------------------------------------------------------- output


def report_size(r: dict[str, Any]) -> str:
    counts, ticks, rss = r["counts"], r["ticks"], r["rss"]
    lines = [
        f"== {r['customers']:,} customers: {counts['orders']:,} orders, {counts['events']:,} events "
        f"(store {r['store_mb']:,.0f} MB; whole run {r['wall_s']:.0f}s)",
        f"  generation ({r['generator']}): {r['generation_s']:.1f}s "
        f"({r['customers'] / r['generation_s']:,.0f} customers/s); store schema: "
        + (
            "+ indexes on decisions.enrollment_id, outbox.enrollment_id (--fk-indexes)"
            if r["fk_indexes"]
            else "as ecrm_dsl creates it"
        ),
        f"  {'tick':<20} {'at':>11} {'s':>9} {'CPU s':>9} {'statements':>10} {'entered':>9} {'decisions':>10}",
    ]
    for key in ("first", "cron", "steady"):
        t = ticks[key]
        lines.append(
            f"  {t['label']:<20} {t['at']:>11} {t['seconds']:>9.2f} {t['cpu_s']:>9.2f} {t['statements']:>10,} "
            f"{t['entered']:>9,} {t['decisions']:>10,}"
        )
    day = ticks["day"]
    if day:
        seconds = [t["seconds"] for t in day]
        slowest = max(day, key=lambda t: t["seconds"])
        lines.append(
            f"  {len(day)} hourly ticks: mean {sum(seconds) / len(seconds):.2f}s, max {max(seconds):.2f}s "
            f"(at {slowest['at']}), {sum(t['entered'] for t in day):,} entered, "
            f"{sum(t['decisions'] for t in day):,} decisions, "
            f"{sum(t['statements'] for t in day) / len(day):,.0f} statements a tick"
        )
    lines.append(
        f"  peak RSS MB: generation process {r['generation_rss']:.0f}; measuring process after "
        + ", ".join(f"{k} {v:.0f}" for k, v in rss.items())
    )
    if r["sqlite_heap"]:
        lines.append(
            "  of which SQLite's heap, peak MB: " + ", ".join(f"{k} {v:.1f}" for k, v in r["sqlite_heap"].items())
        )
    lines.append(
        f"  entry evaluation at {START + timedelta(minutes=1):%Y-%m-%d %H:%M}, best of "
        f"{len(r['entries'][0]['ecrm'])} (interleaved): ecrm select_customers vs hand-written SQL"
    )
    lines.append(f"    {'audience':<20} {'rows':>9} {'ecrm s':>8} {'hand s':>8} {'ratio':>7}")
    for e in r["entries"]:
        lines.append(
            f"    {e['name']:<20} {e['rows']:>9,} {min(e['ecrm']):>8.3f} {min(e['hand']):>8.3f} {e['ratio']:>6.2f}x"
        )
    lines += _plans(r["entries"])
    lines += _incremental(r["incremental"])
    lines += _hour(r["hour"])
    if r.get("kept"):
        lines.append(f"  store kept: {r['kept']}")
    if r.get("traced"):
        traced = r["traced"]
        lines.append(
            f"  tracemalloc over the ticks: now {traced['current_mb']:.1f} MB traced, "
            f"peak {traced['peak_mb']:.1f} MB; held since before the first tick:"
        )
        lines += [f"    {line}" for line in traced["top"]]
    return "\n".join(lines)


def _plans(entries: Sequence[dict[str, Any]]) -> list[str]:
    lines = []
    for e in entries:
        if "ecrm_plan" not in e:
            continue
        lines.append(f"    {e['name']}: ecrm is {e['ratio']:.1f}x the hand-written query; query plans:")
        lines += [f"      ecrm: {step}" for step in e["ecrm_plan"]]
        lines += [f"      hand: {step}" for step in e["hand_plan"]]
        lines.append(f"      hand-written SQL: {e['handwritten_sql']}")
        if "ecrm_sql" in e:
            lines.append(f"      ecrm SQL: {e['ecrm_sql']}")
    return lines


def _incremental(inc: dict[str, Any]) -> list[str]:
    members = ", ".join(f"{name} {n}" for name, n in inc["members"].items())
    return [
        f"  steady tick against the incremental hand-written minimum (the {inc['changed_customers']:,} customers "
        f"that changed in its hour, re-checked against the 3 segments in one statement; members: {members}; "
        f"with everyone changed, the statement agrees with ecrm on all {inc['checked_customers']:,})",
        f"    steady tick {inc['steady_cpu_s'] * 1000:,.1f} ms CPU, {inc['steady_statements']:,} statements; "
        f"minimum {inc['best_cpu_s'] * 1000:.2f} ms CPU (best of {len(inc['cpu_s'])}); "
        f"ratio {inc['ratio_steady_to_minimum']:,.0f}x",
        f"    run again warm {inc['warm_steady_cpu_s'] * 1000:,.1f} ms CPU; "
        f"ratio {inc['ratio_warm_steady_to_minimum']:,.0f}x",
    ]


def _hour(hour: dict[str, Any]) -> list[str]:
    done = ", ".join(f"{name} {n:,}" for name, n in hour["rows"].items())
    return [
        f"  steady tick against the whole hour done by hand-written SQL ({len(hour['rows'])} statements over every "
        f"scenario: {done} rows)",
        f"    steady tick {hour['steady_cpu_s'] * 1000:,.1f} ms CPU ({hour['steady_decisions']:,} decisions); "
        f"hand-written hour {hour['best_cpu_s'] * 1000:.2f} ms CPU (best of {len(hour['cpu_s'])}); "
        f"ratio {hour['ratio_steady_to_hour']:,.1f}x",
        f"    run again warm (best of {WARM_RUNS}, statements compiled by the first run) "
        f"{hour['warm_steady_cpu_s'] * 1000:,.1f} ms CPU; ratio {hour['ratio_warm_steady_to_hour']:,.1f}x",
    ]


def report_summary(results: Sequence[dict[str, Any]]) -> str:
    lines = [
        f"{'customers':>10} {'orders':>10} {'events':>10} {'gen s':>7} {'first s':>8} {'cron s':>8} "
        f"{'steady s':>9} {'day mean':>9} {'day max':>8} {'RSS MB':>7} {'steady/min':>10} {'steady/hour':>11} "
        f"{'warm/hour':>9}  "
        "entry ratios (ecrm/hand)"
    ]
    for r in results:
        t = r["ticks"]
        day = [x["seconds"] for x in t["day"]] or [0.0]
        ratios = ", ".join(f"{e['name']} {e['ratio']:.2f}x" for e in r["entries"])
        lines.append(
            f"{r['customers']:>10,} {r['counts']['orders']:>10,} {r['counts']['events']:>10,} "
            f"{r['generation_s']:>7.1f} {t['first']['seconds']:>8.2f} {t['cron']['seconds']:>8.2f} "
            f"{t['steady']['seconds']:>9.2f} {sum(day) / len(day):>9.2f} {max(day):>8.2f} "
            f"{r['rss']['all ticks']:>7.0f} {r['incremental']['ratio_steady_to_minimum']:>9,.0f}x "
            f"{r['hour']['ratio_steady_to_hour']:>10,.1f}x {r['hour']['ratio_warm_steady_to_hour']:>8,.1f}x  {ratios}"
        )
    if len(results) > 1:
        small, large = min(results, key=lambda r: r["customers"]), max(results, key=lambda r: r["customers"])
        scale = large["customers"] / small["customers"]
        big, little = large["rss"]["all ticks"], small["rss"]["all ticks"]
        lines.append(
            f"peak RSS through the ticks, largest / smallest: {big:.0f} MB / {little:.0f} MB = "
            f"{big / little:.2f}x for {scale:,.0f}x the customers (flat memory: close to 1x)"
        )
        lines.append(
            f"tick time, largest / smallest, for {scale:,.0f}x the customers: "
            + ", ".join(
                f"{name} {_tick_mean(large, key) / _tick_mean(small, key):.1f}x"
                for name, key in (("cron", "cron"), ("steady", "steady"), ("day mean", "day"))
                if _tick_mean(small, key) > 0
            )
        )
    return "\n".join(lines)


def _tick_mean(result: dict[str, Any], key: str) -> float:
    ticks = result["ticks"][key]
    seconds = [t["seconds"] for t in ticks] if isinstance(ticks, list) else [ticks["seconds"]]
    return sum(seconds) / len(seconds) if seconds else 0.0


# --------------------------------------------------------------------------- main


def parse_sizes(text: str) -> list[int]:
    try:
        sizes = [int(part.replace("_", "")) for part in text.split(",") if part.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not a comma-separated list of numbers") from None
    if not sizes or min(sizes) < 10:
        raise argparse.ArgumentTypeError("sizes must be at least 10 customers")
    return sizes


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument(
        "--sizes",
        type=parse_sizes,
        default=[100_000, 1_000_000],
        help="customer counts, comma-separated (default 100000,1000000)",
    )
    parser.add_argument("--day-ticks", type=int, default=24, help="hourly ticks after the steady one (default 24)")
    parser.add_argument("--repeat", type=int, default=3, help="runs of each entry query; the best counts (default 3)")
    parser.add_argument(
        "--generator",
        choices=sorted(GENERATORS),
        default="bulk",
        help="bulk: DemoShop's rows via executemany (default); demo: DemoShop.generate",
    )
    parser.add_argument(
        "--trace-memory",
        action="store_true",
        help="tracemalloc in each child: what the ticks still hold, by call path (slower)",
    )
    parser.add_argument(
        "--trace-frames",
        type=int,
        default=1,
        help="frames kept per allocation with --trace-memory (default 1; more shows call paths, and is much slower)",
    )
    parser.add_argument("--top", type=int, default=10, help="allocation sites to show with --trace-memory")
    parser.add_argument("--explain", action="store_true", help="always print the entry queries' plans")
    parser.add_argument(
        "--fk-indexes",
        action="store_true",
        help="add indexes on decisions.enrollment_id and outbox.enrollment_id to the benchmark's "
        "store first (the proposed fix for slow enrollment deletes; ecrm_dsl is unchanged)",
    )
    parser.add_argument("--tmp", type=Path, help="folder for the temporary stores (default: the system's)")
    parser.add_argument("--keep", action="store_true", help="keep each size's store (its path is printed)")
    parser.add_argument(
        "--check-customers",
        type=int,
        default=300,
        help="customers for the bulk-vs-DemoShop check (default 300; 0 skips it)",
    )
    parser.add_argument("--json", type=Path, help="write every figure to this file (JSON)")
    parser.add_argument("--child", nargs=2, metavar=("ROLE", "CUSTOMERS"), help=argparse.SUPPRESS)
    parser.add_argument("--store", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.day_ticks < 0 or args.repeat < 1 or args.trace_frames < 1:
        parser.error("--day-ticks must be at least 0, --repeat and --trace-frames at least 1")
    return args


def benchmark(args: argparse.Namespace) -> None:
    if args.generator == "bulk" and args.check_customers > 0:
        with tempfile.TemporaryDirectory(prefix="ecrm-tick-check-", dir=args.tmp) as tmp:
            rows = check_bulk_generator(Path(tmp), args.check_customers)
        print(
            f"bulk generator: identical to DemoShop.generate on {args.check_customers} customers "
            f"({rows:,} rows in {len(GENERATED_TABLES)} tables)"
        )
    else:
        rows = 0
    print("entry evaluation audiences (segments of the example project):")
    for audience in AUDIENCES:
        print(f"  {audience.segment}: {audience.where()}")
    results = []
    for customers in args.sizes:
        print(f"{customers:,} customers: generating, then measuring, each in a new process ...", flush=True)
        results.append(run_size(customers, args))
        print(report_size(results[-1]), flush=True)
    print()
    print(report_summary(results))
    if args.json is not None:
        args.json.write_text(
            json.dumps(json_figures(args, rows, results), ensure_ascii=False, indent=2) + "\n", "utf-8"
        )


def json_figures(args: argparse.Namespace, checked_rows: int, results: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """Every figure the run printed, per size with the day's mean and max worked out, and the scaling."""
    options = {k: str(v) if isinstance(v, Path) else v for k, v in vars(args).items() if k not in ("child", "store")}
    sizes = []
    for r in results:
        day = r["ticks"]["day"]
        sizes.append(
            {
                **r,
                "day_mean_s": sum(t["seconds"] for t in day) / len(day) if day else None,
                "day_max_s": max((t["seconds"] for t in day), default=None),
                "day_mean_cpu_s": sum(t["cpu_s"] for t in day) / len(day) if day else None,
                "day_mean_statements": sum(t["statements"] for t in day) / len(day) if day else None,
                "entry_ratios": {e["name"]: e["ratio"] for e in r["entries"]},
            }
        )
    figures: dict[str, Any] = {
        "benchmark": "tick_scale",
        "options": options,
        "bulk_check_rows": checked_rows,
        "audiences": {a.segment: a.where() for a in AUDIENCES},
        "sizes": sizes,
    }
    if len(results) > 1:
        small, large = min(results, key=lambda r: r["customers"]), max(results, key=lambda r: r["customers"])
        figures["scaling"] = {
            "customers": large["customers"] / small["customers"],
            "peak_rss_ticks": large["rss"]["all ticks"] / small["rss"]["all ticks"],
            **{
                f"{key}_tick_time": _tick_mean(large, key) / _tick_mean(small, key)
                for key in ("cron", "steady", "day")
                if _tick_mean(small, key) > 0
            },
        }
    return figures


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        if args.child is not None:
            return child_main(args)
        benchmark(args)
    except BenchmarkError as exc:
        print(f"benchmark failed: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
