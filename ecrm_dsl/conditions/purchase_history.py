"""Purchase history in Python: what a customer bought, read from the lines of the orders known at the moment.

``bought``, ``purchases``, ``units_bought`` and ``spent_on`` take the filters ``category`` (a category path:
``"skincare"`` matches lines in ``skincare`` and ``skincare/lotion``, not ``skincare2``), ``sku`` and
``within`` (absent: all time). A ``within`` of whole days counts shop-local calendar days as ``days_since``
does (``within: 90d`` is an order at most 90 days old, so ``bought(within: 90d)`` is
``days_since_last_order <= 90`` for a customer whose orders all have lines); any other duration is a window
of that many seconds back from now. An order counts once it has a line matching every filter given.

``customer.first_order_categories`` and ``customer.first_order_skus`` list the lines of the first order, in
(``ordered_at``, order id) order; the categories with their parent paths, so that ``contains()`` matches a
category path as the ``category`` filter does.

This is the reference semantics; :mod:`ecrm_dsl.conditions.purchase_sql` must agree with it.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from ecrm_dsl.conditions.normal import ConditionError, Normal
from ecrm_dsl.language.catalog import PURCHASE_FUNCTIONS, PURCHASE_MAX_WITHIN

if TYPE_CHECKING:
    from ecrm_dsl.conditions.evaluate import ItemSnapshot, OrderSnapshot

FUNCTIONS = frozenset(f.name for f in PURCHASE_FUNCTIONS)
FIRST_ORDER_LISTS = frozenset({"first_order_categories", "first_order_skus"})
DAY = 86_400


@dataclass(frozen=True)
class LineFilter:
    """The filters of one purchase-history call, from its normal form (category, sku, within)."""

    category: str | None
    sku: str | None
    within: int | None  # seconds; None for all time

    @classmethod
    def of(cls, node: Normal) -> LineFilter:
        if len(node) != 5:
            raise ConditionError(f"{node[1]}() takes category, sku and within")
        category, sku, within = (_literal(arg, type_, node[1]) for arg, type_ in zip(node[2:], _TYPES, strict=True))
        if within is not None and not 0 <= int(within) <= PURCHASE_MAX_WITHIN:
            raise ConditionError(f"{node[1]}(): within must be between 0 and 36500d")
        return cls(
            None if category is None else str(category),
            None if sku is None else str(sku),
            None if within is None else int(within),
        )

    @property
    def within_days(self) -> int | None:
        """The window in shop-local calendar days, when it is whole days."""
        return self.within // DAY if self.within is not None and self.within % DAY == 0 else None

    def line_matches(self, category: str | None, sku: str) -> bool:
        if self.sku is not None and sku != self.sku:
            return False
        return self.category is None or in_category(category, self.category)


_TYPES = ("string", "string", "duration")


def _literal(arg: Normal, type_: str, function: str) -> Any:
    if arg[0] != "lit" or arg[1] not in (type_, "null"):
        raise ConditionError(f"{function}() takes a {type_} literal or null for each filter, not {arg!r}")
    return arg[2]


def in_category(category: str | None, path: str) -> bool:
    """The line's category is the path or below it (``skincare/lotion`` is in ``skincare``)."""
    return category is not None and (category == path or category.startswith(path + "/"))


def with_parents(category: str) -> list[str]:
    """``skincare/lotion/mini`` → ``skincare/lotion/mini``, ``skincare/lotion``, ``skincare``."""
    parts = category.split("/")
    return ["/".join(parts[:n]) for n in range(len(parts), 0, -1)]


def _in_window(order: OrderSnapshot, rule: LineFilter, now: datetime, tz: ZoneInfo) -> bool:
    if rule.within is None:
        return True
    days = rule.within_days
    if days is not None:
        today = now.astimezone(tz).date().toordinal()
        return order.ordered_at.astimezone(tz).date().toordinal() >= today - days
    return order.ordered_at >= now - timedelta(seconds=rule.within)


def matching_lines(
    node: Normal, orders: Iterable[OrderSnapshot], now: datetime, tz: ZoneInfo
) -> list[tuple[OrderSnapshot, list[ItemSnapshot]]]:
    """The known orders in the call's window with their lines that match its filters (orders without any
    left out)."""
    rule = LineFilter.of(node)
    found = []
    for order in orders:
        if _in_window(order, rule, now, tz):
            lines = [item for item in order.items if rule.line_matches(item.category, item.sku)]
            if lines:
                found.append((order, lines))
    return found


def purchase_value(node: Normal, orders: Sequence[OrderSnapshot], now: datetime, tz: ZoneInfo) -> bool | int:
    """The value of ``bought``/``purchases``/``units_bought``/``spent_on`` over the orders known at ``now``."""
    name = node[1]
    found = matching_lines(node, orders, now, tz)
    if name == "bought":
        return bool(found)
    if name == "purchases":
        return len(found)
    if name == "units_bought":
        return sum(item.quantity for _, lines in found for item in lines)
    if name == "spent_on":
        return sum(item.quantity * item.price for _, lines in found for item in lines)
    raise ConditionError(f"{name}() is not a purchase-history function")


def first_order_list(name: str, orders: Sequence[OrderSnapshot]) -> list[str]:
    """``customer.first_order_categories`` / ``first_order_skus`` of the orders known at the moment."""
    if not orders:
        return []
    first = min(orders, key=lambda o: (o.ordered_at, o.id))
    if name == "first_order_skus":
        return sorted({item.sku for item in first.items})
    if name == "first_order_categories":
        return sorted({path for item in first.items if item.category for path in with_parents(item.category)})
    raise ConditionError(f"unknown first-order list {name}")
