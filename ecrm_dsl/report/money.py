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
    bounds = (window.end - timedelta(days=NEW_DAYS), window.end - timedelta(days=dormant_days), LOYAL_ORDERS)
    rows: dict[str, dict[str | None, dict[str, Any]]] = {}
    for dimension, group, *figures in q.revenue_breakdown(conn, window, bounds):
        rows.setdefault(dimension, {})[group] = _figures(*figures)
    overall = rows.get("all", {}).get("all", _figures(0, 0, 0, 0))
    by_phase, channels = rows.get("phase", {}), rows.get("entry_channel", {})
    return {
        "overall": overall,
        "by_phase": [{"group": p, **by_phase[p]} for p in PHASES if p in by_phase],
        "by_entry_channel": sorted(
            ({"group": g if g is not None else UNKNOWN_CHANNEL, **row} for g, row in channels.items()),
            key=lambda r: (-r["revenue"], r["group"]),
        ),
        "by_segment": [
            {"group": name, **_figures(*q.audience_revenue(conn, window, audience))} for name, audience in audiences
        ],
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
