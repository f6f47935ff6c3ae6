"""Events update the state they imply: subscription rows from ``subscription.*`` events, consent fields from
consent events — idempotently, and never an older event over a newer state. Real SQLite stores, the real CLI."""

from __future__ import annotations

import shutil
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from sqlalchemy import create_engine, select

from ecrm_dsl.cli.import_cmd import import_command
from ecrm_dsl.demo.generate import DemoShop
from ecrm_dsl.importer.implied import apply_implied_state
from ecrm_dsl.report.kpis import subscription_retention
from ecrm_dsl.store import report_queries
from ecrm_dsl.store.database import open_store
from ecrm_dsl.store.tables import TABLES

DATA = Path(__file__).parent / "data" / "import"
HEADER = "customer_id,type,occurred_at,prop.subscription_id,prop.shipment_number,prop.next_shipment_date,prop.product\n"


@pytest.fixture
def shop(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Customers C001–C003 and subscriptions S001 (C001: active, 3 shipments) and S002 (C003: paused)."""
    root = tmp_path / "shop"
    shutil.copytree(DATA / "project", root)
    monkeypatch.chdir(root)
    monkeypatch.delenv("ECRM_STORE", raising=False)
    for kind in ("customers", "subscriptions"):
        shutil.copy(DATA / f"{kind}.csv", root)
        assert run(kind, f"{kind}.csv").exit_code == 0
    return root


def run(*args: str) -> Any:
    return CliRunner().invoke(import_command, list(args), catch_exceptions=False)


def events(shop: Path, name: str, *lines: str, header: str = HEADER) -> Any:
    (shop / name).write_text(header + "".join(f"{line}\n" for line in lines), encoding="utf-8")
    result = run("events", name)
    assert result.exit_code == 0, result.stderr
    return result


def table(shop: Path, name: str) -> dict[str, dict[str, Any]]:
    t = TABLES.metadata.tables[name]
    with create_engine(f"sqlite:///{shop / 'ecrm.db'}").connect() as conn:
        return {row["id"]: dict(row) for row in conn.execute(select(t)).mappings()}


def test_a_shipment_updates_the_count_and_the_next_date(shop: Path) -> None:
    result = events(shop, "e.csv", "C001,subscription.shipped,2025-04-10 09:00,S001,4,2025-05-10,serum_monthly")
    s001 = table(shop, "subscriptions")["S001"]
    assert (s001["shipments"], s001["next_shipment_date"], s001["status"]) == (4, date(2025, 5, 10), "active")
    assert "subscriptions (from subscription events): 0 inserted, 1 updated, 0 unchanged" in result.stdout


def test_importing_the_same_events_twice_changes_nothing(shop: Path) -> None:
    lines = (
        "C001,subscription.shipped,2025-04-10 09:00,S001,4,2025-05-10,",
        "C001,subscription.skipped,2025-05-03 09:00,S001,,2025-06-10,",
        "C003,subscription.cancelled,2025-05-20 12:00,S002,,,",
    )
    events(shop, "e.csv", *lines)
    first = table(shop, "subscriptions")
    again = events(shop, "e.csv", *lines)
    assert table(shop, "subscriptions") == first
    assert "events: 0 inserted, 0 updated, 3 unchanged" in again.stdout
    assert "subscriptions" not in again.stdout
    assert first["S001"]["skips"] == 1 and first["S001"]["next_shipment_date"] == date(2025, 6, 10)
    assert first["S002"]["status"] == "cancelled" and first["S002"]["next_shipment_date"] is None


def test_an_older_event_never_overrides_a_newer_state(shop: Path) -> None:
    events(shop, "new.csv", "C003,subscription.cancelled,2025-06-01 10:00,S002,,,")
    events(shop, "old.csv", "C003,subscription.resumed,2025-05-01 10:00,S002,,2025-05-15,")
    s002 = table(shop, "subscriptions")["S002"]
    assert (s002["status"], s002["next_shipment_date"]) == ("cancelled", None)
    events(shop, "newer.csv", "C003,subscription.resumed,2025-07-01 10:00,S002,,2025-07-15,")
    s002 = table(shop, "subscriptions")["S002"]
    assert (s002["status"], s002["next_shipment_date"]) == ("active", date(2025, 7, 15))


def test_the_order_within_one_file_does_not_matter(shop: Path) -> None:
    events(
        shop,
        "e.csv",
        "C003,subscription.paused,2025-06-01 10:00,S002,,,",
        "C003,subscription.shipped,2025-05-01 10:00,S002,6,2025-06-01,",
    )
    s002 = table(shop, "subscriptions")["S002"]
    assert (s002["status"], s002["shipments"], s002["next_shipment_date"]) == ("paused", 6, None)


def test_a_newer_status_from_a_subscriptions_file_is_kept(shop: Path) -> None:
    events(shop, "e.csv", "C003,subscription.paused,2025-03-01 10:00,S002,,,")
    (shop / "s.csv").write_text("id,customer_id,status\nS002,C003,active\n", encoding="utf-8")
    assert run("subscriptions", "s.csv").exit_code == 0
    events(shop, "e.csv", "C003,subscription.paused,2025-03-01 10:00,S002,,,")  # the same event again
    assert table(shop, "subscriptions")["S002"]["status"] == "active"


def test_events_create_a_subscription_the_store_lacks(shop: Path) -> None:
    events(
        shop,
        "e.csv",
        "C002,subscription.started,2025-01-05 10:00,S900,,,granola_monthly",
        "C002,subscription.shipped,2025-01-07 10:00,S900,,2025-02-07,granola_monthly",
        "C002,subscription.shipped,2025-02-07 10:00,S900,,2025-03-07,granola_monthly",
        "C002,subscription.skipped,2025-03-01 10:00,S900,,2025-04-07,granola_monthly",
    )
    s900 = table(shop, "subscriptions")["S900"]
    assert s900["customer_id"] == "C002" and s900["product"] == "granola_monthly"
    assert (s900["status"], s900["shipments"], s900["skips"]) == ("active", 2, 1)
    assert s900["next_shipment_date"] == date(2025, 4, 7)
    assert s900["started_at"] == datetime(2025, 1, 5, 1, 0, tzinfo=UTC)


def test_counts_never_go_down(shop: Path) -> None:
    events(shop, "e.csv", "C001,subscription.shipped,2025-02-10 09:00,S001,2,2025-03-10,")
    assert table(shop, "subscriptions")["S001"]["shipments"] == 3  # the subscriptions file said 3 already


CONSENT = "customer_id,type,occurred_at,prop.channel\n"


def test_consent_events_update_the_customer(shop: Path) -> None:
    before = table(shop, "customers")
    assert before["C001"]["email_opt_in"] and before["C003"]["line_opt_in"] and not before["C002"]["unsubscribed"]
    result = events(
        shop,
        "c.csv",
        "C001,customer.unsubscribed,2025-04-01 10:00,email",
        "C002,customer.unsubscribed,2025-04-01 11:00,",
        "C003,customer.unsubscribed,2025-04-02 10:00,line",
        "C003,customer.unsubscribed,2025-04-02 10:00,fax",  # a channel the store does not know implies nothing
        header=CONSENT,
    )
    after = table(shop, "customers")
    assert not after["C001"]["email_opt_in"] and after["C001"]["line_opt_in"]
    assert after["C002"]["unsubscribed"]
    assert not after["C003"]["line_opt_in"] and after["C003"]["email_opt_in"]
    assert "customers' consent (from consent events): 0 inserted, 3 updated, 0 unchanged" in result.stdout


def test_an_older_opt_in_does_not_undo_a_newer_unsubscribe(shop: Path) -> None:
    events(shop, "c1.csv", "C001,customer.unsubscribed,2025-04-01 10:00,email", header=CONSENT)
    events(shop, "c2.csv", "C001,customer.opted_in,2025-03-01 10:00,email", header=CONSENT)
    assert not table(shop, "customers")["C001"]["email_opt_in"]
    events(shop, "c3.csv", "C001,customer.opted_in,2025-05-01 10:00,email", header=CONSENT)
    assert table(shop, "customers")["C001"]["email_opt_in"]


def test_the_function_itself_is_idempotent_and_order_free(shop: Path) -> None:
    engine = open_store(shop / "ecrm.db")
    rows = [
        {
            "customer_id": "C001",
            "type": "subscription.shipped",
            "occurred_at": datetime(2025, 4, 10, tzinfo=UTC) + timedelta(days=30 * i),
            "properties": {"subscription_id": "S001", "shipment_number": 4 + i},
        }
        for i in range(3)
    ]
    with engine.begin() as conn:
        conn.execute(TABLES.events.insert(), rows)
        first = apply_implied_state(conn, TABLES, rows)
        second = apply_implied_state(conn, TABLES, list(reversed(rows)))
    engine.dispose()
    assert (first.subscriptions.updated, second.subscriptions.unchanged) == (1, 1)
    assert table(shop, "subscriptions")["S001"]["shipments"] == 6


def test_the_demo_store_has_retention_by_shipment(tmp_path: Path) -> None:
    engine = open_store(tmp_path / "demo.db")
    start = datetime(2025, 3, 1, tzinfo=UTC)
    shop = DemoShop(300, start, days=30)
    shop.generate(engine)
    with engine.begin() as conn:
        apply_implied_state(conn, TABLES, shop.implying_events)
        curve = subscription_retention(conn, report_queries.Window(None, start + timedelta(days=30)))
    engine.dispose()
    assert len(curve) >= 3 and curve[0]["reached"] > curve[2]["reached"] > 0
