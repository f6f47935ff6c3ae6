"""The normal form of a condition: plain JSON stored in execution plans and read by both runtimes.

Form (lists, so it serialises to JSON deterministically)::

    condition := ["and", c, c, ...] | ["or", c, c, ...]      nested and/and, or/or flattened; order kept
               | ["not", c]
               | ["cmp", op, v, v]                            op: == != < <= > >=
               | ["in", v, [v, ...]] | ["not_in", v, [v, ...]]
               | ["between", v, lo, hi] | ["not_between", v, lo, hi]   both ends inclusive
               | ["is_null", v] | ["is_not_null", v]
               | ["call", f, arg, ...]                        f returns bool: has_tag contains opened clicked in_segment
                                                              bought
    value     := ["attr", name]                               customer.<name>, stored, derived or custom
               | ["metric", name]                             orders_since_entry, days_since_entry
               | ["event", prop]                              a property of the enrollment's entry event
               | ["call", f, arg, ...]                        any function; name arguments are ["name", "email"]
               | ["arith", op, v, v]                          op: + - * /   (types: see ARITH_TYPES)
               | ["lit", type, value]                         int; decimal as str; money int yen; duration int
                                                              seconds; date "YYYY-MM-DD"; time "HH:MM"; string;
                                                              bool; null (value None)

A call with keyword arguments (``bought(within: 90d, category: "skincare")``) lists them in the catalog's
parameter order, null for one not given: ``["call", "bought", <category>, <sku>, <within>]``.

A bare value used as a condition (``customer.email_opt_in``) is written ``["cmp", "==", v, ["lit", "bool", true]]``.

Semantics (two-valued logic; both runtimes implement exactly this):

* A comparison, ``in``, ``not_in``, ``between`` or ``not_between`` is FALSE when an operand it needs is null.
  ``in`` is true when the value equals some non-null item; ``not_in`` is true when the value and every item are
  non-null and the value differs from all of them. So ``x not in [...]`` and ``not (x in [...])`` differ for
  a null ``x``, as ``x <= 3`` and ``not (x > 3)`` do.
* ``not`` is plain negation; ``is_null``/``is_not_null`` test for null. Conditions are never null.
* Numbers (int, decimal, money in yen) compare numerically; decimals as binary floating point.
  Durations compare as seconds, times of day as minutes, strings by code point, bools false < true.
* Two datetimes compare as instants (to the second). When either side is a date, both sides are shop-local
  calendar dates: a datetime is read as its date in the ``timezone`` given to the runtime (Asia/Tokyo).
* Day counts (``days_since``, ``days_since_last_order``, ``days_since_entry``, ``avg_purchase_interval_days``,
  ``last_purchase_interval_days``, ``days_since_last_open``) count shop-local calendar days.
* ``opens``/``clicks`` count ``message.opened``/``message.clicked`` events on a channel in a window; ``sends``
  counts delivered messages (outbox rows with status ``sent``) on a channel by their ``sent_at``.
* Lists (``customer.tags``, ``event.categories``, list attributes) may only be searched with ``contains``.
* Arithmetic is on plain numbers: money in yen, durations in seconds, a datetime as epoch seconds (to the second,
  as instants compare), decimals as binary floating point. ``/`` always divides exactly (a decimal, or money for
  money divided by a number); nothing is rounded, so ``total_spent / 3`` may hold a fraction of a yen. A null
  operand gives null, and so does a division by zero: the comparison is then false.

The types of names come from the catalog, extended by a project's declared attributes (:class:`Types`).
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from ecrm_dsl.language import ast, catalog
from ecrm_dsl.language.values import Duration, Money, TimeOfDay

Normal = list[Any]

COMPARISONS = ("==", "!=", "<", "<=", ">", ">=")
# What each comparison does, for Python values and SQLAlchemy expressions alike (both overload the operators).
COMPARE: Mapping[str, Callable[[Any, Any], Any]] = {
    "==": operator.eq,
    "!=": operator.ne,
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
}
MESSAGE_EVENTS = {"opened": "message.opened", "clicked": "message.clicked"}  # opened()/clicked() read these
COUNTED_MESSAGE_EVENTS = {"opens": "message.opened", "clicks": "message.clicked"}  # opens()/clicks() count them
ARITH_OPS = ("+", "-", "*", "/")
BOOL_FUNCTIONS = frozenset(name for name, f in catalog.FUNCTIONS.items() if f.returns == "bool")
NAME_PARAMS = ("channel", "event", "segment")
NUMBER_TYPES = frozenset({"int", "decimal", "money"})
DATE_TYPES = frozenset({"date", "datetime"})


class ConditionError(ValueError):
    """A condition the runtime cannot compile; the type checker reports these earlier with positions."""


# --------------------------------------------------------------------------- normalise


def normalise(expr: ast.Expr) -> Normal:
    """The normal form of a condition (see the module docstring)."""
    if isinstance(expr, (ast.And, ast.Or)):
        tag = "and" if isinstance(expr, ast.And) else "or"
        out: Normal = [tag]
        for item in expr.items:
            child = normalise(item)
            out.extend(child[1:] if child[0] == tag else [child])
        return out
    if isinstance(expr, ast.Not):
        return ["not", normalise(expr.operand)]
    if isinstance(expr, ast.Compare):
        if expr.op not in COMPARISONS:
            raise ConditionError(f"unknown comparison '{expr.op}'")
        return ["cmp", expr.op, value(expr.left), value(expr.right)]
    if isinstance(expr, ast.InList):
        return ["not_in" if expr.negated else "in", value(expr.operand), [value(i) for i in expr.items]]
    if isinstance(expr, ast.Between):
        tag = "not_between" if expr.negated else "between"
        return [tag, value(expr.operand), value(expr.low), value(expr.high)]
    if isinstance(expr, ast.IsNull):
        return ["is_not_null" if expr.negated else "is_null", value(expr.operand)]
    if isinstance(expr, ast.Call) and expr.name in BOOL_FUNCTIONS:
        return value(expr)
    # A bare value standing as a condition holds when it is true.
    return ["cmp", "==", value(expr), ["lit", "bool", True]]


def value(expr: ast.Expr) -> Normal:
    """The normal form of an operand."""
    if isinstance(expr, ast.Literal):
        return literal(expr)
    if isinstance(expr, ast.Ref):
        path = expr.path
        if len(path) == 2 and path[0] == "customer":
            return ["attr", path[1]]
        if len(path) == 2 and path[0] == "event":
            return ["event", path[1]]
        if len(path) == 1 and path[0] in catalog.ENROLLMENT_METRICS:
            return ["metric", path[0]]
        raise ConditionError(f"unknown name '{expr.dotted}'")
    if isinstance(expr, ast.Arith):
        if expr.op not in ARITH_OPS:
            raise ConditionError(f"unknown operator '{expr.op}'")
        return ["arith", expr.op, value(expr.left), value(expr.right)]
    if isinstance(expr, ast.Call):
        function = catalog.FUNCTIONS.get(expr.name)
        if function is None:
            raise ConditionError(f"unknown function {expr.name}()")
        if function.keywords:
            return ["call", expr.name, *keyword_args(expr, function)]
        if expr.keywords:
            raise ConditionError(f"{expr.name}() takes no keyword arguments")
        if len(expr.args) != len(function.params):
            raise ConditionError(f"{expr.name}() takes {len(function.params)} argument(s)")
        pairs = zip(expr.args, function.params, strict=True)
        args = [_name(arg) if kind in NAME_PARAMS else value(arg) for arg, kind in pairs]
        return ["call", expr.name, *args]
    raise ConditionError(f"a condition cannot be used as a value here: {type(expr).__name__}")


def keyword_args(call: ast.Call, function: catalog.Function) -> list[Normal]:
    """Keyword arguments in the function's parameter order, null for one not given: the plan does not depend
    on the order they were written in."""
    if call.args:
        raise ConditionError(f"{call.name}() takes keyword arguments only")
    given: dict[str, ast.Expr] = {}
    for keyword in call.keywords:
        if keyword.name not in function.keywords or keyword.name in given:
            raise ConditionError(f"{call.name}(): unknown or repeated keyword '{keyword.name}'")
        given[keyword.name] = keyword.value
    null: Normal = ["lit", "null", None]
    return [value(given[name]) if name in given else null for name in function.keywords]


def _name(expr: ast.Expr) -> Normal:
    if isinstance(expr, ast.Ref):
        return ["name", expr.dotted]
    if isinstance(expr, ast.Literal) and expr.type == "string":
        return ["name", expr.value]
    raise ConditionError("expected a name (a channel, an event or a segment)")


def literal(lit: ast.Literal) -> Normal:
    raw = lit.value
    if isinstance(raw, Money):
        return ["lit", lit.type, raw.yen]
    if isinstance(raw, Duration):
        return ["lit", lit.type, raw.seconds]
    if isinstance(raw, TimeOfDay):
        return ["lit", lit.type, str(raw)]
    return ["lit", lit.type, raw]


# --------------------------------------------------------------------------- types


def _merged_event_properties() -> dict[str, str]:
    merged: dict[str, str] = {}
    clashes: set[str] = set()
    for properties in catalog.EVENTS.values():
        for name, type_ in properties.items():
            if merged.setdefault(name, type_) != type_:
                clashes.add(name)
    return {k: v for k, v in merged.items() if k not in clashes}


@dataclass(frozen=True)
class Types:
    """Value types of names: the built-in catalog plus a project's custom attributes and event properties."""

    attributes: Mapping[str, str] = field(default_factory=dict)  # custom attribute -> type
    event_properties: Mapping[str, str] = field(default_factory=dict)  # entry-event property -> type

    @classmethod
    def from_schema(cls, schema: Any, event: str | None = None) -> Types:
        """From a project's customer schema (``.attributes``: name -> Attribute, ``.events``: name -> props)."""
        attributes = {n: a.type for n, a in schema.attributes.items() if n not in catalog.CUSTOMER_ATTRIBUTES}
        properties = dict(schema.events.get(event, {})) if event else {}
        return cls(attributes, properties)

    def attribute(self, name: str) -> str | None:
        builtin = catalog.CUSTOMER_ATTRIBUTES.get(name)
        return builtin.type if builtin else self.attributes.get(name)

    def event_property(self, name: str) -> str | None:
        return self.event_properties.get(name) or _EVENT_PROPERTIES.get(name)

    def of(self, node: Normal) -> str | None:
        """The type of a value node; None when unknown (an undeclared custom name)."""
        tag = node[0]
        if tag == "lit":
            return str(node[1])
        if tag == "attr":
            return self.attribute(node[1])
        if tag == "event":
            return self.event_property(node[1])
        if tag == "metric":
            return catalog.ENROLLMENT_METRICS[node[1]].type
        if tag == "call":
            return catalog.FUNCTIONS[node[1]].returns
        if tag == "arith":
            left, right = self.of(node[2]), self.of(node[3])
            result = arith_type(node[1], left, right)
            if result is None:
                raise ConditionError(f"cannot compute {left} {node[1]} {right}")
            return result
        raise ConditionError(f"not a value: {node!r}")


_EVENT_PROPERTIES = _merged_event_properties()


# The result type of ``left op right``; a pair not listed does not combine (money + int: write 500円).
ARITH_TYPES: Mapping[tuple[str, str, str], str] = {
    **{("int", op, "int"): "int" for op in "+-*"},
    **{(a, op, b): "decimal" for a in catalog.NUMERIC for b in catalog.NUMERIC for op in "+-*" if "decimal" in (a, b)},
    **{(a, "/", b): "decimal" for a in catalog.NUMERIC for b in catalog.NUMERIC},
    **{("money", op, "money"): "money" for op in "+-"},
    ("money", "/", "money"): "decimal",
    **{("money", op, n): "money" for n in catalog.NUMERIC for op in "*/"},
    **{(n, "*", "money"): "money" for n in catalog.NUMERIC},
    **{("duration", op, "duration"): "duration" for op in "+-"},
    ("duration", "/", "duration"): "decimal",
    **{("duration", op, n): "duration" for n in catalog.NUMERIC for op in "*/"},
    **{(n, "*", "duration"): "duration" for n in catalog.NUMERIC},
    **{("datetime", op, "duration"): "datetime" for op in "+-"},
    ("duration", "+", "datetime"): "datetime",
}


def arith_type(op: str, left: str | None, right: str | None) -> str | None:
    """The type of ``left op right``, or None when those types do not combine (or one is unknown)."""
    if left is None or right is None:
        return None
    return ARITH_TYPES.get((left, op, right))


def comparison_kind(left: str | None, right: str | None) -> str:
    """How two values of these types compare: number, string, bool, day, instant, time or duration."""
    left, right = left or right, right or left
    if left is None or right is None:
        raise ConditionError("cannot tell the types of the compared values; declare the attribute's type")
    if "list" in (left, right):
        raise ConditionError("a list cannot be compared; use contains()")
    if left in NUMBER_TYPES and right in NUMBER_TYPES:
        return "number"
    if left in DATE_TYPES and right in DATE_TYPES:
        return "instant" if left == right == "datetime" else "day"
    if left == right and left in ("string", "bool", "time", "duration"):
        return left
    raise ConditionError(f"cannot compare {left} with {right}")


def resolve_types(left: str | None, right: str | None) -> tuple[str | None, str | None]:
    """An undeclared name takes the type of what it is compared with."""
    return left or right, right or left


def walk_segments(normal: Normal) -> list[str]:
    """The segment names a condition refers to through in_segment(), in order."""
    found: list[str] = []
    if isinstance(normal, list) and normal:
        if normal[0] == "call" and normal[1] == "in_segment":
            found.append(normal[2][1])
        for child in normal[1:]:
            found.extend(walk_segments(child))
    return found


_PURE_FUNCTIONS = frozenset({"contains"})


def reads_only_the_event(normal: Normal) -> bool:
    """The condition compares the event's properties with literals and nothing else (``event.coupon_code ==
    "BACK"``): judging it needs nothing of the customer."""
    tag = normal[0]
    if tag in ("and", "or"):
        return all(reads_only_the_event(child) for child in normal[1:])
    if tag == "not":
        return reads_only_the_event(normal[1])
    if tag == "call" and normal[1] in _PURE_FUNCTIONS:  # a function of its arguments alone
        return all(argument[0] in ("lit", "event") for argument in normal[2:])
    if tag == "cmp":
        operands = [normal[2], normal[3]]
    elif tag in ("in", "not_in"):
        operands = [normal[1], *normal[2]]
    elif tag in ("between", "not_between", "is_null", "is_not_null"):
        operands = list(normal[1:])
    else:
        return False
    return all(operand[0] in ("lit", "event") for operand in operands)


def literal_key(type_: str, raw: Any, kind: str) -> Any:
    """A non-null literal as the plain value both runtimes compare under ``kind``."""
    if kind == "number":
        return float(raw) if type_ == "decimal" else int(raw)
    if kind == "day":
        return date.fromisoformat(raw).toordinal()
    if kind == "time":
        hour, minute = str(raw).split(":")
        return int(hour) * 60 + int(minute)
    if kind == "duration":
        return int(raw)
    if kind == "bool":
        return bool(raw)
    if kind == "string":
        return str(raw)
    raise ConditionError(f"a {type_} literal cannot be compared as {kind}")


def is_null_literal(node: Normal) -> bool:
    return node[0] == "lit" and node[2] is None


def duration_arg(node: Normal, function: str) -> int:
    """The window of opened()/clicked()/count(): a duration literal, in seconds."""
    if node[0] != "lit" or node[1] != "duration" or node[2] is None:
        raise ConditionError(f"{function}() takes a duration such as 30d")
    return int(node[2])
