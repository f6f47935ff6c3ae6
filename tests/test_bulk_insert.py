"""Decisions and outbox rows written as tuples, and steps placed by key (the tick's bulk paths), are stored
exactly as SQLAlchemy's own insert and update store the same values: every column byte for byte, on SQLite and
on PostgreSQL."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from sqlalchemy import Connection, bindparam, insert, select, update

from ecrm_dsl.store import enrollments as store
from ecrm_dsl.store import journal, outbox
from ecrm_dsl.store.bulk import instant, one_of, raw_instants, sqlite_instant
from ecrm_dsl.store.database import open_store
from ecrm_dsl.store.tables import TABLES

UTC = dt.UTC
JST = dt.timezone(dt.timedelta(hours=9))
# Whole seconds (SQLite text must still carry microseconds), microseconds, a non-UTC offset, a leap day.
MOMENTS = [
    dt.datetime(2025, 3, 10, 1, 0, tzinfo=UTC),
    dt.datetime(2025, 3, 10, 1, 0, 0, 123456, tzinfo=UTC),
    dt.datetime(2025, 3, 10, 9, 30, tzinfo=JST),
    dt.datetime(2024, 2, 29, 23, 59, 59, 1, tzinfo=UTC),
]
DETAILS: list[Any] = [{}, {"channel": "line", "key": "1:thanks"}, {"set": {"persona": "家族"}, "tags": ["vip"]}, None]


def _raw(conn: Connection, table: str, columns: tuple[str, ...]) -> list[tuple[Any, ...]]:
    """Rows as the driver returns them, no SQLAlchemy type in between, oldest first."""
    names = ", ".join(columns)
    return [tuple(r) for r in conn.exec_driver_sql(f"SELECT {names} FROM {table} ORDER BY id")]


def test_decisions_appended_as_tuples_are_stored_as_sqlalchemy_stores_them(store_url: str) -> None:
    engine = open_store(store_url)
    rows = [
        (at, "c1", "f2_step_mail", "h1", None, f"n{i}", "skipped", "休眠: 配信停止のため" if i % 2 else None, detail)
        for i, (at, detail) in enumerate(zip(MOMENTS, DETAILS, strict=True))
    ]
    with engine.begin() as conn:
        conn.execute(insert(TABLES.customers), [{"id": "c1", "attributes": {}}])
        journal.write(conn, [dict(zip(journal.COLUMNS, row, strict=True)) for row in rows])
        journal.append(conn, rows)
        stored = _raw(conn, "decisions", journal.COLUMNS)
    assert len(stored) == 2 * len(rows)
    assert stored[len(rows) :] == stored[: len(rows)]
    with engine.connect() as conn:  # and they read back as the values given
        found = journal.timeline(conn, "c1")
    assert sorted((d["at"], d["node_id"]) for d in found) == sorted((r[0], r[5]) for r in rows * 2)


def test_outbox_rows_enqueued_as_tuples_are_stored_as_sqlalchemy_stores_them(store_url: str) -> None:
    engine = open_store(store_url)
    params: list[Any] = [{}, {"coupon_code": "F2OFF10"}, {"note": "次回10%OFF"}, None]
    rows = [
        (f"{i}:step", None, "c1", "f2", "h1", "step", "email", "thanks", "marketing", p, at, at + dt.timedelta(hours=1))
        for i, (at, p) in enumerate(zip(MOMENTS, params, strict=True))
    ]
    columns = (*outbox.COLUMNS, "status", "attempts", "sent_at", "provider_id", "last_error")
    with engine.begin() as conn:
        conn.execute(insert(TABLES.customers), [{"id": "c1", "attributes": {}}])
        core = [{**dict(zip(outbox.COLUMNS, row, strict=True)), "status": "pending", "attempts": 0} for row in rows]
        conn.execute(insert(TABLES.outbox), core)
        outbox.enqueue(conn, [(f"b{row[0]}", *row[1:]) for row in rows])
        stored = _raw(conn, "outbox", columns)
    key = columns.index("idempotency_key")
    first, second = stored[: len(rows)], stored[len(rows) :]
    assert [r[key] for r in second] == [f"b{r[key]}" for r in first]
    assert [r[:key] + r[key + 1 :] for r in second] == [r[:key] + r[key + 1 :] for r in first]


def test_a_naive_time_is_refused_as_the_store_refuses_it() -> None:
    with pytest.raises(ValueError, match="naive datetime 2025-03-10T10:00:00: give the timezone"):
        sqlite_instant(dt.datetime(2025, 3, 10, 10, 0))


def test_instants_read_raw_equal_what_the_store_type_returns(store_url: str) -> None:
    engine = open_store(store_url)
    rows = [(at, "c1", "s", "h", None, None, "entered", None, {}) for at in MOMENTS]
    decisions = TABLES.decisions
    with engine.begin() as conn:
        conn.execute(insert(TABLES.customers), [{"id": "c1", "attributes": {}}])
        journal.append(conn, rows)
        typed = list(conn.execute(select(decisions.c.at).order_by(decisions.c.id)).scalars())
        raw = list(conn.execute(select(raw_instants(conn, decisions.c.at)).order_by(decisions.c.id)).scalars())
    assert [instant(value) for value in raw] == typed == [at.astimezone(UTC) for at in MOMENTS]
    assert all(value.tzinfo is UTC for value in map(instant, raw))


def test_steps_placed_by_key_are_stored_as_sqlalchemy_stores_them(store_url: str) -> None:
    engine = open_store(store_url)
    enrollments = TABLES.enrollments
    entered = MOMENTS[0]
    moves = [  # (node, due, previous, waiting): a null due and a wait that listens among them
        ("thanks", MOMENTS[1], entered, None),
        ("howto", MOMENTS[2], MOMENTS[1], None),
        ("answered", None, MOMENTS[3], MOMENTS[3]),
    ]
    columns = ("node_id", "due_at", "previous_at", "waiting_since")
    with engine.begin() as conn:
        conn.execute(insert(TABLES.customers), [{"id": "c1", "attributes": {}}])
        new = {"customer_id": "c1", "scenario_id": "s", "entered_at": entered, "status": "active", "node_id": "x"}
        conn.execute(insert(enrollments), [new] * (2 * len(moves)))
        core = update(enrollments).where(enrollments.c.id == bindparam("eid"))
        conn.execute(
            core.values({c: bindparam(f"v_{c}") for c in columns}),
            [{"eid": i + 1, **{f"v_{c}": v for c, v in zip(columns, m, strict=True)}} for i, m in enumerate(moves)],
        )
        store.place(
            conn,
            [
                {"eid": len(moves) + i + 1, "node": n, "due": d, "previous": p, "waiting": w}
                for i, (n, d, p, w) in enumerate(moves)
            ],
        )
        store.defer(conn, [(1, MOMENTS[3]), (len(moves) + 1, MOMENTS[3])])
        stored = _raw(conn, "enrollments", ("customer_id", "status", *columns))
    assert stored[len(moves) :] == stored[: len(moves)]
    assert [row[2] for row in stored] == [m[0] for m in moves] * 2


def test_one_of_finds_what_an_in_list_finds(store_url: str) -> None:
    engine = open_store(store_url)
    customers = TABLES.customers
    ids = [f"c{i}" for i in range(50)] + ["顧客-あ", "o'brien"]
    with engine.begin() as conn:
        conn.execute(insert(customers), [{"id": cid, "attributes": {}} for cid in ids])
        journal.append(conn, [(MOMENTS[0], cid, "s", "h", None, None, "entered", None, {}) for cid in ids])
        for wanted in (["c3", "顧客-あ", "o'brien", "nobody", "c3"], [], ids):
            found = set(conn.execute(select(customers.c.id).where(one_of(conn, customers.c.id, wanted))).scalars())
            assert found == set(conn.execute(select(customers.c.id).where(customers.c.id.in_(wanted))).scalars())
            assert found == set(wanted) & set(ids)
        decisions = TABLES.decisions
        numbers = [1, 7, 52, 999]  # integer keys too
        found = conn.execute(select(decisions.c.id).where(one_of(conn, decisions.c.id, numbers))).scalars()
        assert sorted(found) == [1, 7, 52]


def test_entrants_take_the_keys_returned_in_the_order_given(store_url: str) -> None:
    """``add_entered`` returns each entrant's enrollment id: on SQLite from ``executemany`` and the last key (no
    RETURNING), on PostgreSQL from RETURNING. The ids must be those the rows were stored under, in order, also
    after rows taken by someone else and across calls in one transaction."""
    engine = open_store(store_url)
    people = [f"客{i:02d}" for i in range(12)]
    with engine.begin() as conn:
        conn.execute(insert(TABLES.customers), [{"id": cid, "attributes": {}} for cid in people])
        first = store.add_entered(conn, [("s", "h", store.Candidate(cid, MOMENTS[0]), False) for cid in people[:5]])
        # a row inserted by SQLAlchemy's own path between the calls takes the next key
        other = {"customer_id": "客11", "scenario_id": "t", "scenario_hash": "h", "entered_at": MOMENTS[1]}
        conn.execute(insert(TABLES.enrollments), [{**other, "status": "active"}])
        # several scenarios in one call, as a tick enters them
        mixed = [
            (("s", "u")[i % 2], "h", store.Candidate(c, MOMENTS[2]), i % 2 == 0) for i, c in enumerate(people[5:11])
        ]
        second = store.add_entered(conn, mixed)
    assert [e.customer_id for e in first + second] == people[:11]
    assert second[0].id > first[-1].id + 1  # the other row's key lies between them
    e = TABLES.enrollments.c
    with engine.connect() as conn:
        rows = conn.execute(select(e.id, e.customer_id, e.scenario_id, e.holdout))
        stored = {row.id: (row.customer_id, row.scenario_id, row.holdout) for row in rows}
    assert {x.id: (x.customer_id, x.scenario_id, x.holdout) for x in first + second} == {
        key: value for key, value in stored.items() if value[0] != "客11"
    }
