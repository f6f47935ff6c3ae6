"""Where the cursor is in a YAML file, as a path of keys, and what the file kind's JSON Schema allows there."""

from __future__ import annotations

import json
import re
from functools import cache
from typing import Any

from ecrm_dsl.language.i18n import lookup
from ecrm_dsl.syntax.yaml_schema import SCHEMA_KINDS, schema_path

ITEM = "[]"
_LINE = re.compile(r"^(\s*)((?:-\s+)*)(?:([\w$.\"']+)\s*:(.*))?$")


def kind_of(lines: list[str]) -> str:
    """The file kind, from its top-level key (each kind's schema requires its own); scenario otherwise."""
    for line in lines:
        match = re.match(r"^([a-z_]+):", line)
        if match and match.group(1) in SCHEMA_KINDS:
            return match.group(1)
    return "scenario"


def path_at(lines: list[str], line_no: int, column: int, on_dash: bool) -> list[str]:
    """The keys (and ``[]`` for a list item) that hold a key written at 0-based ``column`` of ``line_no``."""
    path: list[str] = []
    limit, item_level = column, False
    if on_dash:
        current = _LINE.match(lines[line_no - 1])
        dash_column = len(current.group(1)) if current else 0
        path.append(ITEM)
        limit, item_level = dash_column, True
    for text in reversed(lines[: line_no - 1]):
        stripped = text.strip()
        if not stripped or stripped.startswith("#"):
            continue
        match = _LINE.match(text)
        if match is None:
            continue
        indent, dashes, key = len(match.group(1)), match.group(2), match.group(3)
        if dashes:
            if indent < limit:
                path.append(ITEM)
                limit, item_level = indent, True
            continue
        if key is None:
            continue
        if indent < limit or (item_level and indent == limit):
            path.append(key.strip("\"'"))
            limit, item_level = indent, False
            if indent == 0:
                break
    return list(reversed(path))


def siblings(lines: list[str], line_no: int, column: int) -> set[str]:
    """The keys already written in the mapping that a key at ``column`` of ``line_no`` belongs to."""
    found: set[str] = set()
    for number in range(line_no - 2, -1, -1):  # upward, to the start of the mapping (or of its list item)
        key, key_column, dashed = _key_at(lines[number])
        if key_column is None or key_column > column:
            continue
        if key_column < column:
            break
        if key:
            found.add(key)
        if dashed:
            break
    for number in range(line_no, len(lines)):  # downward, to the end of the mapping
        key, key_column, dashed = _key_at(lines[number])
        if key_column is None or key_column > column:
            continue
        if key_column < column or dashed:
            break
        if key:
            found.add(key)
    return found


def _key_at(line: str) -> tuple[str | None, int | None, bool]:
    """A line's key, the column it starts at and whether a list item starts there; no column for a blank or
    comment line."""
    stripped = line.strip()
    match = _LINE.match(line)
    if not stripped or stripped.startswith("#") or match is None:
        return None, None, False
    key = match.group(3).strip("\"'") if match.group(3) else None
    return key, len(match.group(1)) + len(match.group(2)), bool(match.group(2))


@cache
def _schema(kind: str) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(schema_path(kind).read_text(encoding="utf-8"))
    return loaded


def _resolve(root: dict[str, Any], node: Any, depth: int = 0) -> list[dict[str, Any]]:
    """A schema node with its references followed and its alternatives spread out (oneOf, anyOf, allOf, and
    the branches of if/then/else)."""
    if not isinstance(node, dict) or depth > 20:
        return []
    if "$ref" in node:
        target: Any = root
        for part in node["$ref"].removeprefix("#/").split("/"):
            target = target.get(part, {}) if isinstance(target, dict) else {}
        return _resolve(root, target, depth + 1)
    found = [node]
    for key in ("oneOf", "anyOf", "allOf"):
        for alternative in node.get(key, []):
            found.extend(_resolve(root, alternative, depth + 1))
    for key in ("then", "else"):
        found.extend(_resolve(root, node.get(key), depth + 1))
    return found


def _nodes(kind: str, path: list[str]) -> list[dict[str, Any]]:
    root = _schema(kind)
    nodes = _resolve(root, root)
    for step in path:
        following: list[dict[str, Any]] = []
        for node in nodes:
            if step == ITEM:
                following.extend(_resolve(root, node.get("items")))
            else:
                following.extend(_resolve(root, node.get("properties", {}).get(step)))
        nodes = following
    return nodes


def keys_at(kind: str, path: list[str]) -> list[tuple[str, str]]:
    """The keys the schema allows in the mapping at ``path``, with their descriptions in the current language."""
    keys: dict[str, str] = {}
    root = _schema(kind)
    for node in _nodes(kind, path):
        for key, sub in node.get("properties", {}).items():
            if key == "$schema":
                continue
            described = [n.get("description", "") for n in _resolve(root, sub)]
            keys.setdefault(key, next((d for d in described if d), ""))
    return sorted((key, lookup(text) if text else text) for key, text in keys.items())


def values_at(kind: str, path: list[str]) -> list[str]:
    """The values the schema lists for the key at ``path`` (an enum or a constant)."""
    found: list[str] = []
    for node in _nodes(kind, path):
        for value in node.get("enum", []) + ([node["const"]] if "const" in node else []):
            if isinstance(value, str) and value not in found:
                found.append(value)
    return found
