"""What a condition reads of the customer's orders, for the SQL compiler: conjuncts another conjunct implies
(``order_count >= 1`` next to a last-order window), and parts that read nothing but order aggregates, which
one subquery over the orders can judge together instead of one subquery per attribute.

Only equivalences: dropping ``A`` from ``A and B`` when ``B`` implies ``A`` changes no result, so the
Python evaluator, the reference, needs none of this.
"""

from __future__ import annotations

from ecrm_dsl.conditions.normal import Normal

# Derived attributes computed from the orders known at the moment (see sql.py's _DERIVED).
ORDER_ATTRIBUTES = frozenset(
    {
        "order_count",
        "total_spent",
        "avg_order_value",
        "first_order_at",
        "last_order_at",
        "days_since_last_order",
        "avg_purchase_interval_days",
    }
)
# Null for a customer without orders, so any comparison with them is false then.
_NULL_WITHOUT_ORDERS = ORDER_ATTRIBUTES - {"order_count", "total_spent"}
_PREDICATES = ("cmp", "in", "not_in", "between", "not_between")


def order_attribute(node: Normal) -> str | None:
    """The order attribute a value reads (``days_since(customer.last_order_at)`` reads last_order_at)."""
    if node[0] == "attr" and node[1] in ORDER_ATTRIBUTES:
        return str(node[1])
    if node[0] == "call" and node[1] == "days_since":
        return order_attribute(node[2])
    return None


def _operands(node: Normal) -> list[Normal]:
    if node[0] == "cmp":
        return [node[2], node[3]]
    if node[0] in ("in", "not_in"):
        return [node[1], *node[2]]
    if node[0] in ("between", "not_between"):
        return list(node[1:])
    if node[0] in ("is_null", "is_not_null"):
        return [node[1]]
    return []


def needs_an_order(node: Normal) -> bool:
    """The predicate is false for a customer without orders (it compares a value that is null then)."""
    return node[0] in _PREDICATES and any(order_attribute(v) in _NULL_WITHOUT_ORDERS for v in _operands(node))


def _at_least_one_order(node: Normal) -> bool:
    """``order_count >= 1``, ``> 0`` or ``!= 0`` (either way round)."""
    if node[0] != "cmp":
        return False
    op, left, right = node[1], node[2], node[3]
    if left == ["attr", "order_count"] and right[0] == "lit" and right[1] == "int":
        bound = right[2]
    elif right == ["attr", "order_count"] and left[0] == "lit" and left[1] == "int":
        op, bound = {"<=": ">=", "<": ">", "!=": "!="}.get(op, ""), left[2]
    else:
        return False
    return (op, bound) in ((">=", 1), (">", 0), ("!=", 0))


def drop_implied(items: list[Normal]) -> list[Normal]:
    """The conjuncts of an ``and`` without those another one implies (an order exists)."""
    if not any(needs_an_order(item) for item in items):
        return items
    kept = [item for item in items if not _at_least_one_order(item)]
    return kept or items


def reads_only_orders(node: Normal) -> bool:
    """The condition reads order attributes and literals only (and at least one order attribute)."""
    return _order_only(node) and order_references(node) > 0


def _order_only(node: Normal) -> bool:
    tag = node[0]
    if tag in ("and", "or"):
        return all(_order_only(child) for child in node[1:])
    if tag == "not":
        return _order_only(node[1])
    if tag in _PREDICATES or tag in ("is_null", "is_not_null"):
        return all(v[0] == "lit" or order_attribute(v) is not None for v in _operands(node))
    return False


def order_references(node: Normal) -> int:
    """How many times the condition's SQL would name an order attribute, each a subquery when compiled alone
    (``x in [a, b]`` compares ``x`` once per item)."""
    tag = node[0]
    if tag in ("and", "or", "not"):
        return sum(order_references(child) for child in node[1:])
    if tag in ("in", "not_in") and order_attribute(node[1]) is not None:
        return len(node[2]) + (tag == "not_in") + sum(order_attribute(v) is not None for v in node[2])
    return sum(1 for v in _operands(node) if order_attribute(v) is not None)
