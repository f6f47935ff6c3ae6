"""The published JSON Schemas of ingest items (``schemas/<kind>.schema.json``, also served at
``GET /v1/schemas/<kind>``), and the messages an invalid item gets.

Valid items, which most are, are checked by a validator fastjsonschema compiles to Python; only an invalid item
goes through jsonschema, whose errors are turned into sentences that say what is wrong and how to fix it.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

import fastjsonschema
import jsonschema
from jsonschema.exceptions import ValidationError

from ecrm_dsl.language.i18n import lookup, n_, tr

KINDS = ("events", "orders", "customers", "subscriptions")


@dataclass(frozen=True, slots=True)
class ItemError:
    """Why one item of a batch was not stored. ``path`` is a JSON Pointer into the request body."""

    index: int
    item_id: str | None
    error: str
    path: str
    status: int = 422  # 409: the id was used before for other content

    def as_json(self) -> dict[str, Any]:
        return {"index": self.index, "id": self.item_id, "error": self.error, "path": self.path, "status": self.status}


@cache
def schema_text(kind: str) -> str:
    return resources.files("ecrm_dsl.serve").joinpath("schemas", f"{kind}.schema.json").read_text(encoding="utf-8")


@cache
def _schema(kind: str) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(schema_text(kind))
    return loaded


@cache
def _fast(kind: str) -> Callable[[Any], Any]:
    return fastjsonschema.compile(_schema(kind))  # type: ignore[no-any-return]


@cache
def _explainer(kind: str) -> jsonschema.Draft7Validator:
    return jsonschema.Draft7Validator(_schema(kind))


def check_item(kind: str, index: int, item: Any) -> list[ItemError]:
    """Every way ``item`` breaks the kind's schema (an empty list: it is valid)."""
    try:
        _fast(kind)(item)
        return []
    except fastjsonschema.JsonSchemaException:
        pass
    item_id = item.get("id") if isinstance(item, dict) and isinstance(item.get("id"), str) else None
    errors = sorted(_explainer(kind).iter_errors(item), key=lambda e: [str(p) for p in e.absolute_path])
    return [ItemError(index, item_id, _sentence(kind, error), _pointer(index, error)) for error in errors]


def _pointer(index: int, error: ValidationError) -> str:
    parts = [str(index), *(str(p) for p in error.absolute_path)]
    if error.validator == "required" and "'" in str(error.message):  # where the missing field belongs
        parts.append(str(error.message).split("'")[1])
    if error.validator == "additionalProperties" and isinstance(error.instance, dict):
        allowed = set(error.schema.get("properties", {})) if isinstance(error.schema, dict) else set()
        extra = sorted(k for k in error.instance if k not in allowed)
        if extra:
            parts.append(extra[0])
    return "/items/" + "/".join(p.replace("~", "~0").replace("/", "~1") for p in parts)


_JSON_TYPES = {
    "string": n_("text"),
    "integer": n_("a whole number"),
    "boolean": n_("true or false"),
    "object": n_("an object"),
}


def _shown(value: Any) -> str:
    text = json.dumps(value, ensure_ascii=False)
    return text if len(text) <= 60 else text[:57] + "..."


def _sentence(kind: str, error: ValidationError) -> str:
    """What is wrong with the value at the error's path, and how to fix it — in our words, not the validator's."""
    field = str(error.absolute_path[-1]) if error.absolute_path else "the item"
    name = f"'{field}'"
    schema = error.schema if isinstance(error.schema, dict) else {}
    match error.validator:
        case "required":
            missing = str(error.message).split("'")[1] if "'" in str(error.message) else "a field"
            if not error.absolute_path:
                return tr(
                    "'{missing}' is missing from the item; it is required (see GET /v1/schemas/{kind})",
                    missing=missing,
                    kind=kind,
                )
            return tr(
                "'{missing}' is missing from the {name}; it is required (see GET /v1/schemas/{kind})",
                missing=missing,
                name=name,
                kind=kind,
            )
        case "additionalProperties":
            allowed = sorted(schema.get("properties", {}))
            extra = sorted(k for k in error.instance if k not in allowed) if isinstance(error.instance, dict) else []
            hint = tr("custom attributes go under 'attributes'") if kind == "customers" else tr("remove it")
            if kind == "events":
                hint = tr("event properties go under 'properties'")
            return tr(
                "'{field}' is not a field of {kind} items — {hint}; fields: {fields}",
                field=extra[0] if extra else "?",
                kind=kind,
                hint=hint,
                fields=", ".join(allowed),
            )
        case "type":
            wanted = schema.get("type")
            types = [str(t) for t in (wanted if isinstance(wanted, list) else [wanted]) if t != "null"]
            names = [lookup(_JSON_TYPES[t]) if t in _JSON_TYPES else t for t in types]
            return tr(
                "{name} is {value}, but must be {types}",
                name=name,
                value=_shown(error.instance),
                types=tr(" or ").join(names),
            )
        case "pattern" if "[T ]" in str(schema.get("pattern", "")):
            return tr(
                "{name} is {value}, not a date and time with a timezone — write ISO 8601 with an offset, e.g. "
                "2025-03-01T10:00:00+09:00 or 2025-03-01T01:00:00Z",
                name=name,
                value=_shown(error.instance),
            )
        case "pattern":
            return tr(
                "{name} is {value}, not a date — write YYYY-MM-DD, e.g. 2025-03-01",
                name=name,
                value=_shown(error.instance),
            )
        case "enum":
            return tr(
                "{name} is {value} — allowed: {values}",
                name=name,
                value=_shown(error.instance),
                values=", ".join(map(str, schema.get("enum", []))),
            )
        case "minimum":
            return tr(
                "{name} is {value}, less than {minimum} — give {minimum} or more",
                name=name,
                value=_shown(error.instance),
                minimum=schema["minimum"],
            )
        case "maximum":
            return tr(
                "{name} is {value}, more than {maximum:,} — check the value",
                name=name,
                value=_shown(error.instance),
                maximum=schema["maximum"],
            )
        case "minLength":
            return tr("{name} is empty — give a value, or leave the field out", name=name)
        case "maxLength":
            return tr("{name} is longer than {length} characters — shorten it", name=name, length=schema["maxLength"])
        case "maxItems" | "maxProperties":
            limit = schema.get("maxItems", schema.get("maxProperties"))
            return tr("{name} has more than {limit} entries — split the item or drop some", name=name, limit=limit)
    return f"{name}: {error.message}"  # pragma: no cover - every keyword the schemas use is handled above
