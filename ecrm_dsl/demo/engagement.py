"""How the demo's customers react to what they receive: opens and clicks, so that the report's open and click
rates, and conditions such as ``opened(email, 30d)``, have something to read.

Each delivered message is opened with a channel's typical probability, a few hours later, and an opened message
is clicked with a smaller one. The draw is a hash of the delivery's idempotency key, not a shared random stream,
so it does not depend on the order messages were sent in, and the demo stays byte-for-byte repeatable.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

# Channel → (open probability, click probability given an open). Rough shares Japanese shops report: LINE messages
# are read far more often than email; an SMS is read but has little to click; push is glanced at.
RATES = {"email": (0.30, 0.12), "line": (0.60, 0.20), "sms": (0.80, 0.05), "push": (0.25, 0.10)}
MAX_DELAY_MINUTES = 8 * 60


def _draws(key: str) -> tuple[float, float, int]:
    digest = hashlib.sha256(f"demo-engagement:{key}".encode()).digest()
    opened = int.from_bytes(digest[0:4], "big") / 2**32
    clicked = int.from_bytes(digest[4:8], "big") / 2**32
    delay = int.from_bytes(digest[8:12], "big") % MAX_DELAY_MINUTES
    return opened, clicked, delay


def reactions(delivered: list[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    """``message.opened`` and ``message.clicked`` events (as rows of the events table) for delivered messages."""
    for message in delivered:
        rates = RATES.get(message["channel"])
        if rates is None or message["sent_at"] is None:
            continue  # dm, inserts and webhooks are not tracked
        opened, clicked, delay = _draws(message["idempotency_key"])
        if opened >= rates[0]:
            continue
        properties = {
            "channel": message["channel"],
            "scenario": message["scenario_id"],
            "step": message["node_id"],
            "template": message["template"],
        }
        seen_at = message["sent_at"] + timedelta(minutes=5 + delay)
        yield {
            "customer_id": message["customer_id"],
            "type": "message.opened",
            "occurred_at": seen_at,
            "properties": properties,
        }
        if clicked < rates[1]:
            yield {
                "customer_id": message["customer_id"],
                "type": "message.clicked",
                "occurred_at": seen_at + timedelta(minutes=2),
                "properties": properties,
            }


# The month's catalogue news: an oil out of stock since before the month comes back on day 10, and the serum
# gets cheaper; customers looked at both in the days before.
RESTOCKED, CHEAPER = ("CLEANSING-OIL", 48), ("SERUM-30", 4480)
CATALOGUE_NEWS_DAY = 9  # days after the start, at 09:00
INTEREST = {"CLEANSING-OIL": ("product.viewed", 0.06), "SERUM-30": ("product.wishlisted", 0.03)}


def interest(customer_ids: list[str], start: datetime) -> Iterator[dict[str, Any]]:
    """``product.viewed`` / ``product.wishlisted`` events in the days before the catalogue news, each customer
    drawn from a hash of their id and the product (so the same customers every run)."""
    for sku, (kind, share) in INTEREST.items():
        for customer in customer_ids:
            digest = hashlib.sha256(f"demo-interest:{sku}:{customer}".encode()).digest()
            if int.from_bytes(digest[0:4], "big") / 2**32 >= share:
                continue
            minutes = int.from_bytes(digest[4:8], "big") % (CATALOGUE_NEWS_DAY * 24 * 60)
            yield {
                "customer_id": customer,
                "type": kind,
                "occurred_at": start + timedelta(minutes=minutes),
                "properties": {"sku": sku},
            }
