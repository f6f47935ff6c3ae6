"""Parsing CSV cells into typed values, as Japanese EC exports write them.

Each parser takes the stripped, non-empty text of a cell and returns the value or raises :class:`CellError`
with a message and a hint written for the person fixing the file. Full-width digits and signs (３，０００円)
are read like their ASCII forms; the backslash that Shift_JIS shows for ¥ counts as a yen sign.
"""

from __future__ import annotations

import json
import math
import re
import unicodedata
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta, timezone, tzinfo
from typing import Any

from ecrm_dsl.language.i18n import tr


class CellError(ValueError):
    def __init__(self, message: str, hint: str | None = None):
        super().__init__(message)
        self.message = message
        self.hint = hint


_INT = re.compile(r"^[+-]?(?:\d{1,3}(?:,\d{3})+|\d+)$")
_DECIMAL = re.compile(r"^[+-]?(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?$")
_YEN = re.compile(r"^([+-])?\s*(?:¥|\\|JPY)?\s*([+-])?((?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?)\s*(?:円|JPY)?$")
_DATE = re.compile(r"^(\d{4})[-/](\d{1,2})[-/](\d{1,2})$")
_DATETIME = re.compile(
    r"^(\d{4})[-/](\d{1,2})[-/](\d{1,2})[T ]\s*(\d{1,2}):(\d{2})(?::(\d{2})(?:\.(\d{1,6}))?)?"
    r"\s*(Z|[+-]\d{2}(?::?\d{2})?)?$",
    re.IGNORECASE,
)
_LIST_SEPARATORS = re.compile(r"[,、\s]+")
# Whole numbers and yen are stored in 32-bit integer columns (PostgreSQL's INTEGER); no shop's count or amount
# comes near, so a larger value is a broken cell, not data.
INT_LIMIT = 2**31 - 1
# Calendar years a shop's data can have: far from year 1 and 9999, where converting to another timezone
# leaves the calendar.
FIRST_YEAR, LAST_YEAR = 1900, 2999
TRUE_WORDS = ("true", "1", "yes", "y", "はい", "有", "あり")
FALSE_WORDS = ("false", "0", "no", "n", "いいえ", "無", "なし")
_BOOLS = {**dict.fromkeys(TRUE_WORDS, True), **dict.fromkeys(FALSE_WORDS, False)}


def ascii_form(text: str) -> str:
    """Full-width forms (３，０００, ￥, ：) as ASCII; plain ASCII text is returned as is."""
    return text if text.isascii() else unicodedata.normalize("NFKC", text)


def parse_string(text: str) -> str:
    return text


def parse_int(text: str) -> int:
    raw = ascii_form(text)
    if not _INT.match(raw):
        if _DECIMAL.match(raw):
            raise CellError(tr("'{text}' is not a whole number", text=text), tr("write it without a fractional part"))
        raise CellError(tr("'{text}' is not a whole number", text=text), tr("write digits, e.g. 12 or 1,200"))
    return check_int(int(raw.replace(",", "")), text)


def check_int(value: int, text: str) -> int:
    """``value``, or a CellError when it is beyond what the store keeps."""
    if abs(value) > INT_LIMIT:
        raise CellError(
            tr("'{text}' is too large", text=text),
            tr("whole numbers and yen amounts are at most {limit:,}", limit=INT_LIMIT),
        )
    return value


def check_year(value: date, text: str) -> None:
    """A CellError unless ``value`` lies in the years a shop's data can have."""
    if not FIRST_YEAR <= value.year <= LAST_YEAR:
        raise CellError(
            tr("'{text}' is outside the years {first}–{last}", text=text, first=FIRST_YEAR, last=LAST_YEAR),
            tr("check the year"),
        )


def parse_decimal(text: str) -> float:
    raw = ascii_form(text)
    if not _DECIMAL.match(raw):
        raise CellError(tr("'{text}' is not a number", text=text), tr("write e.g. 1.5 or 1,200.25"))
    value = float(raw.replace(",", ""))
    if not math.isfinite(value):  # pragma: no cover - the pattern admits only finite numbers
        raise CellError(tr("'{text}' is not a finite number", text=text))
    return value


def parse_yen(text: str) -> int:
    """Whole yen: ``3000``, ``3,000``, ``¥3,000``, ``￥3,000``, ``3000円``, ``-500``."""
    raw = ascii_form(text)
    match = _YEN.match(raw)
    if not match or (match.group(1) and match.group(2)):
        raise CellError(tr("'{text}' is not an amount of yen", text=text), tr("write 3000, 3,000, ¥3,000 or 3000円"))
    digits = match.group(3).replace(",", "")
    if "." in digits:
        whole, _, fraction = digits.partition(".")
        if fraction.strip("0"):
            raise CellError(
                tr("'{text}' is not a whole amount of yen", text=text), tr("amounts are whole yen (no sen)")
            )
        digits = whole
    sign = -1 if "-" in (match.group(1), match.group(2)) else 1
    return check_int(sign * int(digits), text)


def parse_bool(text: str) -> bool:
    value = _BOOLS.get(ascii_form(text).lower())
    if value is None:
        raise CellError(
            tr("'{text}' is not true or false", text=text), tr("write true/false, 1/0, yes/no or はい/いいえ")
        )
    return value


def parse_date(text: str) -> date:
    raw = ascii_form(text)
    match = _DATE.match(raw)
    if not match:
        if _DATETIME.match(raw):
            raise CellError(
                tr("'{text}' has a time, but this is a calendar date", text=text),
                tr("write only the date: YYYY-MM-DD"),
            )
        raise CellError(tr("'{text}' is not a date", text=text), tr("write YYYY-MM-DD or YYYY/MM/DD"))
    try:
        value = date(int(match.group(1)), int(match.group(2)), int(match.group(3)))
    except ValueError:
        raise CellError(
            tr("'{text}' is not a date on the calendar", text=text), tr("check the month and the day")
        ) from None
    check_year(value, text)
    return value


def parse_datetime(text: str, shop_tz: tzinfo) -> datetime:
    """An instant, returned in UTC; a time without an offset is in the shop's timezone."""
    raw = ascii_form(text)
    match = _DATETIME.match(raw)
    if not match:
        if _DATE.match(raw):
            raise CellError(
                tr("'{text}' is a date without a time", text=text),
                tr("write the time too: YYYY-MM-DD HH:MM[:SS]"),
            )
        raise CellError(
            tr("'{text}' is not a date and time", text=text),
            tr("write ISO 8601 such as 2025-03-01 10:00, 2025-03-01T10:00:00+09:00 or 2025/03/01 10:00:00"),
        )
    year, month, day, hour, minute, second, fraction, offset = match.groups()
    micro = int((fraction or "0").ljust(6, "0"))
    try:
        zone = _offset(offset) if offset else shop_tz
        moment = datetime(int(year), int(month), int(day), int(hour), int(minute), int(second or 0), micro, zone)
    except ValueError:
        raise CellError(
            tr("'{text}' is not a moment on the calendar", text=text), tr("check the date and the time")
        ) from None
    return to_utc(moment, text)


def to_utc(moment: datetime, text: str) -> datetime:
    """An aware moment in UTC, checked to lie in the years a shop's data can have."""
    check_year(moment, text)
    return moment.astimezone(UTC)


def _offset(text: str) -> tzinfo:
    if text.upper() == "Z":
        return UTC
    sign = -1 if text[0] == "-" else 1
    digits = text[1:].replace(":", "")
    hours, minutes = int(digits[:2]), int(digits[2:4] or 0)
    if hours > 23 or minutes > 59:
        raise ValueError(text)
    return timezone(sign * timedelta(hours=hours, minutes=minutes))


def parse_list(text: str) -> list[str]:
    """A JSON array of strings, or words separated by commas, 、 or spaces; repeated words once."""
    if text.startswith("["):
        try:
            items = json.loads(text)
        except (json.JSONDecodeError, RecursionError):
            items = None
        if not isinstance(items, list) or not all(isinstance(i, str) for i in items):
            raise CellError(tr("'{text}' is not a JSON array of strings", text=text), tr('write ["a", "b"] or a, b'))
        words = [i.strip() for i in items]
    else:
        words = _LIST_SEPARATORS.split(text)
    return list(dict.fromkeys(w for w in words if w))


TEXT_PARSERS: dict[str, Callable[[str], Any]] = {
    "string": parse_string,
    "int": parse_int,
    "decimal": parse_decimal,
    "money": parse_yen,
    "bool": parse_bool,
    "date": parse_date,
    "list": parse_list,
}


def parse_text(type_: str, text: str, shop_tz: tzinfo) -> Any:
    """The typed value of a non-empty cell of ``type_`` (a customer-schema type)."""
    if type_ == "datetime":
        return parse_datetime(text, shop_tz)
    return TEXT_PARSERS[type_](text)
