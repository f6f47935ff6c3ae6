"""Purchase history as SQL, for :mod:`ecrm_dsl.conditions.sql`: the same semantics as
:mod:`ecrm_dsl.conditions.purchase_history`, the reference.

Every statement reaches the lines through the orders: the customer's known orders by the
``(customer_id, ordered_at)`` index (the window is a lower bound on ``ordered_at``), then their lines by the
``order_items`` primary key ``(order_id, sku)``. So no customer costs a scan of ``order_items``. Over all
customers at once, ``bought()`` is one ``IN`` over the buyers, judged in a single pass; for an enrollment or a
few customers it is a correlated ``EXISTS``. The counts and sums are correlated scalar subqueries, never null.
Every filter value is a bound parameter.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sqlalchemy import ColumnElement, Integer, String, Table, cast, func, literal, or_, select

from ecrm_dsl.conditions.normal import ConditionError, Normal
from ecrm_dsl.conditions.purchase_history import LineFilter

if TYPE_CHECKING:
    from ecrm_dsl.conditions.sql import _Compiler


def in_category(category: ColumnElement[Any], path: str | ColumnElement[Any]) -> ColumnElement[bool]:
    """The category is the path or below it; a prefix test with ``substr``, not ``LIKE`` (case-insensitive on
    SQLite, and ``%`` or ``_`` in a path would need escaping)."""
    value: ColumnElement[str]
    prefix: ColumnElement[str]
    length: ColumnElement[int]
    if isinstance(path, str):
        value, prefix, length = literal(path, String()), literal(path + "/", String()), literal(len(path) + 1)
    else:
        value = cast(path, String())
        prefix, length = value + literal("/", String()), func.length(value) + 1
    return or_(category == value, func.substr(category, 1, length) == prefix)


def _line_tests(items: Table, rule: LineFilter) -> list[ColumnElement[bool]]:
    tests: list[ColumnElement[bool]] = []
    if rule.sku is not None:
        tests.append(items.c.sku == literal(rule.sku, String()))
    if rule.category is not None:
        tests.append(in_category(items.c.category, rule.category))
    return tests


def _order_tests(c: _Compiler, rule: LineFilter) -> list[ColumnElement[bool]]:
    """The orders known at the moment, in the window: a lower bound on ``ordered_at`` (whole days from the
    start of that shop-local day, as ``days_since`` counts them)."""
    ordered = c.t.orders.c.ordered_at
    tests = c.known_orders()
    days = rule.within_days
    if days is not None:
        tests.append(ordered >= c.clock.day_edge(days, False))
    elif rule.within is not None:
        tests.append(ordered >= c.clock.since(rule.within, "orders"))
    return tests


def _per_row(c: _Compiler) -> bool:
    return c.enrollment or c.clock.column is not None or c.few_customers


def bought(c: _Compiler, node: Normal) -> ColumnElement[bool]:
    """``bought(...)``: some known order in the window has a matching line."""
    rule = LineFilter.of(node)
    orders, items = c.t.orders, c.t.order_items
    lines = orders.join(items, items.c.order_id == orders.c.id)
    where = [*_order_tests(c, rule), *_line_tests(items, rule)]
    if _per_row(c):
        query = select(orders.c.id).select_from(lines).where(orders.c.customer_id == c.t.customers.c.id, *where)
        return query.correlate_except(orders, items).exists()
    buyers = select(orders.c.customer_id).select_from(lines).where(*where)
    return c.t.customers.c.id.in_(buyers)


def purchase_value(c: _Compiler, node: Normal) -> ColumnElement[int]:
    """``purchases``/``units_bought``/``spent_on``: a count or sum over the matching lines, 0 when none."""
    rule = LineFilter.of(node)
    name = node[1]
    orders, items = c.t.orders, c.t.order_items
    mine = orders.c.customer_id == c.t.customers.c.id
    if name == "purchases":
        has_line = select(items.c.sku).where(items.c.order_id == orders.c.id, *_line_tests(items, rule))
        query = (
            select(func.count())
            .select_from(orders)
            .where(mine, *_order_tests(c, rule), has_line.correlate_except(items).exists())
        )
        return query.correlate_except(orders).scalar_subquery()
    if name == "units_bought":
        amount: ColumnElement[int] = items.c.quantity
    elif name == "spent_on":
        amount = items.c.quantity * items.c.price
    else:
        raise ConditionError(f"{name}() is not a purchase-history value")
    lines = orders.join(items, items.c.order_id == orders.c.id)
    total = func.coalesce(func.sum(amount), literal(0, Integer()))
    query = select(total).select_from(lines).where(mine, *_order_tests(c, rule), *_line_tests(items, rule))
    return query.correlate_except(orders, items).scalar_subquery()


def first_order_has(c: _Compiler, name: str, needle: ColumnElement[Any], path: str | None) -> ColumnElement[bool]:
    """``contains(customer.first_order_categories | first_order_skus, needle)``: a line of the first known order
    (by ``ordered_at``, then order id) has the sku, or a category at or below the path. ``path`` is the needle
    when it is a literal (its prefix is then bound as computed here)."""
    from ecrm_dsl.conditions.sql import code_point_order  # sql imports this module

    orders, items = c.t.orders, c.t.order_items
    first = (
        select(orders.c.id)
        .where(orders.c.customer_id == c.t.customers.c.id, *c.known_orders())
        .order_by(orders.c.ordered_at, code_point_order(orders.c.id))
        .limit(1)
        .correlate_except(orders)
        .scalar_subquery()
    )
    if name == "first_order_skus":
        test = items.c.sku == needle
    elif name == "first_order_categories":
        test = in_category(items.c.category, path if path is not None else needle)
    else:
        raise ConditionError(f"unknown first-order list {name}")
    return select(items.c.sku).where(items.c.order_id == first, test).correlate_except(items).exists()
