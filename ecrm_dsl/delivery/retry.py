"""When to try a transient failure again: exponential backoff with a cap and deterministic jitter.

The jitter comes from the idempotency key, so one delivery always waits the same (reproducible schedules and
tests) while many deliveries that failed together (a provider outage) spread out instead of retrying at once.
"""

from __future__ import annotations

import hashlib
from datetime import timedelta

MAX_ATTEMPTS = 6  # attempts in all, the first included; then the delivery is given up as failed
BASE = timedelta(minutes=5)
FACTOR = 3
CAP = timedelta(hours=6)
JITTER = 0.2  # the delay is scaled by a factor in [1 - JITTER, 1]: never above the cap


def backoff(attempt: int, key: str = "") -> timedelta:
    """The wait after failed attempt number ``attempt`` (1 = the first attempt): 5m, 15m, 45m, 2h15m, 6h, ..."""
    if attempt < 1:
        raise ValueError("attempt counts from 1")
    # In seconds, with a bounded exponent: timedelta overflows long before the cap would apply.
    seconds = min(BASE.total_seconds() * FACTOR ** min(attempt - 1, 32), CAP.total_seconds())
    digest = hashlib.sha256(f"{key}:{attempt}".encode()).digest()
    fraction = int.from_bytes(digest[:8], "big") / 2**64
    return timedelta(seconds=round(seconds * (1 - JITTER * fraction)))


def should_retry(attempt: int) -> bool:
    """Whether a transient failure of attempt number ``attempt`` gets another attempt."""
    return attempt < MAX_ATTEMPTS
