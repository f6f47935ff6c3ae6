"""Conditions that can never be true (W406) or are always true (W407).

A small interval analysis over the conjunctions of a condition: each numeric name gets the range its
comparisons allow, each name the values its equalities pin, and an empty range means the conjunction is dead.
Counts and amounts are never negative, and inside an ``order.placed`` trigger the entry order is already
counted, so ``customer.order_count == 0`` there can never hold.
"""

from __future__ import annotations

import difflib
import operator
from dataclasses import dataclass

from ecrm_dsl.checks.scope import Scope
from ecrm_dsl.language import ast, catalog
from ecrm_dsl.language.diagnostics import Diagnostic
from ecrm_dsl.syntax.common import literal_value_text as literal_text

_NON_NEGATIVE_UNITS = {"int", "money", "decimal"}


@dataclass
class _Range:
    low: float = float("-inf")
    low_open: bool = False
    high: float = float("inf")
    high_open: bool = False

    def clip(self, op: str, value: float) -> None:
        if op in (">", ">="):
            if value > self.low or (value == self.low and op == ">"):
                self.low, self.low_open = value, op == ">"
        elif op in ("<", "<="):
            if value < self.high or (value == self.high and op == "<"):
                self.high, self.high_open = value, op == "<"
        elif op == "==":
            self.clip(">=", value)
            self.clip("<=", value)

    @property
    def empty(self) -> bool:
        return self.low > self.high or (self.low == self.high and (self.low_open or self.high_open))


def _number(literal: ast.Literal) -> float | None:
    value = literal.value
    if value is None:  # a malformed literal, already reported (E006)
        return None
    if literal.type in ("int",):
        return float(value)  # type: ignore[arg-type]
    if literal.type == "decimal":
        return float(str(value))
    if literal.type == "money":
        return float(value.yen)  # type: ignore[union-attr]
    return None


_OPERATORS = {
    "==": operator.eq,
    "!=": operator.ne,
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
}
_FLIP = {"<": ">", "<=": ">=", ">": "<", ">=": "<=", "==": "==", "!=": "!="}


def _ref_literal(expr: ast.Compare) -> tuple[ast.Ref, str, ast.Literal] | None:
    if isinstance(expr.left, ast.Ref) and isinstance(expr.right, ast.Literal):
        return expr.left, expr.op, expr.right
    if isinstance(expr.right, ast.Ref) and isinstance(expr.left, ast.Literal):
        return expr.right, _FLIP[expr.op], expr.left
    return None


def _attribute(ref: ast.Ref, scope: Scope) -> catalog.Attribute | None:
    if ref.path[0] == "customer" and len(ref.path) == 2:
        return scope.schema.attributes.get(ref.path[1])
    if len(ref.path) == 1:
        return catalog.ENROLLMENT_METRICS.get(ref.path[0])
    return None


def _conjuncts(expr: ast.Expr) -> list[ast.Expr]:
    if isinstance(expr, ast.And):
        return [c for item in expr.items for c in _conjuncts(item)]
    return [expr]


class SatisfiabilityChecker:
    def __init__(self, scope: Scope, findings: list[Diagnostic]):
        self.scope = scope
        self.findings = findings

    def check(self, expr: ast.Expr) -> None:
        self._walk(expr)

    def _walk(self, expr: ast.Expr) -> None:
        if isinstance(expr, ast.Or):
            for item in expr.items:
                self._walk(item)
            self._always_true_or(expr)
            return
        if isinstance(expr, ast.Not):
            self._walk(expr.operand)
            return
        conjuncts = _conjuncts(expr)
        for item in conjuncts:
            if isinstance(item, (ast.Or, ast.Not)):
                self._walk(item)
            else:
                self._atom(item)
        if len(conjuncts) > 1:
            self._contradiction(expr, conjuncts)

    def _never(self, span: ast.Span, message: str, hint: str | None = None) -> None:
        self.findings.append(Diagnostic("W406", message, span, hint=hint))

    def _atom(self, expr: ast.Expr) -> None:
        if isinstance(expr, ast.Compare):
            if isinstance(expr.left, ast.Literal) and isinstance(expr.right, ast.Literal):
                self.findings.append(
                    Diagnostic(
                        "W407" if _literal_compare(expr) else "W406",
                        f"this compares two constants: always {'true' if _literal_compare(expr) else 'false'}",
                        expr.span,
                        hint="compare an attribute or metric with a value",
                    )
                )
                return
            pair = _ref_literal(expr)
            if pair is not None:
                self._bounds_of_one(pair, expr.span)
        elif isinstance(expr, ast.Between):
            low, high = expr.low, expr.high
            if isinstance(low, ast.Literal) and isinstance(high, ast.Literal):
                lo, hi = _number(low), _number(high)
                if lo is not None and hi is not None and lo > hi and not expr.negated:
                    self._never(
                        expr.span,
                        f"'between {lo:g} and {hi:g}' is empty: the low end is above the high end",
                        hint="swap the two ends",
                    )
        elif isinstance(expr, ast.InList) and not expr.items and not expr.negated:
            self._never(expr.span, "'in []' with an empty list is never true")

    def _bounds_of_one(self, pair: tuple[ast.Ref, str, ast.Literal], span: ast.Span) -> None:
        ref, op, literal = pair
        attribute = _attribute(ref, self.scope)
        if attribute is None:
            return
        if literal.type == "string" and attribute.values and op in ("==", "!="):
            if literal.value not in attribute.values:
                close = difflib.get_close_matches(str(literal.value), attribute.values, n=1)
                verdict = "never" if op == "==" else "always"
                self.findings.append(
                    Diagnostic(
                        "W406" if op == "==" else "W407",
                        f"{ref.dotted} is one of {', '.join(attribute.values)}; '{literal.value}' is not, "
                        f"so this is {verdict} true",
                        literal.span,
                        hint=f"did you mean '{close[0]}'?" if close else None,
                    )
                )
            return
        value = _number(literal)
        if value is None or op == "!=":
            return
        bounds = self._initial(ref)
        bounds.clip(op, value)
        if bounds.empty:
            self._never(span, f"{ref.dotted} {op} {literal_text(literal)} can never be true{self._why(ref)}")

    def _initial(self, ref: ast.Ref) -> _Range:
        bounds = _Range()
        attribute = _attribute(ref, self.scope)
        if attribute is not None and attribute.derived and attribute.type in _NON_NEGATIVE_UNITS:
            bounds.clip(">=", 0)
        if self.scope.in_order_trigger and ref.path == ("customer", "order_count"):
            bounds.clip(">=", 1)
        return bounds

    def _why(self, ref: ast.Ref) -> str:
        if self.scope.in_order_trigger and ref.path == ("customer", "order_count"):
            return ": when order.placed fires, the order is already counted (the first order has order_count == 1)"
        return f": {ref.dotted} is never negative"

    def _contradiction(self, expr: ast.Expr, conjuncts: list[ast.Expr]) -> None:
        ranges: dict[tuple[str, ...], _Range] = {}
        equals: dict[tuple[str, ...], object] = {}
        nulls: set[tuple[str, ...]] = set()
        for item in conjuncts:
            if isinstance(item, ast.IsNull) and isinstance(item.operand, ast.Ref) and not item.negated:
                nulls.add(item.operand.path)
            if not isinstance(item, ast.Compare):
                continue
            pair = _ref_literal(item)
            if pair is None:
                continue
            ref, op, literal = pair
            if op == "==" and literal.type in ("string", "bool"):
                previous = equals.setdefault(ref.path, literal.value)
                if previous != literal.value:
                    self._never(expr.span, f"{ref.dotted} cannot equal both {previous!r} and {literal.value!r}")
                    return
            value = _number(literal)
            if value is None or op == "!=":
                continue
            alone = self._initial(ref)
            alone.clip(op, value)
            if alone.empty:
                continue  # already reported on its own
            bounds = ranges.setdefault(ref.path, self._initial(ref))
            bounds.clip(op, value)
            if bounds.empty:
                self._never(expr.span, f"the conditions on {ref.dotted} contradict each other: no value satisfies all")
                return
        for path in nulls & (set(ranges) | set(equals)):
            self._never(expr.span, f"{'.'.join(path)} is required to be null and to have a value")
            return

    def _always_true_or(self, expr: ast.Or) -> None:
        nulls = {
            (i.operand.path, i.negated)
            for i in expr.items
            if isinstance(i, ast.IsNull) and isinstance(i.operand, ast.Ref)
        }
        for path, negated in nulls:
            if (path, not negated) in nulls:
                self.findings.append(
                    Diagnostic("W407", f"'{'.'.join(path)} is null or … is not null' is always true", expr.span)
                )
                return


def _literal_compare(expr: ast.Compare) -> bool:
    left, right = expr.left, expr.right
    assert isinstance(left, ast.Literal) and isinstance(right, ast.Literal)
    a, b = _number(left), _number(right)
    if a is None or b is None:
        a, b = left.value, right.value  # type: ignore[assignment]
    try:
        return bool(_OPERATORS[expr.op](a, b))
    except TypeError:
        return False
