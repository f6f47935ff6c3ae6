"""Type checking of conditions: names resolve (E204, E206), operands agree (E301, E302), results are boolean (E303)."""

from __future__ import annotations

import difflib

from ecrm_dsl.checks.scope import Scope
from ecrm_dsl.conditions.normal import arith_type
from ecrm_dsl.language import ast, catalog
from ecrm_dsl.language.diagnostics import Diagnostic, Fix
from ecrm_dsl.language.fixes import replace_exact, replace_head
from ecrm_dsl.language.i18n import lookup, n_, tr
from ecrm_dsl.language.values import Duration
from ecrm_dsl.language.visit import NodeVisitor
from ecrm_dsl.syntax.text_printer import expr_text

_LITERAL_TYPES = {
    "int": "int",
    "decimal": "decimal",
    "string": "string",
    "bool": "bool",
    "null": "null",
    "money": "money",
    "duration": "duration",
    "date": "date",
    "time": "time",
}
_ORDERED = {"int", "decimal", "money", "duration", "date", "datetime", "time", "string"}
# In English, as messages are written (an article where English needs one); type_words() gives the reader's
# language, where each is a noun of its own (整数, 金額 …) that a whole-sentence message places.
_TYPE_WORDS = {
    "int": n_("a whole number"),
    "decimal": n_("a number"),
    "money": n_("an amount of money"),
    "string": n_("text"),
    "bool": n_("true/false"),
    "date": n_("a date"),
    "datetime": n_("a date and time"),
    "duration": n_("a duration"),
    "time": n_("a time of day"),
    "list": n_("a list"),
    "null": "null",
}


def _family(type_: str) -> str:
    if type_ in catalog.NUMERIC:
        return "number"
    if type_ in ("date", "datetime"):
        return "date"
    return type_


def _suggest(name: str, options: list[str]) -> str | None:
    close = difflib.get_close_matches(name, options, n=1, cutoff=0.6)
    return close[0] if close else None


class TypeChecker(NodeVisitor):
    """Infers the type of an expression, reporting every problem; None means "unknown, already reported"."""

    def __init__(self, scope: Scope, findings: list[Diagnostic]):
        self.scope = scope
        self.findings = findings

    def check_condition(self, expr: ast.Expr) -> None:
        type_ = self.infer(expr)
        if type_ is not None and type_ != "bool":
            self.findings.append(
                Diagnostic(
                    "E303",
                    tr(
                        "this {role} is {type}, not true/false",
                        role=lookup(self.scope.role),
                        type=type_words(type_),
                    ),
                    expr.span,
                    hint=tr("compare it, e.g. 'customer.order_count >= 2'"),
                )
            )

    def _error(self, code: str, message: str, span: ast.Span, hint: str | None = None, fix: Fix | None = None) -> None:
        self.findings.append(Diagnostic(code, message, span, hint=hint, fix=fix))

    # ---- names
    def resolve(self, ref: ast.Ref) -> str | None:
        path = ref.path
        schema = self.scope.schema
        if path[0] == "customer" and len(path) == 2:
            attribute = schema.attributes.get(path[1])
            if attribute is None:
                close = _suggest(path[1], sorted(schema.attributes))
                self._error(
                    "E204",
                    tr("unknown attribute customer.{name}", name=path[1]),
                    ref.span,
                    _did_you_mean(close) if close else tr("declare it in the customer schema's attributes"),
                    _rename(ref, f"customer.{close}") if close else None,
                )
                return None
            return attribute.type
        if path[0] == "event" and len(path) == 2:
            if self.scope.event is None:
                self._error(
                    "E204",
                    tr(
                        "event.{property} is not available here: this {role} has no event",
                        property=path[1],
                        role=lookup(self.scope.role),
                    ),
                    ref.span,
                    hint=tr("only event-triggered scenarios, goals, stop rules and waits have one"),
                )
                return None
            properties = schema.events.get(self.scope.event)
            if properties is None:
                return None  # the unknown event itself is reported by the reference checks
            if path[1] not in properties:
                close = _suggest(path[1], sorted(properties))
                self._error(
                    "E204",
                    tr(
                        "the {event_role} {event} has no property '{property}'",
                        event_role=lookup(self.scope.event_role),
                        event=self.scope.event,
                        property=path[1],
                    ),
                    ref.span,
                    _did_you_mean(close)
                    if close
                    else tr(
                        "declare it under events.{event}.properties in the customer schema", event=self.scope.event
                    ),
                    _rename(ref, f"event.{close}") if close else None,
                )
                return None
            return properties[path[1]]
        if len(path) == 1 and path[0] in catalog.ENROLLMENT_METRICS:
            if not self.scope.metrics:
                fields = {"name": path[0], "role": lookup(self.scope.role)}
                self._error(
                    "E204",
                    tr("{name} is not defined in an {role}: the customer has not entered yet", **fields)
                    if self.scope.role[:1] in "aeiou"
                    else tr("{name} is not defined in a {role}: the customer has not entered yet", **fields),
                    ref.span,
                    hint=tr("use it in step conditions, goals and stop rules"),
                )
                return None
            return catalog.ENROLLMENT_METRICS[path[0]].type
        if len(path) == 1 and path[0] in schema.attributes:
            self._error(
                "E204",
                tr("'{name}' needs its scope: write customer.{name}", name=path[0]),
                ref.span,
                hint=tr("customer attributes are written customer.{name}", name=path[0]),
            )
            return None
        options = [f"customer.{a}" for a in schema.attributes] + list(catalog.ENROLLMENT_METRICS)
        options += ["true", "false", "null"]
        if self.scope.event and self.scope.event in schema.events:
            options += [f"event.{p}" for p in schema.events[self.scope.event]]
        close = _suggest(ref.dotted, sorted(options))
        self._error(
            "E204",
            tr("unknown name '{name}'", name=ref.dotted),
            ref.span,
            _did_you_mean(close) if close else tr("names are customer.<attribute>, event.<property> or a metric"),
            _rename(ref, close) if close else None,
        )
        return None

    # ---- expressions
    def infer(self, expr: ast.Expr) -> str | None:
        """The type of ``expr`` (None when unknown), reporting what is wrong inside it on the way."""
        inferred: str | None = self.visit(expr)
        return inferred

    def visit_Literal(self, expr: ast.Literal) -> str:
        return _LITERAL_TYPES[expr.type]

    def visit_Ref(self, expr: ast.Ref) -> str | None:
        return self.resolve(expr)

    def visit_Call(self, expr: ast.Call) -> str | None:
        return self._call(expr)

    def visit_Arith(self, expr: ast.Arith) -> str | None:
        left, right = self.infer(expr.left), self.infer(expr.right)
        if left is None or right is None:
            return None  # already reported
        result = arith_type(expr.op, left, right)
        if result is None:
            self._arith_error(expr, left, right)
        return result

    def _arith_error(self, expr: ast.Arith, left: str, right: str) -> None:
        """Says what cannot be computed and how to write it instead, at the operand that does not fit."""
        unusable = ("string", "bool", "list", "date", "time", "null")
        if left in unusable or right in unusable:
            culprit, type_ = (expr.left, left) if left in unusable else (expr.right, right)
            subject = _describe(culprit)
            message = (
                tr("{subject} is {type}: it cannot be used in arithmetic", subject=subject, type=type_words(type_))
                if subject
                else tr("the value is {type}: it cannot be used in arithmetic", type=type_words(type_))
            )
            hint = tr("arithmetic works on numbers, money, durations and a date and time plus a duration")
            if type_ == "null":
                message, hint = tr("null cannot be used in arithmetic"), tr("test the value with 'is null' instead")
            elif type_ == "date":
                hint = tr("use a date and time (customer.last_order_at + 30d) or days_since(...)")
            self._error("E301", message, culprit.span, hint)
            return
        fix: Fix | None = None
        message = _arith_message(expr.op, type_words(left), type_words(right))
        plain = expr.right if right in catalog.NUMERIC else expr.left if left in catalog.NUMERIC else None
        culprit = plain or expr.right
        if expr.op in "+-" and plain is not None and "money" in (left, right):
            amount = expr_text(plain)
            if not isinstance(plain, ast.Literal):
                hint = tr("write {amount} * 1円", amount=amount)
            elif plain is not expr.right:
                hint = tr("write {amount}円, not {amount}", amount=amount)
            elif expr.op == "+":
                hint = tr("add {amount}円, not {amount}", amount=amount)
            else:
                hint = tr("subtract {amount}円, not {amount}", amount=amount)
            fix = _with_yen(plain)
        elif expr.op in "+-" and plain is not None and "datetime" in (left, right):
            hint = tr("add a duration such as 30d, or 1d * a number of days")
        else:
            hint = tr(
                "money ± money, money × or ÷ a number, duration ± duration, duration × a number, "
                "date and time ± duration"
            )
        self._error("E301", message, culprit.span, hint, fix)

    def visit_And(self, expr: ast.And | ast.Or) -> str:
        for item in expr.items:
            self.check_condition(item)
        return "bool"

    visit_Or = visit_And

    def visit_Not(self, expr: ast.Not) -> str:
        self.check_condition(expr.operand)
        return "bool"

    def visit_Compare(self, expr: ast.Compare) -> str:
        self._compare(expr.op, expr.left, expr.right, expr.span)
        return "bool"

    def visit_InList(self, expr: ast.InList) -> str:
        operand = self.infer(expr.operand)
        for item in expr.items:
            self._agree(operand, self.infer(item), item, expr.operand, "==")
        return "bool"

    def visit_Between(self, expr: ast.Between) -> str:
        operand = self.infer(expr.operand)
        for bound in (expr.low, expr.high):
            self._agree(operand, self.infer(bound), bound, expr.operand, "<")
        return "bool"

    def visit_IsNull(self, expr: ast.IsNull) -> str:
        self.infer(expr.operand)
        return "bool"

    def _compare(self, op: str, left: ast.Expr, right: ast.Expr, span: ast.Span) -> None:
        left_type, right_type = self.infer(left), self.infer(right)
        if "null" in (left_type, right_type):
            self._error(
                "E301",
                tr("comparing with null using '{op}' is never true", op=op),
                span,
                hint=tr("write 'x is null' or 'x is not null'"),
            )
            return
        self._agree(left_type, right_type, right, left, op)

    def _agree(self, left: str | None, right: str | None, value: ast.Expr, subject: ast.Expr, op: str) -> None:
        if left is None or right is None:
            return
        span = value.span
        if left == "list" or right == "list":
            self._error(
                "E301",
                tr("a list cannot be compared"),
                span,
                hint=tr('use contains(list, "value") or has_tag("value")'),
            )
            return
        if _family(left) != _family(right):
            hint, fix = None, None
            if left == "money" and right in catalog.NUMERIC:
                hint = tr("write the amount with its currency, e.g. 30000円 or ¥30,000")
                fix = _with_yen(value)
            elif left == "duration" or right == "duration":
                hint = tr("durations compare with durations (7d); day counts with whole numbers")
            elif left == "bool":
                hint = tr("compare with true or false")
            described = _describe(subject)
            types = {"type": type_words(left), "other": type_words(right)}
            self._error(
                "E301",
                tr("{subject} is {type}, but it is compared with {other}", subject=described, **types)
                if described
                else tr("the value is {type}, but it is compared with {other}", **types),
                span,
                hint,
                fix,
            )
            return
        if op not in ("==", "!=") and left not in _ORDERED:
            self._error(
                "E301",
                tr("'{op}' needs ordered values; {type} only supports == and !=", op=op, type=type_words(left)),
                span,
            )

    def _call(self, call: ast.Call) -> str | None:
        function = catalog.FUNCTIONS.get(call.name)
        if function is None:
            close = _suggest(call.name, sorted(catalog.FUNCTIONS))
            self._error(
                "E206",
                tr("unknown function {name}()", name=call.name),
                call.span,
                tr("did you mean {name}()?", name=close)
                if close
                else tr("functions: {names}", names=", ".join(sorted(catalog.FUNCTIONS))),
                replace_head(call.span, call.name, close) if close else None,
            )
            for arg in call.args:
                if not isinstance(arg, ast.Ref):
                    self.infer(arg)
            for keyword in call.keywords:
                self.infer(keyword.value)
            return None
        if function.keywords:
            self._keywords(call, function)
            return function.returns
        for keyword in call.keywords:
            self._error(
                "E302",
                tr("{function}() takes no keyword arguments", function=call.name),
                keyword.span,
                hint=tr("write {function}({params})", function=call.name, params=", ".join(function.params)),
            )
        if len(call.args) != len(function.params):
            shown = ", ".join(function.params)
            self._error(
                "E302",
                tr(
                    "{function}() takes {count} argument(s) ({params}), got {given}",
                    function=call.name,
                    count=len(function.params),
                    params=shown,
                    given=len(call.args),
                ),
                call.span,
                hint=lookup(function.description),
            )
            return function.returns
        for arg, kind in zip(call.args, function.params, strict=True):
            self._argument(call, arg, kind)
        return function.returns

    def _keywords(self, call: ast.Call, function: catalog.Function) -> None:
        """A keyword-only call: every argument named, each name known and given once, each value a literal of
        its parameter's type (the filters of a purchase-history function are fixed per condition)."""
        shape = ", ".join(f"{name}: …" for name in function.keywords)
        for arg in call.args:
            self._error(
                "E302",
                tr("{function}() takes keyword arguments only; name this one", function=call.name),
                arg.span,
                hint=tr("write {function}({shape}), each optional", function=call.name, shape=shape),
            )
        seen: set[str] = set()
        for keyword in call.keywords:
            if keyword.name not in function.keywords:
                close = _suggest(keyword.name, list(function.keywords))
                self._error(
                    "E302",
                    tr("{function}() has no keyword '{keyword}'", function=call.name, keyword=keyword.name),
                    keyword.span,
                    _did_you_mean(close)
                    if close
                    else tr("its keywords: {keywords}", keywords=", ".join(function.keywords)),
                    replace_head(keyword.span, keyword.name, close) if close else None,
                )
                continue
            if keyword.name in seen:
                self._error(
                    "E302",
                    tr("{function}(): '{keyword}' is given twice", function=call.name, keyword=keyword.name),
                    keyword.span,
                )
                continue
            seen.add(keyword.name)
            kind = function.params[function.keywords.index(keyword.name)]
            self._keyword_value(call, keyword, kind)

    def _keyword_value(self, call: ast.Call, keyword: ast.Keyword, kind: str) -> None:
        actual = self.infer(keyword.value)
        if actual is None:
            return
        value = keyword.value
        example = "30d" if kind == "duration" else '"skincare"'
        if actual != kind:
            self._error(
                "E302",
                tr(
                    "{function}(): {keyword} takes {expected}, got {actual}",
                    function=call.name,
                    keyword=keyword.name,
                    expected=type_words(kind),
                    actual=type_words(actual),
                ),
                value.span,
                hint=tr("e.g. {keyword}: {example}", keyword=keyword.name, example=example),
            )
            return
        if not isinstance(value, ast.Literal):
            self._error(
                "E302",
                tr(
                    "{function}(): {keyword} takes a fixed value such as {example}, not {value}",
                    function=call.name,
                    keyword=keyword.name,
                    example=example,
                    value=expr_text(value),
                ),
                value.span,
            )
            return
        raw = value.value
        if kind == "duration" and isinstance(raw, Duration) and not 0 <= raw.seconds <= catalog.PURCHASE_MAX_WITHIN:
            self._error(
                "E302",
                tr(
                    "{function}(): {keyword} must be between 0d and 36500d, not {value}",
                    function=call.name,
                    keyword=keyword.name,
                    value=raw,
                ),
                value.span,
                hint=tr("e.g. within: 90d; leave it out for all time"),
            )
        path = keyword.name == "category"
        if isinstance(raw, str) and (not raw or (path and (raw.startswith("/") or raw.endswith("/")))):
            fields = {"function": call.name, "keyword": keyword.name, "value": repr(raw)}
            self._error(
                "E302",
                tr("{function}(): {keyword} {value} is not a category path", **fields)
                if path
                else tr("{function}(): {keyword} {value} is not a sku", **fields),
                value.span,
                hint=tr('a category path is written "skincare" or "skincare/lotion"') if path else None,
            )

    def _argument(self, call: ast.Call, arg: ast.Expr, kind: str) -> None:
        name = arg.dotted if isinstance(arg, ast.Ref) else None
        if kind == "channel":
            if name not in catalog.CHANNELS:
                fields = {"function": call.name, "value": repr(name) if name else expr_text(arg)}
                self._error(
                    "E203" if name else "E302",
                    tr("{function}(): {value} is not a channel (write the channel without quotes)", **fields)
                    if isinstance(arg, ast.Literal)
                    else tr("{function}(): {value} is not a channel", **fields),
                    arg.span,
                    hint=tr("channels: {names}", names=", ".join(catalog.CHANNELS)),
                )
            return
        if kind == "event":
            if name is None:
                self._error(
                    "E302", tr("{function}() takes an event name such as order.placed", function=call.name), arg.span
                )
            elif name not in self.scope.schema.events:
                close = _suggest(name, sorted(self.scope.schema.events))
                self._error(
                    "E205",
                    tr("unknown event '{name}'", name=name),
                    arg.span,
                    _did_you_mean(close) if close else tr("declare it in the customer schema's events"),
                    replace_exact(arg.span, name, close) if close else None,
                )
            return
        if kind == "segment":
            if name is None:
                self._error("E302", tr("{function}() takes a segment name", function=call.name), arg.span)
            elif name not in self.scope.segments:
                close = _suggest(name, sorted(self.scope.segments))
                self._error(
                    "E201",
                    tr("unknown segment '{name}'", name=name),
                    arg.span,
                    _did_you_mean(close) if close else tr("add segments/<name>.yaml"),
                    replace_exact(arg.span, name, close) if close else None,
                )
            return
        actual = self.infer(arg)
        if actual is None:
            return
        if kind == "duration" and actual == "duration" and not isinstance(arg, ast.Literal):
            self._error(
                "E302",
                tr("{function}() takes its window as a duration such as 30d, not a computed one", function=call.name),
                arg.span,
            )
            return
        expected_ok = (_family(actual) == _family(kind)) if kind != "list" else actual == "list"
        if not expected_ok:
            self._error(
                "E302",
                tr(
                    "{function}() expects {expected} here, got {actual}",
                    function=call.name,
                    expected=type_words(kind),
                    actual=type_words(actual),
                ),
                arg.span,
            )


def _rename(ref: ast.Ref, replacement: str) -> Fix | None:
    """Replaces the whole dotted name (``customer.ordr_count`` → ``customer.order_count``)."""
    return replace_exact(ref.span, ref.dotted, replacement)


def _with_yen(literal: ast.Expr) -> Fix | None:
    """``30000`` → ``30000円``: a whole number written where an amount of money is meant."""
    if not isinstance(literal, ast.Literal) or literal.type != "int" or isinstance(literal.value, bool):
        return None
    text = expr_text(literal)
    fix = replace_exact(literal.span, text, f"{text}円")
    return Fix(tr("write {amount}円", amount=text), fix.span, fix.replacement) if fix else None


def _describe(expr: ast.Expr) -> str | None:
    """The operand as a message names it: a name, a call, a computation; None for a literal ("the value", a
    sentence of its own)."""
    if isinstance(expr, ast.Ref):
        return expr.dotted
    if isinstance(expr, ast.Call):
        return f"{expr.name}(…)"
    if isinstance(expr, ast.Arith):
        return expr_text(expr)
    return None


def _did_you_mean(close: str) -> str:
    return tr("did you mean {name}?", name=close)


def _arith_message(op: str, left: str, right: str) -> str:
    """E301's sentence for two operands that cannot be combined by ``op`` (their types already in words)."""
    if op == "+":
        return tr("cannot add {right} to {left}", left=left, right=right)
    if op == "-":
        return tr("cannot subtract {right} from {left}", left=left, right=right)
    if op == "*":
        return tr("cannot multiply {left} by {right}", left=left, right=right)
    return tr("cannot divide {left} by {right}", left=left, right=right)


def type_words(type_: str) -> str:
    """A value type in words, in the reader's language: "a whole number", "an amount of money" (整数, 金額)."""
    return lookup(_TYPE_WORDS.get(type_, type_))
