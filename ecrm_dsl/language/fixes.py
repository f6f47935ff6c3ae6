"""Building :class:`Fix` edits for findings, only where the edit is certain to replace exactly the right text.

A finding's span often covers more than the word to change (a whole call, a keyword with its value), and a
span mapped from a YAML string can cover escapes that make it wider than the value. These helpers narrow a
span to the text to replace and give up (None) when the span's width does not match that text, so a fix never
edits a character it did not mean to.
"""

from __future__ import annotations

from ecrm_dsl.language.ast import Span
from ecrm_dsl.language.diagnostics import Fix
from ecrm_dsl.language.i18n import tr


def _one_line(span: Span) -> bool:
    return span.line > 0 and span.end_line == span.line and span.end_column > span.column


def replace_exact(span: Span, original: str, replacement: str) -> Fix | None:
    """A fix replacing ``original`` with ``replacement``, when ``span`` covers exactly ``original`` on one line."""
    if not _one_line(span) or span.end_column - span.column != len(original) or original == replacement:
        return None
    return Fix(
        tr("replace {original} with {replacement}", original=original, replacement=replacement), span, replacement
    )


def replace_head(span: Span, original: str, replacement: str) -> Fix | None:
    """A fix replacing ``original`` at the start of ``span`` (a call's name, a keyword's name)."""
    if span.line <= 0 or (span.end_line == span.line and span.end_column - span.column < len(original)):
        return None
    head = Span(span.file, span.line, span.column, span.line, span.column + len(original))
    return replace_exact(head, original, replacement)


# Characters a quoted string may need escaped, in the condition language or the YAML around it.
_ESCAPED = set("\"'\\\n\r\t")


def replace_quoted(span: Span, value: str, replacement: str) -> Fix | None:
    """A fix replacing the text inside a quoted string literal whose ``span`` includes its quotes.

    The quotes may be one character each (``"studnt"``) or escaped inside a YAML string (``\\"studnt\\"``);
    either way they are as wide on both sides, so the value sits in the middle. Values that would need
    escaping are left alone.
    """
    if not _one_line(span) or _ESCAPED & set(value + replacement) or value == replacement:
        return None
    quotes = span.end_column - span.column - len(value)
    if quotes < 2 or quotes % 2:
        return None
    side = quotes // 2
    inner = Span(span.file, span.line, span.column + side, span.line, span.end_column - side)
    return Fix(
        tr("replace '{original}' with '{replacement}'", original=value, replacement=replacement), inner, replacement
    )
