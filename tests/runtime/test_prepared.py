"""``store.prepared.run``: a statement built once runs from its kept compiled form, with the same results as
``conn.execute`` — bound and expanding parameters, many rows at once, instants converted both ways."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from sqlalchemy import bindparam, insert, select

from ecrm_dsl.store import prepared
from ecrm_dsl.store.tables import TABLES
from tests.runtime.world import JST, World

E = TABLES.events
BY_CUSTOMERS = (
    select(E.c.customer_id, E.c.occurred_at)
    .where(E.c.customer_id.in_(bindparam("customers", expanding=True)), E.c.occurred_at > bindparam("after"))
    .order_by(E.c.id)
)
ADD = insert(E).values(customer_id=bindparam("cid"), type="survey.answered", occurred_at=bindparam("at"))


def test_a_prepared_statement_gives_what_conn_execute_gives(tmp_path: Path) -> None:
    w = World(tmp_path)
    start = dt.datetime(2025, 3, 1, 10, tzinfo=JST)
    for cid in ("顧客1", "c2", "c3"):
        w.customer(cid)
    with w.engine.begin() as conn:
        prepared.run(
            conn, ADD, [{"cid": c, "at": start + dt.timedelta(hours=i)} for i, c in enumerate(("顧客1", "c2"))]
        )
        prepared.run(conn, ADD, {"cid": "c3", "at": start})
    with w.engine.connect() as conn:
        for customers in (["顧客1"], ["顧客1", "c2", "c3"], ["nobody"]):
            params = {"customers": customers, "after": start - dt.timedelta(minutes=1)}
            assert prepared.run(conn, BY_CUSTOMERS, params).all() == conn.execute(BY_CUSTOMERS, params).all()
        [(_, occurred_at)] = prepared.run(conn, BY_CUSTOMERS, {"customers": ["c2"], "after": start}).all()
    assert occurred_at == start + dt.timedelta(hours=1) and occurred_at.tzinfo is not None


def test_a_statement_is_compiled_once_per_shape(tmp_path: Path) -> None:
    w = World(tmp_path)
    prepared._COMPILED.pop(id(BY_CUSTOMERS), None)  # compiled for other tests' engines
    params = {"customers": ["a"], "after": dt.datetime(2025, 3, 1, tzinfo=JST)}
    for _ in range(3):
        with w.engine.connect() as conn:  # a new connection each time: the compiled form is the dialect's
            prepared.run(conn, BY_CUSTOMERS, params)
    with w.engine.connect() as conn:
        prepared.run(conn, BY_CUSTOMERS, {**params, "customers": ["a", "b", "c"]})  # expanded at execution
    kept = prepared._COMPILED[id(BY_CUSTOMERS)]
    assert kept[0] is BY_CUSTOMERS and [dialect for dialect, _ in kept[1].values()] == [w.engine.dialect]
