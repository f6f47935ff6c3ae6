"""Finding the stored rows of many composite keys at once, through the table's index.

SQLite answers a row-value ``(a, b) IN (...)`` with a full table scan, and a long ``VALUES`` list costs more to
compile than to run; so the keys of a batch go into a temporary table that is joined on the key columns.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Column, Connection, MetaData, RowMapping, Table, and_, delete, insert, select


class KeyLookup:
    def __init__(self, table: Table, key: Sequence[str]):
        self.table = table
        self.key = tuple(key)
        self.keys = Table(
            f"ecrm_import_keys_{table.name}",
            MetaData(),
            *(Column(name, table.c[name].type) for name in self.key),
            prefixes=["TEMPORARY"],
        )
        self._created = False

    def rows(self, conn: Connection, keys: Sequence[tuple[Any, ...]]) -> list[RowMapping]:
        """The stored rows whose key is one of ``keys``."""
        if not keys:
            return []
        if len(self.key) == 1:
            column = self.table.c[self.key[0]]
            return list(conn.execute(select(self.table).where(column.in_([k[0] for k in keys]))).mappings())
        if not self._created:
            self.keys.create(conn, checkfirst=True)
            self._created = True
        conn.execute(delete(self.keys))
        conn.execute(insert(self.keys), [dict(zip(self.key, k, strict=True)) for k in keys])
        joined = self.keys.join(self.table, and_(*(self.table.c[n] == self.keys.c[n] for n in self.key)))
        return list(conn.execute(select(self.table).select_from(joined)).mappings())

    def close(self, conn: Connection) -> None:
        if self._created:
            self.keys.drop(conn, checkfirst=True)
            self._created = False
