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


@dataclass(frozen=True)
class DemoProduct:
    sku: str
    name: str
    category: str  # a path, top level first
    price: int  # yen, tax included
    launched_on: date
    stock: int | None  # None: not tracked
    popularity: int  # relative weight of how often it is bought


CATALOGUE = [
    DemoProduct("LOTION-150", "発酵化粧水 150ml", "skincare/lotion", 2980, date(2022, 10, 1), 120, 9),
    DemoProduct("LOTION-REFILL", "発酵化粧水 詰め替え 300ml", "skincare/lotion", 4980, date(2024, 2, 1), 40, 3),
    DemoProduct("SERUM-30", "米麹美容液 30ml", "skincare/serum", 4980, date(2022, 10, 1), 60, 8),
    DemoProduct("SERUM-VC-20", "発酵ビタミンC美容液 20ml", "skincare/serum", 5480, date(2025, 3, 10), 80, 4),
    DemoProduct("MOIST-CREAM-50", "酒粕しっとりクリーム 50g", "skincare/cream", 3980, date(2023, 9, 1), 35, 6),
    DemoProduct("CLEANSING-OIL", "米ぬかクレンジングオイル 150ml", "skincare/cleansing", 2480, date(2024, 5, 1), 0, 4),
    DemoProduct("SHEET-MASK-5", "発酵シートマスク 5枚入", "skincare/mask", 1480, date(2024, 8, 1), None, 5),
    DemoProduct("TRIAL-SET", "はじめてのお試しセット", "skincare/set", 1980, date(2022, 10, 1), None, 7),
    DemoProduct("BODY-MILK-200", "米ぬかボディミルク 200ml", "bodycare/body", 2480, date(2023, 6, 1), 50, 4),
    DemoProduct("HAND-CREAM-40", "酒粕ハンドクリーム 40g", "bodycare/hand", 1280, date(2024, 10, 1), 90, 3),
    DemoProduct("BATH-SALT-6", "米麹バスソルト 6包", "bodycare/bath", 1680, date(2024, 11, 15), 25, 2),
    DemoProduct("GENMAI-1KG", "無農薬発芽玄米 1kg", "food/rice", 1280, date(2022, 10, 1), None, 6),
    DemoProduct("GENMAI-5KG", "無農薬発芽玄米 5kg", "food/rice", 5480, date(2022, 10, 1), 15, 2),
    DemoProduct("GRANOLA-500", "玄米グラノーラ 500g", "food/granola", 1680, date(2023, 7, 1), 200, 6),
    DemoProduct("GRANOLA-MATCHA", "抹茶玄米グラノーラ 300g", "food/granola", 1480, date(2024, 9, 1), 0, 3),
    DemoProduct("AMAZAKE-6", "米麹甘酒 6本セット", "food/drink", 2160, date(2023, 11, 1), 70, 4),
    DemoProduct("MISO-750", "天然醸造 玄米味噌 750g", "food/seasoning", 1380, date(2024, 1, 10), 45, 3),
    DemoProduct("KOJI-SUPP-60", "麹菌サプリメント 60粒", "supplement/koji", 3480, date(2022, 10, 1), None, 5),
    DemoProduct("LACTO-SUPP-30", "植物性乳酸菌サプリ 30包", "supplement/lacto", 2980, date(2024, 6, 1), 30, 3),
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
            for table in ("products", *order):
                insert_rows(conn, TABLES.metadata.tables[table], self.rows.get(table, []))
        self.rows = {}


def customer_id(index: int) -> str:
    """The demo's customer ids: C0000001, C0000002, …"""
    return f"C{index + 1:07d}"


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
        for product in CATALOGUE:
            batch.add("products", catalogue_row(product))
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
        cid = customer_id(index)
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
        items = _basket(rng, moment, rng.choice([1, 1, 1, 2, 2, 3]))
        amount = sum(p.price * quantity for p, quantity in items)
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
        for p, quantity in items:
            yield (
                "order_items",
                {"order_id": oid, "sku": p.sku, "category": p.category, "quantity": quantity, "price": p.price},
            )
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
                    "categories": _categories(items),
                    "skus": sorted(p.sku for p, _ in items),
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
        items = _basket(rng, moment, rng.choice([1, 2]))
        cart_id = f"CART-{cid}-A"
        amount = sum(p.price * quantity for p, quantity in items)
        yield (
            "events",
            {
                "customer_id": cid,
                "type": "cart.abandoned",
                "occurred_at": moment,
                "properties": {
                    "cart_id": cart_id,
                    "amount": amount,
                    "skus": sorted(p.sku for p, _ in items),
                    "categories": _categories(items),
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


def catalogue_row(product: DemoProduct) -> dict[str, Any]:
    """The ``products`` row of a demo product."""
    return {
        "sku": product.sku,
        "name": product.name,
        "category": product.category,
        "price": product.price,
        "launched_on": product.launched_on,
        "stock": product.stock,
        "url": f"https://minori.example/products/{product.sku.lower()}",
        "image_url": f"https://minori.example/images/{product.sku.lower()}.jpg",
    }


def _basket(rng: random.Random, moment: datetime, size: int) -> list[tuple[DemoProduct, int]]:
    """``size`` different products on sale at ``moment``, the popular ones more often; food sometimes twice."""
    on_sale = [p for p in CATALOGUE if p.launched_on <= moment.astimezone(ZONE).date()]
    chosen: dict[str, DemoProduct] = {}
    while len(chosen) < size:
        product = rng.choices(on_sale, weights=[p.popularity for p in on_sale])[0]
        chosen[product.sku] = product
    return [(p, 2 if p.category.startswith("food/") and rng.random() < 0.3 else 1) for p in chosen.values()]


def _categories(items: list[tuple[DemoProduct, int]]) -> list[str]:
    """An order's ``categories`` as the importer writes them: its lines' category paths."""
    return sorted({p.category for p, _ in items})
