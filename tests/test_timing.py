"""Timing semantics in the shop's timezone: day N at HH:MM, waits, until, order anchors, business days."""

from __future__ import annotations

import datetime as dt

from ecrm_dsl.build.compiler import compile_scenario
from ecrm_dsl.language.business_calendar import BusinessCalendar
from ecrm_dsl.language.timing import due_at
from ecrm_dsl.syntax.text import parse_text

JST = dt.timezone(dt.timedelta(hours=9))
CAL = BusinessCalendar()


def timing_of(phrase: str) -> dict:
    """The compiled timing of a one-step scenario written with ``phrase``."""
    source = f"scenario t {{\n  kind sell\n  when order.placed\n  @s {phrase}: send email x\n}}\n"
    scenarios, findings = parse_text(source, "t.ecrm")
    assert findings == []
    return compile_scenario(scenarios[0])[0]["nodes"][0]["timing"]


def due(phrase: str, entry: dt.datetime, previous: dt.datetime | None = None, **anchors) -> dt.datetime | None:
    moment = due_at(
        timing_of(phrase), previous=previous or entry, entry=entry, anchors=anchors, timezone="Asia/Tokyo", calendar=CAL
    )
    return moment.astimezone(JST) if moment else None


def jst(*args: int) -> dt.datetime:
    return dt.datetime(*args, tzinfo=JST)


def test_day_n_at_time_uses_the_shop_date_even_for_late_utc_entries() -> None:
    # 2025-03-01 23:30 JST is 14:30 UTC the same day; day 1 is 3/2 in Tokyo.
    assert due("day 1 at 10:00", jst(2025, 3, 1, 23, 30)) == jst(2025, 3, 2, 10, 0)
    # Entered after 10:00: day 0 at 10:00 is already past, so it is due at once (that moment).
    assert due("day 0 at 10:00", jst(2025, 3, 1, 23, 30)) == jst(2025, 3, 1, 10, 0)
    assert due("day 7", jst(2025, 3, 1, 15, 5)) == jst(2025, 3, 8, 15, 5)


def test_relative_to_previous_step_and_to_entry() -> None:
    entry, previous = jst(2025, 3, 1, 9, 0), jst(2025, 3, 3, 12, 0)
    assert due("after 36h", entry, previous) == jst(2025, 3, 5, 0, 0)
    assert due("72h after entry", entry, previous) == jst(2025, 3, 4, 9, 0)
    assert due("after 1d at 10:00", entry, previous) == jst(2025, 3, 4, 10, 0)


def test_until_is_the_next_such_moment() -> None:
    saturday_noon = jst(2025, 3, 1, 12, 0)
    assert due("until 10:00", saturday_noon) == jst(2025, 3, 2, 10, 0)
    assert due("until 13:00", saturday_noon) == jst(2025, 3, 1, 13, 0)
    assert due("until monday 09:30", saturday_noon) == jst(2025, 3, 3, 9, 30)
    assert due("until saturday 12:00", saturday_noon) == jst(2025, 3, 8, 12, 0)


def test_order_anchors_and_a_missing_delivery_date() -> None:
    entry = jst(2025, 3, 1, 9, 0)
    assert due("1d before delivery_date at 18:00", entry, delivery_date=dt.date(2025, 3, 10)) == jst(2025, 3, 9, 18, 0)
    assert due("2d after shipment at 10:00", entry, shipment=jst(2025, 3, 3, 16, 0)) == jst(2025, 3, 5, 10, 0)
    assert due("1d before delivery_date at 18:00", entry, delivery_date=None) is None


def test_business_days_skip_golden_week() -> None:
    paid = jst(2025, 5, 2, 15, 0)  # Friday before 5/3–5/6
    assert due("1 business days after payment at 10:00", paid, payment=paid) == jst(2025, 5, 7, 10, 0)
    assert due("after 1d at 10:00 on business day", paid) == jst(2025, 5, 7, 10, 0)
    assert due("after 1d at 10:00", paid) == jst(2025, 5, 3, 10, 0)
