"""The placeholder syntax of message templates, ``{{ customer.name }}``: read by the checks (which placeholders a
template uses) and by delivery (what to substitute), so it lives here, below both."""

from __future__ import annotations

import re

PLACEHOLDER = re.compile(r"\{\{\s*([^{}\s]+)\s*\}\}")

# The product namespaces and their fields, filled from the store when a message is sent: the entry order's lines,
# the customer's last purchase, and a recommendation (README, "Message templates").
PRODUCT_FIELDS: dict[str, tuple[str, ...]] = {
    "order": ("items", "item_names"),
    "last_purchase": ("name", "sku", "category", "url"),
    "recommendation": ("name", "sku", "price", "url", "image_url"),
}
