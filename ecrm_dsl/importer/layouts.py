"""The CSV layout of each kind of import: its columns, their types, which are required.

Column names are the store's (``ecrm_dsl/store/tables.py``); a mapping file renames CSV headers to them.
Customers may add ``tags`` and the custom attributes of the customer schema; events add ``prop.<name>``
columns and a ``properties`` JSON column; an orders file with a ``sku`` column carries one order line per row.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

Target = Literal["column", "attribute", "tags", "property", "properties", "event_id"]
PROPERTY_PREFIX = "prop."


@dataclass(frozen=True, slots=True)
class Column:
    name: str  # the store name: a table column, "tags", a custom attribute, "prop.<name>"
    type: str  # a customer-schema type: string int decimal money bool date datetime list; or "json", "text"
    required: bool = False
    default: Any = None  # the value of an empty cell
    minimum: int | None = None
    values: tuple[str, ...] = ()  # allowed values of a string
    target: Target = "column"


def _columns(*columns: Column) -> dict[str, Column]:
    return {c.name: c for c in columns}


def _opt_in(name: str) -> Column:
    return Column(name, "bool", default=False)


CUSTOMER = _columns(
    Column("id", "string", required=True),
    Column("name", "string"),
    Column("email", "string"),
    Column("phone", "string"),
    Column("line_user_id", "string"),
    Column("push_token", "string"),
    Column("postal_address", "string"),
    Column("birthday", "date"),
    Column("signed_up_at", "datetime"),
    Column("entry_channel", "string"),
    Column("persona", "string"),
    _opt_in("email_opt_in"),
    _opt_in("line_opt_in"),
    _opt_in("sms_opt_in"),
    _opt_in("push_opt_in"),
    _opt_in("dm_opt_in"),
    _opt_in("unsubscribed"),
    Column("tags", "list", target="tags"),
)

ORDER = _columns(
    Column("id", "string", required=True),
    Column("customer_id", "string", required=True),
    Column("ordered_at", "datetime", required=True),
    Column("paid_at", "datetime"),
    Column("shipped_at", "datetime"),
    Column("delivery_date", "date"),
    Column("amount", "money", required=True, minimum=0),
    Column("entry_channel", "string"),
    Column("payment_method", "string"),
    Column("coupon_code", "string"),
    Column("cart_id", "string"),
    Column("is_subscription", "bool", default=False),
)

ITEM = _columns(
    Column("sku", "string", required=True),
    Column("category", "string"),
    Column("quantity", "int", default=1, minimum=1),
    Column("price", "money", required=True, minimum=0),
)
ORDER_ITEM = _columns(Column("order_id", "string", required=True), *ITEM.values())
ORDER_LINE = {**ORDER, **ITEM}  # an orders file with a sku column: one row per order line

SUBSCRIPTION = _columns(
    Column("id", "string", required=True),
    Column("customer_id", "string", required=True),
    Column("product", "string"),
    Column("status", "string", required=True, values=("active", "paused", "cancelled")),
    Column("started_at", "datetime"),
    Column("shipments", "int", default=0, minimum=0),
    Column("next_shipment_date", "date"),
    Column("skips", "int", default=0, minimum=0),
)

PRODUCT = _columns(
    Column("sku", "string", required=True),
    Column("name", "string", required=True),
    Column("category", "string"),  # a path, top level first: skincare/lotion
    Column("price", "money", minimum=0),
    Column("launched_on", "date"),
    Column("stock", "int"),  # empty: not tracked
    Column("url", "string"),
    Column("image_url", "string"),
    Column("active", "bool", default=True),
)

EVENT = _columns(
    Column("customer_id", "string", required=True),
    Column("type", "string", required=True),
    Column("occurred_at", "datetime", required=True),
    Column("event_id", "string", target="event_id"),
    Column("properties", "json", target="properties"),
)

COUPON = _columns(
    Column("pool", "string", required=True),
    Column("code", "string", required=True),
    Column("expires_at", "datetime"),
    Column("expires_on", "date"),  # valid through that shop-local day
)

KINDS: dict[str, dict[str, Column]] = {
    "customers": CUSTOMER,
    "orders": ORDER_LINE,
    "order_items": ORDER_ITEM,
    "subscriptions": SUBSCRIPTION,
    "events": EVENT,
    "coupons": COUPON,
    "products": PRODUCT,
}
