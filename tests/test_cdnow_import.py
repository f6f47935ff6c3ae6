"""The real CDNOW purchase history through ``ecrm import orders``, checked customer by customer.

The data is the copy the ``lifetimes`` package ships (``lifetimes/datasets/CDNOW_master.txt``: 69,659
purchases of 23,570 customers, 1997-01-01 … 1998-06-30), fetched from the package index with ``pip download``
and read straight out of the wheel; the tests are skipped, with the reason, only when it cannot be fetched.
The mapping is ``tests/data/import/cdnow_mapping.toml`` (whitespace-separated, ``%Y%m%d`` dates, USD amounts
converted at a stated rate, derived order ids, customers created from the orders).

What is compared, for every one of the 23,570 customers:

* against the file itself (parsed here independently, no lifetimes needed): the store's order count, first
  and last order date (plain SQL over ``orders``; dates are the shop-local dates of ``ordered_at``) and the
  amounts in yen;
* against ``lifetimes.utils.summary_data_from_transaction_data`` (needs lifetimes installed; only this test is
  skipped otherwise): frequency (distinct purchase dates − 1: lifetimes counts same-day purchases once),
  recency (days from the first to the last purchase) and T (days from the first purchase to 1998-06-30), all
  computed from the store;
* through ecrm's condition runtime, as a scenario would see them: ``customer.order_count == n`` in SQL
  (``select_customers``) for every n, which must partition the customers exactly as the file does; a few
  segment-style conditions on ``days_since_last_order`` and ``first_order_at`` in SQL; and per customer, in
  the Python evaluator, ``customer.order_count`` and ``customer.days_since_last_order`` (= T − recency).

A second import of the same file must change nothing. Timings are printed (``pytest -s``).
"""

from __future__ import annotations

import functools
import hashlib
import shutil
import subprocess
import sys
import tarfile
import time
import zipfile
from collections import Counter, defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from click.testing import CliRunner
from sqlalchemy import Engine, create_engine, func, select

from ecrm_dsl.cli.import_cmd import import_command
from ecrm_dsl.conditions.evaluate import evaluate, load_snapshots
from ecrm_dsl.conditions.normal import Normal, normalise
from ecrm_dsl.conditions.sql import select_customers
from ecrm_dsl.store.tables import TABLES
from ecrm_dsl.syntax.text import parse_condition

DATA = Path(__file__).parent / "data" / "import"
LIFETIMES = "lifetimes==0.11.3"  # the last release; the data file is in its wheel and its sdist
MEMBER = "lifetimes/datasets/CDNOW_master.txt"
ROWS, CUSTOMERS = 69_659, 23_570
SHOP_TZ = ZoneInfo("Asia/Tokyo")  # the test project's policies timezone
OBSERVATION_END = date(1998, 6, 30)
NOW = datetime(1998, 6, 30, 12, 0, tzinfo=SHOP_TZ)  # conditions are evaluated on the observation end
YEN_PER_USD = Decimal("120.89")  # tests/data/import/cdnow_mapping.toml


# --------------------------------------------------------------------------- the data


@pytest.fixture(scope="session")
def cdnow_master(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """CDNOW_master.txt out of the lifetimes distribution, fetched with pip (not installed)."""
    folder = tmp_path_factory.mktemp("lifetimes")
    command = [
        sys.executable,
        "-m",
        "pip",
        "download",
        "--no-deps",
        "--disable-pip-version-check",
        LIFETIMES,
        "-d",
        str(folder),
    ]
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=300, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        pytest.skip(f"cannot download {LIFETIMES} for the CDNOW data: {exc}")
    archives = sorted(p for p in folder.iterdir() if p.name.endswith((".whl", ".tar.gz", ".zip")))
    if done.returncode != 0 or not archives:
        reason = (done.stderr.strip().splitlines() or ["no archive"])[-1]
        pytest.skip(f"cannot download {LIFETIMES} for the CDNOW data (pip download failed: {reason})")
    target = folder / "CDNOW_master.txt"
    target.write_bytes(_member(archives[0]))
    return target


def _member(archive: Path) -> bytes:
    if archive.name.endswith(".tar.gz"):
        with tarfile.open(archive) as tar:
            member = next(m for m in tar.getmembers() if m.name.endswith(MEMBER))
            extracted = tar.extractfile(member)
            assert extracted is not None
            return extracted.read()
    with zipfile.ZipFile(archive) as wheel:
        return wheel.read(next(n for n in wheel.namelist() if n.endswith(MEMBER)))


@dataclass(frozen=True)
class Purchase:
    customer_id: str
    day: date
    dollars: Decimal


def read_file(path: Path) -> list[Purchase]:
    """The file parsed here, independently of the importer: header row, then id, YYYYMMDD, CDs, dollars."""
    lines = path.read_text(encoding="ascii").split()
    header, cells = lines[:4], lines[4:]
    assert header == ["customer_id", "date", "number_of_cds", "dollar_value"]
    return [
        Purchase(cells[i], datetime.strptime(cells[i + 1], "%Y%m%d").date(), Decimal(cells[i + 3]))
        for i in range(0, len(cells), 4)
    ]


@dataclass
class Expected:
    orders: int
    first: date
    last: date
    days: set[date]
    yen: int


@pytest.fixture(scope="session")
def expected(cdnow_master: Path) -> dict[str, Expected]:
    by_customer: dict[str, Expected] = {}
    for p in read_file(cdnow_master):
        yen = int((p.dollars * YEN_PER_USD).quantize(Decimal(1), rounding=ROUND_HALF_UP))
        e = by_customer.get(p.customer_id)
        if e is None:
            by_customer[p.customer_id] = Expected(1, p.day, p.day, {p.day}, yen)
        else:
            e.orders, e.first, e.last, e.yen = e.orders + 1, min(e.first, p.day), max(e.last, p.day), e.yen + yen
            e.days.add(p.day)
    assert sum(e.orders for e in by_customer.values()) == ROWS and len(by_customer) == CUSTOMERS
    return by_customer


# --------------------------------------------------------------------------- the import


@dataclass
class Run:
    code: int
    out: str
    err: str
    seconds: float


@dataclass
class Imported:
    store: Engine
    first: Run
    second: Run
    digest_after_first: str
    digest_after_second: str


def _import(path: Path, store: Path) -> Run:
    started = time.perf_counter()
    args = ["orders", str(path), "--mapping", str(DATA / "cdnow_mapping.toml"), "--store", str(store)]
    result = CliRunner().invoke(import_command, args, catch_exceptions=False)
    return Run(result.exit_code, result.stdout, result.stderr, time.perf_counter() - started)


def _digest(store: Engine) -> str:
    """Every row of the tables an import writes, hashed."""
    h = hashlib.sha256()
    with store.connect() as conn:
        for table in (TABLES.customers, TABLES.orders, TABLES.order_items, TABLES.events):
            for row in sorted(map(tuple, conn.execute(select(table))), key=repr):
                h.update(repr(row).encode())
    return h.hexdigest()


@pytest.fixture(scope="module")
def imported(cdnow_master: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Imported]:
    """A fresh project and SQLite store; the file imported twice through the ecrm import command."""
    root = tmp_path_factory.mktemp("cdnow_shop")
    shutil.copytree(DATA / "project", root, dirs_exist_ok=True)
    store = root / "ecrm.db"
    with pytest.MonkeyPatch.context() as mp:
        mp.chdir(root)
        mp.delenv("ECRM_STORE", raising=False)
        first = _import(cdnow_master, store)
        assert first.code == 0, first.err
        engine = create_engine(f"sqlite:///{store}")
        after_first = _digest(engine)
        second = _import(cdnow_master, store)
        assert second.code == 0, second.err
    print(
        f"\nCDNOW import: {ROWS:,} rows in {first.seconds:.1f}s ({ROWS / first.seconds:,.0f} rows/s); "
        f"re-import {second.seconds:.1f}s"
    )
    yield Imported(engine, first, second, after_first, _digest(engine))
    engine.dispose()


def test_the_whole_file_is_imported(imported: Imported) -> None:
    out = imported.first.out
    assert f"{ROWS} rows" in out
    assert f"customers: {CUSTOMERS} inserted, 0 updated, 0 unchanged" in out
    assert f"orders: {ROWS} inserted, 0 updated, 0 unchanged" in out
    assert f"order.placed events: {ROWS} inserted, 0 updated, 0 unchanged" in out
    # Nothing pretends dollars are yen: the report says what was converted, and at which rate.
    assert "amount: USD converted to yen at 120.89 yen per USD" in imported.first.err
    with imported.store.connect() as conn:
        assert conn.scalar(select(func.count()).select_from(TABLES.customers)) == CUSTOMERS
        assert conn.scalar(select(func.count()).select_from(TABLES.orders)) == ROWS
        placed = select(func.count()).select_from(TABLES.events).where(TABLES.events.c.type == "order.placed")
        assert conn.scalar(placed) == ROWS
        first = conn.execute(select(TABLES.orders).where(TABLES.orders.c.id == "00001-19970101-1")).mappings().one()
    assert first["customer_id"] == "00001"
    assert first["ordered_at"] == datetime(1997, 1, 1, tzinfo=SHOP_TZ)  # 00:00 in the shop's timezone
    assert first["amount"] == 1423  # $11.77 × 120.89 = 1422.8753 → ¥1,423


def test_reimport_changes_nothing(imported: Imported) -> None:
    out = imported.second.out
    assert f"customers: 0 inserted, 0 updated, {CUSTOMERS} unchanged" in out
    assert f"orders: 0 inserted, 0 updated, {ROWS} unchanged" in out
    assert f"order.placed events: 0 inserted, 0 updated, {ROWS} unchanged" in out
    assert imported.digest_after_second == imported.digest_after_first


# --------------------------------------------------------------------------- per customer: the store


@dataclass(frozen=True)
class Stored:
    orders: int
    first: date
    last: date
    days: frozenset[date]  # distinct shop-local purchase dates
    yen: int


@pytest.fixture(scope="module")
def stored(imported: Imported) -> dict[str, Stored]:
    """Per customer, from the store with plain SQL: count, min and max of ordered_at, the dates, the yen."""
    orders = TABLES.orders
    local = lambda moment: moment.astimezone(SHOP_TZ).date()  # noqa: E731
    days: dict[str, set[date]] = defaultdict(set)
    with imported.store.connect() as conn:
        for customer_id, ordered_at in conn.execute(select(orders.c.customer_id, orders.c.ordered_at)):
            days[customer_id].add(local(ordered_at))
        aggregates = conn.execute(
            select(
                orders.c.customer_id,
                func.count(),
                func.min(orders.c.ordered_at),
                func.max(orders.c.ordered_at),
                func.sum(orders.c.amount),
            ).group_by(orders.c.customer_id)
        ).all()
        customers = set(conn.execute(select(TABLES.customers.c.id)).scalars())
    result = {  # min and max keep the column's type: aware UTC datetimes
        customer_id: Stored(count, local(first), local(last), frozenset(days[customer_id]), yen)
        for customer_id, count, first, last, yen in aggregates
    }
    assert set(result) == customers
    return result


def test_every_customer_matches_the_file(stored: dict[str, Stored], expected: dict[str, Expected]) -> None:
    assert set(stored) == set(expected)
    mismatched = [
        cid
        for cid, e in expected.items()
        if (stored[cid].orders, stored[cid].first, stored[cid].last, set(stored[cid].days), stored[cid].yen)
        != (e.orders, e.first, e.last, e.days, e.yen)
    ]
    assert not mismatched, f"{len(mismatched)} customers differ, e.g. {mismatched[:5]}"
    print(f"\nstore vs file: order count, first and last order date, yen total match for {len(expected):,} customers")


# --------------------------------------------------------------------------- per customer: lifetimes


@pytest.fixture(scope="module")
def lifetimes_summary(cdnow_master: Path) -> dict[str, tuple[float, float, float]]:
    """frequency, recency, T per customer, from lifetimes itself (read as its own docs read this file)."""
    pd = pytest.importorskip("pandas", reason="the lifetimes cross-check needs pandas: pip install lifetimes pandas")
    utils = pytest.importorskip(
        "lifetimes.utils", reason="lifetimes is not installed (pip install lifetimes pandas): cross-check skipped"
    )
    frame = pd.read_csv(cdnow_master, sep=r"\s+", dtype={"customer_id": str, "date": str})
    frame["date"] = pd.to_datetime(frame["date"], format="%Y%m%d")
    summary = utils.summary_data_from_transaction_data(
        frame, "customer_id", "date", observation_period_end=OBSERVATION_END.isoformat(), freq="D"
    )
    columns = zip(summary.index, summary["frequency"], summary["recency"], summary["T"], strict=True)
    return {cid: (float(frequency), float(recency), float(t)) for cid, frequency, recency, t in columns}


def test_every_customer_matches_lifetimes(
    stored: dict[str, Stored], lifetimes_summary: dict[str, tuple[float, float, float]]
) -> None:
    assert set(stored) == set(lifetimes_summary)
    ours = {
        cid: (
            float(len(s.days) - 1),  # frequency: repeat purchase days
            float((s.last - s.first).days),  # recency
            float((OBSERVATION_END - s.first).days),  # T
        )
        for cid, s in stored.items()
    }
    mismatched = [cid for cid, theirs in lifetimes_summary.items() if ours[cid] != theirs]
    assert not mismatched, f"{len(mismatched)} customers differ from lifetimes, e.g. " + ", ".join(
        f"{cid}: ours {ours[cid]} lifetimes {lifetimes_summary[cid]}" for cid in mismatched[:5]
    )
    print(f"\nstore vs lifetimes: frequency, recency and T match for {len(ours):,} customers")


# --------------------------------------------------------------------------- through the condition runtime


@functools.cache
def cond(text: str) -> Normal:
    expr, findings = parse_condition(text, "<test>")
    assert not findings, findings
    return normalise(expr)


def _in_sql(store: Engine, text: str) -> set[str]:
    with store.connect() as conn:
        return set(conn.execute(select_customers(cond(text), now=NOW, timezone="Asia/Tokyo")).scalars())


def test_order_count_in_sql_partitions_the_customers_as_the_file(
    imported: Imported, expected: dict[str, Expected]
) -> None:
    by_count: dict[int, set[str]] = defaultdict(set)
    for cid, e in expected.items():
        by_count[e.orders].add(cid)
    for n, customers in sorted(by_count.items()):
        assert _in_sql(imported.store, f"customer.order_count == {n}") == customers, n
    assert sum(len(c) for c in by_count.values()) == CUSTOMERS


@pytest.mark.parametrize(
    "condition",
    [
        "customer.days_since_last_order >= 365",
        "customer.days_since_last_order < 90",
        "customer.first_order_at < 1997-02-01",
        "customer.order_count >= 2 and customer.days_since_last_order >= 180",
    ],
)
def test_segment_conditions_in_sql(imported: Imported, expected: dict[str, Expected], condition: str) -> None:
    def holds(e: Expected) -> bool:
        since_last = (OBSERVATION_END - e.last).days
        return {
            "customer.days_since_last_order >= 365": since_last >= 365,
            "customer.days_since_last_order < 90": since_last < 90,
            "customer.first_order_at < 1997-02-01": e.first < date(1997, 2, 1),
            "customer.order_count >= 2 and customer.days_since_last_order >= 180": e.orders >= 2 and since_last >= 180,
        }[condition]

    wanted = {cid for cid, e in expected.items() if holds(e)}
    assert wanted and len(wanted) < CUSTOMERS
    assert _in_sql(imported.store, condition) == wanted


def test_every_customer_in_the_python_evaluator(imported: Imported, expected: dict[str, Expected]) -> None:
    """customer.order_count and customer.days_since_last_order (= T − recency) per customer, as scenarios see them."""
    with imported.store.connect() as conn:
        snapshots = load_snapshots(conn)
    assert set(snapshots) == set(expected)
    wrong = Counter[str]()
    for cid, e in expected.items():
        count_is = cond(f"customer.order_count == {e.orders}")
        since_is = cond(f"customer.days_since_last_order == {(OBSERVATION_END - e.last).days}")
        for name, normal in (("order_count", count_is), ("days_since_last_order", since_is)):
            if not evaluate(normal, snapshots[cid], now=NOW, timezone="Asia/Tokyo"):
                wrong[name] += 1
    assert not wrong, dict(wrong)
