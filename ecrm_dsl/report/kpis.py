"""The shop's repeat-purchase KPIs over a window: F2 conversion, repeat rate, win-back, subscription retention."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import Connection

from ecrm_dsl.report.stats import Proportion
from ecrm_dsl.store import report_queries as q

MAX_SHIPMENTS = 12  # retention is shown up to the 12th shipment; churn clusters well before that


def f2_conversion(conn: Connection, window: q.Window, days: int) -> dict[str, Any]:
    """Of the customers whose first order is in the window, the share with a second order within ``days``.

    Only customers whose ``days`` have fully passed by the window's end count: a customer who bought yesterday
    has not had the chance to come back, and counting them would pull the rate down.
    """
    span = timedelta(days=days)
    cohort = converted = 0
    for first, second in q.first_and_second_orders(conn, window):
        if first + span > window.end:
            continue
        cohort += 1
        converted += second is not None and second <= first + span
    return {"days": days, **Proportion(cohort, converted).as_dict("converted", "cohort")}


def repeat_rate(conn: Connection, window: q.Window) -> dict[str, Any]:
    """Of the customers who ordered in the window, the share with two or more orders by its end."""
    buyers, repeaters = q.buyers_and_repeaters(conn, window)
    return Proportion(buyers, repeaters).as_dict("repeaters", "buyers")


def winback(conn: Connection, window: q.Window, dormant_days: int) -> dict[str, Any]:
    """Of the customers dormant (no order for ``dormant_days``) when the window starts, the share who ordered in it.
    Without a window start there is no "before", so the rate is empty."""
    if window.start is None:
        return {"dormant_days": dormant_days, **Proportion(0, 0).as_dict("returned", "dormant")}
    dormant, returned = q.dormant_and_returned(
        conn, window.start, window.start - timedelta(days=dormant_days), window.end
    )
    return {"dormant_days": dormant_days, **Proportion(dormant, returned).as_dict("returned", "dormant")}


def subscription_retention(conn: Connection, window: q.Window) -> list[dict[str, Any]]:
    """For subscriptions started in the window: how many reached each shipment, as a share of the first."""
    by_count = q.shipments_reached(conn, window)
    if not by_count:
        return []
    top = min(max(by_count), MAX_SHIPMENTS)
    first = sum(n for shipments, n in by_count.items() if shipments >= 1)
    curve = []
    for shipment in range(1, top + 1):
        reached = sum(n for shipments, n in by_count.items() if shipments >= shipment)
        curve.append({"shipment": shipment, "reached": reached, "rate": Proportion(first, reached).as_dict()["rate"]})
    return curve
