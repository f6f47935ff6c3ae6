"""Literal values of the language (durations, money, times of day) and the fixed vocabularies.

Each value has one parser shared by both syntaxes and one canonical spelling used by the printers and the plan,
so ``36h``, ``1d12h`` and ``2160m`` are the same duration and always print as ``36h``.
"""

from __future__ import annotations

import calendar
import datetime
import re
from dataclasses import dataclass

from ecrm_dsl.language.i18n import lookup, n_, tr

_UNIT_SECONDS = {"w": 7 * 86400, "d": 86400, "h": 3600, "m": 60}
_DURATION_RE = re.compile(r"^([+-])?((?:\d+[wdhm])+)$")  # a sign as the grammar and the schemas allow
_DURATION_PART_RE = re.compile(r"(\d+)([wdhm])")
_MONEY_RE = re.compile(r"^(?:¥\s*(\d+(?:,\d{3})*)|(\d+(?:,\d{3})*)\s*(?:円|JPY))$")
_TIME_RE = re.compile(r"^([01]?\d|2[0-3]):([0-5]\d)$")


# Longer than any customer journey; past it the runtime's date arithmetic would overflow.
MAX_DURATION_DAYS = 3_660
# The largest whole number (and amount of yen) the store's integer columns hold.
MAX_INTEGER = 2**63 - 1


class ValueError_(ValueError):
    """A literal that does not parse; the message (and the hint, when there is one) is written for planners."""

    def __init__(self, message: str, hint: str | None = None):
        super().__init__(message)
        self.hint = hint


@dataclass(frozen=True, slots=True, order=True)
class Duration:
    """A signed length of time in seconds (minute resolution)."""

    seconds: int

    @classmethod
    def parse(cls, text: str) -> Duration:
        match = _DURATION_RE.match(text.strip())
        if not match:
            raise ValueError_(
                tr("'{text}' is not a duration; write a number and a unit: 30m, 36h, 7d or 2w", text=text)
            )
        total = sum(int(n) * _UNIT_SECONDS[u] for n, u in _DURATION_PART_RE.findall(match.group(2)))
        if total > MAX_DURATION_DAYS * 86400:
            raise ValueError_(
                tr("'{text}' is longer than {limit} days", text=text, limit=f"{MAX_DURATION_DAYS:,}"),
                hint=tr("durations go up to {limit} days (about ten years)", limit=f"{MAX_DURATION_DAYS:,}"),
            )
        return cls(-total if match.group(1) == "-" else total)

    @property
    def days(self) -> float:
        return self.seconds / 86400

    def __str__(self) -> str:
        sign = "-" if self.seconds < 0 else ""
        magnitude = abs(self.seconds)
        for unit in ("d", "h", "m"):
            if magnitude % _UNIT_SECONDS[unit] == 0:
                return f"{sign}{magnitude // _UNIT_SECONDS[unit]}{unit}"
        return f"{sign}{magnitude // 60}m"


@dataclass(frozen=True, slots=True, order=True)
class Money:
    """An amount in Japanese yen (whole yen)."""

    yen: int

    @classmethod
    def parse(cls, text: str) -> Money:
        match = _MONEY_RE.match(text.strip())
        if not match:
            raise ValueError_(tr("'{text}' is not an amount of money; write ¥3,000, 3000円 or 3000JPY", text=text))
        digits = (match.group(1) or match.group(2)).replace(",", "")
        return cls(whole_number(digits, text))

    def __str__(self) -> str:
        return f"{self.yen}円"


@dataclass(frozen=True, slots=True, order=True)
class TimeOfDay:
    """A clock time in the shop's timezone."""

    hour: int
    minute: int

    @classmethod
    def parse(cls, text: str) -> TimeOfDay:
        match = _TIME_RE.match(text.strip())
        if not match:
            raise ValueError_(tr("'{text}' is not a time of day; write HH:MM from 00:00 to 23:59", text=text))
        return cls(int(match.group(1)), int(match.group(2)))

    def __str__(self) -> str:
        return f"{self.hour:02d}:{self.minute:02d}"


def whole_number(digits: str, text: str | None = None, maximum: int = MAX_INTEGER) -> int:
    """``int(digits)``, refused past ``maximum`` (a number the store cannot hold, or a day count past any
    journey) with a message about ``text``, the literal as written."""
    value = int(digits)
    if abs(value) > maximum:
        raise ValueError_(
            tr("'{text}' is too large (the limit is {limit})", text=text or digits, limit=f"{maximum:,}"),
            hint=tr("write a number up to {limit}", limit=f"{maximum:,}"),
        )
    return value


def parse_percent(text: str) -> int:
    """``10%`` or ``10`` → 10; whole percents from 0 to 100."""
    raw = text.strip().removesuffix("%").strip()
    if not raw.isdigit() or int(raw) > 100:
        raise ValueError_(
            tr("'{text}' is not a percentage; write a whole number from 0% to 100%", text=text), hint=percent_hint(text)
        )
    return int(raw)


def percent_hint(text: str) -> str:
    """``write 10%`` for ``10 %``, ``10pct`` or ``10.0``: the number the planner meant, spelled as ecrm-dsl wants."""
    digits = re.search(r"(\d+)", text)
    if digits and int(digits.group(1)) > 100:
        return tr("a percentage goes from 0% to 100%")
    if digits:
        return tr("write {percent}%", percent=int(digits.group(1)))
    return tr("write a whole number and a percent sign, e.g. 10%")


MONTHS = (
    n_("January"),
    n_("February"),
    n_("March"),
    n_("April"),
    n_("May"),
    n_("June"),
    n_("July"),
    n_("August"),
    n_("September"),
    n_("October"),
    n_("November"),
    n_("December"),
)
_DATE_SHAPE = re.compile(r"^(\d{4})-(\d{2})-(\d{2})$")


def parse_date(text: str) -> str:
    """``2025-03-01`` → itself, checked to be a day of the calendar (``2025-02-30`` is not)."""
    try:
        return datetime.date.fromisoformat(text).isoformat()
    except ValueError:
        pass
    hint = tr("write an existing date as YYYY-MM-DD")
    shape = _DATE_SHAPE.match(text.strip())
    if shape:
        year, month, _ = (int(part) for part in shape.groups())
        if not 1 <= month <= 12:
            hint = tr("there is no month {month}; write an existing date as YYYY-MM-DD", month=month)
        elif year >= 1:
            days = calendar.monthrange(year, month)[1]
            if month == 2 and days == 28:
                hint = tr(
                    "February {year} has 28 days (not a leap year); write an existing date as YYYY-MM-DD", year=year
                )
            else:
                hint = tr(
                    "{month_name} {year} has {days} days; write an existing date as YYYY-MM-DD",
                    month_name=lookup(MONTHS[month - 1]),
                    year=year,
                    days=days,
                )
    raise ValueError_(tr("'{text}' is not a calendar date; write YYYY-MM-DD", text=text), hint=hint)


LITERAL_TYPES = ("int", "decimal", "string", "bool", "null", "money", "duration", "date", "time")

KINDS = ("sell", "nurture")
WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
# Dates a step can be timed against. Order and subscription anchors come from the entry event.
ANCHORS = {
    "previous": n_("when the previous step finished"),
    "entry": n_("when the customer entered the scenario"),
    "order_placed": n_("when the entry order was placed"),
    "payment": n_("when the entry order was paid"),
    "shipment": n_("when the entry order was shipped"),
    "delivery_date": n_("the delivery date the customer requested (お届け希望日)"),
    "next_shipment": n_("the next subscription shipment date"),
}
# The entry-event property each date anchor reads.
ANCHOR_PROPERTIES = {
    "order_placed": "ordered_at",
    "payment": "paid_at",
    "shipment": "shipped_at",
    "delivery_date": "delivery_date",
    "next_shipment": "next_shipment_date",
}
KPIS = (
    "f2_rate",
    "repeat_rate",
    "retention_rate",
    "churn_rate",
    "winback_rate",
    "ltv",
    "aov",
    "cvr",
    "open_rate",
    "click_rate",
    "purchase_interval",
    "nps",
    "engagement",
)
REENTRY_MODES = ("never", "always", "cooldown")
