"""Literal values of the language (durations, money, times of day) and the fixed vocabularies.

Each value has one parser shared by both syntaxes and one canonical spelling used by the printers and the plan,
so ``36h``, ``1d12h`` and ``2160m`` are the same duration and always print as ``36h``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_UNIT_SECONDS = {"w": 7 * 86400, "d": 86400, "h": 3600, "m": 60}
_DURATION_RE = re.compile(r"^(-)?((?:\d+[wdhm])+)$")
_DURATION_PART_RE = re.compile(r"(\d+)([wdhm])")
_MONEY_RE = re.compile(r"^(?:¥\s*(\d+(?:,\d{3})*)|(\d+(?:,\d{3})*)\s*(?:円|JPY))$")
_TIME_RE = re.compile(r"^([01]?\d|2[0-3]):([0-5]\d)$")


class ValueError_(ValueError):
    """A literal that does not parse; the message is written for planners."""


@dataclass(frozen=True, slots=True, order=True)
class Duration:
    """A signed length of time in seconds (minute resolution)."""

    seconds: int

    @classmethod
    def parse(cls, text: str) -> Duration:
        match = _DURATION_RE.match(text.strip())
        if not match:
            raise ValueError_(f"'{text}' is not a duration; write a number and a unit: 30m, 36h, 7d or 2w")
        total = sum(int(n) * _UNIT_SECONDS[u] for n, u in _DURATION_PART_RE.findall(match.group(2)))
        return cls(-total if match.group(1) else total)

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
            raise ValueError_(f"'{text}' is not an amount of money; write ¥3,000, 3000円 or 3000JPY")
        digits = (match.group(1) or match.group(2)).replace(",", "")
        return cls(int(digits))

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
            raise ValueError_(f"'{text}' is not a time of day; write HH:MM from 00:00 to 23:59")
        return cls(int(match.group(1)), int(match.group(2)))

    def __str__(self) -> str:
        return f"{self.hour:02d}:{self.minute:02d}"


def parse_percent(text: str) -> int:
    """``10%`` or ``10`` → 10; whole percents from 0 to 100."""
    raw = text.strip().removesuffix("%").strip()
    if not raw.isdigit() or int(raw) > 100:
        raise ValueError_(f"'{text}' is not a percentage; write a whole number from 0% to 100%")
    return int(raw)


LITERAL_TYPES = ("int", "decimal", "string", "bool", "null", "money", "duration", "date", "time")

KINDS = ("sell", "nurture")
WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
# Dates a step can be timed against. Order and subscription anchors come from the entry event.
ANCHORS = {
    "previous": "when the previous step finished",
    "entry": "when the customer entered the scenario",
    "order_placed": "when the entry order was placed",
    "payment": "when the entry order was paid",
    "shipment": "when the entry order was shipped",
    "delivery_date": "the delivery date the customer requested (お届け希望日)",
    "next_shipment": "the next subscription shipment date",
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
