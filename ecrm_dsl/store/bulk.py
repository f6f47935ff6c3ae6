"""Many rows into one table, as tuples, through one statement built once.

A tick writes thousands of decisions and outbox rows. Through SQLAlchemy's ``insert()`` each row costs a
parameter dictionary and a bind conversion per value; on SQLite that is most of the write. Here a row is a tuple
in the order of the columns named, and on SQLite the values are turned into exactly what ``UTCDateTime`` and
``JSON`` would store (naive UTC text, ``json.dumps`` text) and handed to the driver's ``executemany``. Other
databases keep SQLAlchemy's path (psycopg's batching is already good there), with the statement built once.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import JSON, Connection, Insert, Table, insert

from ecrm_dsl.store.tables import UTCDateTime

Convert = Callable[[Any], Any]


def sqlite_instant(value: datetime | None) -> str | None:
    """An instant as ``UTCDateTime`` keeps it in SQLite: naive UTC, always with microseconds."""
    if value is None:
        return None
    if value.tzinfo is None:
        raise ValueError(f"naive datetime {value.isoformat()}: give the timezone (store times are UTC)")
    if value.tzinfo is not UTC:
        value = value.astimezone(UTC)
    return value.replace(tzinfo=None).isoformat(" ", "microseconds")


def _sqlite_json(value: Any) -> str:
    # SQLAlchemy's JSON stores Python None as the JSON text null (none_as_null is off), with json.dumps defaults.
    return json.dumps(value)


class BulkInsert:
    """An insert of ``columns`` into ``table``; rows are tuples in that order, with Python values (aware
    datetimes, dicts and lists for JSON), as the rest of the store takes them."""

    def __init__(self, table: Table, columns: Sequence[str]):
        self.table = table
        self.columns = tuple(columns)
        self._insert: Insert = insert(table)
        self._sqlite_sql: str | None = None
        converters: list[tuple[int, Convert]] = []
        for index, name in enumerate(self.columns):
            kind = table.c[name].type
            if isinstance(kind, UTCDateTime):
                converters.append((index, sqlite_instant))
            elif isinstance(kind, JSON) or isinstance(getattr(kind, "impl", None), JSON):
                converters.append((index, _sqlite_json))
        self._converters = tuple(converters)

    def execute(self, conn: Connection, rows: Sequence[tuple[Any, ...]]) -> None:
        if not rows:
            return
        if conn.dialect.name != "sqlite":
            conn.execute(self._insert, [dict(zip(self.columns, row, strict=True)) for row in rows])
            return
        conn.exec_driver_sql(self._sql(conn), [self._stored(row) for row in rows])

    def _stored(self, row: tuple[Any, ...]) -> tuple[Any, ...]:
        values = list(row)
        for index, convert in self._converters:
            values[index] = convert(values[index])
        return tuple(values)

    def _sql(self, conn: Connection) -> str:
        if self._sqlite_sql is None:
            quote = conn.dialect.identifier_preparer
            names = ", ".join(quote.quote(name) for name in self.columns)
            marks = ", ".join("?" for _ in self.columns)
            self._sqlite_sql = f"INSERT INTO {quote.format_table(self.table)} ({names}) VALUES ({marks})"
        return self._sqlite_sql
