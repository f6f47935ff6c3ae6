"""Running the demo: generate a store, deploy the plan, walk a simulated clock through the month."""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Engine

from ecrm_dsl.delivery.config import DeliveryConfig, build_adapters
from ecrm_dsl.demo.engagement import CATALOGUE_NEWS_DAY, CHEAPER, RESTOCKED, interest, reactions
from ecrm_dsl.demo.generate import DemoShop, customer_id
from ecrm_dsl.importer.implied import apply_implied_state
from ecrm_dsl.language.i18n import tr
from ecrm_dsl.plan.model import Plan
from ecrm_dsl.runtime.deploy import deploy
from ecrm_dsl.runtime.dispatch import Dispatcher
from ecrm_dsl.runtime.scheduler import Scheduler
from ecrm_dsl.store import outbox, product_events, state
from ecrm_dsl.store.database import connect, open_store
from ecrm_dsl.store.imports import insert_rows
from ecrm_dsl.store.tables import TABLES

DEMO_MARK = "demo_store"
APOLOGY_CODES = 200


class NotADemoStore(Exception):
    """The store file exists and was not made by ``ecrm demo``: it is never overwritten."""


@dataclass
class DemoResult:
    engine: Engine
    generated: dict[str, int]
    ticks: int
    decisions: Counter[str]
    deliveries: Counter[str]


def fresh_store(path: Path) -> Engine:
    """A new demo store at ``path``; an earlier demo store there is replaced, anything else is refused."""
    if path.exists():
        engine = connect(path)  # as it is: any schema revision, or no database at all
        try:
            with engine.connect() as conn:
                mark = state.read(conn, DEMO_MARK)
        except Exception:  # any unreadable file is not ours
            mark = None
        engine.dispose()
        if mark is None:
            raise NotADemoStore(tr("{path} exists and is not a demo store; choose another --store", path=path))
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
    engine = open_store(path)
    with engine.begin() as conn:
        state.write(conn, DEMO_MARK, "1")
    return engine


def run_demo(
    plan: Plan,
    store: Path,
    outbox_dir: Path,
    *,
    customers: int,
    start: datetime,
    days: int,
    tick: timedelta,
    progress: Callable[[str], None],
    ticked: Callable[[int, int], None] | None = None,  # the days ticked and the days to tick, after every tick
) -> DemoResult:
    engine = fresh_store(store)
    shop = DemoShop(customers, start, days)
    generated = shop.generate(engine)
    progress(
        tr(
            "generated {customers} customers, {orders} orders and {events} events (a year of history and the month "
            "ahead)",
            customers=f"{generated['customers']:,}",
            orders=f"{generated['orders']:,}",
            events=f"{generated['events']:,}",
        )
    )
    with engine.begin() as conn:
        insert_rows(conn, TABLES.coupons, list(_apology_codes(start)))
        insert_rows(conn, TABLES.events, list(interest([customer_id(i) for i in range(customers)], start)))
    report = deploy(engine, plan, start - timedelta(minutes=1), note="ecrm demo")
    progress(
        tr(
            "deployed {scenarios} scenarios; running {days} days of ticks every {tick}",
            scenarios=report.scenarios,
            days=days,
            tick=tick,
        )
    )
    config = DeliveryConfig(
        demo_outbox=outbox_dir,
        shop_name="みのり堂",
        shop_url="https://minori.example",
        unsubscribe_base_url="https://minori.example/unsubscribe",
        unsubscribe_secret="demo-secret",
    )
    dispatcher = Dispatcher(engine, build_adapters(config), shop=config.shop, unsubscribe=config.unsubscribe_url)
    scheduler = Scheduler(engine)
    decisions: Counter[str] = Counter()
    deliveries: Counter[str] = Counter()
    moment, ticks, end, seen = start, 0, start + timedelta(days=days), 0
    news_at: datetime | None = start + timedelta(days=CATALOGUE_NEWS_DAY, hours=9)
    while moment <= end:
        if news_at is not None and moment >= news_at:
            with engine.begin() as conn:  # as a stock feed would: the same events an import records
                product_events.relist(conn, RESTOCKED[0], moment, stock=RESTOCKED[1])
                product_events.relist(conn, CHEAPER[0], moment, price=CHEAPER[1])
            news_at = None
        result = scheduler.tick(moment)
        decisions.update(result.decisions)
        deliveries.update(dispatcher.run(moment))
        seen = _react(engine, seen)
        ticks += 1
        if ticked is not None:
            ticked((moment - start) // timedelta(days=1), days)
        if (moment - start) % timedelta(days=7) < tick and moment != start:
            progress(
                tr(
                    "  {day}: {decisions} decisions, {delivered} messages delivered so far",
                    day=f"{moment:%Y-%m-%d}",
                    decisions=f"{sum(decisions.values()):,}",
                    delivered=f"{deliveries['delivered']:,}",
                )
            )
        moment += tick
    dispatcher.close()
    with engine.begin() as conn:  # the month has happened: subscriptions and consent as its events left them
        apply_implied_state(conn, TABLES, shop.implying_events)
    return DemoResult(engine, generated, ticks, decisions, deliveries)


def _apology_codes(start: datetime) -> Iterator[dict[str, Any]]:
    """The apology coupons' pool (``sorry_1000``, the example survey follow-up's templates): unique codes as a
    coupon system would export them, valid to the end of the third month."""
    expires = (start.replace(day=1) + timedelta(days=95)).replace(day=1)
    for number in range(1, APOLOGY_CODES + 1):
        suffix = hashlib.sha256(f"sorry_1000:{number}".encode()).hexdigest()[:6].upper()
        yield {"pool": "sorry_1000", "code": f"SORRY-{suffix}", "expires_at": expires}


def _react(engine: Engine, seen: int) -> int:
    """Customers open and click what was just delivered, a little later (``demo.engagement``); returns the mark
    of the last delivery looked at."""
    with engine.begin() as conn:
        delivered = outbox.delivered_after(conn, seen)
        if delivered:
            insert_rows(conn, TABLES.events, list(reactions(delivered)))
    return delivered[-1]["id"] if delivered else seen
