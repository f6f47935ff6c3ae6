"""Text for the ``ecrm report`` page: HTML escaping, and how counts, rates, uplifts and intervals are written.

Every value shown on the page, in a table cell, a KPI card or a chart label, goes through these functions, so the
page and its charts agree on one spelling: thousands separators, rates to one decimal, uplifts signed in points,
and "—" wherever a value is missing (null, NaN, no denominator). :func:`esc` is the only way document strings
reach the page; :class:`Markup` marks the few cells that are already HTML.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Sequence
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
    "fmt_yen",
    "heading",
    "interval",
    "table",
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


def fmt_yen(value: object, signed: bool = False) -> str:
    """Whole yen with separators: ``12,345円``; signed for a difference: ``+1,200円``."""
    number = finite(value)
    if number is None:
        return DASH
    whole = round(number) + 0  # + 0: a rounded -0 prints as 0
    return f"{whole:+,}円" if signed else f"{whole:,}円"


# ----------------------------------------------------------------------------------------------------- tables


_BILINGUAL = re.compile(r"^(.+?) \((.+)\)$")


def heading(text: str) -> str:
    """``開封率 (open rate)`` on two lines, the English smaller: wide tables then fit 1280 px."""
    match = _BILINGUAL.match(text)
    return f'{esc(match[1])}<br><span class="en">{esc(match[2])}</span>' if match else esc(text)


def table(
    table_id: str,
    headers: Sequence[str],
    rows: Iterable[Sequence[str]],
    numeric_from: int = 1,
    spans: Sequence[tuple[str, int]] = (),
    text_after: int | None = None,
) -> str:
    """A table whose columns from ``numeric_from`` on are right-aligned numbers; plain-str cells are escaped.

    ``spans`` (label, columns) puts a header row above the column headers, for groups of columns; columns from
    ``text_after`` on are text again (a closing explanation that may wrap).
    """

    def cell(tag: str, index: int, value: str) -> str:
        numeric = index >= numeric_from and (text_after is None or index < text_after)
        klass = ' class="num"' if numeric else ""
        text = value if isinstance(value, Markup) else heading(value) if tag == "th" else esc(value)
        return f"<{tag}{klass}>{text}</{tag}>"

    above = "".join(
        f'<th colspan="{n}" class="span">{heading(label)}</th>' if n > 1 else f"<th>{heading(label)}</th>"
        for label, n in spans
    )
    head = (f"<tr>{above}</tr>" if spans else "") + "<tr>" + "".join(cell("th", i, h) for i, h in enumerate(headers))
    body = "".join("<tr>" + "".join(cell("td", i, v) for i, v in enumerate(r)) + "</tr>" for r in rows)
    table = f'<table id="{table_id}"><thead>{head}</tr></thead><tbody>{body}</tbody></table>'
    return f'<div class="table-wrap">{table}</div>'
