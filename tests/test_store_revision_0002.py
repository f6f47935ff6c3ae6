"""Revision 0002 (ecrm serve's ingest receipts) on SQLite and PostgreSQL: a store at the baseline gets the table,
and a store that a version between ``ecrm serve`` and the revisions made, which has it already, keeps its rows."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine, inspect, text

from ecrm_dsl.store import revisions
from ecrm_dsl.store.database import connect, open_store
from ecrm_dsl.store.revisions import StoreSchemaError


def back_to_the_baseline(engine: Engine, *, keep_table: bool) -> None:
    """The store as revision 0001 left it; with ``keep_table``, the receipts table made outside the revisions."""
    with engine.begin() as conn:
        if not keep_table:
            conn.execute(text("DROP TABLE ingested_items"))
        conn.execute(text("UPDATE alembic_version SET version_num = '0001'"))


def test_a_store_at_the_baseline_gets_the_receipts_table(store_url: str) -> None:
    engine = open_store(store_url)
    back_to_the_baseline(engine, keep_table=False)
    with pytest.raises(StoreSchemaError, match="revision 0001"):
        open_store(store_url)
    assert revisions.upgrade(connect(store_url)).current == "0001"
    assert inspect(engine).has_table("ingested_items")
    assert revisions.revision(engine).current == revisions.head()


def test_a_store_that_has_the_table_keeps_its_receipts(store_url: str) -> None:
    engine = open_store(store_url)
    back_to_the_baseline(engine, keep_table=True)
    with engine.begin() as conn:
        receipt = "INSERT INTO ingested_items VALUES ('api', 'events', 'e-1', 'sha', '2025-03-01 00:00:00.000000')"
        conn.execute(text(receipt))
    revisions.upgrade(connect(store_url))
    with engine.connect() as conn:
        assert conn.execute(text("SELECT item_id FROM ingested_items")).scalars().all() == ["e-1"]
    assert revisions.revision(engine).current == revisions.head()
