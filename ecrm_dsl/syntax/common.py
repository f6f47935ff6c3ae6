"""Construction rules shared by both front ends, so YAML and text build identical trees."""

from __future__ import annotations

import json

from ecrm_dsl.language import ast
from ecrm_dsl.language.diagnostics import Diagnostic
from ecrm_dsl.language.i18n import tr
from ecrm_dsl.language.values import Duration, Money, TimeOfDay, ValueError_, parse_date, whole_number
from ecrm_dsl.syntax.limits import MAX_STEP_NESTING


def step_id(label: str | None, action: ast.Action) -> str | None:
    """A step's id: its label, or for a send step the template name; None when it must be written."""
    if label:
        return label
    if isinstance(action, ast.Send):
        return action.template
    return None


def make_step(
    label: str | None,
    action: ast.Action,
    delay: ast.Timing | None,
    guard: ast.Expr | None,
    span: ast.Span,
    diagnostics: list[Diagnostic],
) -> ast.Step:
    resolved = step_id(label, action)
    if resolved is None:
        kind = type(action).__name__.lower()
        diagnostics.append(
            Diagnostic(
                "E101",
                tr("this {kind} step has no id", kind=kind),
                span,
                hint=tr(
                    "give it a stable id (text: '@name' before the step; YAML: 'id: name'); "
                    "ids let deployed customers move to a new version of the scenario"
                ),
            )
        )
        resolved = f"<{kind}@{span.line}:{span.column}>"
    return ast.Step(resolved, action, delay, guard, id_explicit=label is not None, span=span)


def parse_typed_literal(kind: str, raw: str, span: ast.Span, diagnostics: list[Diagnostic]) -> ast.Literal:
    """Build a literal of a known kind from its source spelling, reporting malformed values."""
    try:
        if kind == "int":
            return ast.Literal(whole_number(raw), "int", span)
        if kind == "decimal":
            return ast.Literal(normalise_decimal(raw), "decimal", span)
        if kind == "string":
            return ast.Literal(raw, "string", span)
        if kind == "money":
            return ast.Literal(Money.parse(raw), "money", span)
        if kind == "duration":
            return ast.Literal(Duration.parse(raw), "duration", span)
        if kind == "time":
            return ast.Literal(TimeOfDay.parse(raw), "time", span)
        if kind == "date":
            return ast.Literal(parse_date(raw), "date", span)
    except ValueError_ as exc:
        diagnostics.append(Diagnostic("E006", str(exc), span, hint=exc.hint))
        return ast.Literal(None, kind, span)  # keeps its type, so no second finding about a null follows
    raise AssertionError(f"unknown literal kind {kind}")


def flatten_hint() -> str:
    return tr("flatten nested ifs into one branch with elif, or move the inner steps into a scenario of their own")


def check_step_nesting(steps: tuple[ast.Step, ...], diagnostics: list[Diagnostic]) -> None:
    """Report the first block that nests steps deeper than the limit (the same rule in both syntaxes).

    The walk keeps its own stack, so it is safe however deep the front end let the tree grow.
    """
    pending = [(step, 1) for step in reversed(steps)]
    while pending:
        step, depth = pending.pop()
        blocks = ast.child_step_lists(step.action)
        if blocks and depth > MAX_STEP_NESTING:
            diagnostics.append(
                Diagnostic(
                    "E008",
                    tr(
                        "steps are nested more than {limit} blocks deep here "
                        "(branch, split and wait for inside each other)",
                        limit=MAX_STEP_NESTING,
                    ),
                    step.span,
                    hint=flatten_hint(),
                )
            )
            return
        pending.extend((child, depth + 1) for block in reversed(blocks) for child in reversed(block))


def decode_string(raw: str) -> str:
    """The value of a double-quoted text-syntax string (JSON escapes)."""
    try:
        return str(json.loads(raw))
    except ValueError:
        # Lone backslash escapes such as \q: keep the text as written rather than fail.
        return raw[1:-1]


def literal_value_text(literal: ast.Literal) -> str:
    """The text-syntax spelling of a literal; the inverse of parsing it."""
    value = literal.value
    if literal.type == "string":
        return json.dumps(value, ensure_ascii=False)
    if literal.type == "bool":
        return "true" if value else "false"
    if literal.type == "null":
        return "null"
    return str(value)


def normalise_decimal(text: str) -> str:
    """``1.50`` → ``1.5``, keeping one decimal digit (``10.0``), so both syntaxes spell decimals alike."""
    if "." not in text or "e" in text.lower():
        return text
    whole, fraction = text.split(".", 1)
    return f"{whole}.{fraction.rstrip('0') or '0'}"
