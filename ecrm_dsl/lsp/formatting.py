"""Whole-document formatting through ``ecrm fmt``'s engine, with its safety checks."""

from __future__ import annotations

from pathlib import Path

from lsprotocol import types

from ecrm_dsl.format.engine import SUFFIXES, checked_format
from ecrm_dsl.format.safety import UnsafeFormat
from ecrm_dsl.language.diagnostics import DiagnosticError
from ecrm_dsl.lsp.positions import position, text_lines


def format_document(text: str, path: Path, encoding: str) -> list[types.TextEdit]:
    """One edit replacing the document with its formatted text; none when it is already formatted, or cannot be
    (it does not parse, or the formatter would change its meaning): the syntax finding says why."""
    if path.suffix not in SUFFIXES:
        return []
    try:
        formatted = checked_format(text, path.suffix, path.name)
    except (DiagnosticError, UnsafeFormat):
        return []
    if formatted == text:
        return []
    lines = text_lines(text)
    end = position(lines, len(lines), len(lines[-1]) + 1, encoding)
    return [types.TextEdit(types.Range(types.Position(0, 0), end), formatted)]
