"""Proportions with 95% confidence intervals, and the difference of two (uplift against a holdout).

Wilson's score interval for one proportion, and Newcombe's hybrid score interval (his method 10) for a
difference: both keep sensible coverage for small groups and rates near 0 or 1, where the textbook Wald
interval does not — and holdouts are small by design. Two formulas do not justify a statistics dependency.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

Z95 = 1.959963984540054  # the standard normal quantile for a two-sided 95% interval


@dataclass(frozen=True)
class Proportion:
    n: int
    hits: int

    @property
    def rate(self) -> float | None:
        return self.hits / self.n if self.n else None

    def wilson(self) -> tuple[float, float] | None:
        if not self.n:
            return None
        p, n, z2 = self.hits / self.n, self.n, Z95 * Z95
        centre = (p + z2 / (2 * n)) / (1 + z2 / n)
        half = Z95 * math.sqrt(p * (1 - p) / n + z2 / (4 * n * n)) / (1 + z2 / n)
        return max(0.0, centre - half), min(1.0, centre + half)

    def as_dict(self, hits_name: str = "converted", n_name: str = "n") -> dict[str, Any]:
        return {n_name: self.n, hits_name: self.hits, "rate": _round(self.rate), "ci95": _pair(self.wilson())}


def uplift(treated: Proportion, control: Proportion) -> dict[str, Any]:
    """Treated minus control in rate points, its 95% interval, and the relative lift (treated / control - 1)."""
    t_ci, c_ci = treated.wilson(), control.wilson()
    if treated.rate is None or control.rate is None or t_ci is None or c_ci is None:
        return {"points": None, "ci95": None, "relative": None}
    difference = treated.rate - control.rate
    lower = difference - math.sqrt((treated.rate - t_ci[0]) ** 2 + (c_ci[1] - control.rate) ** 2)
    upper = difference + math.sqrt((t_ci[1] - treated.rate) ** 2 + (control.rate - c_ci[0]) ** 2)
    relative = treated.rate / control.rate - 1 if control.rate else None
    return {"points": _round(difference), "ci95": _pair((lower, upper)), "relative": _round(relative)}


def _round(value: float | None) -> float | None:
    """Six decimals: enough for any rate a planner reads, and stable bytes across platforms."""
    return None if value is None else round(value, 6)


def _pair(pair: tuple[float, float] | None) -> list[float] | None:
    return None if pair is None else [round(pair[0], 6), round(pair[1], 6)]
