"""Go to definition: a segment, template or preset opens its file; a customer attribute or an event declared in
the customer schema opens the schema at its entry."""

from __future__ import annotations

import re
from pathlib import Path

from lsprotocol import types
from pygls.uris import from_fs_path

from ecrm_dsl.language.ast import Span
from ecrm_dsl.lsp.names import word_at
from ecrm_dsl.lsp.positions import offset_at, span_range, text_lines
from ecrm_dsl.lsp.snapshot import Snapshot
from ecrm_dsl.project.config import ProjectConfig

_PACKAGE_PARENT = Path(__file__).resolve().parents[2]


def definition(source: str, pos: types.Position, encoding: str, snapshot: Snapshot) -> list[types.Location] | None:
    ws = snapshot.workspace
    if ws is None:
        return None
    lines = text_lines(source)
    line_no, column = offset_at(lines, pos, encoding)
    word = word_at(lines[line_no - 1] if line_no <= len(lines) else "", column - 1)[2]
    if not word:
        return None
    for table in (ws.segments, ws.templates, ws.presets):
        if word in table:
            return _location(snapshot.config, table[word].span, encoding)
    scope, _, name = word.partition(".")
    wanted = name if scope == "customer" and name in ws.schema.attributes else word
    if wanted in ws.schema.attributes or wanted in ws.schema.events:
        return _in_schema(snapshot.config, wanted, encoding)
    return None


def _file(config: ProjectConfig, name: str) -> Path:
    """The file a span names: relative to the project root, or (shipped presets) to the package's folder."""
    inside = config.root / name
    return inside if inside.exists() else _PACKAGE_PARENT / name


def _location(config: ProjectConfig, span: Span, encoding: str) -> list[types.Location] | None:
    path = _file(config, span.file)
    uri = from_fs_path(str(path.resolve()))
    if uri is None or not path.is_file():
        return None
    lines = text_lines(path.read_text(encoding="utf-8-sig"))
    start = span_range(lines, Span(span.file, span.line, span.column), encoding).start
    return [types.Location(uri, types.Range(start, start))]


def _in_schema(config: ProjectConfig, name: str, encoding: str) -> list[types.Location] | None:
    """The line of the customer schema whose key is ``name`` (built-in attributes and events have none)."""
    path = config.customer_schema
    if not path.is_file():
        return None
    lines = text_lines(path.read_text(encoding="utf-8-sig"))
    pattern = re.compile(r"^\s*[\"']?" + re.escape(name) + r"[\"']?\s*:")
    for number, line in enumerate(lines, start=1):
        match = pattern.match(line)
        if match:
            column = line.index(name) + 1
            return _location(config, Span(config.display(path), number, column), encoding)
    return None
