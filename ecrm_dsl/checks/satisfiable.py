"""Conditions that can never be true (W406) or are always true (W407).

A small interval analysis over the conjunctions of a condition: each numeric name gets the range its
comparisons allow, each name the values its equalities pin, and an empty range means the conjunction is dead.
Counts and amounts are never negative, and inside an ``order.placed`` trigger the entry order is already
counted, so ``customer.order_count == 0`` there can never hold.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass

from ecrm_dsl.checks.scope import Scope
from ecrm_dsl.conditions.normal import COMPARE
from ecrm_dsl.language import ast, catalog
from ecrm_dsl.language.diagnostics import Diagnostic
from ecrm_dsl.language.fixes import replace_quoted
from ecrm_dsl.language.i18n import tr
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
                        tr("this compares two constants: always true")
                        if _literal_compare(expr)
                        else tr("this compares two constants: always false"),
                        expr.span,
                        hint=tr("compare an attribute or metric with a value"),
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
                        tr(
                            "'between {low} and {high}' is empty: the low end is above the high end",
                            low=f"{lo:g}",
                            high=f"{hi:g}",
                        ),
                        hint=tr("swap the two ends"),
                    )
        elif isinstance(expr, ast.InList) and not expr.items and not expr.negated:
            self._never(expr.span, tr("'in []' with an empty list is never true"))

    def _bounds_of_one(self, pair: tuple[ast.Ref, str, ast.Literal], span: ast.Span) -> None:
        ref, op, literal = pair
        attribute = _attribute(ref, self.scope)
        if attribute is None:
            return
        if literal.type == "string" and attribute.values and op in ("==", "!="):
            if literal.value not in attribute.values:
                close = difflib.get_close_matches(str(literal.value), attribute.values, n=1)
                fields = {"name": ref.dotted, "values": ", ".join(attribute.values), "value": literal.value}
                message = (
                    tr("{name} is one of {values}; '{value}' is not, so this is never true", **fields)
                    if op == "=="
                    else tr("{name} is one of {values}; '{value}' is not, so this is always true", **fields)
                )
                self.findings.append(
                    Diagnostic(
                        "W406" if op == "==" else "W407",
                        message,
                        literal.span,
                        hint=tr("did you mean '{value}'?", value=close[0]) if close else None,
                        fix=replace_quoted(literal.span, str(literal.value), close[0]) if close else None,
                    )
                )
            return
        value = _number(literal)
        if value is None or op == "!=":
            return
        bounds = self._initial(ref)
        bounds.clip(op, value)
        if bounds.empty:
            self._never(span, self._never_message(ref, op, literal_text(literal)))

    def _initial(self, ref: ast.Ref) -> _Range:
        bounds = _Range()
        attribute = _attribute(ref, self.scope)
        if attribute is not None and attribute.derived and attribute.type in _NON_NEGATIVE_UNITS:
            bounds.clip(">=", 0)
        if self.scope.in_order_trigger and ref.path == ("customer", "order_count"):
            bounds.clip(">=", 1)
        return bounds

    def _never_message(self, ref: ast.Ref, op: str, value: str) -> str:
        fields = {"name": ref.dotted, "op": op, "value": value}
        if self.scope.in_order_trigger and ref.path == ("customer", "order_count"):
            return tr(
                "{name} {op} {value} can never be true: when order.placed fires, the order is already counted "
                "(the first order has order_count == 1)",
                **fields,
            )
        return tr("{name} {op} {value} can never be true: {name} is never negative", **fields)

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
                    self._never(
                        expr.span,
                        tr(
                            "{name} cannot equal both {first} and {second}",
                            name=ref.dotted,
                            first=repr(previous),
                            second=repr(literal.value),
                        ),
                    )
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
                self._never(
                    expr.span,
                    tr("the conditions on {name} contradict each other: no value satisfies all", name=ref.dotted),
                )
                return
        for path in nulls & (set(ranges) | set(equals)):
            self._never(expr.span, tr("{name} is required to be null and to have a value", name=".".join(path)))
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
                    Diagnostic(
                        "W407", tr("'{name} is null or … is not null' is always true", name=".".join(path)), expr.span
                    )
                )
                return


def _literal_compare(expr: ast.Compare) -> bool:
    left, right = expr.left, expr.right
    assert isinstance(left, ast.Literal) and isinstance(right, ast.Literal)
    numbers = _number(left), _number(right)
    a, b = numbers if None not in numbers else (left.value, right.value)
    try:
        return bool(COMPARE[expr.op](a, b))
    except TypeError:
        return False


# --------------------------------------------------------------------------- audiences that cannot overlap
#
# Whether two entry conditions can hold for one customer at once: both are put in disjunctive normal form
# (``in_segment`` replaced by the segment's condition, ``not`` pushed down to the comparisons), and every pair of
# their conjunctions must contradict itself for the audiences to be disjoint. Comparisons with null are false
# and ``not`` is the plain complement, so ``not (x >= 2)`` means ``x is null or x < 2``. Anything this cannot
# reason about counts as "may overlap".

_MAX_CONJUNCTIONS = 64  # past this, a condition is too branchy to expand; it may overlap anything
_COMPLEMENT = {"==": "!=", "!=": "==", "<": ">=", "<=": ">", ">": "<=", ">=": "<"}

Key = ast.Ref | ast.Call  # what a comparison is about (nodes compare without their spans)
Value = tuple[str, object]  # ("num", 1.0), ("string", "gold"), ("bool", True), ("date", "2025-03-01"), …


@dataclass(frozen=True)
class _Cmp:
    key: Key
    op: str
    value: Value


@dataclass(frozen=True)
class _In:
    key: Key
    values: frozenset[Value]
    negated: bool  # not in: a value, and none of these


@dataclass(frozen=True)
class _Null:
    key: Key
    is_null: bool


@dataclass(frozen=True)
class _Atom:
    """A condition taken as a whole (``has_tag("vip")``, ``opened(email, 30d)``): only its negation contradicts it."""

    node: ast.Expr
    positive: bool


_Fact = _Cmp | _In | _Null | _Atom
Conjunction = tuple[_Fact, ...]


@dataclass(frozen=True)
class Audience:
    """An entry condition in disjunctive normal form; ``conjunctions`` is None when it was too branchy."""

    conjunctions: tuple[Conjunction, ...] | None
    pins: dict[Key, frozenset[Value]]  # names every conjunction pins to a few values (== or in)

    def pinned(self, key: Key) -> frozenset[Value] | None:
        return self.pins.get(key)


class _TooBranchy(Exception):
    pass


def audience(conditions: list[ast.Expr], segments: dict[str, ast.Expr]) -> Audience:
    """The audience that satisfies all ``conditions`` (``segments``: each segment's condition, by name)."""
    try:
        dnf = _dnf(ast.And(tuple(conditions)), False, segments, ())
    except _TooBranchy:
        return Audience(None, {})
    return Audience(tuple(dnf), _pins(dnf))


def can_overlap(first: Audience, second: Audience, scope: Scope) -> bool:
    """False only when no customer can be in both audiences; ``scope`` gives the attributes' known ranges."""
    if first.conjunctions is None or second.conjunctions is None:
        return True
    checker = _Conjunctions(scope)
    return any(not checker.contradictory(a + b) for a in first.conjunctions for b in second.conjunctions)


def _dnf(expr: ast.Expr, negated: bool, segments: dict[str, ast.Expr], expanding: tuple[str, ...]) -> list[Conjunction]:
    if isinstance(expr, ast.Not):
        return _dnf(expr.operand, not negated, segments, expanding)
    if isinstance(expr, (ast.And, ast.Or)):
        parts = [_dnf(item, negated, segments, expanding) for item in expr.items]
        if isinstance(expr, ast.And) != negated:  # a conjunction (or a negated disjunction): every part at once
            result: list[Conjunction] = [()]
            for part in parts:
                result = [a + b for a in result for b in part]
                if len(result) > _MAX_CONJUNCTIONS:
                    raise _TooBranchy
            return result
        alternatives = [c for part in parts for c in part]
        if len(alternatives) > _MAX_CONJUNCTIONS:
            raise _TooBranchy
        return alternatives
    if isinstance(expr, ast.Call) and expr.name == "in_segment" and expr.args and isinstance(expr.args[0], ast.Ref):
        name = expr.args[0].dotted
        if name in segments and name not in expanding:
            return _dnf(segments[name], negated, segments, (*expanding, name))
    return _leaf(expr, negated)


def _key(expr: ast.Expr) -> Key | None:
    return expr if isinstance(expr, (ast.Ref, ast.Call)) else None


def _value(literal: ast.Literal) -> Value:
    number = _number(literal)
    if number is not None:
        return ("num", number)
    return (literal.type, literal.value if literal.type in ("string", "bool") else str(literal.value))


_TRUE: list[Conjunction] = [()]
_FALSE: list[Conjunction] = []


def _leaf(expr: ast.Expr, negated: bool) -> list[Conjunction]:
    """A comparison as alternatives of facts; ``negated`` gives its complement."""
    whole: list[Conjunction] = [(_Atom(expr, not negated),)]
    if isinstance(expr, ast.Literal) and expr.type == "bool":
        return _TRUE if bool(expr.value) != negated else _FALSE
    if isinstance(expr, ast.Compare):
        if isinstance(expr.left, ast.Literal) and isinstance(expr.right, ast.Literal):
            return _TRUE if _literal_compare(expr) != negated else _FALSE
        pair = _keyed(expr)
        if pair is None:
            return whole
        key, op, literal = pair
        if literal.type == "null":  # a mistake reported on its own (write "is null"); no conclusions from it
            return whole
        value = _value(literal)
        if negated:
            return [(_Null(key, True),), (_Cmp(key, _COMPLEMENT[op], value),)]
        return [(_Cmp(key, op, value),)]
    if isinstance(expr, ast.InList):
        listed = _key(expr.operand)
        items = expr.items
        if listed is None or not all(isinstance(i, ast.Literal) and i.type != "null" for i in items):
            return whole
        values = frozenset(_value(i) for i in items if isinstance(i, ast.Literal))
        if negated:
            return [(_Null(listed, True),), (_In(listed, values, not expr.negated),)]
        return [(_In(listed, values, expr.negated),)]
    if isinstance(expr, ast.Between):
        ranged = _key(expr.operand)
        low, high = expr.low, expr.high
        if ranged is None or not isinstance(low, ast.Literal) or not isinstance(high, ast.Literal):
            return whole
        lo, hi = _value(low), _value(high)
        if lo[0] != "num" or hi[0] != "num":
            return whole
        inside: Conjunction = (_Cmp(ranged, ">=", lo), _Cmp(ranged, "<=", hi))
        outside: list[Conjunction] = [(_Cmp(ranged, "<", lo),), (_Cmp(ranged, ">", hi),)]
        if not negated:
            return outside if expr.negated else [inside]
        # The complement: null, or the other side ("not between" needs a value, so its complement is null or inside).
        return [(_Null(ranged, True),), inside] if expr.negated else [(_Null(ranged, True),), *outside]
    if isinstance(expr, ast.IsNull):
        tested = _key(expr.operand)
        return whole if tested is None else [(_Null(tested, expr.negated == negated),)]
    return whole


def _keyed(expr: ast.Compare) -> tuple[Key, str, ast.Literal] | None:
    if isinstance(expr.right, ast.Literal):
        key = _key(expr.left)
        return (key, expr.op, expr.right) if key is not None else None
    if isinstance(expr.left, ast.Literal):
        key = _key(expr.right)
        return (key, _FLIP[expr.op], expr.left) if key is not None else None
    return None


def _pins(dnf: list[Conjunction]) -> dict[Key, frozenset[Value]]:
    """For each name that every conjunction restricts to finitely many values, all the values it may take."""
    per_conjunction = [_allowed(conjunction) for conjunction in dnf]
    if not per_conjunction:
        return {}
    keys = set(per_conjunction[0]).intersection(*per_conjunction[1:])
    return {key: frozenset().union(*(allowed[key] for allowed in per_conjunction)) for key in keys}


def _allowed(conjunction: Conjunction) -> dict[Key, frozenset[Value]]:
    allowed: dict[Key, frozenset[Value]] = {}
    for fact in conjunction:
        if isinstance(fact, _Cmp) and fact.op == "==":
            values = frozenset([fact.value])
        elif isinstance(fact, _In) and not fact.negated:
            values = fact.values
        else:
            continue
        allowed[fact.key] = allowed[fact.key] & values if fact.key in allowed else values
    return allowed


class _Conjunctions:
    """Whether a conjunction of facts contradicts itself, with what the scope knows about each attribute."""

    def __init__(self, scope: Scope):
        self.checker = SatisfiabilityChecker(scope, [])
        self.scope = scope

    def contradictory(self, facts: Conjunction) -> bool:
        positive = {f.node for f in facts if isinstance(f, _Atom) and f.positive}
        if any(isinstance(f, _Atom) and not f.positive and f.node in positive for f in facts):
            return True
        by_key: dict[Key, list[_Fact]] = {}
        for fact in facts:
            if not isinstance(fact, _Atom):
                by_key.setdefault(fact.key, []).append(fact)
        return any(self._empty(key, group) for key, group in by_key.items())

    def _empty(self, key: Key, facts: list[_Fact]) -> bool:
        nulls = {f.is_null for f in facts if isinstance(f, _Null)}
        has_value = any(not isinstance(f, _Null) for f in facts) or False in nulls
        if True in nulls:
            return has_value  # null, and a value too
        if not has_value:
            return False
        ref = key if isinstance(key, ast.Ref) else None
        bounds = self.checker._initial(ref) if ref is not None else _Range()
        allowed: set[Value] | None = None
        attribute = _attribute(ref, self.scope) if ref is not None else None
        if attribute is not None and attribute.values:
            allowed = {("string", v) for v in attribute.values}
        excluded: set[Value] = set()
        for fact in facts:
            if isinstance(fact, _Cmp):
                if fact.op == "==":
                    allowed = {fact.value} if allowed is None else allowed & {fact.value}
                elif fact.op == "!=":
                    excluded.add(fact.value)
                number = fact.value[1]
                if isinstance(number, float) and fact.op != "!=":
                    bounds.clip(fact.op, number)
            elif isinstance(fact, _In):
                if fact.negated:
                    excluded |= fact.values
                else:
                    allowed = set(fact.values) if allowed is None else allowed & fact.values
        if bounds.empty:
            return True
        if allowed is None:
            point = bounds.low == bounds.high and not (bounds.low_open or bounds.high_open)
            return point and ("num", bounds.low) in excluded
        return not any(v not in excluded and _within(v, bounds) for v in allowed)


def _within(value: Value, bounds: _Range) -> bool:
    number = value[1]
    if not isinstance(number, float):
        return True
    probe = _Range(bounds.low, bounds.low_open, bounds.high, bounds.high_open)
    probe.clip("==", number)
    return not probe.empty
