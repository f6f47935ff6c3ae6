"""Shopify webhooks on a real server: signature, idempotency by webhook id, and the payload fields mapped.

The payloads follow the REST Admin API Order and Customer resources as Shopify sends them (amounts as decimal
strings, times with the shop's offset, consent objects), trimmed of fields ecrm does not read.
"""

from __future__ import annotations

import base64
import copy
import datetime as dt
import hashlib
import hmac
import json
from typing import Any

import httpx
from sqlalchemy import select

from ecrm_dsl.store.tables import TABLES
from tests.serve.live import SHOPIFY_SECRET, Live

CUSTOMER: dict[str, Any] = {
    "id": 706405506930370084,
    "email": "hanako.yamada@example.jp",
    "created_at": "2025-02-28T21:15:04+09:00",
    "updated_at": "2025-02-28T21:15:04+09:00",
    "first_name": "花子",
    "last_name": "山田",
    "state": "enabled",
    "note": None,
    "verified_email": True,
    "tax_exempt": False,
    "phone": "+819012345678",
    "email_marketing_consent": {
        "state": "subscribed",
        "opt_in_level": "single_opt_in",
        "consent_updated_at": "2025-02-28T21:15:04+09:00",
    },
    "sms_marketing_consent": {
        "state": "not_subscribed",
        "opt_in_level": "single_opt_in",
        "consent_updated_at": None,
        "consent_collected_from": "OTHER",
    },
    "tags": "初回, LINE連携",
    "currency": "JPY",
    "admin_graphql_api_id": "gid://shopify/Customer/706405506930370084",
}

ORDER: dict[str, Any] = {
    "id": 820982911946154508,
    "admin_graphql_api_id": "gid://shopify/Order/820982911946154508",
    "browser_ip": None,
    "buyer_accepts_marketing": True,
    "cancel_reason": None,
    "cancelled_at": None,
    "cart_token": "Z2NwLXVzLWVhc3QxOjAxSjg",
    "checkout_token": "bd5a8aa1ecd019dd3520ff791ee3a24c",
    "confirmed": True,
    "contact_email": "hanako.yamada@example.jp",
    "created_at": "2025-03-01T10:00:00+09:00",
    "currency": "JPY",
    "current_total_price": "7960",
    "discount_codes": [{"code": "WELCOME10", "amount": "796", "type": "percentage"}],
    "email": "hanako.yamada@example.jp",
    "financial_status": "pending",
    "fulfillment_status": None,
    "name": "#1001",
    "order_number": 1001,
    "payment_gateway_names": ["shopify_payments"],
    "presentment_currency": "JPY",
    "processed_at": "2025-03-01T10:00:00+09:00",
    "source_name": "web",
    "subtotal_price": "7164",
    "tags": "",
    "total_discounts": "796",
    "total_price": "7164.50",
    "updated_at": "2025-03-01T10:00:02+09:00",
    "customer": CUSTOMER,
    "line_items": [
        {
            "id": 866550311766439020,
            "name": "発酵化粧水 150ml",
            "price": "3980",
            "product_id": 632910392,
            "quantity": 1,
            "sku": "SKIN-LOTION-150",
            "title": "発酵化粧水",
            "variant_id": 808950810,
            "variant_title": "150ml",
            "vendor": "みのり堂",
        },
        {
            "id": 141249953214522974,
            "name": "玄米酵素 30包",
            "price": "1990",
            "product_id": 632910393,
            "quantity": 2,
            "sku": "",
            "title": "玄米酵素",
            "variant_id": 49148385,
            "variant_title": "30包",
            "vendor": "みのり堂",
        },
    ],
}


def send(
    live: Live, topic: str, payload: dict[str, Any], webhook_id: str, secret: str = SHOPIFY_SECRET
) -> httpx.Response:
    body = json.dumps(payload, ensure_ascii=False).encode()
    signature = base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()
    headers = {
        "Content-Type": "application/json",
        "X-Shopify-Topic": topic,
        "X-Shopify-Hmac-Sha256": signature,
        "X-Shopify-Shop-Domain": "minoridou.myshopify.com",
        "X-Shopify-Webhook-Id": webhook_id,
        "X-Shopify-API-Version": "2025-01",
    }
    with live.client() as client:
        return client.post(f"/webhooks/shopify/{topic}", content=body, headers=headers)


def table(live: Live, name: str) -> list[dict[str, Any]]:
    with live.world.engine.connect() as conn:
        return [dict(r._mapping) for r in conn.execute(select(TABLES.metadata.tables[name]))]


def test_orders_create_stores_the_customer_the_order_in_whole_yen_and_its_lines(live: Live) -> None:
    response = send(live, "orders/create", ORDER, "b54557e4-bdd9-4b37-8a5f-bf7d70bcd043")
    assert response.status_code == 200
    results = response.json()["results"]
    assert results["customers"]["accepted"] == 1 and results["orders"]["accepted"] == 1
    (customer,) = table(live, "customers")
    assert customer["id"] == "706405506930370084"
    assert (customer["name"], customer["email"], customer["phone"]) == (
        "山田 花子",
        "hanako.yamada@example.jp",
        "+819012345678",
    )
    assert (customer["email_opt_in"], customer["sms_opt_in"]) == (True, False)
    assert customer["signed_up_at"] == dt.datetime(2025, 2, 28, 12, 15, 4, tzinfo=dt.UTC)
    assert sorted(t["tag"] for t in table(live, "customer_tags")) == ["LINE連携", "初回"]
    (order,) = table(live, "orders")
    assert order["id"] == "820982911946154508" and order["customer_id"] == "706405506930370084"
    assert order["amount"] == 7165  # "7164.50" rounded half up to whole yen
    assert (order["coupon_code"], order["cart_id"], order["payment_method"]) == (
        "WELCOME10",
        "Z2NwLXVzLWVhc3QxOjAxSjg",
        "shopify_payments",
    )
    assert order["paid_at"] is None  # financial_status pending
    lines = sorted((i["sku"], i["quantity"], i["price"]) for i in table(live, "order_items"))
    assert lines == [("SKIN-LOTION-150", 1, 3980), ("variant-49148385", 2, 1990)]  # no SKU: keyed by variant
    (placed,) = [e for e in table(live, "events") if e["type"] == "order.placed"]
    assert placed["occurred_at"] == dt.datetime(2025, 3, 1, 1, 0, tzinfo=dt.UTC)


def test_a_wrong_signature_is_401_and_stores_nothing(live: Live) -> None:
    forged = send(live, "orders/create", ORDER, "w-1", secret="not-the-secret")
    assert forged.status_code == 401 and "X-Shopify-Hmac-Sha256" in forged.json()["error"]
    body = json.dumps(ORDER).encode()
    with live.client() as client:
        unsigned = client.post("/webhooks/shopify/orders/create", content=body, headers={"X-Shopify-Webhook-Id": "w"})
    assert unsigned.status_code == 401
    assert table(live, "orders") == [] and table(live, "customers") == []


def test_a_redelivered_webhook_is_handled_once(live: Live) -> None:
    assert send(live, "orders/create", ORDER, "dup-1").json()["results"]["orders"]["accepted"] == 1
    before = (table(live, "orders"), table(live, "events"), table(live, "order_items"))
    again = send(live, "orders/create", ORDER, "dup-1")
    assert again.status_code == 200 and again.json() == {"topic": "orders/create", "duplicate": True}
    assert (table(live, "orders"), table(live, "events"), table(live, "order_items")) == before


def test_orders_paid_and_cancelled_update_the_order_and_record_their_events(live: Live) -> None:
    send(live, "orders/create", ORDER, "c-1")
    paid = {**ORDER, "financial_status": "paid", "updated_at": "2025-03-01T10:05:00+09:00"}
    assert send(live, "orders/paid", paid, "p-1").json()["results"]["events"]["accepted"] == 1
    (order,) = table(live, "orders")
    assert order["paid_at"] == dt.datetime(2025, 3, 1, 1, 5, tzinfo=dt.UTC)
    cancelled = {**paid, "cancelled_at": "2025-03-02T09:00:00+09:00", "cancel_reason": "customer"}
    assert send(live, "orders/cancelled", cancelled, "x-1").status_code == 200
    events = {e["type"]: e for e in table(live, "events")}
    assert events["order.paid"]["occurred_at"] == dt.datetime(2025, 3, 1, 1, 5, tzinfo=dt.UTC)
    assert events["order.cancelled"]["occurred_at"] == dt.datetime(2025, 3, 2, 0, 0, tzinfo=dt.UTC)
    assert events["order.cancelled"]["properties"]["order_id"] == "820982911946154508"
    assert events["order.placed"]["properties"]["paid_at"] == "2025-03-01T01:05:00+00:00"  # kept in step
    assert send(live, "orders/cancelled", cancelled, "x-2").json()["results"]["events"]["duplicates"] == 1


def test_customers_update_is_the_latest_state(live: Live) -> None:
    send(live, "customers/create", CUSTOMER, "cu-1")
    updated = copy.deepcopy(CUSTOMER)
    updated["email_marketing_consent"]["state"] = "unsubscribed"
    updated["sms_marketing_consent"]["state"] = "subscribed"
    updated["last_name"] = "佐藤"
    assert send(live, "customers/update", updated, "cu-2").json()["results"]["customers"]["accepted"] == 1
    (customer,) = table(live, "customers")
    assert (customer["name"], customer["email_opt_in"], customer["sms_opt_in"]) == ("佐藤 花子", False, True)


def test_payloads_ecrm_cannot_store_are_answered_200_with_the_reason(live: Live) -> None:
    dollars = send(live, "orders/create", {**ORDER, "currency": "USD"}, "usd-1").json()
    assert dollars["stored"] is False and "keeps whole yen" in dollars["error"]
    guest = send(live, "orders/create", {**ORDER, "customer": None}, "guest-1").json()
    assert guest["stored"] is False and "guest checkout" in guest["error"]
    assert table(live, "orders") == []
    with live.client() as client:
        unknown = client.post("/webhooks/shopify/products/create", content=b"{}")
    assert unknown.status_code == 404 and "orders/create" in unknown.json()["error"]
