"""``triggers.update_segment`` on a real store: the remembered membership of a segment-entry trigger.

Customers who start matching get ``since = now``, those who stop matching are removed, those who keep matching
keep their ``since``; scenarios do not share members, and everything happens in the caller's transaction.
They run on SQLite and on PostgreSQL (the ``store_url`` fixture of tests/conftest.py).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import Connection, Engine, Select, delete, insert, inspect, select, update

from ecrm_dsl.conditions.normal import Normal, normalise
from ecrm_dsl.conditions.sql import select_customers
from ecrm_dsl.store import triggers
from ecrm_dsl.store.database import open_store
from ecrm_dsl.store.tables import TABLES
from ecrm_dsl.syntax.text import parse_condition

T = TABLES
T0 = datetime(2025, 3, 1, 3, 0, tzinfo=UTC)
T1 = T0 + timedelta(hours=1)
T2 = T0 + timedelta(hours=2)


@pytest.fixture
def engine(store_url: str) -> Iterator[Engine]:
    made = open_store(store_url)
    with made.begin() as conn:
        conn.execute(insert(T.customers), [{"id": c, "persona": "gold", "attributes": {}} for c in "abcde"])
    yield made
    made.dispose()


def audience(text: str, now: datetime) -> Select[Any]:
    """The query the scheduler passes: ``select_customers`` of a condition, ordered by id."""
    expr, findings = parse_condition(text, "<test>")
    assert not findings, findings
    normal: Normal = normalise(expr)
    return select_customers(normal, now=now)


def golds(now: datetime) -> Select[Any]:
    return audience('customer.persona == "gold"', now)


def persona(conn: Connection, value: str | None, *ids: str) -> None:
    conn.execute(update(T.customers).where(T.customers.c.id.in_(ids)).values(persona=value))


def members(conn: Connection, scenario_id: str) -> dict[str, datetime]:
    m = T.segment_members
    rows = conn.execute(select(m.c.customer_id, m.c.since).where(m.c.scenario_id == scenario_id))
    return {row.customer_id: row.since for row in rows}


def entrants(conn: Connection, scenario_id: str, now: datetime) -> set[str]:
    return set(conn.execute(triggers.segment_entrants(scenario_id, now)).scalars())


def test_joiners_get_now_leavers_go_and_stayers_keep_their_since(engine: Engine) -> None:
    with engine.begin() as conn:
        persona(conn, "silver", "d", "e")
        triggers.update_segment(conn, "s", golds(T0), T0)
        assert members(conn, "s") == {"a": T0, "b": T0, "c": T0}
        assert entrants(conn, "s", T0) == {"a", "b", "c"}
    with engine.begin() as conn:
        persona(conn, "silver", "a")  # leaves
        persona(conn, None, "b")  # a null persona does not match either
        persona(conn, "gold", "d")  # joins
        triggers.update_segment(conn, "s", golds(T1), T1)
        assert members(conn, "s") == {"c": T0, "d": T1}
        assert entrants(conn, "s", T1) == {"d"}
    with engine.begin() as conn:
        persona(conn, "gold", "a")  # comes back: a new start, not the old one
        triggers.update_segment(conn, "s", golds(T2), T2)
        assert members(conn, "s") == {"a": T2, "c": T0, "d": T1}
        assert entrants(conn, "s", T2) == {"a"}


def test_an_empty_audience_empties_the_membership(engine: Engine) -> None:
    with engine.begin() as conn:
        triggers.update_segment(conn, "s", golds(T0), T0)
        persona(conn, "silver", *"abcde")
        triggers.update_segment(conn, "s", golds(T1), T1)
        assert members(conn, "s") == {}
        assert entrants(conn, "s", T1) == set()


def test_scenarios_in_one_transaction_keep_their_own_members(engine: Engine) -> None:
    with engine.begin() as conn:
        persona(conn, "silver", "d", "e")
        triggers.update_segment(conn, "golds", golds(T0), T0)
        triggers.update_segment(conn, "silvers", audience('customer.persona == "silver"', T0), T0)
        triggers.update_segment(conn, "everyone", audience("customer.persona is not null", T0), T0)
        assert members(conn, "golds") == {"a": T0, "b": T0, "c": T0}
        assert members(conn, "silvers") == {"d": T0, "e": T0}
        assert set(members(conn, "everyone")) == set("abcde")
    with engine.begin() as conn:
        persona(conn, "silver", "a")
        triggers.update_segment(conn, "silvers", audience('customer.persona == "silver"', T1), T1)
        triggers.update_segment(conn, "golds", golds(T1), T1)
        assert members(conn, "golds") == {"b": T0, "c": T0}
        assert members(conn, "silvers") == {"a": T1, "d": T0, "e": T0}
        assert set(members(conn, "everyone")) == set("abcde")  # not updated at T1: untouched


def test_derived_attributes_as_of_now(engine: Engine) -> None:
    """The audience is evaluated at the tick's time: an order placed after ``now`` does not count yet."""
    with engine.begin() as conn:
        conn.execute(
            insert(T.orders),
            [
                {"id": "o1", "customer_id": "a", "ordered_at": T0 - timedelta(days=1), "amount": 1000},
                {"id": "o2", "customer_id": "b", "ordered_at": T1 - timedelta(minutes=1), "amount": 1000},
            ],
        )
        triggers.update_segment(conn, "buyers", audience("customer.order_count >= 1", T0), T0)
        triggers.update_segment(conn, "buyers", audience("customer.order_count >= 1", T1), T1)
        assert members(conn, "buyers") == {"a": T0, "b": T1}
        conn.execute(delete(T.orders).where(T.orders.c.id == "o1"))
        triggers.update_segment(conn, "buyers", audience("customer.order_count >= 1", T2), T2)
        assert members(conn, "buyers") == {"b": T1}


def test_a_rolled_back_update_changes_nothing_and_the_next_one_works(engine: Engine) -> None:
    with engine.begin() as conn:
        triggers.update_segment(conn, "s", golds(T0), T0)
    engine.dispose()  # a new connection: its first update_segment creates the working table, then rolls back
    with engine.connect() as conn:
        persona(conn, "silver", "a")
        triggers.update_segment(conn, "s", golds(T1), T1)
        assert set(members(conn, "s")) == {"b", "c", "d", "e"}
        conn.rollback()
        assert members(conn, "s") == dict.fromkeys("abcde", T0)
        persona(conn, "silver", "b")
        triggers.update_segment(conn, "s", golds(T1), T1)
        conn.commit()
    with engine.connect() as conn:
        assert members(conn, "s") == dict.fromkeys("acde", T0)


def test_the_working_table_is_not_part_of_the_store(engine: Engine) -> None:
    with engine.begin() as conn:
        triggers.update_segment(conn, "s", golds(T0), T0)
        # It exists on this connection, empty between calls, and only as a temporary table.
        assert conn.execute(select(triggers._MATCHING.c.customer_id)).all() == []
    assert "ecrm_segment_matching" not in inspect(engine).get_table_names()
    assert "ecrm_segment_matching" not in TABLES.metadata.tables
