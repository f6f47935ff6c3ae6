"""Cells written the way a mapping says: dates in a strptime format, money in another currency.

``parser_for`` gives a bound column its own parser when the mapping asks for one; every other cell is parsed
by :func:`ecrm_dsl.importer.values.parse_text`.

Money in another currency is converted to whole yen, because the store keeps whole yen
(``ecrm_dsl/store/tables.py``) and every condition (``customer.total_spent >= 30000円``) reads it as yen. The
amount is read exactly (``Decimal``), multiplied by the mapping's ``yen_per_unit`` and rounded half up to a
whole yen, once per cell. Storing cents, or the foreign amount as if it were yen, would make those conditions
silently wrong, so a non-yen mapping without a rate is refused, and a cell that is written in yen in a file the
mapping says is in another currency is an error.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date, datetime, time, tzinfo
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from ecrm_dsl.importer.layouts import Column
from ecrm_dsl.importer.options import Currency, Options
from ecrm_dsl.importer.values import CellError, ascii_form, check_int, check_year, to_utc
from ecrm_dsl.language.i18n import tr

# A cell's text (stripped, not empty) and the shop's timezone → the value.
CellParser = Callable[[str, tzinfo], Any]

_SYMBOLS = {
    "USD": "$",
    "CAD": "$",
    "AUD": "$",
    "NZD": "$",
    "HKD": "$",
    "SGD": "$",
    "TWD": "$",
    "EUR": "€",
    "GBP": "£",
    "KRW": "₩",
    "INR": "₹",
}
_AMOUNT = re.compile(r"^(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?$|^\.\d+$")
_LARGEST_AMOUNT = Decimal(10**15)
_IN_YEN = re.compile(r"[¥￥円]|JPY", re.IGNORECASE)


def parser_for(column: Column, options: Options) -> CellParser | None:
    """The column's own parser under the mapping's options, or None for the default parsing."""
    if column.type in ("date", "datetime"):
        fmt = options.format_of(column.name)
        if fmt is not None:
            return _date_parser(fmt) if column.type == "date" else _datetime_parser(fmt)
    if column.type == "money" and options.currency.converts:
        return _money_parser(options.currency)
    return None


_NUMERIC = {
    "Y": r"(\d{4})",
    "m": r"(\d{1,2})",
    "d": r"(\d{1,2})",
    "H": r"(\d{1,2})",
    "M": r"(\d{1,2})",
    "S": r"(\d{1,2})",
}
_DIRECTIVE = re.compile(r"%(.)|(\s+)|([^%\s]+)")


def _fast_pattern(fmt: str) -> tuple[re.Pattern[str], str] | None:
    """A regex for a format of only %Y %m %d %H %M %S and literal text (strptime is slow); else None.

    Like strptime, except that a number next to another without a separator (%Y%m%d) must have two digits,
    so 1997111 is refused rather than read as one of 1997-11-01 and 1997-01-11."""
    tokens = _DIRECTIVE.findall(fmt)
    parts, order = [], ""
    for i, (directive, space, text) in enumerate(tokens):
        if not directive:
            parts.append(r"\s+" if space else re.escape(text))
            continue
        if directive not in _NUMERIC or directive in order:
            return None
        glued = any(0 <= j < len(tokens) and tokens[j][0] for j in (i - 1, i + 1))
        parts.append(r"(\d{2})" if glued and directive != "Y" else _NUMERIC[directive])
        order += directive
    return re.compile("".join(parts) + "$"), order


def _strptime(text: str, fmt: str, fast: tuple[re.Pattern[str], str] | None) -> datetime:
    raw = ascii_form(text)
    try:
        if fast is None:
            return datetime.strptime(raw, fmt)
        match = fast[0].match(raw)
        if match is None:
            raise ValueError("does not match format")
        parts = dict(zip(fast[1], map(int, match.groups()), strict=True))
        return datetime(parts["Y"], parts["m"], parts["d"], parts.get("H", 0), parts.get("M", 0), parts.get("S", 0))
    except ValueError as exc:
        if "does not match format" in str(exc) or "unconverted data remains" in str(exc):
            hint = tr("the mapping gives the format (date_format or date_formats)")
            raise CellError(
                tr("'{text}' does not match the date format '{format}'", text=text, format=fmt), hint
            ) from None
        raise CellError(
            tr("'{text}' is not a date on the calendar", text=text), tr("check the month and the day")
        ) from None


def _date_parser(fmt: str) -> CellParser:
    fast = _fast_pattern(fmt)

    def parse(text: str, shop_tz: tzinfo) -> date:
        moment = _strptime(text, fmt, fast)
        if moment.time() != time() or moment.tzinfo is not None:
            raise CellError(
                tr("'{text}' has a time, but this is a calendar date", text=text),
                tr("the date format is '{format}'", format=fmt),
            )
        check_year(moment, text)
        return moment.date()

    return parse


def _datetime_parser(fmt: str) -> CellParser:
    """An instant in UTC; without an offset in the format, the time (00:00 for a date) is shop-local."""

    fast = _fast_pattern(fmt)

    def parse(text: str, shop_tz: tzinfo) -> datetime:
        moment = _strptime(text, fmt, fast)
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=shop_tz)
        return to_utc(moment, text)

    return parse


def _money_parser(currency: Currency) -> CellParser:
    code, rate = currency.code, currency.yen_per_unit
    assert rate is not None
    markers = [code, *([_SYMBOLS[code]] if code in _SYMBOLS else [])]
    symbol = markers[-1]  # how the example writes an amount

    def parse(text: str, shop_tz: tzinfo) -> int:
        raw = ascii_form(text).replace(" ", "")
        if _IN_YEN.search(text):
            raise CellError(
                tr(
                    "'{text}' is written in yen, but the mapping says this file's money is {code}", text=text, code=code
                ),
                tr("remove currency from the mapping if the file is in yen"),
            )
        sign = 1
        if raw[:1] in "+-":
            sign, raw = (-1 if raw[0] == "-" else 1), raw[1:]
        for marker in markers:
            if raw.upper().startswith(marker):
                raw = raw[len(marker) :]
                break
            if raw.upper().endswith(marker):
                raw = raw[: -len(marker)]
                break
        if raw[:1] == "-" and sign == 1:
            sign, raw = -1, raw[1:]
        if not _AMOUNT.match(raw):
            raise CellError(
                tr("'{text}' is not an amount of {code}", text=text, code=code),
                tr("write e.g. 12.34, 1,234.50 or {symbol}12.34", symbol=symbol),
            )
        amount = Decimal(raw.replace(",", ""))
        if amount > _LARGEST_AMOUNT:  # before multiplying: a huge amount would overflow the decimal context
            raise CellError(tr("'{text}' is too large", text=text), tr("amounts are at most a thousand trillion"))
        return check_int(sign * int((amount * rate).quantize(Decimal(1), rounding=ROUND_HALF_UP)), text)

    return parse


def conversion_note(currency: Currency, names: list[str]) -> str:
    """What the report says about converted money columns."""
    return tr(
        "{columns}: {code} converted to yen at {rate} yen per {code} (the mapping's yen_per_unit), rounded half up "
        "to whole yen",
        columns=", ".join(names),
        code=currency.code,
        rate=currency.yen_per_unit,
    )
