"""The product namespaces of a message as it is sent: ``order`` (the entry order's lines), ``last_purchase`` and
``recommendation`` (:mod:`ecrm_dsl.store.products` says how each is chosen), looked up a batch at a time and only
for the namespaces a message's template uses."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import Connection

from ecrm_dsl.store import products
from ecrm_dsl.store.products import Line, Product

Namespaces = dict[str, dict[str, Any]]


@dataclass(frozen=True)
class Wanted:
    """What one message shows: its customer, its entry order (None: the entry was not an order) and the
    namespaces its template uses."""

    customer_id: str
    entry_order_id: str | None
    namespaces: Collection[str]


def product_context(
    conn: Connection, wanted: Mapping[int, Wanted], now: datetime, today: date
) -> dict[int, Namespaces]:
    """The namespaces' values by message (keyed as ``wanted``); ``today`` is ``now``'s shop-local date."""

    def who(namespace: str) -> list[str]:
        return sorted({w.customer_id for w in wanted.values() if namespace in w.namespaces})

    orders = sorted({w.entry_order_id for w in wanted.values() if "order" in w.namespaces and w.entry_order_id})
    lines = products.order_lines(conn, orders)
    last = products.last_purchases(conn, who("last_purchase"), now)
    recommended = products.recommendations(conn, who("recommendation"), now, today)
    context: dict[int, Namespaces] = {}
    for key, w in wanted.items():
        values: Namespaces = {}
        if "order" in w.namespaces:
            values["order"] = _order(lines.get(w.entry_order_id or "", []))
        if "last_purchase" in w.namespaces:
            values["last_purchase"] = _shown(last.get(w.customer_id), ("name", "sku", "category", "url"))
        if "recommendation" in w.namespaces:
            values["recommendation"] = _shown(
                recommended.get(w.customer_id), ("name", "sku", "price", "url", "image_url")
            )
        context[key] = values
    return context


def _order(lines: list[Line]) -> dict[str, Any]:
    if not lines:
        return {}
    return {
        "items": "\n".join(f"{line.product.name} ×{line.quantity}" for line in lines),
        "item_names": [line.product.name for line in lines],
    }


def _shown(product: Product | None, fields: tuple[str, ...]) -> dict[str, Any]:
    if product is None:
        return {}
    values = {name: getattr(product, name) for name in fields}
    if values.get("price") is not None:
        values["price"] = {"money": values["price"]}  # rendered 4,980円 like every money value
    return values
