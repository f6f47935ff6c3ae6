"""The mapping keys that describe how an export is written, beyond which header holds which column.

```toml
[orders]
delimiter = "whitespace"            # "," (default), any one character, "tab", or "whitespace"
header = false                      # the file has no header row …
fields = ["customer_id", "ordered_at", "cds", "amount"]   # … so its columns are named here, in order
date_format = "%Y%m%d"              # strptime format of every date and datetime column of this kind
currency = "USD"                    # money columns are in this currency (default JPY) …
yen_per_unit = "120.89"             # … converted to whole yen at this rate (required unless JPY)
derive_id = true                    # orders: the file has no order id; derive one (see kinds/orders.py)
create_missing_customers = true     # orders: customers only the orders file names are created (id only)
fill_down = true                    # orders: an order's columns are on its first line only (Shopify)
ignore_unmapped = true              # headers the mapping neither maps nor ignores are skipped, with a note
category_separator = ","            # products: the category cell's levels are separated by this, not "/"

[orders.only_rows_where]            # only rows whose cell under this header is one of these are read
"明細区分(名称)" = ["商品"]           # (EC-CUBE's fee, discount and tax lines are skipped)

[customers.strip]                   # characters removed from both ends of a column's cells
phone = "'"                         # (Shopify writes '+819012345678 so that spreadsheets keep the plus)

[orders.join]                       # a column whose value is split over several cells: they are read
ordered_at = ["日付", "注文時間"]     # joined by a space, in this order (MakeShop: 2022/8/10 + 103309)

[orders.date_formats]               # per column; wins over date_format
paid_at = "%Y/%m/%d %H:%M"
```

Date formats and currency apply to the kind's own columns and to custom attributes; event properties are
typed by the customer schema and keep the default spellings. A date format is the only spelling a cell may
use; a datetime format without a time is 00:00 shop-local, one with ``%z`` keeps the cell's offset.

Each key is checked here for its shape; whether a column named in ``date_formats`` exists is checked when the
mapping meets the kind's columns (:func:`ecrm_dsl.importer.header.check_mapping`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from ecrm_dsl.language.i18n import tr

WHITESPACE = "whitespace"  # runs of spaces and tabs separate the fields; nothing is quoted
YEN = "JPY"
OPTION_KEYS = (
    "delimiter",
    "header",
    "fields",
    "date_format",
    "date_formats",
    "currency",
    "yen_per_unit",
    "derive_id",
    "create_missing_customers",
    "fill_down",
    "ignore_unmapped",
    "only_rows_where",
    "strip",
    "join",
    "category_separator",
)
_ORDERS_ONLY = ("derive_id", "create_missing_customers", "fill_down")
_MONEY_KINDS = ("customers", "orders", "order_items", "products")  # kinds whose money cells are bound columns
_DELIMITER_NAMES = {"tab": "\t", "comma": ",", "semicolon": ";", "pipe": "|"}
_CURRENCY = re.compile(r"^[A-Z]{3}$")


class OptionError(ValueError):
    """A mapping key has the wrong shape; the mapping turns it into a MappingError naming the table."""

    def __init__(self, message: str, hint: str | None = None):
        super().__init__(message)
        self.message = message
        self.hint = hint


@dataclass(frozen=True)
class FileShape:
    delimiter: str = ","  # one character, or WHITESPACE
    header: bool = True
    fields: tuple[str, ...] = ()  # the column names of a file without a header row, in order


@dataclass(frozen=True)
class Currency:
    code: str = YEN
    yen_per_unit: Decimal | None = None  # set exactly when code is not JPY

    @property
    def converts(self) -> bool:
        return self.code != YEN


@dataclass(frozen=True)
class Options:
    shape: FileShape = field(default_factory=FileShape)
    date_format: str | None = None  # every date and datetime column of the kind
    date_formats: tuple[tuple[str, str], ...] = ()  # (store name, format), per column
    currency: Currency = field(default_factory=Currency)
    derive_id: bool = False
    create_missing_customers: bool = False
    fill_down: bool = False  # a line whose order id is the line before's takes that line's order cells it leaves empty
    ignore_unmapped: bool = False
    only_rows_where: tuple[tuple[str, frozenset[str]], ...] = ()  # (CSV header, the cell values to read)
    strip: tuple[tuple[str, str], ...] = ()  # (store name, characters removed from both ends of its cells)
    join: tuple[tuple[str, tuple[str, ...]], ...] = ()  # (store name, the CSV headers whose cells make its value)
    category_separator: str = "/"  # products: what separates the levels of a category path in the file

    def format_of(self, name: str) -> str | None:
        return dict(self.date_formats).get(name, self.date_format)


def parse_options(kind: str, table: dict[str, Any]) -> Options:
    """The options of one kind's table (keys other than columns, ignore and values)."""
    for key in _ORDERS_ONLY:
        if key in table and kind != "orders":
            raise OptionError(tr("{key} is only for [orders]", key=key))
    if any(key in table for key in ("currency", "yen_per_unit")) and kind not in _MONEY_KINDS:
        raise OptionError(
            tr("currency is not supported for {kind}", kind=kind),
            tr("only customers, orders, order_items and products convert money columns"),
        )
    if "category_separator" in table and kind != "products":
        raise OptionError(tr("category_separator is only for [products]"))
    date_formats = _table(table.get("date_formats", {}), "date_formats")
    return Options(
        shape=_shape(table),
        date_format=_date_format(table["date_format"], "date_format") if "date_format" in table else None,
        date_formats=tuple((name, _date_format(f, f"date_formats.{name}")) for name, f in date_formats.items()),
        currency=_currency(table.get("currency", YEN), table.get("yen_per_unit")),
        derive_id=_bool(table.get("derive_id", False), "derive_id"),
        create_missing_customers=_bool(table.get("create_missing_customers", False), "create_missing_customers"),
        fill_down=_bool(table.get("fill_down", False), "fill_down"),
        ignore_unmapped=_bool(table.get("ignore_unmapped", False), "ignore_unmapped"),
        only_rows_where=_only_rows(table.get("only_rows_where", {})),
        strip=_strip(table.get("strip", {})),
        join=_join(table.get("join", {})),
        category_separator=_separator(table.get("category_separator", "/")),
    )


def _separator(value: Any) -> str:
    if not isinstance(value, str) or len(value) != 1 or value.isspace():
        raise OptionError(tr("category_separator must be one character"), tr('e.g. category_separator = ","'))
    return value


def _strip(value: Any) -> tuple[tuple[str, str], ...]:
    pairs = _table(value, "strip").items()
    for name, chars in pairs:
        if not isinstance(chars, str) or not chars:
            raise OptionError(tr("strip.{name} must be the characters to remove", name=name), tr('e.g. phone = "\'"'))
    return tuple(pairs)


def _join(value: Any) -> tuple[tuple[str, tuple[str, ...]], ...]:
    hint = tr('e.g. [orders.join] ordered_at = ["日付", "注文時間"]')
    joins = []
    for name, headers in _table(value, "join").items():
        if not isinstance(headers, list) or not all(isinstance(h, str) and h.strip() for h in headers):
            raise OptionError(tr("join.{name} must be a list of CSV headers", name=name), hint)
        names = tuple(h.strip() for h in headers)
        if len(names) < 2:
            raise OptionError(tr("join.{name} joins at least two headers", name=name), hint)
        if len(set(names)) != len(names):
            raise OptionError(tr("join.{name} names a header twice", name=name), hint)
        joins.append((name, names))
    return tuple(joins)


def _only_rows(value: Any) -> tuple[tuple[str, frozenset[str]], ...]:
    hint = tr('e.g. [orders.only_rows_where] "明細区分(名称)" = ["商品"]')
    wanted = []
    for header, cells in _table(value, "only_rows_where").items():
        if isinstance(cells, str):
            cells = [cells]
        if not isinstance(cells, list) or not cells or not all(isinstance(c, str) for c in cells):
            raise OptionError(tr("only_rows_where.{header} must be a list of cell values", header=header), hint)
        wanted.append((header.strip(), frozenset(c.strip() for c in cells)))
    return tuple(wanted)


def _shape(table: dict[str, Any]) -> FileShape:
    raw = table.get("delimiter", ",")
    if not isinstance(raw, str):
        raise OptionError(tr("delimiter must be text"), tr('e.g. ",", "\\t", "tab" or "whitespace"'))
    delimiter = _DELIMITER_NAMES.get(raw.lower(), WHITESPACE if raw.lower() == WHITESPACE else raw)
    if delimiter != WHITESPACE and (len(delimiter) != 1 or delimiter in '"\r\n'):
        raise OptionError(
            tr("delimiter {delimiter} is not one character", delimiter=repr(raw)),
            tr('give one character such as ";", or "tab" or "whitespace"'),
        )
    header = _bool(table.get("header", True), "header")
    fields = table.get("fields")
    if header and fields is not None:
        raise OptionError(tr("fields names the columns of a file without a header row"), tr("add header = false"))
    if not header:
        if not isinstance(fields, list) or not fields or not all(isinstance(f, str) and f.strip() for f in fields):
            raise OptionError(
                tr("header = false needs fields: the names of the file's columns, in order"),
                tr('e.g. fields = ["customer_id", "ordered_at", "amount"]'),
            )
        names = [f.strip() for f in fields]
        twice = next((n for n in names if names.count(n) > 1), None)
        if twice is not None:
            raise OptionError(tr("fields names '{name}' twice", name=twice), tr("give each column its own name"))
        return FileShape(delimiter, False, tuple(names))
    return FileShape(delimiter, True, ())


def _date_format(value: Any, key: str) -> str:
    """A strptime format that writes and reads back a year, a month and a day."""
    hint = tr('a strptime format such as "%Y%m%d" or "%d/%m/%Y %H:%M"')
    if not isinstance(value, str) or "%" not in value:
        raise OptionError(tr("{key} must be a strptime format", key=key), hint)
    sample = datetime(2001, 2, 3, 4, 5, 6, tzinfo=UTC)  # aware, so %z and %Z write something
    try:
        parsed = datetime.strptime(sample.strftime(value), value)
    except ValueError as exc:
        raise OptionError(
            tr("{key} {format} is not a usable format ({problem})", key=key, format=repr(value), problem=exc), hint
        ) from None
    if parsed.date() != sample.date():
        raise OptionError(
            tr("{key} {format} does not give a year, a month and a day", key=key, format=repr(value)), hint
        )
    return value


def _currency(code: Any, rate: Any) -> Currency:
    if not isinstance(code, str) or not _CURRENCY.match(code):
        raise OptionError(
            tr("currency {code} is not an ISO 4217 code", code=repr(code)), tr('e.g. "USD"; the store keeps JPY')
        )
    if code == YEN:
        if rate is not None:
            raise OptionError(tr("yen_per_unit is only for a currency other than JPY"))
        return Currency()
    if rate is None:
        raise OptionError(
            tr(
                "currency {code} needs yen_per_unit: the store keeps whole yen, so every {code} amount is converted",
                code=code,
            ),
            tr('give the rate used, e.g. yen_per_unit = "120.89" (yen for one {code})', code=code),
        )
    if isinstance(rate, bool) or not isinstance(rate, str | int | float):
        raise OptionError(tr("yen_per_unit must be a number"), tr('e.g. yen_per_unit = "120.89"'))
    try:
        value = Decimal(str(rate).strip())
    except InvalidOperation:
        raise OptionError(
            tr("yen_per_unit {rate} is not a number", rate=repr(rate)), tr('e.g. yen_per_unit = "120.89"')
        ) from None
    if not value.is_finite() or value <= 0:
        raise OptionError(tr("yen_per_unit {rate} must be a positive number", rate=repr(rate)))
    return Currency(code, value)


def _bool(value: Any, key: str) -> bool:
    if not isinstance(value, bool):
        raise OptionError(tr("{key} must be true or false", key=key))
    return value


def _table(value: Any, key: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise OptionError(tr("{key} must be a table", key=key), tr("[<kind>.{key}] with one line per column", key=key))
    return value
