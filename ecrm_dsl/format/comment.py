"""A source comment, as both syntaxes' scanners report it."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Comment:
    """A ``#`` comment: 1-based line and column, its text (trailing blanks dropped), and whether it has a line of
    its own (only blanks before it) or ends a line of code."""

    line: int
    column: int
    text: str
    own_line: bool
