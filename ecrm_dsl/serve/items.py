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
from ecrm_dsl.language.i18n import tr
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
    item_id = str(item["id"])
    problems: list[tuple[str, CellError]] = []  # (path below the item, what is wrong)
    if kind == "events":
        values = _event(item, loader, problems)
        fields = frozenset(EVENT)
    else:
        values = _fields(kind, item, loader, problems)
        fields = frozenset(values)
    records: list[dict[str, Any]] = [values]
    if kind == "orders" and item.get(LINES):
        records = [{**values, **line} for line in _lines(item[LINES], problems)]
        fields |= frozenset(ITEM)
    if problems:
        return [_item_error(index, item_id, path, exc) for path, exc in problems]
    return Row(index, item_id, tuple(records), fields, digest(kind, records))


def _item_error(index: int, item_id: str, path: str, exc: CellError) -> ItemError:
    hint = f" — {exc.hint}" if exc.hint else ""
    return ItemError(index, item_id, f"'{path.rsplit('/', 1)[-1]}': {exc.message}{hint}", _path(index, path))


def _event(item: Mapping[str, Any], loader: Loader, problems: list[tuple[str, CellError]]) -> dict[str, Any]:
    """An event's values; the loader types its properties, but a datetime property needs an offset here too."""
    properties: dict[str, Any] = item.get("properties") or {}
    values: dict[str, Any] = {"customer_id": item["customer_id"], "type": item["type"], "properties": properties}
    values["event_id"] = str(item["id"])
    try:
        values["occurred_at"] = _moment(item["occurred_at"])
    except CellError as exc:
        problems.append(("occurred_at", exc))
    declared = loader.ctx.schema.events.get(str(item["type"]), {})
    for name, raw in properties.items():
        if declared.get(name) == "datetime" and isinstance(raw, str) and raw.strip() and not _OFFSET.search(raw):
            problems.append((f"properties/{name}", _no_offset(raw)))
    return values


def _fields(
    kind: str, item: Mapping[str, Any], loader: Loader, problems: list[tuple[str, CellError]]
) -> dict[str, Any]:
    """The item's own fields, and a customer's custom attributes, typed as the loader's columns want them."""
    values: dict[str, Any] = {}
    for name, raw in item.items():
        if name not in (LINES, ATTRIBUTES):
            try:
                values[name] = _typed(loader.columns[name], raw)
            except CellError as exc:
                problems.append((name, exc))
    for name, raw in (item.get(ATTRIBUTES) or {}).items() if kind == "customers" else ():
        try:
            values[name] = _attribute(loader, name, raw)
        except CellError as exc:
            problems.append((f"{ATTRIBUTES}/{name}", exc))
    return values


def _lines(lines: list[dict[str, Any]], problems: list[tuple[str, CellError]]) -> list[dict[str, Any]]:
    """An order's lines with every line column (quantity defaults to 1); a SKU once per order."""
    typed_lines: list[dict[str, Any]] = []
    first: dict[str, int] = {}
    for number, line in enumerate(lines):
        typed = {name: column.default for name, column in ITEM.items()}
        for name, raw in line.items():
            try:
                typed[name] = _typed(ITEM[name], raw)
            except CellError as exc:
                problems.append((f"{LINES}/{number}/{name}", exc))
        if typed["sku"] in first:
            earlier = first[typed["sku"]]
            hint = tr("give each product once, with its whole quantity")
            again = CellError(tr("'{sku}' is also line {line}", sku=typed["sku"], line=earlier), hint)
            problems.append((f"{LINES}/{number}/sku", again))
        first.setdefault(typed["sku"], number)
        typed_lines.append(typed)
    return typed_lines


def _typed(column: Column, raw: Any) -> Any:
    if raw is None:
        if column.required:
            raise CellError(tr("is required, but it is null"), tr("give a value"))
        return column.default
    if column.type == "datetime":
        return _moment(raw)
    if column.type == "date":
        return parse_date(raw)
    if column.values and raw not in column.values:
        raise CellError(
            tr("'{value}' is not an allowed value", value=raw),
            did_you_mean(raw, column.values) or tr("allowed: {values}", values=", ".join(column.values)),
        )
    return raw


def _no_offset(text: str) -> CellError:
    return CellError(
        tr("'{text}' has no timezone", text=text), tr("write ISO 8601 with an offset, e.g. 2025-03-01T10:00:00+09:00")
    )


def _moment(text: str) -> datetime:
    """An instant in UTC; one whose UTC form falls outside years 1–9999 is an item error, not a crash."""
    try:
        return parse_datetime(text, UTC)
    except OverflowError:
        raise CellError(tr("'{text}' is out of the range of dates", text=text), tr("check the year")) from None


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
            raise _no_offset(raw)
        value = parse_text(column.type, text, UTC) if text else None
    else:
        value = from_json_value(column.type, raw, UTC)
    if column.values and value is not None and value not in column.values:
        raise CellError(
            tr("'{value}' is not an allowed value", value=value),
            tr("allowed: {values}", values=", ".join(column.values)),
        )
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


def path_of(index: int, label: str | None) -> str:
    """The JSON Pointer of the field an importer problem names (its label is the field's name in quotes)."""
    name = label.split("'")[1] if label and label.count("'") >= 2 else None
    if name is None:
        return f"/items/{index}"
    if name in ITEM:
        return _path(index, LINES)
    return _path(index, "id" if name == "event_id" else name)
