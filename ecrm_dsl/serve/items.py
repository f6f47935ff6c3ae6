"""A schema-valid JSON item as the values the importer's loaders take (the ones ``ecrm import`` gives them for a
CSV row), and the digest that recognises the same item sent again.

Times need an offset (the schemas refuse one without) and are kept in UTC. A field left out of an item is not
bound, so an upsert leaves what is stored; ``null`` clears it.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from ecrm_dsl.importer.header import Unresolved
from ecrm_dsl.importer.json_values import canonical, from_json_value
from ecrm_dsl.importer.kinds import Loader
from ecrm_dsl.importer.layouts import EVENT, ITEM, Column
from ecrm_dsl.importer.problems import did_you_mean
from ecrm_dsl.importer.values import CellError, parse_date, parse_datetime, parse_text
from ecrm_dsl.serve.item_schemas import ItemError

LINES = "lines"  # an order's lines: one importer row each
ATTRIBUTES = "attributes"  # a customer's custom attributes, by name
_OFFSET = re.compile(r"(Z|[+-]\d{2}:?\d{2})$", re.IGNORECASE)


@dataclass(frozen=True)
class Row:
    """One accepted-so-far item: its position in the batch, its id, the loader rows it makes, its digest."""

    index: int
    item_id: str
    records: tuple[dict[str, Any], ...]  # loader values by store name; an order with lines gives one per line
    fields: frozenset[str]  # the store names the item gives (the loader's binding)
    digest: str


def to_row(kind: str, index: int, item: Mapping[str, Any], loader: Loader) -> Row | list[ItemError]:
    """The loader rows of a schema-valid ``item``, or why its values are wrong."""
    errors: list[ItemError] = []
    item_id = str(item["id"])

    def fail(path: str, exc: CellError) -> None:
        hint = f" — {exc.hint}" if exc.hint else ""
        errors.append(
            ItemError(index, item_id, f"'{path.rsplit('/', 1)[-1]}': {exc.message}{hint}", _path(index, path))
        )

    values: dict[str, Any] = {}
    if kind == "events":
        values = {name: item.get(name) for name in ("customer_id", "type", "properties")}
        values["properties"] = values["properties"] or {}
        values["event_id"] = item_id
        try:
            values["occurred_at"] = _moment(item["occurred_at"])
        except CellError as exc:
            fail("occurred_at", exc)
        fields = frozenset(EVENT)
    else:
        for name, raw in item.items():
            if name in (LINES, ATTRIBUTES):
                continue
            try:
                values[name] = _typed(loader.columns[name], raw)
            except CellError as exc:
                fail(name, exc)
        for name, raw in (item.get(ATTRIBUTES) or {}).items() if kind == "customers" else ():
            try:
                values[name] = _attribute(loader, name, raw)
            except CellError as exc:
                fail(f"{ATTRIBUTES}/{name}", exc)
        fields = frozenset(values)
    records: list[dict[str, Any]] = [values]
    if kind == "orders" and item.get(LINES):
        records = []
        for number, line in enumerate(item[LINES]):
            typed = {name: _default(ITEM[name]) for name in ITEM}
            for name, raw in line.items():
                try:
                    typed[name] = _typed(ITEM[name], raw)
                except CellError as exc:
                    fail(f"{LINES}/{number}/{name}", exc)
            records.append({**values, **typed})
        fields |= frozenset(ITEM)
    if errors:
        return errors
    return Row(index, item_id, tuple(records), fields, digest(kind, records))


def _typed(column: Column, raw: Any) -> Any:
    if raw is None:
        if column.required:
            raise CellError("is required, but it is null", "give a value")
        return column.default
    if column.type == "datetime":
        return _moment(raw)
    if column.type == "date":
        return parse_date(raw)
    if column.values and raw not in column.values:
        raise CellError(
            f"'{raw}' is not an allowed value",
            did_you_mean(raw, column.values) or "allowed: " + ", ".join(column.values),
        )
    return raw


def _moment(text: str) -> datetime:
    """An instant in UTC; one whose UTC form falls outside years 1–9999 is an item error, not a crash."""
    try:
        return parse_datetime(text, UTC)
    except OverflowError:
        raise CellError(f"'{text}' is out of the range of dates", "check the year") from None


def _default(column: Column) -> Any:
    return column.default


def _attribute(loader: Loader, name: str, raw: Any) -> Any:
    """A custom attribute's value as the customer loader takes it (its Python value; None removes it)."""
    column = loader.extra(name)
    if isinstance(column, Unresolved):
        raise CellError(column.message, column.hint)
    if raw is None:
        return None
    if isinstance(raw, str):
        text = raw.strip()
        if column.type == "datetime" and not _OFFSET.search(text):
            raise CellError(f"'{raw}' has no timezone", "write ISO 8601 with an offset, e.g. 2025-03-01T10:00:00+09:00")
        value = parse_text(column.type, text, UTC) if text else None
    else:
        value = from_json_value(column.type, raw, UTC)
    if column.values and value is not None and value not in column.values:
        raise CellError(f"'{value}' is not an allowed value", "allowed: " + ", ".join(column.values))
    return value


def _path(index: int, field: str) -> str:
    return f"/items/{index}/{field}"


def digest(kind: str, records: list[dict[str, Any]]) -> str:
    """The same item sent again (times in any offset, lines in any order) has the same digest."""
    normal = (
        sorted(canonical(_jsonable(r)) for r in records) if kind == "orders" else [canonical(_jsonable(records[0]))]
    )
    return hashlib.blake2b("\x1e".join(normal).encode(), digest_size=16).hexdigest()


def _jsonable(record: Mapping[str, Any]) -> dict[str, Any]:
    def plain(value: Any) -> Any:
        if isinstance(value, datetime):
            return value.astimezone(UTC).isoformat()
        if isinstance(value, date):
            return value.isoformat()
        return value

    return {name: plain(value) for name, value in record.items()}


def path_of(index: int, column: str | None) -> str:
    """The JSON Pointer of the field an importer problem names (its label is the field in quotes)."""
    name = (column or "").split("'")[1] if column and "'" in column else ""
    if name in ITEM:
        return _path(index, LINES)
    if name in ("event_id", ""):
        return _path(index, "id") if name else f"/items/{index}"
    return _path(index, name)
