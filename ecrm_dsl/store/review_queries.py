"""What ``ecrm diff`` reads from a store to measure a change's impact; reads only, never writes."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, Engine, Select, func, inspect, select


def table_names(engine: Engine) -> set[str]:
    """The tables the store's database holds."""
    return set(inspect(engine).get_table_names())


def count_selected(conn: Connection, query: Select[Any]) -> int:
    """How many rows ``query`` selects."""
    counted = select(func.count()).select_from(query.order_by(None).subquery())
    return int(conn.execute(counted).scalar_one())
