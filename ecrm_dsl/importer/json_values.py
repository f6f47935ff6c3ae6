"""Typed values in JSON columns (custom attributes, event properties), as the store's conventions want them.

Datetimes are ISO 8601 in UTC with an offset, dates ``YYYY-MM-DD``, money whole yen, lists arrays of strings.
Values read from a JSON ``properties`` cell may be native JSON or text in any form a CSV cell may use.
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, tzinfo
from typing import Any

from ecrm_dsl.importer.values import CellError, check_int, parse_text
from ecrm_dsl.language.i18n import lookup, n_, tr


def to_json(type_: str, value: Any) -> Any:
    """The JSON form of a parsed value of ``type_``."""
    if type_ == "datetime":
        assert isinstance(value, datetime)
        return value.astimezone(UTC).isoformat()
    if type_ == "date":
        assert isinstance(value, date)
        return value.isoformat()
    return value


def from_json_value(type_: str, value: Any, shop_tz: tzinfo) -> Any:
    """A value of a JSON object (native JSON or text) as the JSON form of ``type_``; None stays None."""
    if value is None:
        return None
    if isinstance(value, str):
        text = value.strip()
        return to_json(type_, parse_text(type_, text, shop_tz)) if text else None
    shown = json.dumps(value, ensure_ascii=False)
    if type_ in ("int", "money") and isinstance(value, int) and not isinstance(value, bool):
        return check_int(value, shown)
    if type_ == "decimal" and isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    if type_ == "bool" and isinstance(value, bool):
        return value
    if type_ == "list" and isinstance(value, list) and all(isinstance(v, str) for v in value):
        return list(dict.fromkeys(v.strip() for v in value if v.strip()))
    if type_ == "string" and isinstance(value, int | float) and not isinstance(value, bool):
        return shown
    message = _NOT_A.get(type_)
    problem = lookup(message).format(shown=shown) if message else tr("{shown} is not a {type}", shown=shown, type=type_)
    raise CellError(problem, tr("give a {type} value", type=type_))


# Each type's sentence whole, so that it can be said in another word order.
_NOT_A = {
    "int": n_("{shown} is not a whole number"),
    "decimal": n_("{shown} is not a number"),
    "money": n_("{shown} is not a whole amount of yen"),
    "bool": n_("{shown} is not a true or false"),
    "date": n_("{shown} is not a date"),
    "datetime": n_("{shown} is not a date and time"),
    "list": n_("{shown} is not a list of strings"),
    "string": n_("{shown} is not a string"),
}


def canonical(value: Any) -> str:
    """One spelling of a JSON value (sorted keys), for comparing and fingerprinting."""
    return json.dumps(value, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
