"""The shop's business calendar: weekends, Japanese public holidays (with 振替休日) and shop holidays.

Public holidays come from the ``holidays`` package, which tracks Japan's holiday law (moved and substitute
holidays change by statute), rather than a hand-kept list that silently goes stale.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field
from functools import cached_property

import holidays

from ecrm_dsl.language.values import WEEKDAYS


@dataclass(frozen=True)
class BusinessCalendar:
    national: str = "japan"  # or "none"
    weekends: tuple[str, ...] = ("saturday", "sunday")
    shop_holidays: frozenset[datetime.date] = field(default_factory=frozenset)

    @classmethod
    def from_plan(cls, calendar: dict[str, object]) -> BusinessCalendar:
        """From the ``policies.calendar`` section of a compiled plan."""
        shop = calendar.get("shop_holidays") or []
        assert isinstance(shop, list)
        return cls(
            national=str(calendar.get("holidays", "japan")),
            weekends=tuple(calendar.get("weekends") or ()),  # type: ignore[arg-type]
            shop_holidays=frozenset(datetime.date.fromisoformat(d) for d in shop),
        )

    @cached_property
    def _weekend_numbers(self) -> frozenset[int]:
        return frozenset(WEEKDAYS.index(day) for day in self.weekends)

    @cached_property
    def _public(self) -> holidays.HolidayBase | dict[datetime.date, str]:
        return holidays.Japan(language="ja") if self.national == "japan" else {}

    def holiday_name(self, day: datetime.date) -> str | None:
        """Why ``day`` is not a business day (祝日名, 店休日, 週末), or None when it is one."""
        if day in self.shop_holidays:
            return "店休日"
        name = self._public.get(day)
        if name:
            return str(name)
        if day.weekday() in self._weekend_numbers:
            return "週末"
        return None

    def is_business_day(self, day: datetime.date) -> bool:
        return self.holiday_name(day) is None

    def next_business_day(self, day: datetime.date) -> datetime.date:
        """``day`` itself if it is a business day, else the first one after it."""
        for _ in range(366):
            if self.is_business_day(day):
                return day
            day += datetime.timedelta(days=1)
        raise ValueError("no business day within a year: check the calendar's weekends and shop holidays")

    def add_business_days(self, day: datetime.date, count: int) -> datetime.date:
        """Move ``count`` business days forward (or back, when negative), not counting ``day`` itself."""
        step = datetime.timedelta(days=1 if count >= 0 else -1)
        remaining = abs(count)
        for _ in range(366 * 2):
            if remaining == 0:
                return day
            day += step
            if self.is_business_day(day):
                remaining -= 1
        raise ValueError("business days could not be counted within two years: check the calendar")
