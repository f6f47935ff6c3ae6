"""Who may have left a segment's time windows since its last check, read from the rows the windows bound.

A window (``count(subscription.skipped, 60d)``, ``opened(email, 30d)``, ``purchases(within: 36h)``) moves with
the clock: between two checks at ``after`` and ``now``, a window of ``w`` seconds lets go of the rows whose time
lies in ``[after - w, now - w]``, and only their customers can change verdict without changing data. The
condition compiler marks each window's start with the rows it bounds (``conditions.sql.window_reads``), so those
customers are an indexed range read per window, ``events(type, occurred_at)`` or ``orders(ordered_at)``, instead
of every change-log row of the slice (of any table, kept for the longest window). Rows entering a window are new
data, which the change log finds as it always does.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, Select, String, bindparam, literal, select, union

from ecrm_dsl.conditions.sql import WindowRead
from ecrm_dsl.store.prepared import run
from ecrm_dsl.store.tables import TABLES, UTCDateTime


class WindowLeavers:
    """The customers with a row leaving one of ``reads`` between two checks, by one statement built once."""

    def __init__(self, reads: Collection[WindowRead]):
        self.reads = tuple(sorted(reads))
        parts: list[Select[Any]] = []
        for index, read in enumerate(self.reads):
            low = bindparam(f"leaving_from_{index}", type_=UTCDateTime())
            high = bindparam(f"leaving_to_{index}", type_=UTCDateTime())
            parts.append(_slice(read, low, high))
        self._statement = union(*parts) if len(parts) > 1 else (parts[0] if parts else None)

    def customers(self, conn: Connection, after: datetime, now: datetime) -> list[str]:
        """The customers (sorted, once each) with a row that left a window between checks at ``after`` and
        ``now``."""
        if self._statement is None or now <= after:
            return []
        params: dict[str, Any] = {}
        for index, read in enumerate(self.reads):
            span = timedelta(seconds=read.seconds)
            params[f"leaving_from_{index}"] = after - span
            params[f"leaving_to_{index}"] = now - span
        return sorted(set(run(conn, self._statement, params).scalars()))


def _slice(read: WindowRead, low: Any, high: Any) -> Select[Any]:
    if read.table == "orders":
        orders = TABLES.orders.c
        return select(orders.customer_id).where(orders.ordered_at >= low, orders.ordered_at <= high)
    if read.table == "events" and read.event_type is not None:
        events = TABLES.events.c
        kind = literal(read.event_type, String())
        in_slice = (events.type == kind, events.occurred_at >= low, events.occurred_at <= high)
        return select(events.customer_id).where(*in_slice)
    raise ValueError(f"no rows known for a window over {read.table}")
