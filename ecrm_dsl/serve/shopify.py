"""Shopify webhooks: the signature check, and the published Order and Customer payload fields as our items.

Shopify signs the raw body: ``X-Shopify-Hmac-Sha256`` is the base64 HMAC-SHA256 of it with the app's secret
(``ECRM_SHOPIFY_SECRET``). Fields read (REST Admin API resources): Customer ``id``, ``first_name``,
``last_name``, ``email``, ``phone``, ``created_at``, ``tags`` (comma-separated), ``email_marketing_consent.state``
and ``sms_marketing_consent.state`` (``subscribed`` means opted in); Order ``id``, ``created_at``,
``processed_at``, ``updated_at``, ``cancelled_at``, ``currency``, ``total_price``, ``financial_status``,
``cart_token``, ``discount_codes[].code``, ``payment_gateway_names``, ``customer`` and ``line_items[]``
(``id``, ``sku``, ``variant_id``, ``quantity``, ``price``). Amounts are decimal strings in the shop's currency;
the store keeps whole yen, so a shop in another currency is refused rather than stored wrong.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from ecrm_dsl.language.i18n import tr

SECRET_VARIABLE = "ECRM_SHOPIFY_SECRET"
TOPICS = ("orders/create", "orders/paid", "orders/cancelled", "customers/create", "customers/update")


class PayloadError(ValueError):
    """The payload lacks what its topic needs; the sentence says what."""


@dataclass
class Items:
    """What one webhook becomes, in the order it is stored: customers first, then orders, then events."""

    customers: list[dict[str, Any]] = field(default_factory=list)
    orders: list[dict[str, Any]] = field(default_factory=list)
    events: list[dict[str, Any]] = field(default_factory=list)

    def by_kind(self) -> list[tuple[str, list[dict[str, Any]]]]:
        return [
            (k, v) for k, v in (("customers", self.customers), ("orders", self.orders), ("events", self.events)) if v
        ]


def signature_ok(secret: str, body: bytes, header: str | None) -> bool:
    expected = base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest())
    return hmac.compare_digest(expected, (header or "").strip().encode())


def items_of(topic: str, payload: Any) -> Items:
    """Our items for one webhook of ``topic`` (one of :data:`TOPICS`)."""
    if not isinstance(payload, dict):
        raise PayloadError(tr("the payload is not a JSON object"))
    if topic.startswith("customers/"):
        return Items(customers=[_customer(payload)])
    customer = payload.get("customer")
    if not isinstance(customer, dict) or customer.get("id") is None:
        raise PayloadError(
            tr("the order has no customer (a guest checkout?); ecrm keeps orders of known customers only")
        )
    order = _order(payload, str(customer["id"]), topic)
    items = Items(customers=[_customer(customer)], orders=[order])
    if topic == "orders/paid":
        items.events.append(_order_event(order, "order.paid", order["paid_at"]))
    elif topic == "orders/cancelled":
        items.events.append(_order_event(order, "order.cancelled", _text(payload, "cancelled_at")))
    return items


def _customer(c: dict[str, Any]) -> dict[str, Any]:
    if c.get("id") is None:
        raise PayloadError(tr("the customer has no id"))
    item: dict[str, Any] = {"id": str(c["id"])}
    if "first_name" in c or "last_name" in c:  # 姓 名, the order Japanese names are written in
        item["name"] = " ".join(p for p in (c.get("last_name"), c.get("first_name")) if p) or None
    for ours, theirs in (("email", "email"), ("phone", "phone"), ("signed_up_at", "created_at")):
        if theirs in c:
            item[ours] = c[theirs]
    for ours, theirs in (("email_opt_in", "email_marketing_consent"), ("sms_opt_in", "sms_marketing_consent")):
        consent = c.get(theirs)
        if isinstance(consent, dict) and "state" in consent:
            item[ours] = consent["state"] == "subscribed"
    if isinstance(c.get("tags"), str):
        item["tags"] = list(dict.fromkeys(t.strip() for t in c["tags"].split(",") if t.strip()))
    return item


def _order(o: dict[str, Any], customer_id: str, topic: str) -> dict[str, Any]:
    if o.get("id") is None:
        raise PayloadError(tr("the order has no id"))
    currency = o.get("currency") or "JPY"
    item: dict[str, Any] = {
        "id": str(o["id"]),
        "customer_id": customer_id,
        "ordered_at": _text(o, "created_at"),
        "amount": _yen(o.get("total_price"), currency, "total_price"),
    }
    # paid_at: when orders/paid arrives, the order was just updated; an order created paid (a card captured at
    # checkout) was paid when processed. Other topics leave the stored paid_at as it is.
    if topic == "orders/paid":
        item["paid_at"] = _text(o, "updated_at" if o.get("updated_at") else "processed_at")
    elif topic == "orders/create" and o.get("financial_status") == "paid" and o.get("processed_at"):
        item["paid_at"] = o["processed_at"]
    if o.get("cart_token"):
        item["cart_id"] = str(o["cart_token"])
    codes = [d.get("code") for d in o.get("discount_codes") or [] if isinstance(d, dict) and d.get("code")]
    if codes:
        item["coupon_code"] = str(codes[0])
    gateways = [g for g in o.get("payment_gateway_names") or [] if isinstance(g, str) and g]
    if gateways:
        item["payment_method"] = gateways[0]
    lines = _lines(o.get("line_items") or [], currency)
    if lines:
        item["lines"] = lines
    return item


def _lines(line_items: list[Any], currency: str) -> list[dict[str, Any]]:
    """One line per SKU (a SKU on two lines of the order is summed); a line without a SKU is keyed by variant."""
    lines: dict[str, dict[str, Any]] = {}
    for li in line_items:
        if not isinstance(li, dict):
            continue
        sku = li.get("sku") or (f"variant-{li['variant_id']}" if li.get("variant_id") else f"line-{li.get('id')}")
        quantity = li.get("quantity") if isinstance(li.get("quantity"), int) and li["quantity"] > 0 else 1
        price = _yen(li.get("price"), currency, "line_items[].price")
        if sku in lines:
            lines[sku]["quantity"] += quantity
        else:
            lines[sku] = {"sku": str(sku), "quantity": quantity, "price": price}
    return list(lines.values())


def _order_event(order: dict[str, Any], type_: str, at: str | None) -> dict[str, Any]:
    if not at:
        raise PayloadError(tr("the order has no time for its {type} event", type=type_))
    properties: dict[str, Any] = {"order_id": order["id"], "amount": order["amount"]}
    if order.get("paid_at"):
        properties["paid_at"] = order["paid_at"]
    return {
        "id": f"shopify-{order['id']}-{type_}",
        "customer_id": order["customer_id"],
        "type": type_,
        "occurred_at": at,
        "properties": properties,
    }


def _text(o: dict[str, Any], name: str) -> str:
    value = o.get(name)
    if not isinstance(value, str) or not value:
        raise PayloadError(tr("the order has no {field}", field=name))
    return value


def _yen(value: Any, currency: str, name: str) -> int:
    if currency != "JPY":
        raise PayloadError(
            tr(
                "the shop's currency is {currency}, but ecrm keeps whole yen — it cannot store {field} without a rate",
                currency=currency,
                field=name,
            )
        )
    try:
        amount = Decimal(str(value))
    except InvalidOperation:
        raise PayloadError(tr("{field} {value} is not an amount", field=name, value=repr(value))) from None
    if not amount.is_finite() or amount < 0:
        raise PayloadError(tr("{field} {value} is not an amount", field=name, value=repr(value)))
    return int(amount.quantize(Decimal(1), rounding=ROUND_HALF_UP))
