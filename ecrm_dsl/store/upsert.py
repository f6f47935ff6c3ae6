"""Writing a batch of records by natural key: insert the new, update the changed, leave the rest alone.

Only the columns a file provides are compared and written; columns it does not have keep what is stored.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any, Literal

from sqlalchemy import Connection, Table, and_, bindparam, insert, update

from ecrm_dsl.store.key_lookup import KeyLookup

Status = Literal["inserted", "updated", "unchanged"]
# The values to store for a record, given what is stored under its key (None: nothing yet).
Merge = Callable[[Mapping[Any, Any] | None, dict[str, Any]], dict[str, Any]]


def _as_is(existing: Mapping[Any, Any] | None, record: dict[str, Any]) -> dict[str, Any]:
    return record


class Upserter:
    """Writes batches of records to one table by their natural key, saying what happened to each."""

    def __init__(self, table: Table, key: tuple[str, ...], merge: Merge = _as_is):
        self.table = table
        self.key = key
        self.merge = merge
        self.lookup = KeyLookup(table, key)

    def key_of(self, record: Mapping[str, Any]) -> tuple[Any, ...]:
        return tuple(record[k] for k in self.key)

    def existing(self, conn: Connection, keys: Sequence[tuple[Any, ...]]) -> dict[tuple[Any, ...], Mapping[Any, Any]]:
        rows = self.lookup.rows(conn, keys)
        return {tuple(row[k] for k in self.key): row for row in rows}

    def apply(self, conn: Connection, records: Sequence[dict[str, Any]]) -> list[Status]:
        """Write ``records`` (distinct keys) and say what happened to each."""
        stored = self.existing(conn, [self.key_of(r) for r in records])
        statuses: list[Status] = []
        inserts: list[dict[str, Any]] = []
        updates: dict[tuple[str, ...], list[dict[str, Any]]] = {}
        for record in records:
            old = stored.get(self.key_of(record))
            values = self.merge(old, record)
            if old is None:
                inserts.append(values)
                statuses.append("inserted")
            elif any(old[name] != value for name, value in values.items()):
                updates.setdefault(tuple(sorted(values)), []).append(values)
                statuses.append("updated")
            else:
                statuses.append("unchanged")
        if inserts:
            conn.execute(insert(self.table), inserts)
        for names, rows in updates.items():
            self._update(conn, names, rows)
        return statuses

    def _update(self, conn: Connection, names: tuple[str, ...], rows: list[dict[str, Any]]) -> None:
        table = self.table
        statement = (
            update(table)
            .where(and_(*(table.c[k] == bindparam(f"key_{k}") for k in self.key)))
            .values({name: bindparam(f"new_{name}") for name in names if name not in self.key})
        )
        params = [
            {**{f"key_{k}": row[k] for k in self.key}, **{f"new_{n}": row[n] for n in names if n not in self.key}}
            for row in rows
        ]
        conn.execute(statement, params)

    def close(self, conn: Connection) -> None:
        self.lookup.close(conn)
