"""What conditions and templates can talk about: built-in attributes, metrics, events and functions, with types.

The customer schema of a project extends this catalog (custom attributes and events); the type checker, the
compiler and the runtime evaluators all read from it, so a name means one thing everywhere.
"""

from __future__ import annotations

from dataclasses import dataclass

from ecrm_dsl.language.i18n import n_

# Value types of the condition language.
TYPES = ("int", "decimal", "money", "string", "bool", "date", "datetime", "duration", "time", "list", "null")
NUMERIC = ("int", "decimal")

CHANNELS = {
    "email": "email (information, follow-up)",
    "line": "LINE (coupons, points; high open rate)",
    "sms": "SMS (payment and urgent notices)",
    "push": "app push notification",
    "dm": "direct mail (printed, for loyal customers)",
    "insert": "package insert (同梱物, rides with the shipment)",
    "webhook": "webhook to another system",
}
# Where each channel's contact point lives; a customer without it cannot be reached there.
CHANNEL_CONTACT = {
    "email": "email",
    "line": "line_user_id",
    "sms": "phone",
    "push": "push_token",
    "dm": "postal_address",
    "insert": None,  # rides with an order shipment
    "webhook": None,
}


@dataclass(frozen=True, slots=True)
class Attribute:
    name: str
    type: str
    description: str
    derived: bool = False  # computed from orders and events rather than stored
    values: tuple[str, ...] = ()  # allowed values of a string attribute, when declared


def _attrs(*items: Attribute) -> dict[str, Attribute]:
    return {a.name: a for a in items}


CUSTOMER_ATTRIBUTES = _attrs(
    Attribute("id", "string", "customer id"),
    Attribute("name", "string", "customer name"),
    Attribute("email", "string", "email address"),
    Attribute("phone", "string", "mobile phone number"),
    Attribute("line_user_id", "string", "LINE user id"),
    Attribute("push_token", "string", "app push token"),
    Attribute("postal_address", "string", "postal address"),
    Attribute("birthday", "date", "birthday"),
    Attribute("signed_up_at", "datetime", "when the customer signed up"),
    Attribute("entry_channel", "string", "where the first purchase came from (ad_lp, organic_search, …)"),
    Attribute("persona", "string", "persona / life-stage segment"),
    Attribute("email_opt_in", "bool", "agreed to marketing email"),
    Attribute("line_opt_in", "bool", "friends with the shop's LINE account"),
    Attribute("sms_opt_in", "bool", "agreed to marketing SMS"),
    Attribute("push_opt_in", "bool", "agreed to push notifications"),
    Attribute("dm_opt_in", "bool", "agreed to direct mail"),
    Attribute("unsubscribed", "bool", "unsubscribed from all marketing"),
    Attribute("tags", "list", "tags set by scenarios or imports"),
    Attribute("order_count", "int", "number of orders", derived=True),
    Attribute("total_spent", "money", "total spent over all orders", derived=True),
    Attribute("avg_order_value", "money", "average order value", derived=True),
    Attribute("first_order_at", "datetime", "first order time", derived=True),
    Attribute("last_order_at", "datetime", "last order time", derived=True),
    Attribute("days_since_last_order", "int", "whole days since the last order", derived=True),
    Attribute("avg_purchase_interval_days", "int", "average days between orders", derived=True),
    Attribute("last_purchase_interval_days", "int", "days between the last two orders", derived=True),
    Attribute("days_since_last_open", "int", "whole days since a message was last opened (any channel)", derived=True),
    Attribute("last_survey_satisfaction", "int", "satisfaction (1–5) in the last survey answer", derived=True),
    Attribute("subscription_shipments", "int", "shipments received on the active subscription", derived=True),
    Attribute(
        "first_order_categories", "list", "categories of the first order's lines, with their parents", derived=True
    ),
    Attribute("first_order_skus", "list", "skus of the first order's lines", derived=True),
)

# Bare names, scoped to the enrollment.
ENROLLMENT_METRICS = _attrs(
    Attribute("orders_since_entry", "int", "orders placed after entering (the entry order not counted)", derived=True),
    Attribute("days_since_entry", "int", "whole days since entering", derived=True),
)

_ORDER = {
    "order_id": "string",
    "amount": "money",
    "ordered_at": "datetime",
    "paid_at": "datetime",
    "shipped_at": "datetime",
    "delivery_date": "date",
    "categories": "list",
    "skus": "list",
    "entry_channel": "string",
    "payment_method": "string",
    "cart_id": "string",
    "coupon_code": "string",
    "is_subscription": "bool",
}
_SUBSCRIPTION = {"subscription_id": "string", "product": "string", "shipment_number": "int"}
_MESSAGE = {"channel": "string", "scenario": "string", "step": "string", "template": "string"}

# Built-in events and their property types; a project may add properties and events.
EVENTS: dict[str, dict[str, str]] = {
    "order.placed": _ORDER,
    "order.paid": _ORDER,
    "order.shipped": _ORDER,
    "order.cancelled": _ORDER,
    "cart.abandoned": {"cart_id": "string", "amount": "money", "categories": "list", "skus": "list"},
    # What a customer showed interest in, and what the catalogue then did about it (`ecrm import products`).
    "product.viewed": {"sku": "string"},
    "product.wishlisted": {"sku": "string"},
    "product.restocked": {"sku": "string", "name": "string", "price": "money", "url": "string", "stock": "int"},
    "product.price_dropped": {
        "sku": "string",
        "name": "string",
        "price": "money",
        "url": "string",
        "previous_price": "money",
    },
    "customer.signed_up": {"entry_channel": "string"},
    "customer.unsubscribed": {"channel": "string"},
    "subscription.started": _SUBSCRIPTION,
    "subscription.shipped": {**_SUBSCRIPTION, "shipped_at": "datetime", "next_shipment_date": "date"},
    "subscription.skipped": {**_SUBSCRIPTION, "next_shipment_date": "date"},
    "subscription.cancelled": {**_SUBSCRIPTION, "reason": "string"},
    "survey.answered": {"survey_id": "string", "satisfaction": "int", "nps": "int", "comment": "string"},
    "message.opened": _MESSAGE,
    "message.clicked": _MESSAGE,
}


@dataclass(frozen=True, slots=True)
class Function:
    """A built-in condition function; ``params`` name the argument kinds it takes.

    A function with ``keywords`` takes keyword arguments only, each optional: ``keywords[i]`` names
    ``params[i]``, and the normal form lists them in that order (null for one not given)."""

    name: str
    params: tuple[str, ...]  # value types, or "event" / "channel" / "segment" for names
    returns: str
    description: str  # in English, marked for the catalogue: lookup() shows it in the reader's language
    keywords: tuple[str, ...] = ()


# Purchase history: orders with a line matching every filter given (category path, sku, window).
PURCHASE_FILTERS = ("category", "sku", "within")
PURCHASE_MAX_WITHIN = 36_500 * 86_400  # seconds: a window's first day must still be a date (a century)
_PURCHASE_PARAMS = ("string", "string", "duration")
PURCHASE_FUNCTIONS = tuple(
    Function(name, _PURCHASE_PARAMS, returns, description, PURCHASE_FILTERS)
    for name, returns, description in [
        ("bought", "bool", n_("some order has a matching line")),
        ("purchases", "int", n_("number of orders with a matching line")),
        ("units_bought", "int", n_("total quantity of the matching lines")),
        ("spent_on", "money", n_("quantity × unit price of the matching lines")),
    ]
)

FUNCTIONS = {
    f.name: f
    for f in [
        Function("has_tag", ("string",), "bool", n_("the customer has the tag")),
        Function("contains", ("list", "string"), "bool", n_("the list (tags, categories, skus) contains the value")),
        Function(
            "opened", ("channel", "duration"), "bool", n_("opened a message on the channel within the last duration")
        ),
        Function(
            "clicked", ("channel", "duration"), "bool", n_("clicked a message on the channel within the last duration")
        ),
        Function("count", ("event", "duration"), "int", n_("number of events of that type within the last duration")),
        Function(
            "opens", ("channel", "duration"), "int", n_("messages opened on the channel within the last duration")
        ),
        Function(
            "clicks", ("channel", "duration"), "int", n_("messages clicked on the channel within the last duration")
        ),
        Function(
            "sends", ("channel", "duration"), "int", n_("messages delivered on the channel within the last duration")
        ),
        Function("in_segment", ("segment",), "bool", n_("the customer matches the named segment now")),
        Function("days_since", ("datetime",), "int", n_("whole days since a date or time attribute")),
        *PURCHASE_FUNCTIONS,
    ]
}

# Anchors a step's timing may use, and the entry events that supply each date.
ANCHOR_EVENTS = {
    "order_placed": ("order.placed", "order.paid", "order.shipped"),
    "payment": ("order.placed", "order.paid", "order.shipped"),
    "shipment": ("order.placed", "order.paid", "order.shipped", "subscription.shipped"),
    "delivery_date": ("order.placed", "order.paid", "order.shipped"),
    "next_shipment": ("subscription.shipped", "subscription.skipped"),
}

PLACEHOLDER_BUILTINS = {"unsubscribe_url", "shop.name", "shop.url", "shop.support_email"}
