"""Products in messages, on a real store (SQLite and PostgreSQL): the entry order's lines, the last purchase and
the recommendation, rendered by the dispatcher as the message is sent — with and without purchases, out-of-stock
and not-yet-launched products never recommended, owned skus left out, ties broken by sku, HTML escaped."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import insert

from ecrm_dsl.delivery.outbox import FileAdapter
from ecrm_dsl.delivery.render import product_namespaces, render
from ecrm_dsl.runtime.dispatch import Dispatcher
from ecrm_dsl.store import products
from ecrm_dsl.store.tables import TABLES
from tests.runtime.world import JST, World

SCENARIO = """scenario thanks "ご注文のお礼" {
  kind nurture
  hypothesis engagement "t"
  when order.placed

  after 1h: send email thanks
  @thanks_line after 1m: send line thanks
}
"""
TEMPLATE = """template: thanks
category: marketing
channels:
  email:
    subject: "{{ customer.name }}様 ご注文ありがとうございます"
    body: |
      ご注文の商品:
      {{ order.items }}
      ({{ order.item_names }})
      前回: {{ last_purchase.name }} [{{ last_purchase.sku }}] {{ last_purchase.category }} {{ last_purchase.url }}
      おすすめ: {{ recommendation.name }} {{ recommendation.price }} {{ recommendation.url }}
        {{ recommendation.image_url }}
      配信停止: {{ unsubscribe_url }}
    html: "<p>{{ order.item_names }}</p><p>{{ recommendation.name }}</p><a href='{{ unsubscribe_url }}'>停止</a>"
  line:
    text: "{{ order.item_names }}のお届けをお待ちください。おすすめ: {{ recommendation.name }}"
"""
CATALOGUE = [  # sku, name, category, price, launched_on, stock
    ("SERUM", "発酵美容液", "skincare/serum", 4980, dt.date(2024, 1, 1), 5),
    ("LOTION", "発酵化粧水", "skincare/lotion", 2980, dt.date(2024, 1, 1), 0),  # the best seller, sold out
    ("CREAM", "発酵クリーム", "skincare/cream", 3980, None, None),  # stock not tracked
    ("MASK", "<b>シート</b>マスク", "skincare/mask", 1480, dt.date(2024, 6, 1), 3),
    ("NEWBIE", "新作美容液", "skincare/serum", 5980, dt.date(2025, 4, 1), 9),  # not launched yet
    ("GRANOLA", "玄米グラノーラ", "food/granola", 1680, dt.date(2024, 1, 1), 20),
    ("GENMAI", "発芽玄米", "food/rice", 1280, dt.date(2024, 1, 1), 20),
]


def at(day: int, hour: int, month: int = 3) -> dt.datetime:
    return dt.datetime(2025, month, day, hour, tzinfo=JST)


@pytest.fixture
def world(tmp_path: Path, world_backend: str) -> Iterator[World]:
    w = World(tmp_path)
    w.templates(TEMPLATE)
    w.write("scenarios/thanks.ecrm", SCENARIO)
    w.deploy(at(1, 0))
    with w.engine.begin() as conn:
        conn.execute(
            insert(TABLES.products),
            [
                {
                    "sku": s,
                    "name": n,
                    "category": c,
                    "price": p,
                    "launched_on": d,
                    "stock": k,
                    "url": f"https://m.jp/{s}",
                }
                for s, n, c, p, d, k in CATALOGUE
            ],
        )
    for cid, name in (("a", "山田 花子"), ("b", "鈴木 太郎"), ("c", "佐藤 葵")):
        w.customer(cid, name=name)
    # History before the demo month: a bought skincare and food; b is the shop's other skincare buyer.
    lines(w, w.order("a", at(10, 12, month=2), order_id="a-1"), ("SERUM", 2, 4980), ("GRANOLA", 1, 1680))
    lines(w, w.order("b", at(12, 12, month=2), order_id="b-1"), ("LOTION", 5, 2980), ("CREAM", 1, 3980))
    lines(w, w.order("b", at(13, 12, month=2), order_id="b-2"), ("MASK", 1, 1480))
    yield w
    w.engine.dispose()


def lines(w: World, order_id: str, *items: tuple[str, int, int]) -> str:
    with w.engine.begin() as conn:
        category = {sku: c for sku, _, c, *_ in CATALOGUE}
        conn.execute(
            insert(TABLES.order_items),
            [
                {"order_id": order_id, "sku": s, "quantity": q, "price": p, "category": category.get(s)}
                for s, q, p in items
            ],
        )
    return order_id


def delivered(w: World, tmp_path: Path, now: dt.datetime) -> dict[tuple[str, str], dict[str, str]]:
    """Run the dispatcher at ``now``; the rendered content of each message by (customer, channel)."""
    adapters: dict[str, Any] = {ch: FileAdapter(ch, tmp_path / "out" / f"{ch}.jsonl") for ch in ("email", "line")}
    dispatcher = Dispatcher(w.engine, adapters, unsubscribe=lambda cid, ch: f"https://m.jp/u?c={cid}")
    dispatcher.run(now)
    dispatcher.close()
    found = {}
    for path in (tmp_path / "out").glob("*.jsonl"):
        for line in path.read_text(encoding="utf-8").splitlines():
            record = json.loads(line)
            found[(record["customer_id"], record["channel"])] = record["content"]
    return found


def test_messages_show_the_entry_order_the_last_purchase_and_a_recommendation(world: World, tmp_path: Path) -> None:
    w = world
    lines(w, w.order("a", at(1, 9), order_id="a-2"), ("SERUM", 1, 4980), ("GIFT-BOX", 2, 100))  # not in the catalogue
    w.order("c", at(1, 9), order_id="c-1")  # an order with no lines: nothing bought that a template can show
    w.tick(at(1, 10))
    w.tick(at(1, 10) + dt.timedelta(minutes=1))
    sent = delivered(w, tmp_path, at(1, 11))
    body = sent[("a", "email")]["body"]
    assert body.splitlines()[:4] == [
        "ご注文の商品:",
        "GIFT-BOX ×2",  # in sku order; the sku when the catalogue does not know the product
        "発酵美容液 ×1",
        "(GIFT-BOX、発酵美容液)",
    ]
    # The last purchase is the latest order's costliest line. The recommendation: skincare is where a bought the
    # most units; LOTION sold most but is sold out, SERUM is owned, NEWBIE not launched; CREAM and MASK sold one
    # each in the 90 days, and CREAM comes first by sku.
    assert "前回: 発酵美容液 [SERUM] skincare/serum https://m.jp/SERUM" in body
    assert "おすすめ: 発酵クリーム 3,980円 https://m.jp/CREAM\n" in body
    assert sent[("a", "line")] == {"text": "GIFT-BOX、発酵美容液のお届けをお待ちください。おすすめ: 発酵クリーム"}
    # Without lines: every product placeholder is empty text.
    assert sent[("c", "email")]["body"].splitlines()[1:4] == ["", "()", "前回:  []  "]
    assert "おすすめ:   \n  \n" in sent[("c", "email")]["body"]
    assert sent[("c", "line")] == {"text": "のお届けをお待ちください。おすすめ: "}


def test_html_email_escapes_product_names(world: World, tmp_path: Path) -> None:
    w = world
    lines(w, w.order("c", at(1, 9), order_id="c-1"), ("GENMAI", 1, 1280), ("MASK", 1, 1480))
    w.tick(at(1, 10))
    html = delivered(w, tmp_path, at(1, 11))[("c", "email")]["html"]
    assert html.startswith("<p>発芽玄米、&lt;b&gt;シート&lt;/b&gt;マスク</p>")
    # c bought one unit in food and one in skincare: the tie goes to the category first by name, food; GRANOLA
    # is the only food product c does not own.
    assert "<p>玄米グラノーラ</p>" in html


def test_the_recommendation_as_of_other_moments(world: World) -> None:
    w = world
    with w.engine.connect() as conn:
        now = at(1, 12)
        found = products.recommendations(conn, ["a", "b", "c", "nobody"], now, now.date())
        assert {cid: p.sku for cid, p in found.items()} == {"a": "CREAM", "b": "SERUM"}  # c bought nothing
        # Once launched, the new serum has sold nothing but is still offered, after the best sellers.
        later = at(2, 12, month=4)
        found = products.recommendations(conn, ["a", "b"], later, later.date())
        assert {cid: p.sku for cid, p in found.items()} == {"a": "CREAM", "b": "SERUM"}
        # More than 90 days after the history every product has sold nothing: ties by sku; launched NEWBIE joins.
        much_later = at(1, 12, month=7)
        found = products.recommendations(conn, ["a", "b"], much_later, much_later.date())
        assert {cid: p.sku for cid, p in found.items()} == {"a": "CREAM", "b": "NEWBIE"}
        # Before any purchase there is nothing to go by; and a purchase after the moment is not seen.
        assert products.recommendations(conn, ["a"], at(1, 12, month=2), dt.date(2025, 2, 1)) == {}
        last = products.last_purchases(conn, ["a", "b"], at(12, 18, month=2))
        assert {cid: (p.sku, p.name) for cid, p in last.items()} == {
            "a": ("SERUM", "発酵美容液"),
            "b": ("LOTION", "発酵化粧水"),
        }


def test_templates_look_up_only_the_namespaces_they_use() -> None:
    assert product_namespaces({"text": "{{ customer.name }}"}) == frozenset()
    assert product_namespaces({"text": "{{ order.items }}", "alt": ["{{ recommendation.url }}"]}) == {
        "order",
        "recommendation",
    }


def test_a_template_corrected_after_deploy_shows_products_at_once(world: World, tmp_path: Path) -> None:
    w = world
    plain = "template: later\ncategory: marketing\nchannels:\n  line:\n    text: ありがとうございます\n"
    w.templates(plain)
    w.write("scenarios/later.ecrm", SCENARIO.replace("thanks", "later").replace("send email later", "send line later"))
    w.deploy(at(1, 0))
    lines(w, w.order("a", at(1, 9), order_id="a-2"), ("SERUM", 1, 4980))
    w.tick(at(1, 10))
    adapters: dict[str, Any] = {ch: FileAdapter(ch, tmp_path / "out" / f"{ch}.jsonl") for ch in ("email", "line")}
    dispatcher = Dispatcher(w.engine, adapters)
    dispatcher.run(at(1, 10))
    w.templates(plain.replace("す\n", "す(おすすめ {{ recommendation.name }})\n"))  # the scenario is unchanged
    w.deploy(at(1, 10) + dt.timedelta(seconds=30))
    w.tick(at(1, 10) + dt.timedelta(minutes=1))
    dispatcher.run(at(1, 10) + dt.timedelta(minutes=1))  # the same dispatcher, which has read the template before
    dispatcher.close()
    texts = [
        json.loads(line)["content"]["text"]
        for line in (tmp_path / "out" / "line.jsonl").read_text(encoding="utf-8").splitlines()
        if json.loads(line)["template"] == "later"
    ]
    assert texts == ["ありがとうございます", "ありがとうございます(おすすめ 発酵クリーム)"]


def test_a_product_name_that_looks_like_a_placeholder_stays_text() -> None:
    template = {"content": {"line": {"text": "{{ recommendation.name }} / {{ order.item_names }}"}}, "params": {}}
    products: dict[str, dict[str, Any]] = {
        "recommendation": {"name": "{{ unsubscribe_url }}セット"},
        "order": {"item_names": ["{{ customer.email }}", "米麹"]},
    }
    out = render(
        template,
        "line",
        customer={"email": "secret@example.jp"},
        params={},
        event={},
        shop={},
        unsubscribe_url="https://m.jp/u",
        products=products,
    )
    assert out == {"text": "{{ unsubscribe_url }}セット / {{ customer.email }}、米麹"}
