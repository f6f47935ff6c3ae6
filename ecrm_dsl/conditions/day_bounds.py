"""Shop-local day tests as comparisons of an instant with UTC bounds, so that an index on the instant serves them.

``local_date(x) >= d`` is ``x >= the first instant of d``; ``local_date(x) <= d`` is ``x <= the last microsecond
of d`` (store times have microsecond resolution on SQLite, PostgreSQL and in Python). A bound is bound as the
shop-local date and turned into its UTC instant when the statement executes (:class:`LocalDayEdge`), so a
clock parameter holds a date, and re-binding "now" only changes that date. Day counts (``days_since(x) >= 150``)
become day tests first: ``today - local_date(x) >= 150`` is ``local_date(x) <= today - 150``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import DateTime, Dialect
from sqlalchemy.types import TypeDecorator, TypeEngine

_MICROSECOND = timedelta(microseconds=1)


class LocalDayEdge(TypeDecorator[date]):
    """A shop-local date, bound as the UTC instant its day starts (or, with ``end``, its last microsecond).

    ``days_back`` marks a clock parameter: the date that many days before the shop's today.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def __init__(self, zone: str, end: bool = False, days_back: int | None = None):
        super().__init__()
        self.zone = zone
        self.end = end
        self.days_back = days_back

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        # As UTCDateTime: naive UTC text on SQLite, timestamptz elsewhere.
        return dialect.type_descriptor(DateTime(timezone=dialect.name != "sqlite"))

    def process_bind_param(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        instant = (
            day_start(value + timedelta(days=1), self.zone) - _MICROSECOND if self.end else day_start(value, self.zone)
        )
        return instant.replace(tzinfo=None) if dialect.name == "sqlite" else instant


def day_start(day: date, zone: str) -> datetime:
    """The first instant of a shop-local day, in UTC (where midnight is skipped by DST, the first that exists)."""
    return datetime.combine(day, time(0), tzinfo=ZoneInfo(zone)).astimezone(UTC)


@dataclass(frozen=True)
class DayRef:
    """A shop-local day: a fixed date (``ordinal``), or ``days_back`` days before today."""

    ordinal: int | None = None
    days_back: int | None = None

    def shifted(self, days: int) -> DayRef:
        if self.ordinal is not None:
            return DayRef(ordinal=self.ordinal + days)
        return DayRef(days_back=(self.days_back or 0) - days)


FLIPPED = {"==": "==", "!=": "!=", "<": ">", "<=": ">=", ">": "<", ">=": "<="}


def day_bounds(op: str, ref: DayRef) -> tuple[tuple[DayRef, bool] | None, tuple[DayRef, bool] | None]:
    """``local_date(x) <op> ref`` as ``(lower, upper)``: x >= lower and x <= upper, each (day, is_end) or None.

    ``!=`` gives the bounds of ``==``; the caller negates.
    """
    if op == ">=":
        return (ref, False), None
    if op == ">":
        return (ref.shifted(1), False), None
    if op == "<=":
        return None, (ref, True)
    if op == "<":
        return None, (ref.shifted(-1), True)
    return (ref, False), (ref, True)
