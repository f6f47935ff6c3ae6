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
        return {n_name: self.n, hits_name: self.hits, "rate": rounded(self.rate), "ci95": rounded_pair(self.wilson())}


def uplift(treated: Proportion, control: Proportion) -> dict[str, Any]:
    """Treated minus control in rate points, its 95% interval, and the relative lift (treated / control - 1)."""
    t_ci, c_ci = treated.wilson(), control.wilson()
    if treated.rate is None or control.rate is None or t_ci is None or c_ci is None:
        return {"points": None, "ci95": None, "relative": None}
    difference = treated.rate - control.rate
    lower = difference - math.sqrt((treated.rate - t_ci[0]) ** 2 + (c_ci[1] - control.rate) ** 2)
    upper = difference + math.sqrt((t_ci[1] - treated.rate) ** 2 + (control.rate - c_ci[0]) ** 2)
    relative = treated.rate / control.rate - 1 if control.rate else None
    return {"points": rounded(difference), "ci95": rounded_pair((lower, upper)), "relative": rounded(relative)}


def rounded(value: float | None) -> float | None:
    """Six decimals: enough for any rate a planner reads, and stable bytes across platforms."""
    return None if value is None else round(value, 6)


def rounded_pair(pair: tuple[float, float] | None) -> list[float] | None:
    return None if pair is None else [round(pair[0], 6), round(pair[1], 6)]


# ------------------------------------------------------------------ chi-square (sample-ratio mismatch)


def chi_square(observed: list[int], expected_shares: list[float]) -> tuple[float, int]:
    """Pearson's statistic of the observed counts against the shares they were drawn with, and its degrees of
    freedom (groups - 1)."""
    total = sum(observed)
    statistic = 0.0
    for count, share in zip(observed, expected_shares, strict=True):
        expected = total * share
        statistic += (count - expected) ** 2 / expected if expected > 0 else 0.0
    return statistic, len(observed) - 1


def chi_square_p(statistic: float, dof: int) -> float:
    """P(X >= statistic) for X chi-square with ``dof`` degrees of freedom: Q(dof/2, statistic/2), the regularised
    upper incomplete gamma function. One degree of freedom is erfc(sqrt(x/2)) exactly."""
    if statistic <= 0:
        return 1.0
    if dof == 1:
        return math.erfc(math.sqrt(statistic / 2))
    return gamma_q(dof / 2, statistic / 2)


def gamma_q(a: float, x: float) -> float:
    """The regularised upper incomplete gamma function Q(a, x) = Γ(a, x) / Γ(a).

    The method of Numerical Recipes (Press et al., 3rd ed., §6.2, ``gammq``): the series for P(a, x) when
    x < a + 1, else the continued fraction for Q(a, x) evaluated with the modified Lentz algorithm; both
    converge quickly in their ranges. Accurate to about 1e-12, far below the 0.001 an SRM flag needs.
    """
    if x <= 0:
        return 1.0
    log_prefix = a * math.log(x) - x - math.lgamma(a)
    if x < a + 1:
        term = total = 1.0 / a
        denominator = a
        for _ in range(1000):
            denominator += 1
            term *= x / denominator
            total += term
            if abs(term) < abs(total) * 1e-15:
                break
        return max(0.0, 1.0 - total * math.exp(log_prefix))
    tiny = 1e-300
    b = x + 1 - a
    c = 1 / tiny
    d = 1 / b
    h = d
    for i in range(1, 1000):
        an = -i * (i - a)
        b += 2
        d = an * d + b
        d = tiny if abs(d) < tiny else d
        c = b + an / c
        c = tiny if abs(c) < tiny else c
        d = 1 / d
        delta = d * c
        h *= delta
        if abs(delta - 1) < 1e-15:
            break
    return math.exp(log_prefix) * h


# ------------------------------------------------------------------ means of money (revenue per customer)


def percentile(values: list[float], q: float) -> float | None:
    """The nearest-rank ``q`` quantile (0 < q <= 1): the smallest value with at least q of the values at or
    below it. Always one of the values, so a cap in yen stays a whole amount."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[max(0, math.ceil(q * len(ordered)) - 1)]


def mean_and_variance(values: list[float]) -> tuple[float, float] | None:
    """The mean and the sample variance (n - 1), or None for fewer than two values."""
    if len(values) < 2:
        return None
    mean = sum(values) / len(values)
    return mean, sum((v - mean) ** 2 for v in values) / (len(values) - 1)


def mean_difference(treated: list[float], control: list[float]) -> dict[str, Any]:
    """Treated mean minus control mean with Welch's 95% interval (normal quantile: the groups this is for have
    hundreds of customers), and the relative lift with a delta-method interval on the log of the ratio."""
    t, c = mean_and_variance(treated), mean_and_variance(control)
    if t is None or c is None:
        return {"difference": None, "ci95": None, "relative": None, "relative_ci95": None}
    (mt, vt), (mc, vc) = t, c
    nt, nc = len(treated), len(control)
    half = Z95 * math.sqrt(vt / nt + vc / nc)
    difference = mt - mc
    relative = relative_ci = None
    if mt > 0 and mc > 0:
        relative = mt / mc - 1
        log_half = Z95 * math.sqrt(vt / (nt * mt * mt) + vc / (nc * mc * mc))
        log_ratio = math.log(mt / mc)
        relative_ci = rounded_pair((math.exp(log_ratio - log_half) - 1, math.exp(log_ratio + log_half) - 1))
    return {
        "difference": rounded(difference),
        "ci95": rounded_pair((difference - half, difference + half)),
        "relative": rounded(relative),
        "relative_ci95": relative_ci,
    }


def ratio_difference(treated: list[tuple[float, float]], control: list[tuple[float, float]]) -> dict[str, Any]:
    """For (numerator, denominator) per customer — revenue and orders — the difference of the two groups' ratios
    of sums (average order value), with a 95% interval from the delta method for a ratio estimator (customers
    are the sampling unit, so several orders of one customer are not counted as independent)."""
    t, c = _ratio_and_variance(treated), _ratio_and_variance(control)
    if t is None or c is None:
        return {"difference": None, "ci95": None, "relative": None, "relative_ci95": None}
    (rt, vt), (rc, vc) = t, c
    half = Z95 * math.sqrt(vt + vc)
    relative = relative_ci = None
    if rt > 0 and rc > 0:
        relative = rt / rc - 1
        log_half = Z95 * math.sqrt(vt / (rt * rt) + vc / (rc * rc))
        log_ratio = math.log(rt / rc)
        relative_ci = rounded_pair((math.exp(log_ratio - log_half) - 1, math.exp(log_ratio + log_half) - 1))
    return {
        "difference": rounded(rt - rc),
        "ci95": rounded_pair((rt - rc - half, rt - rc + half)),
        "relative": rounded(relative),
        "relative_ci95": relative_ci,
    }


def _ratio_and_variance(pairs: list[tuple[float, float]]) -> tuple[float, float] | None:
    """R = sum(y) / sum(x) and its variance, (1 / (n x̄²)) · s² of the residuals y - R·x."""
    n = len(pairs)
    total_x = sum(x for _, x in pairs)
    if n < 2 or total_x <= 0:
        return None
    ratio = sum(y for y, _ in pairs) / total_x
    mean_x = total_x / n
    residuals = [y - ratio * x for y, x in pairs]
    variance = sum(r * r for r in residuals) / (n - 1) / (n * mean_x * mean_x)
    return ratio, variance
