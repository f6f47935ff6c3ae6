"""Japanese business days: weekends, public holidays with substitute holidays, and shop holidays."""

from __future__ import annotations

import datetime as dt

import pytest

from ecrm_dsl.language.business_calendar import BusinessCalendar

CAL = BusinessCalendar(shop_holidays=frozenset({dt.date(2025, 12, 30), dt.date(2025, 12, 31)}))


def test_golden_week_2025() -> None:
    # 5/3 (Sat) 憲法記念日, 5/4 (Sun) みどりの日, 5/5 (Mon) こどもの日, 5/6 (Tue) 振替休日
    assert CAL.holiday_name(dt.date(2025, 5, 6)) == "振替休日"
    assert CAL.next_business_day(dt.date(2025, 5, 3)) == dt.date(2025, 5, 7)
    assert CAL.add_business_days(dt.date(2025, 5, 2), 1) == dt.date(2025, 5, 7)


def test_shop_holidays_and_new_year() -> None:
    assert CAL.holiday_name(dt.date(2025, 12, 30)) == "店休日"
    # 12/30–12/31 shop holidays, 1/1 元日, 1/3–1/4 weekend: the 29th plus one business day is 1/2.
    assert CAL.add_business_days(dt.date(2025, 12, 29), 1) == dt.date(2026, 1, 2)
    assert CAL.add_business_days(dt.date(2026, 1, 2), -1) == dt.date(2025, 12, 29)


def test_without_national_holidays_only_weekends_count() -> None:
    plain = BusinessCalendar(national="none")
    assert plain.is_business_day(dt.date(2025, 5, 6))
    assert not plain.is_business_day(dt.date(2025, 5, 3))


def test_from_plan_and_a_calendar_with_no_business_days() -> None:
    cal = BusinessCalendar.from_plan(
        {"holidays": "japan", "weekends": ["saturday", "sunday"], "shop_holidays": ["2025-12-31"]}
    )
    assert cal.holiday_name(dt.date(2025, 12, 31)) == "店休日"
    closed = BusinessCalendar(weekends=("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"))
    with pytest.raises(ValueError, match="no business day"):
        closed.next_business_day(dt.date(2025, 1, 1))
