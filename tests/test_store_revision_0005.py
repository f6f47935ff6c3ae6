"""Revision 0005 on SQLite and PostgreSQL: a store at 0004 is refused, then gets the product catalogue and the
change-log feed for order-line updates, with its data kept."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import delete, insert, inspect, select, text, update

from ecrm_dsl.store import revisions
from ecrm_dsl.store.database import connect, open_store
from ecrm_dsl.store.revisions import StoreSchemaError
from ecrm_dsl.store.tables import TABLES

T = TABLES
ORDERED = dt.datetime(2025, 3, 2, 3, tzinfo=dt.UTC)


def store_at_0004(url: str) -> None:
    """A store as revision 0004 left it: no products table, order-line updates not logged."""
    engine = open_store(url)
    with engine.begin() as conn:
        conn.execute(text("DROP TABLE products"))
        if conn.dialect.name == "sqlite":
            conn.execute(text("DROP TRIGGER ecrm_changes_order_items_update"))
        else:  # one trigger per table there: make it fire on inserts only, as 0004's did
            conn.execute(text("DROP TRIGGER ecrm_changes ON order_items"))
            conn.execute(
                text(
                    "CREATE TRIGGER ecrm_changes AFTER INSERT ON order_items"
                    " FOR EACH ROW EXECUTE FUNCTION ecrm_changes_order_items()"
                )
            )
        conn.execute(text("UPDATE alembic_version SET version_num = '0004'"))
        conn.execute(insert(T.customers).values(id="顧客1", name="山田花子"))
        conn.execute(insert(T.orders).values(id="o1", customer_id="顧客1", ordered_at=ORDERED, amount=3980))
        conn.execute(insert(T.order_items).values(order_id="o1", sku="LOTION-150", price=3980))
        conn.execute(delete(T.customer_changes))
    engine.dispose()


def logged_customers(url: str) -> list[str]:
    with connect(url).connect() as conn:
        return list(conn.execute(select(T.customer_changes.c.customer_id).order_by(T.customer_changes.c.seq)).scalars())


def test_a_store_at_0004_gets_products_and_logs_line_updates(store_url: str) -> None:
    store_at_0004(store_url)
    with pytest.raises(StoreSchemaError, match="revision 0004"):
        open_store(store_url)
    engine = connect(store_url)
    with engine.begin() as conn:  # before the upgrade an order line's update goes unnoticed
        conn.execute(update(T.order_items).values(quantity=2))
    assert logged_customers(store_url) == []
    assert revisions.upgrade(engine).current == "0004"
    engine = open_store(store_url)
    assert revisions.revision(engine).current == revisions.head() == "0005"
    found = inspect(engine)
    assert {c["name"] for c in found.get_columns("products")} == {c.name for c in T.products.columns}
    assert "ix_products_category" in {i["name"] for i in found.get_indexes("products")}
    with engine.begin() as conn:
        conn.execute(insert(T.products).values(sku="LOTION-150", name="発酵化粧水 150ml", category="skincare/lotion"))
        conn.execute(update(T.order_items).values(category="skincare/lotion"))
        assert conn.execute(select(T.products.c.active)).scalar_one() is True  # the column's default
        assert conn.execute(select(T.order_items.c.quantity)).scalar_one() == 2  # the data is kept
    assert logged_customers(store_url) == ["顧客1"]
    assert revisions.upgrade(engine).current == "0005"  # a second upgrade changes nothing
