"""Bulk paths in tuples: many rows into one table (inserted, or updated by key) through one statement built
once, a list of thousands of keys as one parameter, and instants read back without SQLAlchemy's per-value
conversion.

A tick writes thousands of decisions and outbox rows. Through SQLAlchemy's ``insert()`` each row costs a
parameter dictionary and a bind conversion per value; on SQLite that is most of the write. Here a row is a tuple
in the order of the columns named, and on SQLite the values are turned into exactly what ``UTCDateTime`` and
``JSON`` would store (naive UTC text, ``json.dumps`` text) and handed to the driver's ``executemany``. Other
databases keep SQLAlchemy's path and its type conversions, with the statement built once.
Reading thousands of instants, SQLite's text is parsed by ``datetime.fromisoformat`` instead of a regular
expression and a ``replace`` per value.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    ARRAY,
    JSON,
    ColumnElement,
    Connection,
    Executable,
    String,
    Table,
    any_,
    bindparam,
    func,
    insert,
    literal_column,
    select,
    type_coerce,
    update,
)
from sqlalchemy.sql.compiler import IdentifierPreparer

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


def one_of(conn: Connection, column: ColumnElement[Any], values: Sequence[Any]) -> ColumnElement[bool]:
    """``column IN values`` with the values as one parameter: SQLite reads them from a JSON array
    (``json_each``), PostgreSQL from an array (``= ANY``). Both plan it as the IN list it replaces (index lookups
    per value), without SQLAlchemy rendering and binding a parameter per value on every execution."""
    dialect = conn.dialect.name
    return one_of_param(dialect, column, None, one_of_value(dialect, values))


def one_of_param(dialect: str, column: ColumnElement[Any], name: str | None, value: Any = None) -> ColumnElement[bool]:
    """:func:`one_of` for a statement built once: the parameter ``name`` takes :func:`one_of_value` of the
    values at each execution."""
    if dialect == "sqlite":
        listed = func.json_each(bindparam(name, value, type_=String()))
        return column.in_(select(literal_column("value")).select_from(listed))
    if dialect == "postgresql":
        return column == any_(bindparam(name, value, type_=ARRAY(column.type)))
    return column.in_(bindparam(name, value, expanding=True))


def one_of_value(dialect: str, values: Sequence[Any]) -> Any:
    """The value of a :func:`one_of_param` parameter."""
    return json.dumps(list(values)) if dialect == "sqlite" else list(values)


def _sqlite_json(value: Any) -> str:
    # SQLAlchemy's JSON stores Python None as the JSON text null (none_as_null is off), with json.dumps defaults.
    return json.dumps(value)


class _Bulk:
    """A statement run with many rows of values in ``columns`` order; the subclass says which statement."""

    def __init__(self, table: Table, columns: Sequence[str]):
        self.table = table
        self.columns = tuple(columns)
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
            conn.execute(self._statement(), [dict(zip(self._names(), row, strict=True)) for row in rows])
            return
        if self._sqlite_sql is None:
            self._sqlite_sql = self._sqlite(conn.dialect.identifier_preparer)
        # A batch repeats a few instants (the tick's moment) thousands of times: convert each once.
        seen: dict[Any, Any] = {}
        conn.exec_driver_sql(self._sqlite_sql, [self._stored(row, seen) for row in rows])

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

    def _statement(self) -> Executable:
        raise NotImplementedError

    def _names(self) -> tuple[str, ...]:
        """The parameter names of :meth:`_statement`, in the order of a row's values."""
        return self.columns

    def _sqlite(self, quote: IdentifierPreparer) -> str:
        raise NotImplementedError


class BulkInsert(_Bulk):
    """An insert of ``columns`` into ``table``; rows are tuples in that order, with Python values (aware
    datetimes, dicts and lists for JSON), as the rest of the store takes them."""

    def __init__(self, table: Table, columns: Sequence[str]):
        super().__init__(table, columns)
        self._insert = insert(table)
        self._returning: Executable | None = None  # with the key returned: built on first use (see ids)

    def _statement(self) -> Executable:
        return self._insert

    def ids(self, conn: Connection, rows: Sequence[tuple[Any, ...]]) -> list[int]:
        """Insert ``rows`` into a table keyed by an integer primary key and return the keys they took, in the
        order given. On SQLite the rows go through ``executemany`` (a multi-row ``VALUES … RETURNING`` is a new
        statement to prepare for every row count, and costs twice as much for a page of thousands): SQLite gives
        each new row one more than the greatest key, so within the transaction's write lock the rows take the
        keys up to ``last_insert_rowid()``; a count over those keys confirms it. Elsewhere SQLAlchemy's
        ``INSERT … RETURNING``."""
        if not rows:
            return []
        (key,) = self.table.primary_key.columns
        if conn.dialect.name != "sqlite":
            if self._returning is None:
                self._returning = self._insert.returning(key)
            named = [dict(zip(self.columns, row, strict=True)) for row in rows]
            return sorted(int(i) for i in conn.execute(self._returning, named).scalars())
        self.execute(conn, rows)
        quote = conn.dialect.identifier_preparer
        name = f"{quote.format_table(self.table)}.{quote.quote(key.name)}"
        last, taken = conn.exec_driver_sql(
            f"SELECT last_insert_rowid(), (SELECT count(*) FROM {quote.format_table(self.table)}"
            f" WHERE {name} > last_insert_rowid() - ? AND {name} <= last_insert_rowid())",
            (len(rows),),
        ).one()
        if taken != len(rows):
            raise RuntimeError(f"inserted {len(rows)} rows into {self.table.name}, but not under consecutive keys")
        return list(range(int(last) - len(rows) + 1, int(last) + 1))

    def _sqlite(self, quote: IdentifierPreparer) -> str:
        names = ", ".join(quote.quote(name) for name in self.columns)
        marks = ", ".join("?" for _ in self.columns)
        return f"INSERT INTO {quote.format_table(self.table)} ({names}) VALUES ({marks})"


class BulkUpdate(_Bulk):
    """Set ``columns`` of the row whose ``key`` matches; rows are tuples of those values, then the key."""

    def __init__(self, table: Table, columns: Sequence[str], key: str):
        super().__init__(table, (*columns, key))
        self.key = key
        # SQLAlchemy reserves a column's own name for the SET clause: the parameters are named apart.
        self._params = tuple(f"bulk_{name}" for name in self.columns)
        sets: dict[str, Any] = {n: bindparam(p) for n, p in zip(columns, self._params[:-1], strict=True)}
        self._update = update(table).where(table.c[key] == bindparam(self._params[-1])).values(sets)

    def _statement(self) -> Executable:
        return self._update

    def _names(self) -> tuple[str, ...]:
        return self._params

    def _sqlite(self, quote: IdentifierPreparer) -> str:
        sets = ", ".join(f"{quote.quote(name)} = ?" for name in self.columns[:-1])
        return f"UPDATE {quote.format_table(self.table)} SET {sets} WHERE {quote.quote(self.key)} = ?"
