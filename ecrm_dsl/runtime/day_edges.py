"""Segments across a shop-local midnight: judge again only the customers a moved day edge can reach.

A day count folded into UTC bounds (``customer.days_since_last_order between 150 and 364`` is "the last order
lies between two instants that move a day at each local midnight") changes its verdict for a customer whose data
did not change only when an edge passes over the instant it compares: for the lower edge, an instant between its
old and new position. So after a day change, the customers to judge again are those changed since the last check
(the change log) and those with such an instant between where an edge was and where it is now: one indexed range
read per source of instants, instead of the condition over every customer.

This holds only when the date enters the condition through those edges alone. The compiled audience's clock
parameters say whether it does (no ``today`` and no offset modifier, which a day count in arithmetic or an
unfolded day test reads), and the condition says where its instants come from; anything else is judged in full.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from ecrm_dsl.conditions import purchase_history
from ecrm_dsl.conditions.day_bounds import day_start
from ecrm_dsl.conditions.normal import COUNTED_MESSAGE_EVENTS, MESSAGE_EVENTS, Normal
from ecrm_dsl.conditions.sql import DAY_EDGE, NOW_PREFIX, TIME_WINDOW, ClockKeys
from ecrm_dsl.store.day_edges import LAST_OPENS, ORDERS, SIGNUPS, Range

_SEGMENT_DEPTH = 8  # segments naming segments; the compiler refuses a cycle

# Instants a day count can fold, by where they are stored.
_INSTANT_SOURCES = {"last_order_at": ORDERS, "first_order_at": ORDERS, "signed_up_at": SIGNUPS}
_DAY_COUNTS = {"days_since_last_order": ORDERS, "days_since_last_open": LAST_OPENS}
# Functions whose SQL bounds nothing by a day edge (their windows are in seconds: who left one is read apart).
_WITHOUT_DAY_EDGES = frozenset({"count", "has_tag", "contains", "sends", *MESSAGE_EVENTS, *COUNTED_MESSAGE_EVENTS})


def moved_by_edges_only(keys: ClockKeys) -> bool:
    """The audience reads the date through day edges and nothing else of the clock but "now" and time windows."""
    edges = False
    for key, back in keys.items():
        if key.startswith(DAY_EDGE):
            if back is None:
                return False
            edges = True
        elif key != NOW_PREFIX and not key.startswith(TIME_WINDOW):  # today, its offset, a sends() window
            return False
    return edges


def instant_sources(condition: Normal, segments: Mapping[str, Normal]) -> frozenset[str] | None:
    """Where the instants behind the condition's day counts are stored; None when one is not known here."""
    found: set[str] = set()
    return frozenset(found) if _collect(condition, segments, found, 0) else None


def _collect(node: Normal, segments: Mapping[str, Normal], found: set[str], depth: int) -> bool:
    if not isinstance(node, list) or not node:
        return True
    tag = node[0]
    if tag == "attr" and node[1] in _DAY_COUNTS:
        found.add(_DAY_COUNTS[node[1]])
        return True
    if tag == "metric" and node[1] == "days_since_entry":
        return False  # an enrollment's entry: not a segment's
    if tag == "call" and node[1] == "days_since":
        argument = node[2]
        if argument[0] == "lit":
            return True  # a fixed date counted from today: the keys refuse it (``today``)
        source = _INSTANT_SOURCES.get(argument[1]) if argument[0] == "attr" else None
        if source is None:
            return False
        found.add(source)
        return True
    if tag == "call" and node[1] == "in_segment":
        inner = segments.get(node[2][1])
        return inner is not None and depth < _SEGMENT_DEPTH and _collect(inner, segments, found, depth + 1)
    if tag == "call" and node[1] in purchase_history.FUNCTIONS:
        found.add(ORDERS)  # a window of whole days (within: 30d) bounds the orders' time by a day edge
    elif tag == "call" and node[1] not in _WITHOUT_DAY_EDGES:
        return False  # a function this module does not know to leave the date alone
    return all(_collect(child, segments, found, depth) for child in node[1:] if isinstance(child, list))


def moved_ranges(keys: ClockKeys, last: datetime, now: datetime, timezone: str) -> list[Range]:
    """For each day edge, the instants it passed over from ``last`` to ``now``: from the start of its old day to
    the end of its new one (both its start and end forms are covered)."""
    zone = ZoneInfo(timezone)
    before, after = last.astimezone(zone).date(), now.astimezone(zone).date()
    backs = sorted({back for key, back in keys.items() if key.startswith(DAY_EDGE) and back is not None})
    return [(_start(before, back, timezone), _start(after, back - 1, timezone)) for back in backs]


def _start(day: date, back: int, timezone: str) -> datetime:
    return day_start(day - timedelta(days=back), timezone)
