"""Storing one batch of items through the importer's own loaders, item by item, idempotent by the sender's id.

Each item is checked against its published JSON Schema, then converted and handed to the loader ``ecrm import``
uses for that kind, which checks it against the project's customer schema and the store (known event types,
property types, customers that exist) and writes it. A batch is accepted item by item: the valid items are
stored even when others are rejected. When a loader finds a problem, the transaction is rolled back and the
batch is written again without the items it named, so what is stored is exactly what is reported accepted.

Receipts (``ingested_items``) keep each item's id and digest in the same transaction as its rows. An id seen
before with the same content is a duplicate (counted, not stored again). With other content, an event or an
order is refused (an id names one event, one order); a customer or a subscription is an upsert where the latest
item wins — the newer state replaces the stored one, field by field for the fields it gives.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, Engine
from sqlalchemy.exc import OperationalError

from ecrm_dsl.importer.header import Binding, Bound, Unresolved
from ecrm_dsl.importer.kinds import LOADERS, LoadContext, Loader
from ecrm_dsl.importer.problems import Problem, Problems
from ecrm_dsl.language.customer_schema import CustomerSchema
from ecrm_dsl.language.i18n import lookup, n_, tr
from ecrm_dsl.serve.item_schemas import ItemError, check_item
from ecrm_dsl.serve.items import Row, path_of, to_row
from ecrm_dsl.store.ingest_receipts import record_receipts, stored_digests
from ecrm_dsl.store.tables import TABLES

RETRY_PAUSES = (0.05, 0.25)  # seconds before writing a batch again after the store refused it
LATEST_WINS = frozenset({"customers", "subscriptions"})  # upserts: a newer state of the same thing


@dataclass
class BatchResult:
    accepted: int = 0
    duplicates: int = 0
    rejected: list[ItemError] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        rejected = sorted(self.rejected, key=lambda e: (e.index, e.path))
        return {"accepted": self.accepted, "duplicates": self.duplicates, "rejected": [e.as_json() for e in rejected]}


class Ingestor:
    """Writes batches into one store; writes are serialised (one SQLite writer at a time)."""

    def __init__(self, engine: Engine, schema: CustomerSchema, clock: Callable[[], datetime] | None = None):
        self.engine = engine
        self.schema = schema
        self.clock = clock or (lambda: datetime.now(UTC))
        self.write_lock = threading.Lock()

    def ingest(
        self, kind: str, items: Sequence[Any], source: str = "api", latest_wins: frozenset[str] = LATEST_WINS
    ) -> BatchResult:
        """Check and store ``items`` of ``kind``; what happened to each. ``latest_wins``: the kinds whose id may
        come again with other content (a webhook platform, the source of truth, sends every kind that way)."""
        checked = BatchResult()
        rows = self._checked(kind, items, checked)
        with self.write_lock:
            for pause in (*RETRY_PAUSES, None):
                result = BatchResult(checked.accepted, checked.duplicates, list(checked.rejected))
                try:
                    self._write(kind, rows, source, kind in latest_wins, result)
                    return result
                except OperationalError:
                    # Another writer (a scheduler tick) committed between our read and our write, or held the
                    # lock past the busy timeout: the transaction was rolled back, so writing again is safe.
                    if pause is None:
                        raise
                    time.sleep(pause)
        raise AssertionError("unreachable")

    def _checked(self, kind: str, items: Sequence[Any], result: BatchResult) -> list[Row]:
        """The items that pass the schema and convert, each id once (a repeat in the batch is a duplicate)."""
        loader = self._loader(kind)
        rows: list[Row] = []
        first: dict[str, Row] = {}
        for index, item in enumerate(items):
            errors = check_item(kind, index, item)
            converted = to_row(kind, index, item, loader) if not errors else errors
            if isinstance(converted, list):
                result.rejected += converted
                continue
            earlier = first.get(converted.item_id)
            if earlier is None:
                first[converted.item_id] = converted
                rows.append(converted)
            elif earlier.digest == converted.digest:
                result.duplicates += 1
            else:
                result.rejected.append(
                    ItemError(
                        index,
                        converted.item_id,
                        tr(
                            "id '{id}' is also item {index} of this batch, with other content — send each id once "
                            "per batch",
                            id=converted.item_id,
                            index=earlier.index,
                        ),
                        f"/items/{index}/id",
                        409,
                    )
                )
        return rows

    def _write(self, kind: str, rows: list[Row], source: str, latest_wins: bool, result: BatchResult) -> None:
        pending = rows
        while pending:
            with self.engine.connect() as conn:
                transaction = conn.begin()
                stored = stored_digests(conn, source, kind, [r.item_id for r in pending])
                fresh, changed = self._sort_out(kind, pending, stored, latest_wins, result)
                to_store = fresh + changed
                problems = self._load(conn, kind, to_store)
                if problems:  # again without the refused items (duplicates and conflicts are out already)
                    transaction.rollback()
                    refused = {p.line for p in problems}
                    result.rejected += [_refusal(p, {r.index: r for r in pending}) for p in problems]
                    pending = [r for r in to_store if r.index not in refused]
                    continue
                record_receipts(
                    conn,
                    source,
                    kind,
                    [(r.item_id, r.digest) for r in fresh],
                    [(r.item_id, r.digest) for r in changed],
                    self.clock(),
                )
                transaction.commit()
                result.accepted += len(to_store)
                return

    @staticmethod
    def _sort_out(
        kind: str, rows: list[Row], stored: dict[str, str], latest_wins: bool, result: BatchResult
    ) -> tuple[list[Row], list[Row]]:
        """The rows never received, and those of a latest-wins kind received before with other content; counts
        the duplicates and refuses an event or order id reused for other content."""
        fresh: list[Row] = []
        changed: list[Row] = []
        for row in rows:
            before = stored.get(row.item_id)
            if before is None:
                fresh.append(row)
            elif before == row.digest:
                result.duplicates += 1
            elif latest_wins:
                changed.append(row)
            else:
                result.rejected.append(
                    ItemError(
                        row.index,
                        row.item_id,
                        lookup(_RECEIVED_BEFORE[kind]).format(id=row.item_id),
                        f"/items/{row.index}/id",
                        409,
                    )
                )
        return fresh, changed

    def _loader(self, kind: str) -> Loader:
        ctx = LoadContext(self.schema, TABLES, UTC, Problems(limit=1_000_000), batch_size=100_000)
        return LOADERS[kind](ctx)

    def _load(self, conn: Connection, kind: str, rows: list[Row]) -> list[Problem]:
        """Hand the rows to the kind's loader, one loader per set of given fields (its binding). The events
        loader also updates the state new events imply (``importer.implied``), as a CSV import does."""
        groups: dict[frozenset[str], list[Row]] = {}
        for row in rows:
            groups.setdefault(row.fields, []).append(row)
        problems: list[Problem] = []
        for fields, group in groups.items():
            loader = self._loader(kind)
            loader.begin(conn, _binding(loader, fields))
            for row in group:
                for record in row.records:
                    loader.add(row.index, record)
            loader.finish()
            problems += loader.ctx.problems.shown
        return problems


def _binding(loader: Loader, fields: frozenset[str]) -> Binding:
    bound = []
    for position, name in enumerate(sorted(fields)):
        column = loader.columns.get(name) or loader.extra(name)
        assert not isinstance(column, Unresolved), name  # items.to_row resolved every field already
        bound.append(Bound(position, name, column))
    return Binding(tuple(bound), len(bound))


# An id sent again with other content, for the kinds that keep the first (each sentence whole, for word order).
_RECEIVED_BEFORE = {
    "events": n_(
        "event '{id}' was received before with other content — an id names one event: resend it unchanged, or give "
        "a new event its own id"
    ),
    "orders": n_(
        "order '{id}' was received before with other content — an id names one order: resend it unchanged, or give "
        "a new order its own id"
    ),
    "customers": n_(
        "customer '{id}' was received before with other content — an id names one customer: resend it unchanged, "
        "or give a new customer its own id"
    ),
    "subscriptions": n_(
        "subscription '{id}' was received before with other content — an id names one subscription: resend it "
        "unchanged, or give a new subscription its own id"
    ),
}


def _http_hints() -> dict[str, str]:
    """The importer's hints speak of CSV files; over HTTP the fix is another request (both in the language spoken)."""
    return {
        tr("import the customers first: ecrm import customers FILE"): tr(
            "send the customer first (POST /v1/customers)"
        ),
        tr("import the orders first: ecrm import orders FILE"): tr("send the order first (POST /v1/orders)"),
    }


def _refusal(problem: Problem, rows: dict[int, Row]) -> ItemError:
    hint = problem.hint and _http_hints().get(problem.hint, problem.hint)
    hint = f" — {hint}" if hint else ""
    row = rows.get(problem.line)
    return ItemError(
        problem.line, row.item_id if row else None, problem.message + hint, path_of(problem.line, problem.column)
    )
