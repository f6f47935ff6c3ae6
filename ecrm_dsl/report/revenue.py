"""Revenue per enrolled customer, messaged against holdout, and what the messages added.

Each enrollee counts the revenue of their orders after entry (not the order they entered on) within the window,
and only enrollees whose window has passed by the report's end are counted. Revenue per customer is heavily
skewed — one wholesale order can outweigh a thousand customers — so it is winsorised: every enrollee's revenue is
capped at the 99th percentile of the scenario's enrollees (both groups together), and the report says so. The
incremental revenue per customer (messaged - holdout) has Welch's 95% interval on the capped values: an
analytic method, so the output is the same on every run.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ecrm_dsl.report.stats import mean_difference, percentile, rounded

WINSOR_QUANTILE = 0.99


@dataclass(frozen=True)
class EnrolleeOrders:
    """(holdout, revenue, orders) per enrollee of one scenario over one window after entry."""

    window_seconds: int
    rows: list[tuple[bool, int, int]]

    def group(self, holdout: bool) -> list[tuple[int, int]]:
        return [(revenue, orders) for held, revenue, orders in self.rows if held == holdout]


def winsorised(enrollees: EnrolleeOrders) -> tuple[int | None, dict[bool, list[float]]]:
    """The cap (the 99th percentile of every enrollee's revenue) and each group's revenues capped at it."""
    cap = percentile([float(revenue) for _, revenue, _ in enrollees.rows], WINSOR_QUANTILE)
    capped: dict[bool, list[float]] = {False: [], True: []}
    for held, revenue, _ in enrollees.rows:
        capped[held].append(min(float(revenue), cap) if cap is not None else float(revenue))
    return (int(cap) if cap is not None else None), capped


def revenue_comparison(enrollees: EnrolleeOrders) -> dict[str, Any]:
    cap, capped = winsorised(enrollees)
    groups = {}
    for name, held in (("treated", False), ("holdout", True)):
        rows = enrollees.group(held)
        n = len(rows)
        total = sum(revenue for revenue, _ in rows)
        groups[name] = {
            "n": n,
            "buyers": sum(1 for _, orders in rows if orders),
            "revenue": total,
            "per_customer": rounded(total / n) if n else None,
            "per_customer_winsorised": rounded(sum(capped[held]) / n) if n else None,
        }
    difference = mean_difference(capped[False], capped[True])
    return {
        "window_days": round(enrollees.window_seconds / 86400, 2),
        **groups,
        "winsorised_at": cap,
        "incremental_per_customer": difference["difference"],
        "ci95": difference["ci95"],
        "method": "winsorised at the 99th percentile of enrollees; Welch 95% interval",
    }
