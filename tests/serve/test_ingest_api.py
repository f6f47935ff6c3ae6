"""The ingest API end to end: a real uvicorn server on loopback, a real SQLite store, the importer's checks."""

from __future__ import annotations

import datetime as dt
import json
import logging
import sqlite3
import threading
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from ecrm_dsl.store.tables import TABLES, ingested_items
from tests.serve.live import AUTH, OTHER_TOKEN, TOKEN, Live, f2_world, live_server

ORDER = {
    "id": "A-1001",
    "customer_id": "C1",
    "ordered_at": "2025-03-01T10:00:00+09:00",
    "amount": 4980,
    "lines": [{"sku": "SKIN-01", "category": "スキンケア", "quantity": 1, "price": 4980}],
}


def customer(cid: str = "C1", **fields: Any) -> dict[str, Any]:
    return {"id": cid, "name": "山田 花子", "email": f"{cid}@example.jp", "email_opt_in": True, **fields}


def event(eid: str, **fields: Any) -> dict[str, Any]:
    item = {"id": eid, "customer_id": "C1", "type": "review.posted", "occurred_at": "2025-03-02T12:00:00+09:00"}
    return {**item, "properties": {"rating": 5, "comment": "とても良い"}, **fields}


def rows(live: Live, table: str) -> list[dict[str, Any]]:
    with live.world.engine.connect() as conn:
        return [dict(r._mapping) for r in conn.execute(select(TABLES.metadata.tables[table]))]


def test_a_customer_an_order_and_events_are_stored_with_japanese_text(live: Live) -> None:
    assert live.post("/v1/customers", [customer()]).json() == {"accepted": 1, "duplicates": 0, "rejected": []}
    assert live.post("/v1/orders", [ORDER]).json()["accepted"] == 1
    assert live.post("/v1/events", [event("ev-1")]).json()["accepted"] == 1
    (stored,) = rows(live, "customers")
    assert (stored["name"], stored["email_opt_in"]) == ("山田 花子", True)
    (order,) = rows(live, "orders")
    assert order["ordered_at"] == dt.datetime(2025, 3, 1, 1, 0, tzinfo=dt.UTC)  # stored in UTC
    items = [(i["sku"], i["category"], i["price"]) for i in rows(live, "order_items")]
    assert items == [("SKIN-01", "スキンケア", 4980)]
    events = {e["type"]: e for e in rows(live, "events")}
    assert events["order.placed"]["properties"]["order_id"] == "A-1001"  # the importer's order event
    assert events["order.placed"]["properties"]["categories"] == ["スキンケア"]
    assert events["review.posted"]["properties"] == {"rating": 5, "comment": "とても良い"}


def test_no_or_a_wrong_token_is_401_and_no_response_or_log_shows_a_token(
    live: Live, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="ecrm.serve")
    none = live.post("/v1/customers", [customer()], headers={})
    wrong = live.post("/v1/customers", [customer()], headers={"Authorization": f"Bearer {TOKEN}x"})
    basic = live.post("/v1/customers", [customer()], headers={"Authorization": f"Basic {TOKEN}"})
    for response in (none, wrong, basic):
        assert response.status_code == 401
        assert response.headers["www-authenticate"] == "Bearer"
        assert "ECRM_INGEST_TOKENS" in response.json()["error"] and TOKEN not in response.text
    assert rows(live, "customers") == []
    second = live.post("/v1/customers", [customer()], headers={"Authorization": f"Bearer {OTHER_TOKEN}"})
    assert second.json()["accepted"] == 1  # any of the configured tokens
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert "POST /v1/customers 401" in logged and "POST /v1/customers 200" in logged
    for secret_or_data in (TOKEN, OTHER_TOKEN, "C1", "山田", "example.jp"):
        assert secret_or_data not in logged


def test_each_invalid_item_is_rejected_with_its_path_and_a_fix_and_the_rest_are_stored(live: Live) -> None:
    live.post("/v1/customers", [customer()])
    items = [
        event("ok-1"),
        event("no-tz", occurred_at="2025-03-02T12:00:00"),
        event("bad-day", occurred_at="2025-02-30T12:00:00+09:00"),
        event("typo", type="review.postd"),
        event("bad-prop", properties={"ratin": 5}),
        event("bad-type", properties={"rating": "五"}),
        {k: v for k, v in event("no-customer").items() if k != "customer_id"},
        event("extra", rating=5),
        event("unknown-customer", customer_id="C404"),
        event("ok-2", occurred_at="2025-03-02T03:00:00Z"),
        event("year-1", occurred_at="0001-01-01T00:00:00+09:00"),
    ]
    result = live.post("/v1/events", items).json()
    assert result["accepted"] == 2 and result["duplicates"] == 0
    by_id = {r["id"]: r for r in result["rejected"]}
    assert by_id["no-tz"]["path"] == "/items/1/occurred_at"
    assert "timezone" in by_id["no-tz"]["error"] and "+09:00" in by_id["no-tz"]["error"]
    assert by_id["bad-day"]["path"] == "/items/2/occurred_at"
    assert "not a moment on the calendar" in by_id["bad-day"]["error"]
    assert by_id["typo"]["path"] == "/items/3/type" and "did you mean 'review.posted'?" in by_id["typo"]["error"]
    assert by_id["bad-prop"]["path"] == "/items/4/properties" and "'rating'" in by_id["bad-prop"]["error"]
    assert by_id["bad-type"]["path"] == "/items/5/properties" and "'五'" in by_id["bad-type"]["error"]
    assert by_id["no-customer"]["path"] == "/items/6/customer_id" and "missing" in by_id["no-customer"]["error"]
    assert by_id["extra"]["path"] == "/items/7/rating" and "under 'properties'" in by_id["extra"]["error"]
    assert by_id["unknown-customer"]["path"] == "/items/8/customer_id"
    assert "POST /v1/customers" in by_id["unknown-customer"]["error"]
    assert (
        by_id["year-1"]["error"]
        == "'occurred_at': '0001-01-01T00:00:00+09:00' is outside the years 1900–2999 — check the year"
    )
    assert [r["index"] for r in result["rejected"]] == [1, 2, 3, 4, 5, 6, 7, 8, 10]
    assert {r["status"] for r in result["rejected"]} == {422}
    stored = [e for e in rows(live, "events") if e["type"] == "review.posted"]
    assert len(stored) == 2


def test_order_lines_and_datetime_properties_are_checked_like_the_rest(live: Live) -> None:
    live.post("/v1/customers", [customer()])
    twice = {**ORDER, "lines": [*ORDER["lines"], {"sku": "SKIN-01", "price": 100}]}
    negative = {**ORDER, "id": "A-2", "lines": [{"sku": "X", "price": -1}]}
    naive = event("naive", type="subscription.shipped", properties={"shipped_at": "2025-03-02 10:00"})
    result = live.post("/v1/orders", [twice, negative]).json()
    errors = {r["path"]: r["error"] for r in result["rejected"]}
    assert errors == {
        "/items/0/lines/1/sku": "'sku': 'SKIN-01' is also line 0 — give each product once, with its whole quantity",
        "/items/1/lines/0/price": "'price' is -1, less than 0 — give 0 or more",
    }
    (error,) = live.post("/v1/events", [naive]).json()["rejected"]
    assert error["path"] == "/items/0/properties/shipped_at" and "has no timezone" in error["error"]
    assert rows(live, "orders") == []


def test_customer_schema_values_and_custom_attributes_are_checked(live: Live) -> None:
    result = live.post(
        "/v1/customers",
        [
            customer("C1", attributes={"rank": "gold", "first_visit_at": "2025-01-05T10:00:00+09:00"}),
            customer("C2", attributes={"rank": "golf"}),
            customer("C3", attributes={"skin": "dry"}),
            customer("C4", attributes={"first_visit_at": "2025-01-05T10:00:00"}),
            customer("C5", birthday="1990-02-30"),
            {"id": 7},
        ],
    ).json()
    assert result["accepted"] == 1
    errors = {r["path"]: r["error"] for r in result["rejected"]}
    assert "allowed: bronze, silver, gold" in errors["/items/1/attributes/rank"]
    assert "declare it under attributes in the customer schema" in errors["/items/2/attributes/skin"]
    assert "timezone" in errors["/items/3/attributes/first_visit_at"]
    assert "not a date on the calendar" in errors["/items/4/birthday"]
    assert errors["/items/5/id"] == "'id' is 7, but must be text"
    (stored,) = rows(live, "customers")
    assert stored["attributes"] == {"rank": "gold", "first_visit_at": "2025-01-05T01:00:00+00:00"}


def test_a_resent_batch_is_all_duplicates_and_changes_nothing(live: Live) -> None:
    live.post("/v1/customers", [customer()])
    batch = [ORDER, {**ORDER, "id": "A-1002", "ordered_at": "2025-03-03T10:00:00+09:00", "lines": []}]
    assert live.post("/v1/orders", batch).json() == {"accepted": 2, "duplicates": 0, "rejected": []}
    before = (rows(live, "orders"), rows(live, "order_items"), rows(live, "events"))
    same_instant_other_offset = {**ORDER, "ordered_at": "2025-03-01T01:00:00Z", "lines": list(ORDER["lines"])}
    again = live.post("/v1/orders", [same_instant_other_offset, batch[1]]).json()
    assert again == {"accepted": 0, "duplicates": 2, "rejected": []}
    assert (rows(live, "orders"), rows(live, "order_items"), rows(live, "events")) == before
    repeated_in_batch = live.post("/v1/events", [event("e1"), event("e1")]).json()
    assert repeated_in_batch == {"accepted": 1, "duplicates": 1, "rejected": []}


def test_an_event_or_order_id_reused_for_other_content_is_a_409_item_error(live: Live) -> None:
    live.post("/v1/customers", [customer()])
    live.post("/v1/orders", [ORDER])
    live.post("/v1/events", [event("e1")])
    order = live.post("/v1/orders", [{**ORDER, "amount": 5980}]).json()
    (conflict,) = order["rejected"]
    assert (conflict["status"], conflict["path"], conflict["id"]) == (409, "/items/0/id", "A-1001")
    assert "received before with other content" in conflict["error"]
    assert [o["amount"] for o in rows(live, "orders")] == [4980]
    changed = live.post("/v1/events", [event("e1", properties={"rating": 1})]).json()
    assert changed["rejected"][0]["status"] == 409
    in_batch = live.post("/v1/events", [event("e2"), event("e2", properties={"rating": 2})]).json()
    assert in_batch["accepted"] == 1 and in_batch["rejected"][0]["index"] == 1
    assert "also item 0 of this batch" in in_batch["rejected"][0]["error"]


def test_customers_and_subscriptions_are_upserts_where_the_latest_item_wins(live: Live) -> None:
    live.post("/v1/customers", [customer(attributes={"rank": "bronze"})])
    newer = live.post("/v1/customers", [{"id": "C1", "email_opt_in": False, "attributes": {"rank": "gold"}}]).json()
    assert newer == {"accepted": 1, "duplicates": 0, "rejected": []}
    (stored,) = rows(live, "customers")
    assert (stored["name"], stored["email_opt_in"], stored["attributes"]) == ("山田 花子", False, {"rank": "gold"})
    subscription = {"id": "S1", "customer_id": "C1", "product": "玄米酵素", "status": "active", "shipments": 1}
    live.post("/v1/subscriptions", [subscription])
    assert live.post("/v1/subscriptions", [subscription]).json()["duplicates"] == 1
    live.post("/v1/subscriptions", [{**subscription, "status": "cancelled", "shipments": 3}])
    (sub,) = rows(live, "subscriptions")
    assert (sub["status"], sub["shipments"], sub["product"]) == ("cancelled", 3, "玄米酵素")
    with live.world.engine.connect() as conn:
        receipts = conn.execute(select(ingested_items.c.kind, ingested_items.c.item_id)).all()
    assert sorted(receipts) == [("customers", "C1"), ("subscriptions", "S1")]


def test_malformed_bodies_get_a_sentence_never_a_traceback(tmp_path: Any) -> None:
    with live_server(f2_world(tmp_path), max_body_bytes=4096) as live, live.client() as client:
        broken = client.post("/v1/events", content=b'{"items": [\n  {"id": 1,}\n]}', headers=AUTH)
        assert broken.status_code == 400
        assert broken.json() == {"error": "the body is not valid JSON: Expecting property name enclosed in double "
                                 "quotes at line 2, column 12"}  # fmt: skip
        assert client.post("/v1/events", content=b"\xff\xfe", headers=AUTH).status_code == 400
        shape = client.post("/v1/events", json=[{"id": "x"}], headers=AUTH)
        assert shape.status_code == 422 and '{"items": [...]}' in shape.json()["error"]
        too_many = client.post("/v1/events", content=json.dumps({"items": [0] * 1001}), headers=AUTH)
        assert too_many.status_code == 413 and "at most 1,000 items" in too_many.json()["error"]
        too_big = client.post("/v1/events", content=b"[" + b" " * 5000 + b"]", headers=AUTH)
        assert too_big.status_code == 413 and "4,096 bytes" in too_big.json()["error"]
        deep = client.post("/v1/events", content=b"[" * 3000 + b"]" * 3000, headers=AUTH)
        assert deep.status_code in (400, 413)
        unknown = client.post("/v1/refunds", json={"items": []}, headers=AUTH)
        assert unknown.status_code == 404 and "/v1/events" in unknown.json()["error"]
        for response in (broken, shape, too_many, too_big, unknown):
            assert "Traceback" not in response.text


def test_published_schemas_are_served_and_are_the_ones_that_judge(live: Live) -> None:
    with live.client() as client:
        schema = client.get("/v1/schemas/events")
        assert schema.status_code == 200 and schema.headers["content-type"].startswith("application/schema+json")
        assert schema.json()["required"] == ["id", "customer_id", "type", "occurred_at"]
        assert client.get("/v1/schemas/orders.json").json()["properties"]["lines"]["maxItems"] == 1000
        assert client.get("/v1/schemas/nope").status_code == 404
        for kind in ("events", "orders", "customers", "subscriptions"):
            example = client.get(f"/v1/schemas/{kind}").json()["examples"][0]
            assert "rejected" in live.post(f"/v1/{kind}", [example]).json()


def test_beyond_the_batches_in_flight_a_request_gets_503_with_retry_after(tmp_path: Any) -> None:
    world = f2_world(tmp_path)
    with live_server(world, max_in_flight=1) as live:
        live.post("/v1/customers", [customer()])
        blocker = sqlite3.connect(world.root / "store.db", isolation_level=None)
        blocker.execute("BEGIN IMMEDIATE")  # hold SQLite's write lock: the first batch waits for it
        first: dict[str, httpx.Response] = {}
        sender = threading.Thread(target=lambda: first.update(r=live.post("/v1/events", [event("e1")])))
        sender.start()
        try:
            with live.client() as client:
                for _ in range(2000):  # until the first batch is in flight
                    if "ecrm_ingest_batches_in_flight 1.0" in client.get("/metrics").text:
                        break
                busy = client.post("/v1/events", json={"items": [event("e2")]}, headers=AUTH)
            assert busy.status_code == 503 and busy.headers["retry-after"] == "1"
            assert "in flight" in busy.json()["error"]
        finally:
            blocker.execute("ROLLBACK")
            blocker.close()
            sender.join(timeout=30)
        assert first["r"].json()["accepted"] == 1
        assert live.post("/v1/events", [event("e2")]).json()["accepted"] == 1  # room again


def test_healthz_says_whether_the_store_is_reachable_and_its_schema_complete(tmp_path: Any) -> None:
    world = f2_world(tmp_path)
    with live_server(world) as live, live.client() as client:
        ok = client.get("/healthz")
        assert ok.status_code == 200 and ok.json() == {"status": "ok", "last_tick": None}
        world.tick(dt.datetime(2025, 3, 1, 12, tzinfo=dt.UTC))
        assert client.get("/healthz").json()["last_tick"] == "2025-03-01T12:00:00+00:00"
        with sqlite3.connect(world.root / "store.db") as conn:
            conn.execute("DROP TABLE ingested_items")
        broken = client.get("/healthz")
        assert broken.status_code == 503
        assert broken.json() == {"status": "unavailable", "error": "the store lacks tables: ingested_items"}


def test_metrics_count_items_by_outcome_and_read_ticks_decisions_and_outbox_from_the_store(live: Live) -> None:
    live.post("/v1/customers", [customer()])
    live.post("/v1/orders", [ORDER, ORDER, {**ORDER, "id": "A-9", "ordered_at": "bad"}])
    live.world.tick(dt.datetime(2025, 3, 1, 12, tzinfo=dt.UTC))  # entered (21:00 in Tokyo: quiet hours)
    live.world.tick(dt.datetime(2025, 3, 2, 1, tzinfo=dt.UTC))  # the thank-you mail is decided at 10:00
    with live.client() as client:
        text = client.get("/metrics").text
    assert 'ecrm_ingest_items_total{kind="orders",outcome="accepted"} 1.0' in text
    assert 'ecrm_ingest_items_total{kind="orders",outcome="duplicate"} 1.0' in text
    assert 'ecrm_ingest_items_total{kind="orders",outcome="rejected"} 1.0' in text
    assert 'ecrm_ingest_request_seconds_count{endpoint="ingest"} 2.0' in text
    assert "ecrm_store_up 1.0" in text
    assert "ecrm_last_tick_timestamp_seconds 1.7408772e+09" in text
    assert "ecrm_tick_lag_seconds " in text
    assert 'ecrm_decisions{kind="entered",scenario="f2"} 1.0' in text
    assert 'ecrm_outbox_messages{status="pending"} 1.0' in text


def test_an_order_posted_for_a_new_customer_enrolls_them_in_f2_at_the_next_tick(live: Live) -> None:
    """The done-criterion of the issue: orders sent over HTTP drive scenarios within one tick."""
    assert live.post("/v1/customers", [customer("N1")]).json()["accepted"] == 1
    order = {**ORDER, "id": "W-1", "customer_id": "N1"}
    assert live.post("/v1/orders", [order]).json()["accepted"] == 1
    report = live.world.tick(dt.datetime(2025, 3, 1, 10, 5, tzinfo=dt.timezone(dt.timedelta(hours=9))))
    assert report.entered["f2"] == 1
    (entered,) = live.world.decisions("N1", "entered")
    assert entered["scenario_id"] == "f2"
    live.world.tick(dt.datetime(2025, 3, 1, 11, 30, tzinfo=dt.timezone(dt.timedelta(hours=9))))
    assert [(s[0], s[1]) for s in live.world.sends("N1")] == [("N1", "thanks")]


def test_the_same_batch_sent_at_once_from_four_clients_is_stored_once(live: Live) -> None:
    live.post("/v1/customers", [customer()])
    batch = [event(f"c-{n}", occurred_at=f"2025-03-02T12:{n:02d}:00+09:00") for n in range(50)]
    results: list[dict[str, Any]] = []

    def send() -> None:
        response = live.post("/v1/events", batch)
        assert response.status_code == 200
        results.append(response.json())

    senders = [threading.Thread(target=send) for _ in range(4)]
    for sender in senders:
        sender.start()
    for sender in senders:
        sender.join(timeout=60)
    assert sorted(r["accepted"] for r in results) == [0, 0, 0, 50]
    assert sum(r["duplicates"] for r in results) == 150
    assert len([e for e in rows(live, "events") if e["type"] == "review.posted"]) == 50


def test_a_subscription_event_sent_over_http_moves_its_subscription_on(live: Live) -> None:
    """Events go through the importer's loader, so they update the state they imply as a CSV import does."""
    live.post("/v1/customers", [customer()])
    subscription = {"id": "S1", "customer_id": "C1", "product": "玄米酵素", "status": "active", "shipments": 1}
    live.post("/v1/subscriptions", [subscription])
    shipped = event(
        "ev-ship-2",
        type="subscription.shipped",
        occurred_at="2025-04-10T09:00:00+09:00",
        properties={"subscription_id": "S1", "shipment_number": 2, "next_shipment_date": "2025-05-10"},
    )
    assert live.post("/v1/events", [shipped]).json() == {"accepted": 1, "duplicates": 0, "rejected": []}
    (sub,) = rows(live, "subscriptions")
    assert (sub["shipments"], sub["next_shipment_date"]) == (2, dt.date(2025, 5, 10))
    assert live.post("/v1/events", [shipped]).json()["duplicates"] == 1
    (again,) = rows(live, "subscriptions")
    assert again["shipments"] == 2
