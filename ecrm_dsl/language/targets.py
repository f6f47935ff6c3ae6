"""A hypothesis's target: how far the messaged should beat the holdout on the KPI, and over how long.

``+3pt within 60d`` (a rate KPI, in percentage points), ``+500円 within 90d`` (a money KPI, yen per customer) or
``+5% within 90d`` (a money KPI, relative to the holdout). Both syntaxes spell it the same way and share this
parser; which units fit which KPI is here too, so the checks and ``ecrm report`` agree on what a target means.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ecrm_dsl.language.i18n import tr
from ecrm_dsl.language.values import Duration, ValueError_

# What the report can measure for a scenario, messaged against holdout, from the orders after entry: the share
# who ordered (rates) or the revenue per customer and the average order value (money).
RATE_KPIS = ("f2_rate", "repeat_rate", "winback_rate", "cvr")
MONEY_KPIS = ("ltv", "aov")
UNITS_BY_KPI = {**dict.fromkeys(RATE_KPIS, ("pt",)), **dict.fromkeys(MONEY_KPIS, ("円", "%"))}

_AMOUNT_RE = re.compile(r"^([+-]?)(\d{1,6}(?:\.\d{1,2})?)(pt|円|%)$")
_TARGET_RE = re.compile(r"^\s*(\S+)\s+within\s+(\S+)\s*$")


def target_hint() -> str:
    return tr("write the change and the window, e.g. +3pt within 60d (rates), +500円 or +5% within 90d (ltv, aov)")


@dataclass(frozen=True, slots=True)
class TargetAmount:
    amount: int | float  # a whole number stays an int, so the plan spells 3 as 3, not 3.0
    unit: str  # pt | 円 | %

    def __str__(self) -> str:
        return f"{self.amount:+}{self.unit}"


def parse_amount(text: str) -> TargetAmount:
    """``+3pt``, ``2.5pt``, ``+500円``, ``+5%``: a signed number and a unit."""
    match = _AMOUNT_RE.match(text.strip())
    if not match:
        raise ValueError_(
            tr("'{text}' is not a target; write a number and a unit: +3pt, +500円 or +5%", text=text), target_hint()
        )
    sign, digits, unit = match.groups()
    number: int | float = float(digits) if "." in digits else int(digits)
    return TargetAmount(-number if sign == "-" else number, unit)


def parse_target(text: str) -> tuple[TargetAmount, Duration]:
    """The YAML form, one string: ``+3pt within 60d``."""
    match = _TARGET_RE.match(text)
    if not match:
        raise ValueError_(tr("'{text}' is not a target; write '<change> within <duration>'", text=text), target_hint())
    return parse_amount(match.group(1)), Duration.parse(match.group(2))


def target_problem(kpi: str, amount: TargetAmount, within: Duration) -> tuple[str, str] | None:
    """Why a target does not fit its KPI (message, hint), or None when it does."""
    units = UNITS_BY_KPI.get(kpi)
    if units is None:
        measurable = ", ".join((*RATE_KPIS, *MONEY_KPIS))
        return (
            tr("the report cannot measure a target for KPI '{kpi}'", kpi=kpi),
            tr("give a target only for {kpis}; keep the hypothesis without one", kpis=measurable),
        )
    if amount.unit not in units:
        if units == ("pt",):
            return (
                tr("'{target}' does not fit the rate KPI '{kpi}'", target=amount, kpi=kpi),
                tr("a rate's target is in points, e.g. +3pt"),
            )
        return (
            tr("'{target}' does not fit the money KPI '{kpi}'", target=amount, kpi=kpi),
            tr("a money target is in yen or percent: +500円, +5%"),
        )
    if amount.amount <= 0:
        return (
            tr("target '{target}' is not an improvement", target=amount),
            tr("a target is how much better the messaged should do: +3pt"),
        )
    if amount.unit == "pt" and amount.amount >= 100:
        return (
            tr("target '{target}' is more than a rate can move", target=amount),
            tr("a rate moves by less than 100 points"),
        )
    if within.seconds < 86400:
        return (
            tr("target window '{window}' is shorter than a day", window=within),
            tr("measure over days: within 30d, within 60d"),
        )
    return None


def spell_target(amount: TargetAmount, within: Duration) -> str:
    """The one spelling both printers and the report use: ``+3pt within 60d``."""
    return f"{amount} within {within}"
