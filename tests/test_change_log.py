"""The change log: every way a customer's data is written lands in ``customer_changes`` (database triggers, so
no writer has to remember), and the tick prunes what every reader consumed; on SQLite and PostgreSQL. (Stores
made before the log get it from the baseline revision: tests/test_store_revisions.py.)"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy import Engine, delete, insert, select, update

from ecrm_dsl.importer import ImportRequest, open_engine, run_import
from ecrm_dsl.project.resources import CustomerSchema
from ecrm_dsl.store import changes
from ecrm_dsl.store.database import open_store
from ecrm_dsl.store.tables import TABLES
from tests.runtime.adversarial_helpers import at, build, scenario

UTC = dt.UTC
T = TABLES


def log(engine: Engine) -> list[tuple[str, dt.datetime | None]]:
    """(customer, effective time) of every log row, in sequence order."""
    c = T.customer_changes.c
    with engine.connect() as conn:
        return [
            (r.customer_id, r.effective_at) for r in conn.execute(select(c.customer_id, c.effective_at).order_by(c.seq))
        ]


def clear(engine: Engine) -> None:
    with engine.begin() as conn:
        conn.execute(delete(T.customer_changes))


def test_direct_writes_to_every_fed_table_land_in_the_log(store_url: str) -> None:
    engine = open_store(store_url)
    signed = dt.datetime(2025, 3, 1, 1, tzinfo=UTC)
    ordered = dt.datetime(2025, 3, 2, 3, tzinfo=UTC)
    with engine.begin() as conn:
        conn.execute(insert(T.customers), [{"id": "顧客1", "signed_up_at": signed}, {"id": "c2", "signed_up_at": None}])
    assert log(engine) == [("顧客1", signed), ("c2", None)]
    clear(engine)
    writes = [
        (update(T.customers).where(T.customers.c.id == "c2").values(unsubscribed=True), ("c2", None)),
        (insert(T.customer_tags).values(customer_id="顧客1", tag="vip"), ("顧客1", None)),
        (delete(T.customer_tags).where(T.customer_tags.c.tag == "vip"), ("顧客1", None)),
        (insert(T.orders).values(id="o1", customer_id="c2", ordered_at=ordered, amount=100), ("c2", ordered)),
        (insert(T.order_items).values(order_id="o1", sku="S", price=100), ("c2", ordered)),
        (update(T.orders).where(T.orders.c.id == "o1").values(paid_at=ordered), ("c2", ordered)),
        (insert(T.subscriptions).values(id="s1", customer_id="顧客1", status="active"), ("顧客1", None)),
        (update(T.subscriptions).values(status="paused"), ("顧客1", None)),
        (insert(T.events).values(customer_id="c2", type="x", occurred_at=ordered, properties={}), ("c2", ordered)),
    ]
    for statement, expected in writes:
        with engine.begin() as conn:
            conn.execute(statement)
        assert log(engine) == [expected], statement
        clear(engine)
    # An order moved to another customer changes both of them.
    with engine.begin() as conn:
        conn.execute(update(T.orders).where(T.orders.c.id == "o1").values(customer_id="顧客1"))
    assert log(engine) == [("顧客1", ordered), ("c2", None)]


def test_the_importer_feeds_the_log(store_url: str, tmp_path: Path) -> None:
    store = open_engine(store_url)
    with store.begin() as conn:
        conn.execute(insert(T.customers), [{"id": "C001"}, {"id": "C002"}])
    clear(store)
    lines = tmp_path / "orders.csv"
    lines.write_text(
        "id,customer_id,ordered_at,amount,sku,price\nO1,C001,2025-03-01 10:00,100,S1,100\n", encoding="utf-8"
    )
    result = run_import(store, ImportRequest("orders", lines, ZoneInfo("Asia/Tokyo")), CustomerSchema.builtin())
    assert result.ok and result.committed
    ordered = dt.datetime(2025, 3, 1, 1, tzinfo=UTC)
    # The order, its item and its order.placed event: all the same customer, visible from the order's time.
    assert set(log(store)) == {("C001", ordered)} and len(log(store)) == 3


def test_update_steps_feed_the_log_and_the_tick_prunes_what_every_reader_consumed(tmp_path: Path) -> None:
    w = build(tmp_path, {"s": scenario("s", "order.placed", '  @mark update tag "seen"\n  send email mail')})
    w.customer("a")
    w.order("a", at(1, 10))
    # The future order of a replay stays in the log until the clock passes it.
    w.order("a", at(5, 10))
    w.tick(at(1, 11))
    rows = log(w.engine)
    # What the tick's own update step wrote (after it read the log's head) stays for the next tick; the
    # customer and the first order were consumed; the future order waits for its moment.
    assert ("a", None) in rows  # the tag
    assert ("a", at(5, 10).astimezone(UTC)) in rows
    assert ("a", at(1, 10).astimezone(UTC)) not in rows
    with w.engine.connect() as conn:
        tags = list(conn.execute(select(T.customer_tags.c.tag)).scalars())
    assert tags == ["seen"]
    w.tick(at(1, 12))
    assert ("a", None) in log(w.engine)  # consumed, but pruning waits for PRUNE_EVERY or PRUNE_ROWS
    w.tick(at(1, 11) + changes.PRUNE_EVERY)
    assert log(w.engine) == [("a", at(5, 10).astimezone(UTC))] * 2  # the order and its event
    w.tick(at(5, 11))
    assert log(w.engine) == []


def test_a_removed_reader_no_longer_holds_the_log(store_url: str) -> None:
    engine = open_store(store_url)
    with engine.begin() as conn:
        conn.execute(insert(T.customers).values(id="c"))
        changes.write_mark(conn, "gone", changes.Mark(0, at(1, 0)))
        changes.write_mark(conn, "live", changes.Mark(changes.head(conn), at(1, 0)))
        assert changes.prune(conn, {"gone", "live"}) == 0  # "gone" has not consumed the row yet
        assert changes.prune(conn, {"live"}) == 1
        assert changes.read_mark(conn, "gone") is None


def test_pruning_is_bounded_per_tick_and_drains_a_backlog(store_url: str) -> None:
    engine = open_store(store_url)
    with engine.begin() as conn:
        conn.execute(insert(T.customers), [{"id": f"c{i}", "signed_up_at": None} for i in range(25)])
        changes.write_mark(conn, "r", changes.Mark(changes.head(conn), at(1, 0)))
        assert [changes.prune(conn, {"r"}, limit=10) for _ in range(4)] == [10, 10, 5, 0]


def test_a_window_reaching_before_the_pruned_horizon_gets_those_events_logged_again(store_url: str) -> None:
    engine = open_store(store_url)
    moments = [at(1, h).astimezone(UTC) for h in (1, 5, 9)]
    with engine.begin() as conn:
        conn.execute(insert(T.customers).values(id="c", signed_up_at=None))
        for moment in moments:
            conn.execute(insert(T.events).values(customer_id="c", type="x", occurred_at=moment, properties={}))
        changes.write_mark(conn, "r", changes.Mark(changes.head(conn), at(1, 10)))
        changes.prune(conn, {"r"})
        assert changes.horizon(conn) == at(1, 10) and log(engine) == []
        changes.keep_events_since(conn, at(1, 4))
        assert changes.horizon(conn) == at(1, 4)
    assert log(engine) == [("c", moments[1]), ("c", moments[2])]


def test_the_bulk_log_holds_what_the_triggers_write_for_the_same_rows(store_url: str) -> None:
    engine = open_store(store_url)
    early, late = dt.datetime(2025, 3, 1, 1, tzinfo=UTC), dt.datetime(2025, 3, 9, 2, tzinfo=UTC)
    with engine.begin() as conn:  # one row of every kind the triggers log, each before and after ``late``
        conn.execute(insert(T.customers), [{"id": "顧客1", "signed_up_at": early}, {"id": "c2", "signed_up_at": None}])
        conn.execute(insert(T.customers).values(id="c3", signed_up_at=late))
        conn.execute(insert(T.customer_tags).values(customer_id="顧客1", tag="常連"))
        orders = [("o1", "c2", early), ("o2", "顧客1", late), ("o3", "c2", late + dt.timedelta(hours=1))]
        for oid, cid, moment in orders:
            conn.execute(insert(T.orders).values(id=oid, customer_id=cid, ordered_at=moment, amount=100))
            conn.execute(insert(T.order_items), [{"order_id": oid, "sku": s, "price": 50} for s in ("A", "B")])
        conn.execute(insert(T.subscriptions).values(id="s1", customer_id="c3", status="active", started_at=late))
        conn.execute(insert(T.subscriptions).values(id="s2", customer_id="c2", status="active"))
        for cid, moment in (("c3", early), ("顧客1", late), ("c3", late)):
            conn.execute(insert(T.events).values(customer_id=cid, type="x", occurred_at=moment, properties={}))
    by_trigger = log(engine)
    assert len(by_trigger) == 3 + 1 + 3 + 6 + 2 + 3

    clear(engine)
    with engine.begin() as conn:
        changes.log_history(conn)
    assert sorted(log(engine), key=repr) == sorted(by_trigger, key=repr)

    clear(engine)
    with engine.begin() as conn:
        changes.log_history(conn, since=late)
    # From ``late`` on: what a reader whose first look is at ``late`` or after can ask for (see log_history).
    # Readers see customers, not rows: the same pairs, without the order items' copies of their orders' rows.
    wanted = {(cid, moment) for cid, moment in by_trigger if moment is not None and moment >= late}
    assert set(log(engine)) == wanted
    assert len(log(engine)) == 1 + 2 + 1 + 2  # a customer, two orders, a subscription, two events
