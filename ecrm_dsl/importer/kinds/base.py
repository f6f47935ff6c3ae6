"""What every kind of import shares: its columns, batching, repeated keys in one file, references to the store."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, tzinfo
from typing import Any, ClassVar

from sqlalchemy import Connection, Table

from ecrm_dsl.importer.counts import Counts
from ecrm_dsl.importer.header import Binding, Resolver, fixed_only
from ecrm_dsl.importer.layouts import Column
from ecrm_dsl.importer.options import Options
from ecrm_dsl.importer.problems import Problem, Problems
from ecrm_dsl.language.customer_schema import CustomerSchema
from ecrm_dsl.language.i18n import tr
from ecrm_dsl.store.imports import present_values
from ecrm_dsl.store.tables import StoreTables


@dataclass
class LoadContext:
    schema: CustomerSchema
    tables: StoreTables
    shop_tz: tzinfo
    problems: Problems
    batch_size: int = 1000
    options: Options = field(default_factory=Options)  # the mapping's options for this kind
    # When what the file says happens, for the events an import derives (a restock): the import's own time.
    now: datetime = field(default_factory=lambda: datetime.now(UTC))

    @property
    def writing(self) -> bool:
        """Nothing more is written once a problem is found: the import is rolled back anyway."""
        return not self.problems


class Loader:
    """One kind of import. ``bind`` the header's columns, ``add`` each row's values, then ``finish``."""

    kind = ""
    layout: ClassVar[dict[str, Column]] = {}  # each kind sets its own

    def __init__(self, ctx: LoadContext):
        self.ctx = ctx
        self.columns: dict[str, Column] = dict(self.layout)
        self.counts: dict[str, Counts] = {}
        self._conn: Connection | None = None
        self.binding = Binding((), 0)

    @property
    def extra(self) -> Resolver:
        """Columns beyond the fixed layout (custom attributes, event properties)."""
        return fixed_only

    def required(self, binding: Binding) -> list[str]:
        return [c.name for c in self.columns.values() if c.required]

    def begin(self, conn: Connection, binding: Binding) -> None:
        self._conn = conn
        self.binding = binding

    @property
    def conn(self) -> Connection:
        assert self._conn is not None, "begin() first"
        return self._conn

    def add(self, line: int, values: dict[str, Any]) -> None:
        raise NotImplementedError

    def flush(self) -> None:
        raise NotImplementedError

    def finish(self) -> None:
        self.flush()

    def first_time(
        self,
        seen: SeenKeys,
        key: Any,
        values: dict[str, Any],
        line: int,
        earlier: Mapping[str, Any] | None,
        named: str,
        column: str,
        once: str,
    ) -> bool:
        """Whether ``key`` is new in this file. An identical repeat is counted; a repeat with other values is a
        problem naming the line it first appeared on and what differs (``earlier``: its values, when at hand).
        ``named`` says what the key is ("customer 'C1'"), ``once`` is the hint (give each customer once)."""
        first = seen.check(key, values, line)
        if first == NEW:
            return True
        if first == REPEAT:
            self.counts[self.kind].repeated += 1
            return False
        if earlier is not None:
            message = tr(
                "{named} is also on line {line}, with different {columns}",
                named=named,
                line=first,
                columns=", ".join(differing(values, earlier)),
            )
        else:
            message = tr("{named} is also on line {line}, with different values", named=named, line=first)
        self.ctx.problems.add(Problem(line, message, once, self.label(column)))
        return False

    def label(self, name: str) -> str:
        """How a column is named in problems: its header, and the store name when they differ."""
        bound = self.binding.get(name)
        return bound.label if bound is not None else f"'{name}'"


def fingerprint(values: Mapping[str, Any]) -> bytes:
    return hashlib.blake2b(repr(sorted(values.items())).encode(), digest_size=16).digest()


NEW, REPEAT = 0, -1  # what SeenKeys.check says besides the line of an earlier, different row


@dataclass
class SeenKeys:
    """Keys given earlier in this file, with their line and a fingerprint of their values."""

    first: dict[Any, tuple[int, bytes]] = field(default_factory=dict)

    def check(self, key: Any, values: Mapping[str, Any], line: int) -> int:
        """NEW (and remembered), REPEAT of identical values, or the earlier line whose values differ."""
        digest = fingerprint(values)
        earlier = self.first.get(key)
        if earlier is None:
            self.first[key] = (line, digest)
            return NEW
        return REPEAT if earlier[1] == digest else earlier[0]


def differing(a: Mapping[str, Any], b: Mapping[str, Any]) -> list[str]:
    return [name for name in a if a.get(name) != b.get(name)]


class KnownIds:
    """Which ids exist in a store table; looked up a batch at a time and remembered."""

    def __init__(self, table: Table, column: str = "id"):
        self.column = table.c[column]
        self.known: set[Any] = set()

    def missing(self, conn: Connection, ids: Iterable[Any]) -> set[Any]:
        wanted = set(ids) - self.known
        if wanted:
            self.known.update(present_values(conn, self.column, wanted))
        return wanted - self.known
