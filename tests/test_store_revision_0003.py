"""Revision 0003 on SQLite and PostgreSQL: a store at 0002 gets the index that finds a tick's segment entrants,
and SQLite's planner uses it for that query."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import inspect, text

from ecrm_dsl.store import revisions, triggers
from ecrm_dsl.store.database import connect, open_store
from ecrm_dsl.store.revisions import StoreSchemaError

INDEX = "ix_segment_members_scenario_id_since"


def indexes(url: str) -> set[str]:
    return {index["name"] for index in inspect(connect(url)).get_indexes("segment_members")}


def test_a_store_at_0002_gets_the_segment_entrants_index(store_url: str) -> None:
    engine = open_store(store_url)
    assert INDEX in indexes(store_url)  # a new store is made at head
    with engine.begin() as conn:
        conn.execute(text(f"DROP INDEX {INDEX}"))
        conn.execute(text("UPDATE alembic_version SET version_num = '0002'"))
    with pytest.raises(StoreSchemaError, match="revision 0002"):
        open_store(store_url)
    assert revisions.upgrade(connect(store_url)).current == "0002"
    assert INDEX in indexes(store_url)
    assert revisions.revision(engine).current == revisions.head()


def test_sqlite_finds_a_ticks_entrants_through_it(tmp_path: object) -> None:
    engine = open_store(f"sqlite:///{tmp_path}/store.db")
    query = triggers.segment_entrants("dormant_150", dt.datetime(2025, 3, 1, tzinfo=dt.UTC))
    compiled = query.compile(engine, compile_kwargs={"literal_binds": True})
    with engine.connect() as conn:
        plan = " ".join(str(row[-1]) for row in conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {compiled}"))
    assert INDEX in plan, plan
