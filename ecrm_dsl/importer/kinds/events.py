"""``ecrm import events``: one row per event, properties typed by the customer schema.

Properties come from ``prop.<name>`` columns and/or a ``properties`` JSON object (a ``prop.`` column wins).
The store keeps no event id, so an import recognises the events it already holds by content: an event is
new unless the store has as many identical events (same customer, type, instant and properties) as the file
has so far. Rows with the same ``event_id`` in one file are one event.

The new subscription and consent events then update the state they imply (:mod:`ecrm_dsl.importer.implied`);
events the store already held did so when they were stored, and are not applied again over a state set since
(by a subscriptions file, say).
"""

from __future__ import annotations

import hashlib
from collections import Counter
from datetime import datetime
from typing import Any

from ecrm_dsl.importer.counts import Counts
from ecrm_dsl.importer.header import Resolver, Unresolved
from ecrm_dsl.importer.implied import IMPLYING_EVENTS, apply_implied_state
from ecrm_dsl.importer.json_values import canonical, from_json_value, to_json
from ecrm_dsl.importer.kinds.base import NEW, REPEAT, KnownIds, LoadContext, Loader, SeenKeys
from ecrm_dsl.importer.layouts import EVENT, PROPERTY_PREFIX, Column
from ecrm_dsl.importer.problems import Problem, did_you_mean
from ecrm_dsl.importer.values import CellError, parse_text
from ecrm_dsl.language.i18n import tr
from ecrm_dsl.store.imports import insert_rows
from ecrm_dsl.store.key_lookup import KeyLookup

SUBSCRIPTIONS_IMPLIED = "subscriptions (from subscription events)"
CONSENT_IMPLIED = "customers' consent (from consent events)"


def event_digest(customer_id: str, type_: str, occurred_at: datetime, properties: dict[str, Any]) -> bytes:
    text = "\x1f".join((customer_id, type_, occurred_at.isoformat(), canonical(properties)))
    return hashlib.blake2b(text.encode(), digest_size=16).digest()


class EventLoader(Loader):
    kind = "events"
    layout = EVENT

    def __init__(self, ctx: LoadContext):
        super().__init__(ctx)
        self.counts = {"events": Counts()}
        self.customers = KnownIds(ctx.tables.customers)
        self.seen_ids = SeenKeys()
        self.pending: list[tuple[int, dict[str, Any], bytes]] = []
        self.in_store: dict[bytes, int] = {}  # identical events the store held before this import
        self.in_file: Counter[bytes] = Counter()
        self.lookup = KeyLookup(ctx.tables.events, ("customer_id", "type", "occurred_at"))
        self.all_properties = sorted({p for props in ctx.schema.events.values() for p in props})

    @property
    def extra(self) -> Resolver:
        return self._property_column

    def _property_column(self, name: str) -> Column | Unresolved:
        if not name.startswith(PROPERTY_PREFIX):
            options = [*self.columns, *(PROPERTY_PREFIX + p for p in self.all_properties)]
            return Unresolved(
                tr("is not a column of an events import"),
                did_you_mean(name, options) or tr("event properties are prop.<name> columns"),
            )
        prop = name.removeprefix(PROPERTY_PREFIX)
        if prop in self.all_properties:
            return Column(name, "text", target="property")
        close = did_you_mean(prop, self.all_properties)
        if close:
            hint = tr("{suggestion} Otherwise declare it under events in the customer schema", suggestion=close)
        else:
            hint = tr("declare it under events in the customer schema")
        return Unresolved(tr("'{property}' is not a property of any event", property=prop), hint)

    def add(self, line: int, values: dict[str, Any]) -> None:
        type_ = values["type"]
        declared = self.ctx.schema.events.get(type_)
        if declared is None:
            close = did_you_mean(type_, self.ctx.schema.events)
            self.ctx.problems.add(
                Problem(
                    line,
                    tr("'{type}' is not a known event type", type=type_),
                    close or tr("declare it under events in the customer schema"),
                    self.label("type"),
                )
            )
            return
        properties = self._properties(line, type_, declared, values)
        if properties is None:
            return
        occurred_at = values["occurred_at"]
        record = {
            "customer_id": values["customer_id"],
            "type": type_,
            "occurred_at": occurred_at,
            "properties": properties,
        }
        event_id = values.get("event_id")
        if event_id is not None:
            seen = self.seen_ids.check(event_id, record, line)
            if seen == REPEAT:
                self.counts["events"].repeated += 1
                return
            if seen != NEW:
                self.ctx.problems.add(
                    Problem(
                        line,
                        tr("event '{id}' is also on line {line}, with other values", id=event_id, line=seen),
                        tr("give each event id once"),
                        self.label("event_id"),
                    )
                )
                return
        digest = event_digest(record["customer_id"], type_, occurred_at, properties)
        self.pending.append((line, record, digest))
        if len(self.pending) >= self.ctx.batch_size:
            self.flush()

    def _properties(
        self, line: int, type_: str, declared: dict[str, str], values: dict[str, Any]
    ) -> dict[str, Any] | None:
        given: list[tuple[str, Any, str]] = []  # (property, raw value, column name)
        for name, value in (values.get("properties") or {}).items():
            given.append((name, value, "properties"))
        for bound in self.binding.bound:
            if bound.column.target == "property" and values[bound.column.name] is not None:
                given.append(
                    (bound.column.name.removeprefix(PROPERTY_PREFIX), values[bound.column.name], bound.column.name)
                )
        properties: dict[str, Any] = {}
        ok = True
        for name, raw, column in given:
            prop_type = declared.get(name)
            try:
                if prop_type is None:
                    close = did_you_mean(name, declared)
                    raise CellError(
                        tr("'{type}' events have no property '{property}'", type=type_, property=name),
                        close or tr("declare it under events.{type}.properties in the customer schema", type=type_),
                    )
                if column == "properties":
                    value = from_json_value(prop_type, raw, self.ctx.shop_tz)
                else:
                    value = to_json(prop_type, parse_text(prop_type, raw, self.ctx.shop_tz))
            except CellError as exc:
                self.ctx.problems.add(Problem(line, exc.message, exc.hint, self.label(column)))
                ok = False
                continue
            if value is None:
                properties.pop(name, None)
            else:
                properties[name] = value
        return properties if ok else None

    def flush(self) -> None:
        pending, self.pending = self.pending, []
        missing = self.customers.missing(self.conn, {record["customer_id"] for _, record, _ in pending})
        for line, record, _ in pending:
            if record["customer_id"] in missing:
                self.ctx.problems.add(
                    Problem(
                        line,
                        tr("customer '{id}' is not in the store", id=record["customer_id"]),
                        tr("import the customers first: ecrm import customers FILE"),
                        self.label("customer_id"),
                    )
                )
        if not pending or not self.ctx.writing:
            return
        self._count_stored([(record, digest) for _, record, digest in pending if digest not in self.in_store])
        inserts = []
        counts = self.counts["events"]
        for _, record, digest in pending:
            self.in_file[digest] += 1
            if self.in_file[digest] <= self.in_store[digest]:
                counts.unchanged += 1
            else:
                inserts.append(record)
                counts.inserted += 1
        insert_rows(self.conn, self.ctx.tables.events, inserts)
        implying = [record for record in inserts if record["type"] in IMPLYING_EVENTS]
        if implying:
            implied = apply_implied_state(self.conn, self.ctx.tables, implying)
            for name, counts in ((SUBSCRIPTIONS_IMPLIED, implied.subscriptions), (CONSENT_IMPLIED, implied.consent)):
                total = self.counts.setdefault(name, Counts())
                for status in ("inserted", "updated", "unchanged"):
                    setattr(total, status, getattr(total, status) + getattr(counts, status))

    def finish(self) -> None:
        self.flush()
        self.lookup.close(self.conn)

    def _count_stored(self, records: list[tuple[dict[str, Any], bytes]]) -> None:
        """How many identical events the store holds, for each event not seen before in this file."""
        if not records:
            return
        keys = list({(r["customer_id"], r["type"], r["occurred_at"]) for r, _ in records})
        stored = Counter(
            event_digest(r["customer_id"], r["type"], r["occurred_at"], r["properties"] or {})
            for r in self.lookup.rows(self.conn, keys)
        )
        for _, digest in records:
            self.in_store[digest] = stored[digest]
