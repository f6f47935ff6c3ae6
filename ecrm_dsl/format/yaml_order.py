"""Canonical key order for YAML files, read from the JSON Schemas' ``properties`` (the one source of truth).

A mapping whose keys are schema properties is put in the order the schema lists them; keys the schema does not
list keep their relative order after the known ones. Mappings of the author's own names (template ``params``,
``update.set``, a preset use's ``with``, ...) keep the author's order, since that order can carry meaning.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field, replace
from functools import cache
from typing import Any

from ecrm_dsl.syntax.yaml_schema import SCHEMA_KINDS, schema_path

Schema = tuple[dict[str, Any], ...]  # a union of schema nodes (oneOf branches, ...), all of one schema file


@dataclass(frozen=True)
class Shape:
    """What a mapping or sequence may hold, merged over every branch of a schema union."""

    kind: str
    order: tuple[str, ...] = ()
    properties: dict[str, Schema] = field(default_factory=dict)
    extra: Schema = ()  # additionalProperties / patternProperties: the author's own keys
    items: Schema = ()
    borrowed: dict[str, tuple[str, Schema]] = field(default_factory=dict)  # key -> (other schema file, nodes)

    def key_rank(self, key: str) -> int | None:
        return self.order.index(key) if key in self.order else None

    def child(self, key: str) -> Shape:
        if key in self.borrowed:
            return shape(*self.borrowed[key])
        return shape(self.kind, self.properties.get(key) or self.extra)

    def item(self) -> Shape:
        return shape(self.kind, self.items)


NO_SHAPE = Shape("")

# A preset's "scenario" is a scenario body; its own schema leaves it open, so borrow the scenario schema's.
_BORROWED = {("preset", "scenario"): ("scenario", "full")}


@cache
def _schema(kind: str) -> dict[str, Any]:
    return json.loads(schema_path(kind).read_text(encoding="utf-8"))


def _resolve(kind: str, node: dict[str, Any]) -> dict[str, Any]:
    seen = 0
    while isinstance(node.get("$ref"), str) and node["$ref"].startswith("#/") and seen < 32:
        target: Any = _schema(kind)
        for part in node["$ref"][2:].split("/"):
            target = target.get(part, {}) if isinstance(target, dict) else {}
        node, seen = target, seen + 1
    return node


def _branches(kind: str, nodes: Schema) -> list[dict[str, Any]]:
    """The nodes and every branch of their combinators (allOf, anyOf, oneOf, then, else), refs resolved."""
    out: list[dict[str, Any]] = []
    stack = [n for n in reversed(nodes) if isinstance(n, dict)]
    while stack and len(out) < 256:
        node = _resolve(kind, stack.pop())
        out.append(node)
        nested = [b for word in ("allOf", "anyOf", "oneOf") for b in node.get(word, []) if isinstance(b, dict)]
        nested += [node[word] for word in ("then", "else") if isinstance(node.get(word), dict)]
        stack.extend(reversed(nested))
    return out


_SHAPES: dict[tuple[str, tuple[int, ...]], Shape] = {}  # schema nodes live as long as the cached schemas


def shape(kind: str, nodes: Schema) -> Shape:
    if not kind or not nodes:
        return NO_SHAPE
    key = (kind, tuple(id(n) for n in nodes))
    if key not in _SHAPES:
        _SHAPES[key] = _build_shape(kind, nodes)
    return _SHAPES[key]


def _build_shape(kind: str, nodes: Schema) -> Shape:
    order: list[str] = []
    properties: dict[str, Schema] = {}
    extra: list[dict[str, Any]] = []
    items: list[dict[str, Any]] = []
    for node in _branches(kind, nodes):
        for name, sub in (node.get("properties") or {}).items():
            if name not in properties:
                order.append(name)
            properties[name] = (*properties.get(name, ()), sub)
        if isinstance(node.get("additionalProperties"), dict):
            extra.append(node["additionalProperties"])
        extra.extend(v for v in (node.get("patternProperties") or {}).values() if isinstance(v, dict))
        if isinstance(node.get("items"), dict):
            items.append(node["items"])
    return Shape(kind, tuple(order), properties, tuple(extra), tuple(items))


def root_shape(kind: str) -> Shape:
    """The shape of a whole document of ``kind`` (one of SCHEMA_KINDS), or NO_SHAPE."""
    if kind not in SCHEMA_KINDS:
        return NO_SHAPE
    borrowed: dict[str, tuple[str, Schema]] = {
        key: (lender, (_schema(lender)["definitions"][definition],))
        for (owner, key), (lender, definition) in _BORROWED.items()
        if owner == kind
    }
    return replace(shape(kind, (_schema(kind),)), borrowed=borrowed)


_IDENTIFYING_KEYS = (
    ("preset", "preset"),  # before "scenario": a preset has a "scenario" body too
    ("scenario", "scenario"),
    ("use", "scenario"),
    ("segment", "segment"),
    ("template", "template"),
    ("customer_schema", "customer_schema"),
)


def document_kind(keys: list[str]) -> str:
    """Which schema a document follows, from its top-level keys; "" when it is none of ours."""
    for key, kind in _IDENTIFYING_KEYS:
        if key in keys:
            return kind
    for kind in ("policies", "customer_schema"):
        known = set(root_shape(kind).order) - {"$schema"}
        if known & set(keys):
            return kind
    return ""


def ordered(shape_: Shape, keys: list[str]) -> list[int]:
    """The positions of ``keys`` in canonical order (stable: unknown keys keep their order, after known ones)."""
    ranked = [(rank, position) for position, key in enumerate(keys) if (rank := shape_.key_rank(key)) is not None]
    unknown = [position for position, key in enumerate(keys) if shape_.key_rank(key) is None]
    if not ranked:
        return list(range(len(keys)))
    return [position for _, position in sorted(ranked)] + unknown
