"""Comments read straight from source text, for suppression directives (``# ecrm: ignore[...]``).

The parsers drop comments, so this is a small lexer of its own for each syntax. It only has to know where a
``#`` starts a comment and where it is text: inside a quoted string (both syntaxes), inside a YAML block scalar
(``|`` / ``>``), or glued to a YAML plain scalar (``url#frag``), a ``#`` is not a comment.
"""

from __future__ import annotations

import re
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Comment:
    """One comment: where its ``#`` is (1-based line and column) and its text up to the end of the line."""

    line: int
    column: int
    text: str
    own_line: bool  # only whitespace before it on its line


def find_comments(text: str, suffix: str) -> list[Comment]:
    """The comments of a source file, by its suffix: ``.ecrm`` (text syntax) or ``.yaml`` / ``.yml``."""
    if suffix == ".ecrm":
        return text_comments(text)
    if suffix in (".yaml", ".yml"):
        return yaml_comments(text)
    return []


def _lines(text: str) -> list[str]:
    """Lines as both parsers count them: split at ``\\n`` only, a trailing ``\\r`` dropped."""
    return [line.removesuffix("\r") for line in text.split("\n")]


def _comment(number: int, line: str, start: int) -> Comment:
    return Comment(number, start + 1, line[start:], not line[:start].strip())


def text_comments(text: str) -> list[Comment]:
    """Comments of the text syntax: ``#`` to the end of the line, outside ``"…"`` strings (which hold no newline)."""
    found = []
    for number, line in enumerate(_lines(text), 1):
        in_string = False
        i = 0
        while i < len(line):
            char = line[i]
            if in_string:
                if char == "\\":
                    i += 1
                elif char == '"':
                    in_string = False
            elif char == '"':
                in_string = True
            elif char == "#":
                found.append(_comment(number, line, i))
                break
            i += 1
    return found


_BLOCK_HEADER = re.compile(r"[|>](?:[1-9][+-]?|[+-][1-9]?)?(?=[ \t]|$)")
_DOCUMENT_MARKER = re.compile(r"(?:---|\.\.\.)(?=[ \t]|$)")


@dataclass
class _Block:
    """A block scalar whose header has been read: its parent's indentation and its content's, once known."""

    parent: int
    content: int | None


@dataclass
class _YamlState:
    """What carries over from one line to the next: an open quoted scalar, a block scalar, flow nesting."""

    quote: str | None = None
    block: _Block | None = None
    flow: int = 0


def yaml_comments(text: str) -> list[Comment]:
    """Comments of a YAML file.

    A ``#`` starts a comment at the start of a line or after whitespace, outside quoted scalars (which may span
    lines) and outside the content lines of block scalars.
    """
    state = _YamlState()
    found: list[Comment] = []
    for number, line in enumerate(_lines(text), 1):
        if state.block is not None and _in_block(state.block, line):
            continue
        state.block = None
        comment = _scan_yaml_line(line, state)
        if comment is not None:
            found.append(_comment(number, line, comment))
    return found


def _in_block(block: _Block, line: str) -> bool:
    """Whether ``line`` belongs to the block scalar (blank lines do; the first content line sets the indentation)."""
    if not line.strip():
        return True
    indent = len(line) - len(line.lstrip(" "))
    if block.content is None:
        if indent <= block.parent:
            return False
        block.content = indent
    return indent >= block.content


def _scan_yaml_line(line: str, state: _YamlState) -> int | None:
    """Walk one line, updating ``state``; return the index of the ``#`` that starts a comment, if any."""
    i = 0
    at_start = True  # a new node may begin here (quoted scalar, block scalar, flow collection)
    comment_ok = True  # a '#' here starts a comment: after whitespace, or (as PyYAML scans) right after a token
    after_quote = False  # a quoted scalar or flow collection just ended, so ':' is an indicator
    parent = -1  # indentation of the node a block scalar here would belong to
    key = -1  # column where the latest node on this line began
    if state.quote is None:
        marker = _DOCUMENT_MARKER.match(line)
        if marker:
            i = marker.end()
    while i < len(line):
        char = line[i]
        if state.quote == '"':
            if char == "\\":
                i += 2
                continue
            comment_ok = char == '"'
            if char == '"':
                state.quote, at_start, after_quote = None, False, True
            i += 1
            continue
        if state.quote == "'":
            if char == "'" and line[i + 1 : i + 2] == "'":
                i += 2
                continue
            comment_ok = char == "'"
            if char == "'":
                state.quote, at_start, after_quote = None, False, True
            i += 1
            continue
        if char in " \t":
            comment_ok = True
            i += 1
            continue
        if char == "#" and comment_ok:
            return i
        following = line[i + 1 : i + 2]
        spaced = following in ("", " ", "\t")
        was_quote, comment_ok, after_quote = after_quote, False, False
        if at_start and char in "\"'":
            state.quote, key = char, i
        elif at_start and spaced and (char == "?" or (char == "-" and not state.flow)):
            parent = i
        elif char == ":" and (spaced or was_quote or (state.flow and following in ",[]{}")):
            parent, at_start = (key if key >= 0 else i), True  # no key on this line: an explicit ``: value``
        elif char in "[{" and (at_start or state.flow):
            state.flow, at_start, key, comment_ok = state.flow + 1, True, i, True
        elif char in "]}" and state.flow:
            state.flow, at_start, after_quote, comment_ok = state.flow - 1, False, True, True
        elif char == "," and state.flow:
            at_start, comment_ok = True, True
        elif char in "|>" and at_start and not state.flow and (header := _BLOCK_HEADER.match(line, i)):
            if parent < 0:  # the header starts its line: its parent is less indented than the line
                parent = len(line) - len(line.lstrip(" ")) - 1
            digits = [c for c in header.group() if c.isdigit()]
            state.block = _Block(parent, max(parent, 0) + int(digits[0]) if digits else None)
            i = header.end()
            continue
        elif char in "&!" and at_start:  # anchor or tag: the node itself follows
            while i < len(line) and line[i] not in " \t":
                i += 1
            continue
        else:  # a plain scalar (or an alias)
            if at_start:
                key = i
            at_start = False
        i += 1
    return None
