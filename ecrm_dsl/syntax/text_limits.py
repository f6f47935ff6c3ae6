"""Nesting limits of the text syntax, measured on the token stream before Lark parses anything.

Lark's LALR parser keeps its own stack, but turning the tree into AST nodes, and every check after it, recurses
once per level: 500 ``not`` or a hundred nested blocks would exhaust Python's recursion limit. A regular
expression finds only the tokens that nest (brackets, braces, ``not``) and those that end a run of ``not``;
strings and comments are skipped whole, so the scan costs far less than the parse it protects.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from ecrm_dsl.language.ast import Span
from ecrm_dsl.language.diagnostics import Diagnostic, DiagnosticError
from ecrm_dsl.language.i18n import tr
from ecrm_dsl.syntax.common import flatten_hint
from ecrm_dsl.syntax.limits import MAX_BRACE_NESTING, MAX_CONDITION_CHARS, MAX_CONDITION_NESTING, MAX_STEP_NESTING

Locate = Callable[[int, int], tuple[int, int]]

_TOKENS = re.compile(
    r'"(?:[^"\\\n]|\\.)*"'  # a string: skipped whole
    r"|#[^\n]*"  # a comment: skipped whole
    r"|\n|[()\[\]{},]"
    r"|(?<!\w)(?:not|and|or|where|if|elif|when)(?!\w)"
)
# Keywords that start a condition (and so end the one before): nesting does not continue past them. Inside a
# condition they are a syntax error, which Lark reports before anything recurses.
_RESETS = frozenset({"where", "if", "elif", "when"})


def check_text_nesting(text: str, file: str, locate: Locate, condition: bool = False) -> None:
    """Raise :class:`DiagnosticError` (E008, or E009 for a ``condition`` string) when ``text`` goes past a limit."""
    if condition and len(text) > MAX_CONDITION_CHARS:
        raise DiagnosticError([condition_too_long(len(text), Span(file, *locate(1, 1)))])
    line, line_start = 1, 0
    braces = 0
    depth, run = 0, 0  # open brackets (with the 'not' before each) and 'not' since the last and/or
    saved: list[tuple[int, int]] = []
    for match in _TOKENS.finditer(text):
        token = match.group()
        if token == "\n":
            line, line_start = line + 1, match.end()
            continue
        first = token[0]
        if first in '"#':
            continue
        if first in "([":
            saved.append((depth, run))
            depth, run = depth + run + 1, 0
        elif first in ")]":
            depth, run = saved.pop() if saved else (0, 0)
        elif token == "not":
            run += 1
        elif token in ("and", "or", ","):
            run = 0
        elif first in "{}":
            # Conditions never hold braces: whatever was open in one is a syntax error Lark will report.
            braces = braces + 1 if first == "{" else max(braces - 1, 0)
            depth, run, saved = 0, 0, []
            if braces > MAX_BRACE_NESTING:
                where = Span(file, *locate(line, match.start() - line_start + 1))
                raise DiagnosticError([_braces_too_deep(where)])
            continue
        elif token in _RESETS:
            depth, run, saved = 0, 0, []
            continue
        if depth + run > MAX_CONDITION_NESTING:
            where = Span(file, *locate(line, match.start() - line_start + 1))
            raise DiagnosticError([_condition_too_deep(where)])


def _condition_too_deep(where: Span) -> Diagnostic:
    return Diagnostic(
        "E008",
        tr(
            "the condition is nested more than {limit} levels deep "
            "(parentheses, lists, function calls and 'not' inside each other)",
            limit=MAX_CONDITION_NESTING,
        ),
        where,
        hint=tr("simplify it ('not not x' is x), or give parts of it a name as a segment and use in_segment(...)"),
    )


def _braces_too_deep(where: Span) -> Diagnostic:
    return Diagnostic(
        "E008",
        tr(
            "blocks are nested more than {limit} '{{' deep here; steps can be nested at most {steps} blocks deep",
            limit=MAX_BRACE_NESTING,
            steps=MAX_STEP_NESTING,
        ),
        where,
        hint=flatten_hint(),
    )


def condition_too_long(length: int, where: Span) -> Diagnostic:
    return Diagnostic(
        "E009",
        tr(
            "the condition is {length} characters long; the limit is {limit}",
            length=f"{length:,}",
            limit=f"{MAX_CONDITION_CHARS:,}",
        ),
        where,
        hint=tr("give parts of it a name as a segment and use in_segment(...), or use a customer tag"),
    )
