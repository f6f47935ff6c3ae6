"""Turning one CSV record into typed values by column, reporting every bad cell."""

from __future__ import annotations

import json
import math
from datetime import tzinfo
from typing import Any

from ecrm_dsl.importer.csv_source import Record
from ecrm_dsl.importer.header import Binding, Bound
from ecrm_dsl.importer.problems import Problem, Problems, did_you_mean
from ecrm_dsl.importer.values import CellError, parse_text
from ecrm_dsl.language.i18n import lookup, tr


def convert(record: Record, binding: Binding, shop_tz: tzinfo, problems: Problems) -> dict[str, Any] | None:
    """The record's values by store name (empty cells give the column's default); None if any cell is bad."""
    cells = record.cells
    if len(cells) != binding.width:
        problems.add(
            Problem(
                record.line,
                binding.width_problem(len(cells)),
                lookup(binding.width_hint),
            )
        )
        return None
    values: dict[str, Any] = {}
    ok = True
    for bound in binding.bound:
        try:
            values[bound.column.name] = _cell(bound, bound.text(cells), shop_tz)
        except CellError as exc:
            problems.add(Problem(record.line, exc.message, exc.hint, bound.label))
            ok = False
    return values if ok else None


def _cell(bound: Bound, raw: str, shop_tz: tzinfo) -> Any:
    column = bound.column
    text = raw.strip()
    if bound.strip:
        text = text.strip(bound.strip).strip()
    if bound.translate:
        text = bound.translate.get(text, text)
    if not text:
        if column.required:
            raise CellError(tr("is required, but the cell is empty"))
        return column.default
    if column.type == "text":  # typed later (event properties depend on the event type)
        return text
    if column.type == "json":
        return parse_json_object(text)
    value = bound.parse(text, shop_tz) if bound.parse else parse_text(column.type, text, shop_tz)
    if column.minimum is not None and value < column.minimum:
        raise CellError(
            tr("{text} is less than {minimum}", text=text, minimum=column.minimum)
            if column.minimum
            else tr("{text} is negative", text=text),
            tr("it must be {minimum} or more", minimum=column.minimum),
        )
    if column.values and column.type == "string" and value not in column.values:
        hint = did_you_mean(value, column.values) or tr("allowed: {values}", values=", ".join(column.values))
        raise CellError(tr("'{value}' is not an allowed value", value=value), hint)
    return value


MAX_JSON_DEPTH = 32  # property values are flat; a deeper object is a broken cell (and would exhaust the stack)


def parse_json_object(text: str) -> dict[str, Any]:
    hint = tr('write a JSON object such as {{"rating": 5}}')
    too_deep = CellError(tr("is nested more than {depth} levels deep", depth=MAX_JSON_DEPTH), hint)
    try:
        value = json.loads(text, parse_constant=_not_a_number, parse_float=_finite)
    except json.JSONDecodeError as exc:
        raise CellError(
            tr("is not valid JSON ({problem} at character {position})", problem=exc.msg, position=exc.pos + 1), hint
        ) from None
    except RecursionError:
        raise too_deep from None
    if _depth(value) > MAX_JSON_DEPTH:
        raise too_deep
    if not isinstance(value, dict):
        raise CellError(tr("is not a JSON object"), hint)
    return value


def _not_a_number(name: str) -> float:
    raise CellError(tr("{name} is not a number JSON allows", name=name), tr("write a finite number"))


def _finite(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise CellError(tr("{text} is too large a number", text=text), tr("write a finite number"))
    return value


def _depth(value: Any) -> int:
    """How deeply arrays and objects nest in a JSON value, counted without recursion."""
    deepest, stack = 0, [(value, 1)]
    while stack:
        item, level = stack.pop()
        if isinstance(item, dict | list):
            deepest = max(deepest, level)
            if level <= MAX_JSON_DEPTH:
                stack.extend((child, level + 1) for child in (item.values() if isinstance(item, dict) else item))
    return deepest
