"""One loader per kind of import."""

from __future__ import annotations

from ecrm_dsl.importer.kinds.base import LoadContext, Loader
from ecrm_dsl.importer.kinds.coupons import CouponLoader
from ecrm_dsl.importer.kinds.customers import CustomerLoader
from ecrm_dsl.importer.kinds.events import EventLoader
from ecrm_dsl.importer.kinds.orders import OrderItemLoader, OrderLoader
from ecrm_dsl.importer.kinds.products import ProductLoader
from ecrm_dsl.importer.kinds.subscriptions import SubscriptionLoader

LOADERS: dict[str, type[Loader]] = {
    "customers": CustomerLoader,
    "orders": OrderLoader,
    "order_items": OrderItemLoader,
    "subscriptions": SubscriptionLoader,
    "events": EventLoader,
    "coupons": CouponLoader,
    "products": ProductLoader,
}

__all__ = ["LOADERS", "LoadContext", "Loader"]
