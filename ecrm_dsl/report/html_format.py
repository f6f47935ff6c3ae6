"""Text for the ``ecrm report`` page: HTML escaping, and how counts, rates, uplifts and intervals are written.

Every value shown on the page, in a table cell, a KPI card or a chart label, goes through these functions, so the
page and its charts agree on one spelling: thousands separators, rates to one decimal, uplifts signed in points,
and "—" wherever a value is missing (null, NaN, no denominator). :func:`esc` is the only way document strings
reach the page; :class:`Markup` marks the few cells that are already HTML.
"""

from __future__ import annotations

import math
import re
from html import escape

__all__ = [
    "DASH",
    "Markup",
    "empty_note",
    "esc",
    "finite",
    "fmt_ci",
    "fmt_ci_points",
    "fmt_int",
    "fmt_points",
    "fmt_rate",
    "fmt_relative",
    "interval",
]

DASH = "—"  # no denominator, no interval: shown instead of a number


class Markup(str):
    """A table cell that is already HTML (escaped parts and our own tags); plain ``str`` cells are escaped."""


# Control characters are invalid in XML, so the SVG would not parse (and they mean nothing to a reader).
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def esc(value: object) -> str:
    """Escape for HTML text and attribute values alike; control characters are dropped."""
    return escape(_CONTROL.sub("", str(value)), quote=True)


def empty_note(what: str) -> str:
    """What a chart or table shows instead when it has no data."""
    return f'<p class="empty">{esc(what)}</p>'


# ---------------------------------------------------------------------------------------------------- numbers


def finite(value: object) -> float | None:
    """A finite number, or None (missing, null, NaN): what every formatter and chart reads."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value) if math.isfinite(value) else None


def fmt_int(value: object) -> str:
    number = finite(value)
    if number is None:
        return DASH
    return f"{int(number):,}" if number.is_integer() else f"{number:,.1f}"


def fmt_rate(value: object) -> str:
    number = finite(value)
    return DASH if number is None else f"{number * 100:.1f}%"


def _signed(number: float) -> str:
    # Adding 0.0 turns a rounded -0.0 into 0.0, so a tiny negative uplift does not print as "-0.0".
    return f"{round(number * 100, 1) + 0.0:+.1f}"


def fmt_points(value: object) -> str:
    """An uplift in percentage points: 0.064 → ``+6.4 pt``."""
    number = finite(value)
    return DASH if number is None else f"{_signed(number)} pt"


def fmt_relative(value: object) -> str:
    number = finite(value)
    return DASH if number is None else f"{_signed(number)}%"


def interval(ci: object) -> tuple[float, float] | None:
    """A ``[low, high]`` pair of finite numbers as a tuple, or None: charts draw a whisker only for these."""
    if not isinstance(ci, list | tuple) or len(ci) != 2:
        return None
    low, high = finite(ci[0]), finite(ci[1])
    return None if low is None or high is None else (low, high)


def fmt_ci(ci: object) -> str:
    """A 95% interval of a rate: ``[22.6%, 27.5%]``."""
    bounds = interval(ci)
    return DASH if bounds is None else f"[{fmt_rate(bounds[0])}, {fmt_rate(bounds[1])}]"


def fmt_ci_points(ci: object) -> str:
    bounds = interval(ci)
    return DASH if bounds is None else f"[{_signed(bounds[0])}, {_signed(bounds[1])}] pt"
