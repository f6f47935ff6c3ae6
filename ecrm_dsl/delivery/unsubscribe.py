"""Per-customer unsubscribe links that cannot be forged for someone else.

The link carries the customer id and an HMAC of it under a server secret; the shop's unsubscribe endpoint
(which also receives RFC 8058 one-click POSTs) checks it with :func:`verify_token`.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import urllib.parse


def token(secret: str, customer_id: str, channel: str) -> str:
    mac = hmac.new(secret.encode(), f"unsubscribe\n{customer_id}\n{channel}".encode(), hashlib.sha256)
    return base64.urlsafe_b64encode(mac.digest()[:16]).decode().rstrip("=")


def verify_token(secret: str, customer_id: str, channel: str, candidate: str) -> bool:
    return hmac.compare_digest(token(secret, customer_id, channel), candidate)


def unsubscribe_url(base_url: str, secret: str, customer_id: str, channel: str = "email") -> str:
    """``base_url`` with ``c`` (customer), ``ch`` (channel) and ``t`` (token) added to its query."""
    parts = urllib.parse.urlsplit(base_url)
    query = urllib.parse.parse_qsl(parts.query, keep_blank_values=True)
    query += [("c", customer_id), ("ch", channel), ("t", token(secret, customer_id, channel))]
    return urllib.parse.urlunsplit(parts._replace(query=urllib.parse.urlencode(query)))
