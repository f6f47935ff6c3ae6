"""When a step is due: the timing semantics of the language, computed in the shop's timezone, returned in UTC.

The plan stores a step's timing as ``{anchor, offset_seconds, business_days, at, until_time, until_weekday,
business_day}``. The moment is found in this order:

1. start at the anchor: the previous step's completion, the entry, or a date of the entry event (a date such as
   お届け希望日 counts from 00:00 local time);
2. add ``business_days`` (skipping non-business days, keeping the clock time) or ``offset_seconds`` (whole days
   as calendar days in local time, so "day 7" stays at the same clock time);
3. with ``at``, put that clock time on the resulting local date — even when that is earlier than the start,
   in which case the step is simply due at once ("day 0 at 10:00" for a customer who entered at 23:00);
4. with ``until_time``/``until_weekday``, move to the first such moment strictly after the start;
5. with ``business_day``, move a moment that falls on a non-business day to the next business day.

A date anchor the entry event does not carry (no お届け希望日 given) has no due time: the caller skips the step
and records why.
"""

from __future__ import annotations

import datetime as dt
import functools
from typing import Any
from zoneinfo import ZoneInfo

from ecrm_dsl.language.business_calendar import BusinessCalendar
from ecrm_dsl.language.values import WEEKDAYS, TimeOfDay

UTC = dt.UTC


def _local(moment: dt.datetime | dt.date, zone: ZoneInfo) -> dt.datetime:
    if isinstance(moment, dt.datetime):
        if moment.tzinfo is None:
            raise ValueError("times must carry a timezone (the store keeps UTC)")
        return moment.astimezone(zone)
    return dt.datetime.combine(moment, dt.time(0, 0), tzinfo=zone)


@functools.lru_cache(maxsize=256)
def _clock(text: str) -> dt.time:
    """A step's ``at`` as a time; a batch places thousands of customers at the few clock times a plan has."""
    clock = TimeOfDay.parse(text)
    return dt.time(clock.hour, clock.minute)


def _with_clock(day: dt.date, clock: dt.time, zone: ZoneInfo) -> dt.datetime:
    return dt.datetime.combine(day, clock, tzinfo=zone)


def due_at(
    timing: dict[str, Any] | None,
    *,
    previous: dt.datetime,
    entry: dt.datetime,
    anchors: dict[str, dt.datetime | dt.date | None],
    timezone: str,
    calendar: BusinessCalendar,
) -> dt.datetime | None:
    """The UTC moment a step with ``timing`` is due, or None when its date anchor is missing."""
    if timing is None:
        return previous.astimezone(UTC)
    zone = ZoneInfo(timezone)
    anchor = timing.get("anchor", "previous")
    base = {"previous": previous, "entry": entry}.get(anchor) or anchors.get(anchor)
    if base is None:
        return None
    start = _local(base, zone)
    if timing.get("business_days") is not None:
        moved = calendar.add_business_days(start.date(), int(timing["business_days"]))
        moment = _with_clock(moved, start.timetz().replace(tzinfo=None), zone)
    else:
        offset = int(timing.get("offset_seconds") or 0)
        days, seconds = divmod(abs(offset), 86400)
        sign = -1 if offset < 0 else 1
        wall = start.replace(tzinfo=None) + sign * dt.timedelta(days=days, seconds=seconds)
        moment = wall.replace(tzinfo=zone)
    if timing.get("at"):
        moment = _with_clock(moment.date(), _clock(timing["at"]), zone)
    if timing.get("until_time") or timing.get("until_weekday"):
        moment = _next_moment(moment, timing.get("until_time"), timing.get("until_weekday"), zone)
    if timing.get("business_day"):
        day = calendar.next_business_day(moment.date())
        moment = _with_clock(day, moment.timetz().replace(tzinfo=None), zone)
    return moment.astimezone(UTC)


def _next_moment(after: dt.datetime, until: str | None, weekday: str | None, zone: ZoneInfo) -> dt.datetime:
    clock = TimeOfDay.parse(until) if until else TimeOfDay(0, 0)
    wanted = WEEKDAYS.index(weekday) if weekday else None
    for days in range(0, 9):
        day = after.date() + dt.timedelta(days=days)
        candidate = _with_clock(day, dt.time(clock.hour, clock.minute), zone)
        if candidate > after and (wanted is None or day.weekday() == wanted):
            return candidate
    raise AssertionError("a weekday recurs within eight days")
