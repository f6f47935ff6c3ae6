"""A realistic demo store for みのり堂 (fermented skincare and brown-rice food): customers with a year of history
before the demo starts, and a month of activity after it (first orders, repeat orders, abandoned carts, survey
answers, subscription shipments) that the simulated clock then walks through.

Deterministic for a seed, so the demo and the benchmarks print the same numbers every run.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Engine

from ecrm_dsl.importer.implied import IMPLYING_EVENTS
from ecrm_dsl.store.imports import insert_rows
from ecrm_dsl.store.tables import TABLES

FAMILY = [
    "佐藤",
    "鈴木",
    "高橋",
    "田中",
    "伊藤",
    "渡辺",
    "山本",
    "中村",
    "小林",
    "加藤",
    "吉田",
    "山田",
    "佐々木",
    "山口",
    "松本",
    "井上",
    "木村",
    "林",
    "斎藤",
    "清水",
]
GIVEN = [
    "陽子",
    "美咲",
    "さくら",
    "葵",
    "結衣",
    "花子",
    "恵",
    "直子",
    "由美",
    "彩",
    "健太",
    "翔",
    "大輔",
    "拓也",
    "誠",
    "悠真",
    "蓮",
    "和子",
    "智子",
    "真由美",
]
PRODUCTS = [  # sku, category, price in yen
    ("SERUM-30", "skincare", 4980),
    ("MOIST-CREAM-50", "skincare", 3980),
    ("LOTION-150", "skincare", 2980),
    ("BODY-MILK-200", "bodycare", 2480),
    ("GRANOLA-500", "food", 1680),
    ("GENMAI-1KG", "food", 1280),
    ("KOJI-SUPP-60", "supplement", 3480),
]
PERSONAS = ["parenting", "single_worker", "pre_senior", "student"]
CHANNELS = ["ad_lp", "organic_search", "sns", "affiliate", "direct"]
SKIN = ["dry", "oily", "combination", "sensitive", "normal"]
ZONE = ZoneInfo("Asia/Tokyo")


@dataclass
class Batch:
    """Rows waiting to be written, table by table; flushed in bulk to keep memory flat."""

    rows: dict[str, list[dict[str, Any]]] = field(default_factory=dict)

    def add(self, table: str, row: dict[str, Any]) -> None:
        self.rows.setdefault(table, []).append(row)

    def size(self) -> int:
        return sum(len(r) for r in self.rows.values())

    def flush(self, engine: Engine) -> None:
        order = ["customers", "customer_tags", "orders", "order_items", "subscriptions", "events"]
        with engine.begin() as conn:
            for table in order:
                insert_rows(conn, TABLES.metadata.tables[table], self.rows.get(table, []))
        self.rows = {}


@dataclass
class DemoShop:
    customers: int
    start: datetime  # the demo's first tick; history lies before it, activity after it
    days: int = 30
    seed: int = 7
    flush_every: int = 20_000
    # Subscription and consent events, kept to update the state they imply once the month has happened
    # (ecrm_dsl.importer.implied): applying them at generation would show the month's end from its first tick.
    implying_events: list[dict[str, Any]] = field(default_factory=list, init=False)

    def generate(self, engine: Engine) -> dict[str, int]:
        """Write the store; returns row counts per kind."""
        rng = random.Random(self.seed)
        batch, counts = Batch(), {"customers": 0, "orders": 0, "events": 0}
        for index in range(self.customers):
            for table, row in self._customer(rng, index):
                batch.add(table, row)
                if table in counts:
                    counts[table] += 1
                if table == "events" and row["type"] in IMPLYING_EVENTS:
                    self.implying_events.append(row)
            if batch.size() >= self.flush_every:
                batch.flush(engine)
        batch.flush(engine)
        return counts

    # ------------------------------------------------------------------ one customer

    def _customer(self, rng: random.Random, index: int) -> Iterator[tuple[str, dict[str, Any]]]:
        cid = f"C{index + 1:07d}"
        new = rng.random() < 0.25  # first purchase falls inside the demo month
        signed_up = (
            self.start + timedelta(days=rng.uniform(0, self.days))
            if new
            else self.start - timedelta(days=rng.uniform(20, 720))
        )
        has_line = rng.random() < 0.6
        yield (
            "customers",
            {
                "id": cid,
                "name": f"{rng.choice(FAMILY)} {rng.choice(GIVEN)}",
                "email": f"{cid.lower()}@example.jp",
                "phone": f"090{rng.randrange(10**8):08d}" if rng.random() < 0.7 else None,
                "line_user_id": f"U{rng.getrandbits(64):016x}" if has_line else None,
                "postal_address": f"東京都世田谷区{rng.randint(1, 9)}-{rng.randint(1, 30)}",
                "birthday": date(rng.randint(1960, 2004), rng.randint(1, 12), rng.randint(1, 28)),
                "signed_up_at": signed_up,
                "entry_channel": rng.choice(CHANNELS),
                "persona": rng.choice(PERSONAS),
                "email_opt_in": rng.random() < 0.8,
                "line_opt_in": has_line and rng.random() < 0.9,
                "sms_opt_in": rng.random() < 0.3,
                "dm_opt_in": rng.random() < 0.5,
                "unsubscribed": rng.random() < 0.03,
                "attributes": {
                    "skin_type": rng.choice(SKIN),
                    "points": rng.randrange(0, 3000, 10),
                    "favourite_category": rng.choice(["skincare", "bodycare", "food", "supplement"]),
                },
            },
        )
        if rng.random() < 0.1:
            yield "customer_tags", {"customer_id": cid, "tag": "newsletter"}
        moments = self._order_times(rng, signed_up, new)
        for number, moment in enumerate(moments):
            yield from self._order(rng, cid, f"{cid}-O{number + 1}", moment)
        if moments and rng.random() < 0.35:
            yield from self._survey(rng, cid, moments[-1])
        if rng.random() < 0.12:
            yield from self._abandoned_cart(rng, cid)
        if moments and rng.random() < 0.08:
            yield from self._subscription(rng, cid, moments[0])

    def _order_times(self, rng: random.Random, signed_up: datetime, new: bool) -> list[datetime]:
        end = self.start + timedelta(days=self.days)
        moment = signed_up + timedelta(hours=rng.uniform(0, 2))
        times: list[datetime] = []
        loyal = rng.random() < 0.12
        while moment < end and len(times) < 20:
            times.append(_shop_hours(rng, moment))
            if not loyal and rng.random() < (0.55 if len(times) == 1 else 0.35):
                break  # most customers never come back (F2 is the hard part)
            moment += timedelta(days=rng.expovariate(1 / (25 if loyal else 60)) + 1)
        return times

    def _order(
        self, rng: random.Random, cid: str, oid: str, moment: datetime, cart_id: str | None = None
    ) -> Iterator[tuple[str, dict[str, Any]]]:
        items = rng.sample(PRODUCTS, k=rng.choice([1, 1, 1, 2, 2, 3]))
        amount = sum(price for _, _, price in items)
        paid = moment + timedelta(minutes=rng.randint(1, 90))
        shipped = paid + timedelta(days=rng.choice([1, 1, 2, 3]), hours=rng.randint(0, 8))
        delivery = (
            (shipped + timedelta(days=rng.choice([1, 2, 3]))).astimezone(ZONE).date() if rng.random() < 0.4 else None
        )
        cart_id = cart_id or f"CART-{oid}"
        yield (
            "orders",
            {
                "id": oid,
                "customer_id": cid,
                "ordered_at": moment,
                "paid_at": paid,
                "shipped_at": shipped,
                "delivery_date": delivery,
                "amount": amount,
                "cart_id": cart_id,
                "payment_method": rng.choice(["card", "konbini", "cod", "paypay"]),
            },
        )
        for sku, category, price in items:
            yield "order_items", {"order_id": oid, "sku": sku, "category": category, "quantity": 1, "price": price}
        yield (
            "events",
            {
                "customer_id": cid,
                "type": "order.placed",
                "occurred_at": moment,
                "properties": {
                    "order_id": oid,
                    "amount": amount,
                    "ordered_at": moment.isoformat(),
                    "paid_at": paid.isoformat(),
                    "shipped_at": shipped.isoformat(),
                    "delivery_date": delivery.isoformat() if delivery else None,
                    "categories": sorted({c for _, c, _ in items}),
                    "skus": [s for s, _, _ in items],
                    "cart_id": cart_id,
                    "entry_channel": rng.choice(CHANNELS),
                },
            },
        )
        yield (
            "events",
            {
                "customer_id": cid,
                "type": "order.shipped",
                "occurred_at": shipped,
                "properties": {"order_id": oid, "shipped_at": shipped.isoformat(), "amount": amount},
            },
        )

    def _survey(self, rng: random.Random, cid: str, after: datetime) -> Iterator[tuple[str, dict[str, Any]]]:
        moment = _shop_hours(rng, after + timedelta(days=rng.uniform(4, 10)))
        yield (
            "events",
            {
                "customer_id": cid,
                "type": "survey.answered",
                "occurred_at": moment,
                "properties": {
                    "survey_id": "post_purchase",
                    "satisfaction": rng.choices([1, 2, 3, 4, 5], weights=[4, 6, 20, 40, 30])[0],
                    "nps": rng.randint(0, 10),
                },
            },
        )

    def _abandoned_cart(self, rng: random.Random, cid: str) -> Iterator[tuple[str, dict[str, Any]]]:
        moment = _shop_hours(rng, self.start + timedelta(days=rng.uniform(0, self.days)))
        items = rng.sample(PRODUCTS, k=rng.choice([1, 2]))
        cart_id = f"CART-{cid}-A"
        amount = sum(p for _, _, p in items)
        yield (
            "events",
            {
                "customer_id": cid,
                "type": "cart.abandoned",
                "occurred_at": moment,
                "properties": {
                    "cart_id": cart_id,
                    "amount": amount,
                    "skus": [s for s, _, _ in items],
                    "categories": sorted({c for _, c, _ in items}),
                },
            },
        )
        if rng.random() < 0.3:  # some come back and check out the same cart
            yield from self._order(rng, cid, f"{cid}-R", moment + timedelta(hours=rng.uniform(2, 40)), cart_id)

    def _subscription(self, rng: random.Random, cid: str, first: datetime) -> Iterator[tuple[str, dict[str, Any]]]:
        sid = f"{cid}-S"
        end = self.start + timedelta(days=self.days)
        shipped, number = first + timedelta(days=2), 0
        product = rng.choice(["serum", "granola"])
        yield (
            "subscriptions",
            {
                "id": sid,
                "customer_id": cid,
                "product": product,
                "status": "active",
                "started_at": first,
                "shipments": 0,
            },
        )
        while shipped < end and number < 8:
            number += 1
            next_date = (shipped + timedelta(days=30)).astimezone(ZONE).date()
            yield (
                "events",
                {
                    "customer_id": cid,
                    "type": "subscription.shipped",
                    "occurred_at": shipped,
                    "properties": {
                        "subscription_id": sid,
                        "product": product,
                        "shipment_number": number,
                        "shipped_at": shipped.isoformat(),
                        "next_shipment_date": next_date.isoformat(),
                    },
                },
            )
            if number >= 2 and rng.random() < 0.15:
                yield (
                    "events",
                    {
                        "customer_id": cid,
                        "type": "subscription.cancelled",
                        "occurred_at": shipped + timedelta(days=rng.uniform(3, 20)),
                        "properties": {"subscription_id": sid, "shipment_number": number},
                    },
                )
                break
            shipped += timedelta(days=30)


def _shop_hours(rng: random.Random, moment: datetime) -> datetime:
    """People shop between 7:00 and 24:00 local time."""
    local = moment.astimezone(ZONE)
    hour = rng.choices(range(7, 24), weights=[1, 2, 3, 3, 3, 4, 5, 4, 3, 3, 4, 5, 7, 8, 9, 8, 5])[0]
    return local.replace(hour=hour, minute=rng.randrange(60), second=rng.randrange(60), microsecond=0)
