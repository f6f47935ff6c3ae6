"""Before launch: how many customers a scenario's holdout needs, and how long it takes to get them.

The test planned for is the one the report runs afterwards in spirit: a two-sided comparison of two conversion
rates at significance ``alpha`` with the given ``power``. Group sizes come from Fleiss's formula for two
independent proportions with unequal allocation (no continuity correction; the same figures as the common
online calculators and G*Power), and the smallest detectable uplift is that formula solved for the difference.
The normal quantiles come from the standard library (``statistics.NormalDist``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from statistics import NormalDist
from typing import Any

ALPHA = 0.05
POWER = 0.8
MDE_WEEKS = (4, 12)  # the enrollment periods the smallest detectable uplift is shown for
_Z = NormalDist()


@dataclass(frozen=True)
class Design:
    """Two groups compared: ``treated_share`` and ``control_share`` of all entrants (the rest are in neither)."""

    treated_share: float
    control_share: float
    alpha: float = ALPHA
    power: float = POWER

    def entrants_needed(self, baseline: float, uplift: float) -> int | None:
        """Entrants (all groups) needed to detect ``baseline`` → ``baseline + uplift``; None if it cannot be."""
        treated_rate = baseline + uplift
        if not (0 < baseline < 1) or not (0 < treated_rate < 1) or uplift == 0:
            return None
        # Fleiss, with the control group ``ratio`` times the treated group.
        ratio = self.control_share / self.treated_share
        pooled = (treated_rate + ratio * baseline) / (1 + ratio)
        z_alpha, z_power = _Z.inv_cdf(1 - self.alpha / 2), _Z.inv_cdf(self.power)
        spread = z_alpha * math.sqrt(pooled * (1 - pooled) * (1 + 1 / ratio)) + z_power * math.sqrt(
            treated_rate * (1 - treated_rate) + baseline * (1 - baseline) / ratio
        )
        treated = math.ceil((spread / uplift) ** 2 - 1e-9)
        return math.ceil(treated / self.treated_share - 1e-9)

    def detectable_uplift(self, baseline: float, entrants: float) -> float | None:
        """The smallest uplift (a rate difference, positive) detectable among ``entrants``; None if none is."""
        if not (0 < baseline < 1) or entrants <= 0:
            return None
        ceiling = 1 - baseline - 1e-9
        needed = self.entrants_needed(baseline, ceiling)
        if needed is None or needed > entrants:
            return None
        low, high = 0.0, ceiling
        for _ in range(60):  # bisection: entrants_needed falls as the uplift grows
            middle = (low + high) / 2
            wanted = self.entrants_needed(baseline, middle)
            if wanted is not None and wanted <= entrants:
                high = middle
            else:
                low = middle
        return high


@dataclass(frozen=True)
class PowerEstimate:
    """What a scenario's experiment can show, from its entrants per week and its baseline conversion."""

    weekly_entrants: float
    baseline: float | None
    design: Design | None  # None: nothing to compare (no holdout and no split)
    comparison: str  # "messaged vs holdout", "variant a vs holdout", ...
    goal_window_days: float | None
    uplift: float  # the uplift asked about, a rate difference
    uplift_from: str = "--uplift"  # or "the hypothesis target"

    @property
    def weeks_needed(self) -> float | None:
        """Weeks of enrollment until ``uplift`` is detectable (the goal window still runs after the last entry)."""
        if self.design is None or self.baseline is None or self.weekly_entrants <= 0:
            return None
        needed = self.design.entrants_needed(self.baseline, self.uplift)
        return None if needed is None else needed / self.weekly_entrants

    def detectable_after(self, weeks: int) -> float | None:
        if self.design is None or self.baseline is None:
            return None
        return self.design.detectable_uplift(self.baseline, self.weekly_entrants * weeks)

    def as_dict(self) -> dict[str, Any]:
        return {
            "weekly_entrants": round(self.weekly_entrants, 3),
            "baseline": None if self.baseline is None else round(self.baseline, 6),
            "comparison": self.comparison,
            "groups": None
            if self.design is None
            else {"treated": round(self.design.treated_share, 6), "control": round(self.design.control_share, 6)},
            "alpha": ALPHA,
            "power": POWER,
            "uplift": round(self.uplift, 6),
            "uplift_from": self.uplift_from,
            "weeks_needed": None if self.weeks_needed is None else round(self.weeks_needed, 2),
            "goal_window_days": self.goal_window_days,
            "detectable_uplift": {
                f"{weeks}w": None if (mde := self.detectable_after(weeks)) is None else round(mde, 6)
                for weeks in MDE_WEEKS
            },
            "sentence": describe(self),
        }


def design_for(holdout_percent: int, variant_weights: list[tuple[str, int]]) -> tuple[Design | None, str]:
    """The comparison a scenario's experiment is weakest at: messaged vs holdout, or with an A/B/n split, its
    smallest variant vs the holdout (or, without a holdout, its two smallest variants)."""
    holdout = holdout_percent / 100
    total = sum(weight for _, weight in variant_weights)
    smallest = sorted(variant_weights, key=lambda v: (v[1], v[0]))
    if holdout > 0 and not smallest:
        return Design(1 - holdout, holdout), "messaged vs holdout"
    if holdout > 0:
        name, weight = smallest[0]
        return Design((1 - holdout) * weight / total, holdout), f"variant {name} vs holdout"
    if len(smallest) >= 2:
        (a, wa), (b, wb) = smallest[:2]
        return Design(wa / total, wb / total), f"variant {a} vs variant {b}"
    return None, "no holdout or split: the uplift cannot be measured (add `holdout 10%`)"


def describe(estimate: PowerEstimate) -> str:
    """One line for a planner."""
    head = f"~{estimate.weekly_entrants:,.0f} entrants a week"
    if estimate.design is None:
        return f"{head}; {estimate.comparison}"
    if estimate.baseline is None:
        return f"{head}; no conversion to start from, so no estimate ({estimate.comparison})"
    parts = [f"{head}, baseline conversion {estimate.baseline:.1%}", estimate.comparison]
    weeks = estimate.weeks_needed
    asked = f"+{_points(estimate.uplift)}" + (" (the hypothesis target)" if estimate.uplift_from != "--uplift" else "")
    window = f" plus the {estimate.goal_window_days:g}-day goal window" if estimate.goal_window_days else ""
    if weeks is None:
        parts.append(f"{asked} cannot be detected from this baseline")
    else:
        parts.append(f"{asked} detectable after {_weeks(weeks)} of enrollment{window}")
        if weeks > 52:
            parts.append("over a year: a larger holdout, a bolder change or a wider audience would shorten it")
    shown = [
        f"{weeks}w: +{_points(mde)}" if (mde := estimate.detectable_after(weeks)) is not None else f"{weeks}w: none"
        for weeks in MDE_WEEKS
    ]
    parts.append("smallest detectable uplift " + ", ".join(shown))
    return "; ".join(parts) + f" (α {ALPHA:g}, power {POWER:.0%})"


def _points(rate: float) -> str:
    return f"{rate * 100:.1f}pt"


def _weeks(weeks: float) -> str:
    return "1 week" if weeks <= 1 else f"{math.ceil(weeks):,} weeks"
