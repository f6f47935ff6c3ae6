"""``ecrm import customers``: one row per customer; custom attributes into ``attributes``; tags added."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

from ecrm_dsl.importer.counts import Counts
from ecrm_dsl.importer.header import Resolver, Unresolved
from ecrm_dsl.importer.json_values import to_json
from ecrm_dsl.importer.kinds.base import LoadContext, Loader, SeenKeys
from ecrm_dsl.importer.layouts import CUSTOMER, Column
from ecrm_dsl.importer.problems import did_you_mean
from ecrm_dsl.language.i18n import tr
from ecrm_dsl.store.imports import customer_tags, insert_rows
from ecrm_dsl.store.upsert import Upserter


class CustomerLoader(Loader):
    kind = "customers"
    layout = CUSTOMER

    def __init__(self, ctx: LoadContext):
        super().__init__(ctx)
        attributes = ctx.schema.attributes
        # Built-in string attributes may have allowed values in the project's schema (persona, entry_channel).
        self.columns = {
            name: dataclasses.replace(column, values=attributes[name].values)
            if name in attributes and attributes[name].values and column.type == "string"
            else column
            for name, column in CUSTOMER.items()
        }
        self.counts = {"customers": Counts()}
        self.upserter = Upserter(ctx.tables.customers, ("id",), _merge_attributes)
        self.seen = SeenKeys()
        self.pending: dict[str, tuple[int, dict[str, Any]]] = {}  # id → (line, values)

    @property
    def extra(self) -> Resolver:
        return self._custom_attribute

    def _custom_attribute(self, name: str) -> Column | Unresolved:
        schema = self.ctx.schema
        attribute = schema.attributes.get(name)
        if name == "attributes":
            return Unresolved(tr("is not imported as JSON"), tr("give each custom attribute its own column"))
        if attribute is not None and name in schema.custom_attributes:
            return Column(name, attribute.type, values=attribute.values, target="attribute")
        if attribute is not None and attribute.derived:
            return Unresolved(
                tr("is computed from orders and events, so it cannot be imported"),
                tr("remove the column, or list it under ignore in a mapping"),
            )
        close = did_you_mean(name, [*self.columns, *sorted(schema.custom_attributes)])
        if close:
            hint = tr(
                "{suggestion} Otherwise declare it under attributes in the customer schema, or list it under ignore "
                "in a mapping",
                suggestion=close,
            )
        else:
            hint = tr("declare it under attributes in the customer schema, or list it under ignore in a mapping")
        return Unresolved(tr("is not a customer attribute of the store or the customer schema"), hint)

    def add(self, line: int, values: dict[str, Any]) -> None:
        key = values["id"]
        earlier = self.pending.get(key)
        named = tr("customer '{id}'", id=key)
        if self.first_time(
            self.seen, key, values, line, earlier and earlier[1], named, "id", tr("give each customer once")
        ):
            self.pending[key] = (line, values)
            if len(self.pending) >= self.ctx.batch_size:
                self.flush()

    def flush(self) -> None:
        pending, self.pending = list(self.pending.values()), {}
        if not pending or not self.ctx.writing:
            return
        records = [self._record(values) for _, values in pending]
        statuses = self.upserter.apply(self.conn, records)
        if self.binding.has("tags"):
            tagged = self._add_tags({values["id"]: values["tags"] or [] for _, values in pending})
            statuses = [
                "updated" if s == "unchanged" and v["id"] in tagged else s
                for s, (_, v) in zip(statuses, pending, strict=True)
            ]
        for status in statuses:
            self.counts["customers"].add(status)

    def _record(self, values: dict[str, Any]) -> dict[str, Any]:
        record: dict[str, Any] = {}
        patch: dict[str, Any] = {}
        for bound in self.binding.bound:
            column, value = bound.column, values[bound.column.name]
            if column.target == "column":
                record[column.name] = value
            elif column.target == "attribute":
                patch[column.name] = None if value is None else to_json(column.type, value)
        if patch:
            record["attributes"] = patch
        return record

    def _add_tags(self, wanted: dict[str, list[str]]) -> set[str]:
        """Add the tags customers do not have yet (tags are never removed); the customers that gained one."""
        have = customer_tags(self.conn, self.ctx.tables, wanted)
        new = [{"customer_id": c, "tag": t} for c, ts in wanted.items() for t in ts if (c, t) not in have]
        insert_rows(self.conn, self.ctx.tables.customer_tags, new)
        return {row["customer_id"] for row in new}


def _merge_attributes(stored: Mapping[str, Any] | None, record: dict[str, Any]) -> dict[str, Any]:
    """Custom attributes are merged into the stored ones; an empty cell removes that attribute."""
    if "attributes" not in record:
        return record
    merged = dict(stored["attributes"] or {}) if stored is not None else {}
    for name, value in record["attributes"].items():
        if value is None:
            merged.pop(name, None)
        else:
            merged[name] = value
    return {**record, "attributes": merged}
