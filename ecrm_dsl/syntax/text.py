"""The text front end: Lark parses ``grammar/ecrm.lark`` and a transformer builds the AST with spans."""

from __future__ import annotations

import difflib
from collections.abc import Callable
from functools import lru_cache
from pathlib import Path
from typing import Any

from lark import Lark, Token, Transformer, v_args
from lark.exceptions import UnexpectedCharacters, UnexpectedEOF, UnexpectedInput, UnexpectedToken, VisitError
from lark.tree import Meta

from ecrm_dsl.language import ast
from ecrm_dsl.language.diagnostics import Diagnostic, DiagnosticError
from ecrm_dsl.language.fixes import replace_exact
from ecrm_dsl.language.i18n import lookup, n_, tr
from ecrm_dsl.language.targets import parse_amount, target_hint
from ecrm_dsl.language.values import (
    MAX_DURATION_DAYS,
    Duration,
    TimeOfDay,
    ValueError_,
    parse_percent,
    percent_hint,
    whole_number,
)
from ecrm_dsl.syntax.common import check_step_nesting, decode_string, make_step, parse_typed_literal
from ecrm_dsl.syntax.limits import MAX_CONDITION_CHARS
from ecrm_dsl.syntax.text_limits import check_text_nesting, condition_too_long

_PACKAGE_GRAMMAR = Path(__file__).resolve().parent.parent / "grammar"
_REPO_GRAMMAR = Path(__file__).resolve().parents[2] / "grammar"


def grammar_path() -> Path:
    """The grammar shipped inside the package (wheel), or the repository's ``grammar/`` (editable install)."""
    for folder in (_PACKAGE_GRAMMAR, _REPO_GRAMMAR):
        if (folder / "ecrm.lark").is_file():
            return folder / "ecrm.lark"
    raise FileNotFoundError("grammar/ecrm.lark is missing from the installation")


def build_parser(**extra: Any) -> Lark:
    """A parser of the grammar; ``extra`` Lark options (the formatter adds a comment callback) leave the
    language itself unchanged, so every parser accepts exactly the same files.

    Building the tables takes most of a one-file lint, so they come from the per-user cache when this grammar
    was built before; a parser with callbacks (which cannot be stored) is built each time."""
    grammar = grammar_path().read_text(encoding="utf-8")
    options: dict[str, Any] = {
        "parser": "lalr",
        "lexer": "contextual",
        "start": ["file", "condition"],
        "propagate_positions": True,
        "maybe_placeholders": True,
    }
    if extra:
        return Lark(grammar, **options, **extra)
    from ecrm_dsl.syntax import build_cache

    return build_cache.lark_parser(grammar, **options)


@lru_cache(maxsize=1)
def parser() -> Lark:
    return build_parser()


def parse_text(text: str, file: str) -> tuple[list[ast.SourceItem], list[Diagnostic]]:
    """Parse a whole ``.ecrm`` file into scenarios (and preset uses), with every finding of the construction."""
    tree = _parse(text, file, "file", _same_place)
    builder = _Builder(file, _same_place, text)
    scenarios = _transform(builder, tree)
    return scenarios, builder.diagnostics


def parse_condition(
    text: str, file: str, line: int = 1, column: int = 1, locate: Locate | None = None
) -> tuple[ast.Expr, list[Diagnostic]]:
    """Parse one condition written elsewhere: a YAML string starting at ``line``:``column``, or wherever
    ``locate`` maps each (line, column) of ``text`` to in the file."""
    locate = locate or _shifted(line, column)
    tree = _parse(text, file, "condition", locate)
    builder = _Builder(file, locate)
    expr = _transform(builder, tree)
    return expr, builder.diagnostics


def _transform(builder: _Builder, tree: Any) -> Any:
    try:
        return builder.transform(tree)
    except VisitError as exc:  # a bug in the builder must still surface as a finding, never a traceback
        raise DiagnosticError(
            [
                Diagnostic(
                    "E005",
                    tr("cannot build this construct: {reason}", reason=exc.orig_exc),
                    ast.Span(builder.source_name, 1, 1),
                )
            ]
        ) from exc


Locate = Callable[[int, int], tuple[int, int]]


def _same_place(line: int, column: int) -> tuple[int, int]:
    return line, column


def _shifted(first_line: int, first_column: int) -> Locate:
    """Text that starts at ``first_line``:``first_column`` of the file (only its first line is indented)."""

    def locate(line: int, column: int) -> tuple[int, int]:
        return line + first_line - 1, column + (first_column - 1 if line == 1 else 0)

    return locate


def _parse(text: str, file: str, start: str, locate: Locate) -> Any:
    check_text_nesting(text, file, locate, condition=start == "condition")
    try:
        return parser().parse(text, start=start)
    except UnexpectedInput as exc:
        line = exc.line if exc.line and exc.line > 0 else text.count("\n") + 1
        column = exc.column if exc.column and exc.column > 0 else 1
        token = getattr(exc, "token", None)
        if isinstance(exc, UnexpectedEOF) or (token is not None and token.type == "$END"):
            stripped = text.rstrip()
            line = stripped.count("\n") + 1
            column = len(stripped) - (stripped.rfind("\n") + 1) + 1
        span = ast.Span(file, *locate(line, column))
        if isinstance(token, Token) and set(getattr(exc, "expected", ())) == {"PERCENT"}:
            message, hint = _not_a_percentage(token, text)
            raise DiagnosticError([Diagnostic("E006", message, span, hint=hint)]) from None
        if set(getattr(exc, "expected", None) or getattr(exc, "allowed", None) or ()) == {"TARGET"}:
            position = exc.pos_in_stream or 0
            written = text[position:].split(None, 1)[0] if text[position:].strip() else ""
            message = tr("'{written}' is not a target; write a signed number and a unit", written=written)
            raise DiagnosticError([Diagnostic("E006", message, span, hint=target_hint())]) from None
        message, hint = _explain(exc, text, start)
        raise DiagnosticError([Diagnostic("E005", message, span, hint=hint)]) from None


_TOKEN_WORDS = {
    "NAME": n_("a name"),
    "STRING": n_('a quoted string ("...")'),
    "INT": n_("a whole number"),
    "DECIMAL": n_("a number"),
    "DURATION": n_("a duration such as 7d or 36h"),
    "TIME": n_("a time of day such as 10:00"),
    "PERCENT": n_("a percentage such as 10%"),
    "TARGET": n_("a target such as +3pt"),
    "MONEY": n_("an amount such as ¥3,000"),
    "DATE": n_("a date such as 2025-03-01"),
    "COMP_OP": n_("a comparison (== != < <= > >=)"),
    "ADD_OP": n_("'+' or '-'"),
    "MUL_OP": n_("'*' or '/'"),
    "STEP_INT": n_("a whole number"),
    "STEP_DURATION": n_("a duration such as 7d or 36h"),
    "LBRACE": "'{'",
    "RBRACE": "'}'",
    "LPAR": "'('",
    "RPAR": "')'",
    "LSQB": "'['",
    "RSQB": "']'",
    "COLON": "':'",
    "COMMA": "','",
    "EQUAL": "'='",
    "AT": "'@'",
    "DOT": "'.'",
    "$END": n_("the end of the file"),
}


def _describe(terminal: str) -> str:
    if terminal in _TOKEN_WORDS:
        return lookup(_TOKEN_WORDS[terminal])
    name = terminal.lower().lstrip("_")
    return f"'{name}'"


_TOKEN_KINDS = {
    "NAME": n_("name"),
    "STRING": n_("string"),
    "INT": n_("number"),
    "DECIMAL": n_("number"),
    "DURATION": n_("duration"),
    "TIME": n_("time"),
    "PERCENT": n_("percentage"),
    "TARGET": n_("target"),
    "MONEY": n_("amount"),
    "DATE": n_("date"),
    "COMP_OP": n_("comparison"),
    "STEP_INT": n_("number"),
    "STEP_DURATION": n_("duration"),
}


def _unexpected(token: Token) -> str:
    """``unexpected 'send'`` for a keyword or symbol, ``unexpected name 'coupon_code'`` for a value token (whole
    sentences: Japanese spaces a quoted symbol but not a kind word)."""
    kind = _TOKEN_KINDS.get(token.type)
    if kind is None:
        return tr("unexpected '{token}'", token=token)
    return tr("unexpected {token}", token=tr("{kind} '{token}'", kind=lookup(kind), token=token))


def _explain(exc: UnexpectedInput, text: str, start: str) -> tuple[str, str | None]:
    if isinstance(exc, UnexpectedCharacters):
        position = exc.pos_in_stream
        char = text[position] if position is not None and position < len(text) else "?"
        return (
            tr("unexpected character '{char}'", char=char),
            tr("check for a typo, a missing quote, or a full-width symbol (use ASCII : {{ }} = )"),
        )
    if isinstance(exc, (UnexpectedToken, UnexpectedEOF)):
        token = getattr(exc, "token", None)
        expected = sorted({_describe(t) for t in (exc.expected if hasattr(exc, "expected") else [])})
        shown = ", ".join(expected[:8]) + (" …" if len(expected) > 8 else "")
        hint = tr("expected {what}", what=shown) if shown else None
        if token is None or token.type == "$END":
            opened = _unclosed_brace(text)
            if opened is not None and start == "file":
                return tr("the file ended inside a block"), tr(
                    "add the '}}' that closes the block opened at line {line}", line=opened
                )
            return tr("the input ended too early"), hint
        if token.type == "ADD_OP" and {"STEP_INT", "STEP_DURATION"} & set(getattr(exc, "expected", ())):
            return tr("a step's timing cannot start with a sign"), tr(
                "write '1d after delivery_date', not '-1d before …'"
            )
        return _unexpected(token), hint
    return str(exc), None


def _not_a_percentage(token: Token, text: str) -> tuple[str, str | None]:
    """``holdout 10``, ``holdout 10 %`` or ``holdout 10pct``: the rest of the line is what was written."""
    start = token.start_pos or 0
    end = text.find("\n", start)
    written = text[start : end if end >= 0 else len(text)].split("#", 1)[0].strip()
    return tr("'{written}' is not a percentage", written=written), percent_hint(written)


def _unclosed_brace(text: str) -> int | None:
    """The line of the '{' that is never closed (strings and comments skipped).

    Indentation breaks the tie that counting alone cannot: a '}' that starts a line closes the block opened on a
    line indented as deeply, and blocks opened deeper than it were left open.
    """
    stack: list[tuple[int, int]] = []  # (line, indent of that line) of each open '{'
    left_open: list[int] = []
    for number, line_text in enumerate(_code_lines(text), start=1):
        indent = len(line_text) - len(line_text.lstrip(" "))
        for position, char in enumerate(line_text):
            if char == "{":
                stack.append((number, indent))
            elif char == "}" and stack:
                if not line_text[:position].strip():  # the '}' starts its line: match by indentation
                    while len(stack) > 1 and stack[-1][1] > indent:
                        left_open.append(stack.pop()[0])
                stack.pop()
    if left_open:
        return min(left_open)
    return stack[-1][0] if stack else None


def _code_lines(text: str) -> list[str]:
    """The lines of ``text`` with the contents of strings and comments blanked out."""
    lines = []
    for raw in text.split("\n"):
        out, in_string, escaped = [], False, False
        for char in raw:
            if in_string:
                out.append(" ")
                if escaped:
                    escaped = False
                elif char == "\\":
                    escaped = True
                elif char == '"':
                    in_string = False
            elif char == '"':
                in_string = True
                out.append(" ")
            elif char == "#":
                break
            else:
                out.append(char)
        lines.append("".join(out))
    return lines


@v_args(meta=True)
class _Builder(Transformer):
    """Turns the parse tree into AST nodes; literal problems are collected, not raised."""

    def __init__(self, file: str, locate: Locate, text: str | None = None):
        super().__init__()
        self.source_name = file
        self.locate = locate
        self.diagnostics: list[Diagnostic] = []
        # Offsets of line starts, to measure conditions of a whole file (a lone condition is measured before).
        self.line_starts = [0] + [i + 1 for i, c in enumerate(text) if c == "\n"] if text is not None else None

    def _measured(self, expr: ast.Expr) -> ast.Expr:
        """``expr``, with an E009 finding when it is longer than a condition may be."""
        span = expr.span
        if self.line_starts is None or not span.end_line or span.end_line > len(self.line_starts):
            return expr
        length = (self.line_starts[span.end_line - 1] + span.end_column) - (
            self.line_starts[span.line - 1] + span.column
        )
        if length > MAX_CONDITION_CHARS:
            self.diagnostics.append(condition_too_long(length, ast.Span(span.file, span.line, span.column)))
        return expr

    # ---- positions
    def _span(self, meta: Meta) -> ast.Span:
        if getattr(meta, "empty", True):
            return ast.Span(self.source_name, *self.locate(1, 1))
        return self._at(meta.line, meta.column, meta.end_line, meta.end_column)

    def _tok(self, token: Token) -> ast.Span:
        return self._at(token.line or 1, token.column or 1, token.end_line or 0, token.end_column or 0)

    def _at(self, line: int, column: int, end_line: int, end_column: int) -> ast.Span:
        start = self.locate(line, column)
        if not end_line:
            return ast.Span(self.source_name, *start)
        last_line, last_column = self.locate(end_line, max(end_column - 1, 1))  # the end is one past the last
        return ast.Span(self.source_name, *start, last_line, last_column + 1)

    def _duration(self, token: Token) -> Duration:
        try:
            return Duration.parse(str(token))
        except ValueError_ as exc:
            self.diagnostics.append(Diagnostic("E006", str(exc), self._tok(token), hint=exc.hint))
            return Duration(0)

    def _whole(self, token: Token, maximum: int | None = None) -> int:
        """A whole-number token, with E006 (and 0) past ``maximum``."""
        try:
            return whole_number(str(token), maximum=maximum) if maximum else whole_number(str(token))
        except ValueError_ as exc:
            self.diagnostics.append(Diagnostic("E006", str(exc), self._tok(token), hint=exc.hint))
            return 0

    def _time(self, token: Token | None) -> TimeOfDay | None:
        if token is None:
            return None
        try:
            return TimeOfDay.parse(str(token))
        except ValueError_ as exc:
            self.diagnostics.append(Diagnostic("E006", str(exc), self._tok(token), hint=exc.hint))
            return None

    # ---- files and scenarios
    def file(self, meta: Meta, children: list[ast.SourceItem | None]) -> list[ast.SourceItem]:
        return [item for item in children if item is not None]

    def preset_use(self, meta: Meta, children: list[Any]) -> ast.PresetUse:
        name, title, preset, *args = children
        return ast.PresetUse(
            str(name),
            decode_string(str(title)) if title is not None else str(name),
            str(preset),
            tuple(a for a in args if a is not None),
            self._span(meta),
        )

    def scenario(self, meta: Meta, children: list[Any]) -> ast.Scenario | None:
        """The scenario, or None when it lacks a kind or trigger: like a YAML shape error, that stops its checks."""
        name, title, *items = children
        fields: dict[str, Any] = {"goals": [], "exits": [], "steps": []}
        trigger = None
        for tag, value, *where in items:
            item_span = where[0] if where else getattr(value, "span", self._span(meta))
            if tag == "trigger":
                if trigger is not None:
                    self.diagnostics.append(
                        Diagnostic(
                            "E100",
                            tr("a scenario has exactly one entry trigger ('when ...')"),
                            value.span,
                            hint=tr("split the scenario in two, or combine the conditions in one 'where'"),
                        )
                    )
                    continue  # the first trigger stands; the others are reported
                trigger = value
            elif tag in ("goals", "exits", "steps"):
                fields[tag].append(value)
            elif tag in fields:
                self.diagnostics.append(
                    Diagnostic("E100", tr("'{key}' is given twice", key=tag), item_span, hint=tr("keep one of them"))
                )
            else:
                fields[tag] = value
        span = self._span(meta)
        if trigger is None:
            self.diagnostics.append(
                Diagnostic(
                    "E100",
                    tr("scenario '{name}' has no entry trigger", name=name),
                    self._tok(name),
                    hint=tr("add a 'when ...' line, e.g. 'when order.placed where customer.order_count == 1'"),
                )
            )
        if "kind" not in fields:
            self.diagnostics.append(
                Diagnostic(
                    "E100",
                    tr("scenario '{name}' has no kind", name=name),
                    self._tok(name),
                    hint=tr("add 'kind sell' (coupons, sales) or 'kind nurture' (stories, after-care)"),
                )
            )
        if trigger is None or "kind" not in fields:
            return None
        check_step_nesting(tuple(fields["steps"]), self.diagnostics)
        return ast.Scenario(
            id=str(name),
            title=decode_string(str(title)) if title is not None else str(name),
            kind=fields["kind"],
            trigger=trigger,
            steps=tuple(fields["steps"]),
            owner=fields.get("owner"),
            description=fields.get("description"),
            hypothesis=fields.get("hypothesis"),
            goals=tuple(fields["goals"]),
            exits=tuple(fields["exits"]),
            reentry=fields.get("reentry", ast.Reentry()),
            holdout=fields.get("holdout", 0),
            backfill=fields.get("backfill"),
            span=span,
        )

    def kind(self, meta: Meta, children: list[Token]) -> tuple[str, str, ast.Span]:
        value = str(children[0])
        if value not in ("sell", "nurture"):
            span = self._tok(children[0])
            close = difflib.get_close_matches(value, ["sell", "nurture"], n=1)
            self.diagnostics.append(
                Diagnostic(
                    "E100",
                    tr("kind must be 'sell' or 'nurture', not '{value}'", value=value),
                    span,
                    hint=tr("売るCRM is 'sell', 育てるCRM is 'nurture'"),
                    fix=replace_exact(span, value, close[0]) if close else None,
                )
            )
        return ("kind", value, self._span(meta))

    def owner(self, meta: Meta, children: list[Token]) -> tuple[str, str, ast.Span]:
        return ("owner", decode_string(str(children[0])), self._span(meta))

    def description(self, meta: Meta, children: list[Token]) -> tuple[str, str, ast.Span]:
        return ("description", decode_string(str(children[0])), self._span(meta))

    def hypothesis(self, meta: Meta, children: list[Any]) -> tuple[str, ast.Hypothesis]:
        kpi, statement, target = children
        return ("hypothesis", ast.Hypothesis(str(kpi), decode_string(str(statement)), self._span(meta), target))

    def hypothesis_target(self, meta: Meta, children: list[Token]) -> ast.HypothesisTarget | None:
        amount, within = children
        try:
            parsed = parse_amount(str(amount))
        except ValueError_ as exc:
            self.diagnostics.append(Diagnostic("E006", str(exc), self._tok(amount), hint=exc.hint))
            return None
        return ast.HypothesisTarget(parsed, self._duration(within), self._span(meta))

    def holdout(self, meta: Meta, children: list[Token]) -> tuple[str, int, ast.Span]:
        try:
            return ("holdout", parse_percent(str(children[0])), self._span(meta))
        except ValueError_ as exc:
            self.diagnostics.append(Diagnostic("E006", str(exc), self._tok(children[0]), hint=exc.hint))
            return ("holdout", 0, self._span(meta))

    def backfill(self, meta: Meta, children: list[Token]) -> tuple[str, Duration, ast.Span]:
        return ("backfill", self._duration(children[0]), self._span(meta))

    def reentry_never(self, meta: Meta, children: list[Any]) -> tuple[str, ast.Reentry]:
        return ("reentry", ast.Reentry("never", span=self._span(meta)))

    def reentry_always(self, meta: Meta, children: list[Any]) -> tuple[str, ast.Reentry]:
        return ("reentry", ast.Reentry("always", span=self._span(meta)))

    def reentry_cooldown(self, meta: Meta, children: list[Token]) -> tuple[str, ast.Reentry]:
        return ("reentry", ast.Reentry("cooldown", self._duration(children[0]), span=self._span(meta)))

    # ---- entry
    def trigger(self, meta: Meta, children: list[ast.Trigger]) -> tuple[str, ast.Trigger]:
        return ("trigger", children[0])

    def event_name(self, meta: Meta, children: list[Token]) -> str:
        return ".".join(str(c) for c in children)

    def where(self, meta: Meta, children: list[ast.Expr]) -> ast.Expr:
        return self._measured(children[0])

    def event_trigger(self, meta: Meta, children: list[Any]) -> ast.EventTrigger:
        event, where = children
        return ast.EventTrigger(event, where, self._span(meta))

    def segment_trigger(self, meta: Meta, children: list[Any]) -> ast.SegmentTrigger:
        name, where = children
        return ast.SegmentTrigger(str(name), where, self._span(meta))

    def date_offset(self, meta: Meta, children: list[Token]) -> Duration:
        amount = self._duration(children[0])
        return Duration(-amount.seconds) if str(children[1]) == "before" else amount

    def date_trigger(self, meta: Meta, children: list[Any]) -> ast.DateTrigger:
        offset, ref, at, yearly, where = children
        return ast.DateTrigger(ref.dotted, offset or Duration(0), at, yearly is not None, where, self._span(meta))

    def schedule_trigger(self, meta: Meta, children: list[Any]) -> ast.ScheduleTrigger:
        cron, audience, where = children
        return ast.ScheduleTrigger(decode_string(str(cron)), str(audience), where, self._span(meta))

    # ---- goals and exit rules
    def goal(self, meta: Meta, children: list[Any]) -> tuple[str, ast.Goal]:
        event, match, within, where = children
        goal = ast.Goal(event, match or "any", self._duration(within) if within else None, where, self._span(meta))
        return ("goals", goal)

    def match_repeat(self, meta: Meta, children: list[Any]) -> str:
        return "repeat"

    def match_same(self, meta: Meta, children: list[Token]) -> str:
        return f"same:{children[0]}"

    def same(self, meta: Meta, children: list[Token]) -> str:
        return str(children[0])

    def stop_on(self, meta: Meta, children: list[Any]) -> tuple[str, ast.ExitRule]:
        event, same, where = children
        return ("exits", ast.ExitRule(event, where, same, self._span(meta)))

    def stop_when(self, meta: Meta, children: list[ast.Expr]) -> tuple[str, ast.ExitRule]:
        return ("exits", ast.ExitRule(None, self._measured(children[0]), span=self._span(meta)))

    # ---- steps
    def label(self, meta: Meta, children: list[Token]) -> str:
        return str(children[0])

    def step(self, meta: Meta, children: list[Any]) -> Any:
        label, (delay, guard, action) = children
        built = make_step(label, action, delay, guard, self._span(meta), self.diagnostics)
        return ("steps", built)

    def step_body(self, meta: Meta, children: list[Any]) -> tuple[Any, Any, Any]:
        raise AssertionError("step_body is always aliased")

    def timed(self, meta: Meta, children: list[Any]) -> tuple[Any, Any, Any]:
        timing, guard, action = children
        return (timing, guard, action)

    def guarded(self, meta: Meta, children: list[Any]) -> tuple[Any, Any, Any]:
        guard, action = children
        return (None, guard, action)

    def plain(self, meta: Meta, children: list[Any]) -> tuple[Any, Any, Any]:
        return (None, None, children[0])

    def pure_wait(self, meta: Meta, children: list[Any]) -> tuple[Any, Any, Any]:
        return (children[0], None, ast.Wait(span=self._span(meta)))

    def pure_wait_short(self, meta: Meta, children: list[Token]) -> tuple[Any, Any, Any]:
        timing = ast.Timing("previous", self._duration(children[0]), span=self._span(meta))
        return (timing, None, ast.Wait(span=self._span(meta)))

    def guard(self, meta: Meta, children: list[ast.Expr]) -> ast.Expr:
        return self._measured(children[0])

    # ---- timing
    def at(self, meta: Meta, children: list[Token]) -> TimeOfDay | None:
        return self._time(children[0])

    def business(self, meta: Meta, children: list[Any]) -> bool:
        return True

    def t_day(self, meta: Meta, children: list[Any]) -> ast.Timing:
        days, at, business = children
        return ast.Timing(
            "entry",
            Duration(self._whole(days, MAX_DURATION_DAYS) * 86400),
            at=at,
            business_day=bool(business),
            span=self._span(meta),
        )

    def t_after(self, meta: Meta, children: list[Any]) -> ast.Timing:
        amount, at, business = children
        return ast.Timing("previous", self._duration(amount), at=at, business_day=bool(business), span=self._span(meta))

    def t_anchor(self, meta: Meta, children: list[Any]) -> ast.Timing:
        amount, direction, anchor, at, business = children
        offset = self._duration(amount)
        if str(direction) == "before":
            offset = Duration(-offset.seconds)
        return ast.Timing(str(anchor), offset, at=at, business_day=bool(business), span=self._span(meta))

    def t_business_days(self, meta: Meta, children: list[Any]) -> ast.Timing:
        count, direction, anchor, at = children
        days = self._whole(count, MAX_DURATION_DAYS) * (-1 if str(direction) == "before" else 1)
        return ast.Timing(str(anchor), business_days=days, at=at, span=self._span(meta))

    def t_on(self, meta: Meta, children: list[Any]) -> ast.Timing:
        anchor, at, business = children
        return ast.Timing(str(anchor), at=at, business_day=bool(business), span=self._span(meta))

    def t_until(self, meta: Meta, children: list[Any]) -> ast.Timing:
        weekday, time, business = children
        if weekday is None and time is None:
            self.diagnostics.append(
                Diagnostic(
                    "E005",
                    tr("'until' needs a weekday, a time of day, or both"),
                    self._span(meta),
                    hint=tr("e.g. 'until 10:00' or 'until monday 10:00'"),
                )
            )
        return ast.Timing(
            "previous",
            until_time=self._time(time) or (TimeOfDay(0, 0) if weekday else None),
            until_weekday=str(weekday) if weekday else None,
            business_day=bool(business),
            span=self._span(meta),
        )

    # ---- actions
    def send(self, meta: Meta, children: list[Any]) -> ast.Send:
        channel, template, fallback, params = children
        return ast.Send(str(channel), str(template), tuple(fallback or ()), tuple(params or ()), self._span(meta))

    def fallback(self, meta: Meta, children: list[Token]) -> list[str]:
        return [str(c) for c in children]

    def params(self, meta: Meta, children: list[Any]) -> list[ast.Param]:
        return [c for c in children if c is not None]

    def param(self, meta: Meta, children: list[Any]) -> ast.Param:
        name, value = children
        return ast.Param(str(name), value, self._span(meta))

    def update(self, meta: Meta, children: list[Any]) -> ast.Update:
        assignments = tuple(v for k, v in children if k == "set")
        add = tuple(v for k, v in children if k == "tag")
        remove = tuple(v for k, v in children if k == "untag")
        return ast.Update(assignments, add, remove, self._span(meta))

    def assign(self, meta: Meta, children: list[Any]) -> tuple[str, ast.Assignment]:
        ref, value = children
        return ("set", ast.Assignment(ref.dotted, value, self._span(meta)))

    def add_tag(self, meta: Meta, children: list[Token]) -> tuple[str, str]:
        return ("tag", decode_string(str(children[0])))

    def remove_tag(self, meta: Meta, children: list[Token]) -> tuple[str, str]:
        return ("untag", decode_string(str(children[0])))

    def exit(self, meta: Meta, children: list[Any]) -> ast.Exit:
        reason = children[0]
        return ast.Exit(decode_string(str(reason)) if reason is not None else None, self._span(meta))

    def wait_for(self, meta: Meta, children: list[Any]) -> ast.Wait:
        event, same, where, timeout, on_event, on_timeout = children
        return ast.Wait(
            event,
            where,
            self._duration(timeout) if timeout else None,
            tuple(on_event or ()),
            tuple(on_timeout or ()),
            same,
            self._span(meta),
        )

    def on_event(self, meta: Meta, children: list[Any]) -> list[ast.Step]:
        return [step for _, step in children]

    on_timeout = on_event

    def branch(self, meta: Meta, children: list[Any]) -> ast.Branch:
        condition, *rest = children
        self._measured(condition)
        first_steps = [c[1] for c in rest if isinstance(c, tuple) and c[0] == "steps"]
        arms = [ast.BranchArm(condition, tuple(first_steps), self._span(meta))]
        arms.extend(c for c in rest if isinstance(c, ast.BranchArm))
        return ast.Branch(tuple(arms), self._span(meta))

    def elif_(self, meta: Meta, children: list[Any]) -> ast.BranchArm:
        condition, *steps = children
        self._measured(condition)
        return ast.BranchArm(condition, tuple(s for _, s in steps), self._span(meta))

    def else_(self, meta: Meta, children: list[Any]) -> ast.BranchArm | None:
        if not children or children == [None]:
            return ast.BranchArm(None, (), self._span(meta))
        return ast.BranchArm(None, tuple(s for _, s in children if s is not None), self._span(meta))

    def split(self, meta: Meta, children: list[ast.Variant]) -> ast.Split:
        return ast.Split(tuple(children), self._span(meta))

    def variant(self, meta: Meta, children: list[Any]) -> ast.Variant:
        name, weight, *steps = children
        return ast.Variant(str(name), self._whole(weight), tuple(s for _, s in steps), self._span(meta))

    # ---- conditions
    def or_(self, meta: Meta, children: list[ast.Expr]) -> ast.Or:
        return ast.Or(tuple(children), self._span(meta))

    def and_(self, meta: Meta, children: list[ast.Expr]) -> ast.And:
        return ast.And(tuple(children), self._span(meta))

    def negate(self, meta: Meta, children: list[ast.Expr]) -> ast.Not:
        return ast.Not(children[0], self._span(meta))

    def compare(self, meta: Meta, children: list[Any]) -> ast.Compare:
        left, op, right = children
        return ast.Compare(str(op), left, right, self._span(meta))

    def in_list(self, meta: Meta, children: list[Any]) -> ast.InList:
        operand, *items = children
        return ast.InList(operand, tuple(i for i in items if i is not None), False, self._span(meta))

    def not_in_list(self, meta: Meta, children: list[Any]) -> ast.InList:
        operand, *items = children
        return ast.InList(operand, tuple(i for i in items if i is not None), True, self._span(meta))

    def between(self, meta: Meta, children: list[ast.Expr]) -> ast.Between:
        operand, low, high = children
        return ast.Between(operand, low, high, negated=False, span=self._span(meta))

    def not_between(self, meta: Meta, children: list[ast.Expr]) -> ast.Between:
        operand, low, high = children
        return ast.Between(operand, low, high, negated=True, span=self._span(meta))

    def is_null(self, meta: Meta, children: list[ast.Expr]) -> ast.IsNull:
        return ast.IsNull(children[0], False, self._span(meta))

    def is_not_null(self, meta: Meta, children: list[ast.Expr]) -> ast.IsNull:
        return ast.IsNull(children[0], True, self._span(meta))

    def arith(self, meta: Meta, children: list[Any]) -> ast.Arith:
        left, op, right = children
        return ast.Arith(str(op), left, right, self._span(meta))

    def ref(self, meta: Meta, children: list[Token]) -> ast.Ref:
        return ast.Ref(tuple(str(c) for c in children), self._span(meta))

    def call(self, meta: Meta, children: list[Any]) -> ast.Call:
        name, *given = children
        given = [a for a in given if a is not None]
        keywords = tuple(a for a in given if isinstance(a, ast.Keyword))
        args = tuple(a for a in given if not isinstance(a, ast.Keyword))
        first_keyword = next((i for i, a in enumerate(given) if isinstance(a, ast.Keyword)), len(given))
        late = next((a for a in given[first_keyword:] if not isinstance(a, ast.Keyword)), None)
        if late is not None:
            self.diagnostics.append(
                Diagnostic(
                    "E005",
                    tr("{name}(): a positional argument cannot follow a keyword argument", name=name),
                    late.span,
                    hint=tr("write the positional arguments first, or name this one too"),
                )
            )
        return ast.Call(str(name), args, self._span(meta), keywords=keywords)

    def keyword(self, meta: Meta, children: list[Any]) -> ast.Keyword:
        name, value = children
        return ast.Keyword(str(name), value, self._span(meta))

    # ---- literals
    def _literal(self, kind: str, token: Token) -> ast.Literal:
        return parse_typed_literal(kind, str(token), self._tok(token), self.diagnostics)

    def string(self, meta: Meta, children: list[Token]) -> ast.Literal:
        return ast.Literal(decode_string(str(children[0])), "string", self._tok(children[0]))

    def int(self, meta: Meta, children: list[Token]) -> ast.Literal:
        return self._literal("int", children[0])

    def decimal(self, meta: Meta, children: list[Token]) -> ast.Literal:
        return self._literal("decimal", children[0])

    def money(self, meta: Meta, children: list[Token]) -> ast.Literal:
        return self._literal("money", children[0])

    def duration(self, meta: Meta, children: list[Token]) -> ast.Literal:
        return self._literal("duration", children[0])

    def time(self, meta: Meta, children: list[Token]) -> ast.Literal:
        return self._literal("time", children[0])

    def date(self, meta: Meta, children: list[Token]) -> ast.Literal:
        return self._literal("date", children[0])

    def true(self, meta: Meta, children: list[Any]) -> ast.Literal:
        return ast.Literal(True, "bool", self._span(meta))

    def false(self, meta: Meta, children: list[Any]) -> ast.Literal:
        return ast.Literal(False, "bool", self._span(meta))

    def null(self, meta: Meta, children: list[Any]) -> ast.Literal:
        return ast.Literal(None, "null", self._span(meta))
