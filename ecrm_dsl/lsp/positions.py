"""Source positions ↔ LSP positions: the one place where columns change units.

Our spans count 1-based lines and columns in code points (Python string indices). LSP counts 0-based lines and
a column in the negotiated encoding's units: UTF-16 code units by default, so 「🎁」 is two units and 「ギ」 one;
UTF-8 bytes when both sides agree (then 「ギ」 is three).
"""

from __future__ import annotations

from collections.abc import Sequence

from lsprotocol import types

from ecrm_dsl.language.ast import Span

UTF8, UTF16, UTF32 = "utf-8", "utf-16", "utf-32"


def _units(text: str, encoding: str) -> int:
    if encoding == UTF32:
        return len(text)
    if encoding == UTF8:
        return len(text.encode("utf-8"))
    return len(text.encode("utf-16-le")) // 2


def to_units(line: str, index: int, encoding: str) -> int:
    """The LSP character offset of code point ``index`` (0-based) on ``line``."""
    return _units(line[: max(index, 0)], encoding)


def from_units(line: str, character: int, encoding: str) -> int:
    """The code-point index on ``line`` of an LSP character offset; one inside a character rounds down,
    one past the end is the end."""
    if encoding == UTF32:
        return min(character, len(line))
    counted = 0
    for index, char in enumerate(line):
        width = _units(char, encoding)
        if counted + width > character:
            return index
        counted += width
    return len(line)


def _line(lines: Sequence[str], number: int) -> str:
    """The text of 0-based line ``number`` without its line break ('' past the end)."""
    if 0 <= number < len(lines):
        return lines[number].rstrip("\r\n")
    return ""


def position(lines: Sequence[str], line: int, column: int, encoding: str) -> types.Position:
    """The LSP position of a 1-based ``line`` and code-point ``column``."""
    number = max(line - 1, 0)
    return types.Position(number, to_units(_line(lines, number), column - 1, encoding))


def span_range(lines: Sequence[str], span: Span, encoding: str) -> types.Range:
    """The LSP range of a span. A span without an end covers the name or word at its start (at least one
    character), so a squiggle is never empty."""
    start = position(lines, span.line, span.column, encoding)
    if span.end_line > 0 and (span.end_line, span.end_column) > (span.line, span.column):
        return types.Range(start, position(lines, span.end_line, span.end_column, encoding))
    text = _line(lines, max(span.line - 1, 0))
    first = span.column - 1
    last = first
    while last < len(text) and (text[last].isalnum() or text[last] in "_."):  # names may be Japanese
        last += 1
    last = max(last, min(first + 1, len(text)))
    return types.Range(start, position(lines, span.line, last + 1, encoding))


def offset_at(lines: Sequence[str], pos: types.Position, encoding: str) -> tuple[int, int]:
    """The 1-based line and code-point column of an LSP position."""
    return pos.line + 1, from_units(_line(lines, pos.line), pos.character, encoding) + 1


def text_lines(text: str) -> list[str]:
    """The lines of ``text`` as LSP counts them (a final line break starts an empty last line)."""
    return text.split("\n")
