"""The hypothesis journal in the report: each scenario's hypothesis, what was measured against its target, and a
verdict.

What is measured is messaged against holdout over the target's window after entry, among the enrollees whose
window has fully passed by the report's end (a customer who entered yesterday has not had the chance):

- a rate KPI (f2_rate, repeat_rate, winback_rate, cvr): the share who ordered after entry, in points, with
  Newcombe's 95% interval;
- ``ltv``: revenue per customer (winsorised at the 99th percentile of the scenario's enrollees), in yen or
  relative to the holdout, with Welch's 95% interval (relative: delta method on the log of the ratio);
- ``aov``: the average order value of the orders in the window, with a delta-method interval (customers are
  the sampling unit).

The verdict: **supported** when the measured effect reaches the target and its 95% interval lies above zero;
**not supported** when the whole interval lies below the target (the data rule it out); otherwise **not yet
enough data** — also when no enrollee's window has passed or a group is too small (see ``experiments``).
Without a holdout there is nothing to compare against: **not measurable**.
"""

from __future__ import annotations

from typing import Any

from ecrm_dsl.language.targets import MONEY_KPIS, RATE_KPIS, TargetAmount, spell_target
from ecrm_dsl.language.values import Duration
from ecrm_dsl.plan.scenario import ScenarioPlan
from ecrm_dsl.report.experiments import MIN_CONVERSIONS
from ecrm_dsl.report.revenue import EnrolleeOrders, winsorised
from ecrm_dsl.report.stats import Proportion, mean_difference, ratio_difference, uplift

SUPPORTED, NOT_SUPPORTED, NOT_YET, NOT_MEASURABLE = (
    "supported",
    "not supported",
    "not yet enough data",
    "not measurable",
)


def hypothesis_entry(scenario: ScenarioPlan, enrollees: EnrolleeOrders | None) -> dict[str, Any] | None:
    """The journal entry of one scenario; ``enrollees`` are its outcomes over the target's window (None without
    a target)."""
    hypothesis = scenario.hypothesis
    if hypothesis is None:
        return None
    entry: dict[str, Any] = {"kpi": hypothesis.kpi, "statement": hypothesis.statement, "target": None}
    target = hypothesis.target
    if target is None:
        return entry | {"measured": None, "verdict": None, "reason": "no target stated"}
    entry["target"] = {
        "amount": target.amount,
        "unit": target.unit,
        "within_days": round(target.within_seconds / 86400, 2),
        "text": spell_target(TargetAmount(target.amount, target.unit), Duration(target.within_seconds)),
    }
    if scenario.holdout_percent == 0:
        return entry | {"measured": None, "verdict": NOT_MEASURABLE, "reason": "the scenario has no holdout"}
    assert enrollees is not None
    measured = _measure(hypothesis.kpi, target.unit, enrollees)
    return entry | measured | _verdict(measured, target.amount, target.unit, enrollees)


def _measure(kpi: str, unit: str, enrollees: EnrolleeOrders) -> dict[str, Any]:
    treated, control = enrollees.group(False), enrollees.group(True)
    if kpi in RATE_KPIS:
        t = Proportion(len(treated), sum(1 for _, orders in treated if orders))
        c = Proportion(len(control), sum(1 for _, orders in control if orders))
        change = uplift(t, c)
        return {
            "measured": {
                "measure": "ordered after entry",
                "treated": t.as_dict("buyers"),
                "holdout": c.as_dict("buyers"),
                "effect": change["points"],
                "ci95": change["ci95"],
            },
            "_events": (t.hits, c.hits),
        }
    assert kpi in MONEY_KPIS
    buyers = (sum(1 for _, orders in treated if orders), sum(1 for _, orders in control if orders))
    if kpi == "ltv":
        cap, capped = winsorised(enrollees)
        difference = mean_difference(capped[False], capped[True])
        means = {g: (sum(v) / len(v) if v else None) for g, v in capped.items()}
        measure = "revenue per customer (winsorised)"
        extra: dict[str, Any] = {"cap": cap}
    else:
        difference = ratio_difference(
            [(float(r), float(o)) for r, o in treated], [(float(r), float(o)) for r, o in control]
        )
        means = {
            g: (sum(r for r, _ in rows) / orders if (orders := sum(o for _, o in rows)) else None)
            for g, rows in ((False, treated), (True, control))
        }
        measure = "average order value"
        extra = {}
    relative = unit == "%"
    return {
        "measured": {
            "measure": measure,
            "treated": {"n": len(treated), "buyers": buyers[0], "value": _yen(means[False])},
            "holdout": {"n": len(control), "buyers": buyers[1], "value": _yen(means[True])},
            "effect": difference["relative"] if relative else difference["difference"],
            "ci95": difference["relative_ci95"] if relative else difference["ci95"],
            **extra,
        },
        "_events": buyers,
    }


def _yen(value: float | None) -> float | None:
    return None if value is None else round(value, 2)


def _verdict(measured: dict[str, Any], amount: float, unit: str, enrollees: EnrolleeOrders) -> dict[str, Any]:
    events = measured.pop("_events")
    result = measured["measured"]
    goal = amount / 100 if unit in ("pt", "%") else amount  # points and percent are fractions in the document
    if not enrollees.rows:
        return {"verdict": NOT_YET, "reason": "no enrollee's target window has passed by the end of the report"}
    if min(events) < MIN_CONVERSIONS:
        noun = "buyers" if unit != "pt" else "conversions"
        return {
            "verdict": NOT_YET,
            "reason": f"a group has fewer than {MIN_CONVERSIONS} {noun} "
            f"(messaged {events[0]:,}, holdout {events[1]:,})",
        }
    effect, ci = result["effect"], result["ci95"]
    if effect is None or ci is None:
        return {"verdict": NOT_YET, "reason": "the effect cannot be measured yet"}
    if effect >= goal and ci[0] > 0:
        return {"verdict": SUPPORTED, "reason": "the effect reaches the target and its 95% interval is above zero"}
    if ci[1] < goal:
        return {"verdict": NOT_SUPPORTED, "reason": "the whole 95% interval is below the target"}
    if effect >= goal:
        return {"verdict": NOT_YET, "reason": "the effect reaches the target, but its 95% interval still includes zero"}
    return {"verdict": NOT_YET, "reason": "the effect is below the target, but its 95% interval still reaches it"}
