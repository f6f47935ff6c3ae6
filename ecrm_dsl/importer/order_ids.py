"""Order ids for exports that have none (``derive_id = true`` in a mapping's ``[orders]``).

A row's id is its customer, its shop-local order date (and time, when it is not midnight) and its place among
that customer's rows with the same moment, counted from 1 in file order::

    00001-19970101-1          the first row of customer 00001 on 1997-01-01
    00001-19970101-2          a second purchase of theirs that day
    C42-20250301T103000-1     an export with times

The same file therefore gives the same ids on every import (so a re-import changes nothing), and an export
that only appends rows keeps the ids of the rows it had. What changes them: rows of one customer and moment
that swap places (they are told apart only by their order), and importing with another shop timezone.
"""

from __future__ import annotations

from collections import Counter
from datetime import datetime, time, tzinfo


class DerivedIds:
    def __init__(self, shop_tz: tzinfo):
        self.shop_tz = shop_tz
        self.seen: Counter[tuple[str, str]] = Counter()

    def next(self, customer_id: str, ordered_at: datetime) -> str:
        local = ordered_at.astimezone(self.shop_tz)
        moment = local.strftime("%Y%m%d") if local.time() == time() else local.strftime("%Y%m%dT%H%M%S")
        key = (customer_id, moment)  # to the second, as the id shows it
        self.seen[key] += 1
        return f"{customer_id}-{moment}-{self.seen[key]}"
