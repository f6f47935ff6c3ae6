"""The shop's money over the report's window: revenue, orders, average order value and repeat revenue, shop-wide
and by phase, entry channel and segment; and observed LTV by first-purchase month.

Phases are judged from each customer's orders up to the window's end (what a planner sees on that day):

- ``dormant``: no order for ``dormant_days`` (the report's ``--dormant-days``, 150) or more;
- ``new``: one order, placed in the last ``NEW_DAYS`` days;
- ``f2_pending``: one order, older than that (the second purchase is still awaited);
- ``repeat``: two to ``LOYAL_ORDERS`` - 1 orders; ``loyal``: ``LOYAL_ORDERS`` or more.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Connection, Select

from ecrm_dsl.report.stats import rounded
from ecrm_dsl.store import report_queries as q

NEW_DAYS = 30
LOYAL_ORDERS = 5
PHASES = ("new", "f2_pending", "repeat", "loyal", "dormant")
MAX_COHORT_MONTHS = 24  # months since the first order shown per cohort; two years covers most LTV questions
UNKNOWN_CHANNEL = "(unknown)"


def money(
    conn: Connection,
    window: q.Window,
    zone: ZoneInfo,
    dormant_days: int,
    audiences: Iterable[tuple[str, Select[Any]]],
) -> dict[str, Any]:
    """The money section of the report document; ``audiences`` are (segment name, its customers as of the end)."""
    overall = q.revenue_groups(conn, window)
    phase = q.customer_phase(
        window.end - timedelta(days=NEW_DAYS), window.end - timedelta(days=dormant_days), LOYAL_ORDERS
    )
    by_phase = {str(g): row for g, *row in q.revenue_groups(conn, window, phase)}
    channels = q.revenue_groups(conn, window, q.customer_entry_channel())
    segments = []
    for name, audience in audiences:
        rows = q.revenue_groups(conn, window, among=audience)
        segments.append({"group": name, **_figures(*rows[0][1:] if rows else (0, 0, 0, 0))})
    return {
        "overall": _figures(*overall[0][1:]) if overall else _figures(0, 0, 0, 0),
        "by_phase": [{"group": p, **_figures(*by_phase[p])} for p in PHASES if p in by_phase],
        "by_entry_channel": sorted(
            ({"group": str(g) if g is not None else UNKNOWN_CHANNEL, **_figures(*row)} for g, *row in channels),
            key=lambda r: (-r["revenue"], r["group"]),
        ),
        "by_segment": segments,
        "cohorts": cohorts(conn, window, zone),
        "phase_rule": {"new_days": NEW_DAYS, "dormant_days": dormant_days, "loyal_orders": LOYAL_ORDERS},
    }


def _figures(orders: int, revenue: int, repeat_revenue: int, buyers: int) -> dict[str, Any]:
    return {
        "orders": orders,
        "revenue": revenue,
        "aov": rounded(revenue / orders) if orders else None,
        "repeat_revenue": repeat_revenue,
        "repeat_share": rounded(repeat_revenue / revenue) if revenue else None,
        "buyers": buyers,
        "revenue_per_buyer": rounded(revenue / buyers) if buyers else None,
    }


def month_starts(first: datetime, end: datetime, zone: ZoneInfo) -> list[datetime]:
    """The instants where shop-local months begin, from the month of ``first`` to the month of ``end``."""
    local = first.astimezone(zone)
    year, month = local.year, local.month
    last = end.astimezone(zone)
    starts = []
    while (year, month) <= (last.year, last.month):
        starts.append(datetime(year, month, 1, tzinfo=zone))
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return starts


def cohorts(conn: Connection, window: q.Window, zone: ZoneInfo) -> list[dict[str, Any]]:
    """Per first-purchase month: its customers and their observed LTV — revenue per customer of the cohort,
    cumulative by months since the first order (month 0 is the month of the first order) — for the months that
    have begun by the window's end."""
    first = q.first_order_bounds(conn, window)
    if first is None:
        return []
    starts = month_starts(first, window.end, zone)
    sizes, revenue = q.cohort_revenue(conn, window, starts)
    rows = []
    for index, customers in sorted(sizes.items()):
        running, ltv = 0, []
        for age in range(min(len(starts) - index, MAX_COHORT_MONTHS)):
            running += revenue.get((index, index + age), 0)
            ltv.append(rounded(running / customers))
        rows.append({"cohort": starts[index].strftime("%Y-%m"), "customers": customers, "ltv": ltv})
    return rows
