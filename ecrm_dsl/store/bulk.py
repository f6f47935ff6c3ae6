"""Bulk paths in tuples: many rows into one table through one statement built once, and instants read back
without SQLAlchemy's per-value conversion.

A tick writes thousands of decisions and outbox rows. Through SQLAlchemy's ``insert()`` each row costs a
parameter dictionary and a bind conversion per value; on SQLite that is most of the write. Here a row is a tuple
in the order of the columns named, and on SQLite the values are turned into exactly what ``UTCDateTime`` and
``JSON`` would store (naive UTC text, ``json.dumps`` text) and handed to the driver's ``executemany``. Other
databases keep SQLAlchemy's path (psycopg's batching is already good there), with the statement built once.
Reading thousands of instants, SQLite's text is parsed by ``datetime.fromisoformat`` instead of a regular
expression and a ``replace`` per value.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import JSON, ColumnElement, Connection, Insert, String, Table, insert, type_coerce

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


def raw_instants(conn: Connection, column: ColumnElement[datetime]) -> ColumnElement[Any]:
    """``column`` as the driver returns it: SQLite's text (read it with :func:`instant`), PostgreSQL's
    timestamptz."""
    return type_coerce(column, String) if conn.dialect.name == "sqlite" else column


def instant(value: str | datetime) -> datetime:
    """A value (not null) read through :func:`raw_instants` as ``UTCDateTime`` returns it: aware, in UTC."""
    if isinstance(value, str):
        return datetime.fromisoformat(value).replace(tzinfo=UTC)
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


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
        # A batch repeats a few instants (the tick's moment) thousands of times: convert each once.
        seen: dict[Any, Any] = {}
        conn.exec_driver_sql(self._sql(conn), [self._stored(row, seen) for row in rows])

    def _stored(self, row: tuple[Any, ...], seen: dict[Any, Any]) -> tuple[Any, ...]:
        values = list(row)
        for index, convert in self._converters:
            value = values[index]
            if convert is sqlite_instant:
                stored = seen.get(value)
                if stored is None:
                    stored = seen[value] = sqlite_instant(value)
                values[index] = stored
            else:
                values[index] = convert(value)
        return tuple(values)

    def _sql(self, conn: Connection) -> str:
        if self._sqlite_sql is None:
            quote = conn.dialect.identifier_preparer
            names = ", ".join(quote.quote(name) for name in self.columns)
            marks = ", ".join("?" for _ in self.columns)
            self._sqlite_sql = f"INSERT INTO {quote.format_table(self.table)} ({names}) VALUES ({marks})"
        return self._sqlite_sql
