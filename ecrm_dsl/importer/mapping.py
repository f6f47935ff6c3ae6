"""Mapping files: which CSV header holds which store column, for the exports of an EC platform.

```toml
title = "EC-CUBE 4: 会員CSV, 受注CSV"  # optional: what the mapping reads (shown by --list-mappings)
encoding = "cp932"                  # optional: the platform's CSV encoding (--encoding overrides)

[orders.columns]                    # store column = "CSV header" (or a list of alternative headers)
id = "受注番号"
ordered_at = ["注文日時", "受注日時"]
"prop.rating" = "評価"               # events: an event property
email = "メールアドレス"               # one header may fill several columns: here the id and the email

[orders]
ignore = ["商品名", "配送業者"]        # headers to skip

[orders.values.payment_method]      # optional: cell values to translate before parsing
"クレジットカード" = "credit_card"
```

A kind's table may also say how the export is written — delimiter, header and fields, date formats,
currency, derived order ids, creating missing customers: see :mod:`ecrm_dsl.importer.options`.

A store column the mapping does not name is read from the header of the same name. The names are checked
against the kind's layout (and the customer schema) when the header is bound, not here.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ecrm_dsl.importer.csv_source import is_text_encoding
from ecrm_dsl.importer.layouts import KINDS
from ecrm_dsl.importer.options import OPTION_KEYS, OptionError, Options, parse_options
from ecrm_dsl.importer.problems import did_you_mean
from ecrm_dsl.language.i18n import tr

_KIND_KEYS = ("columns", "ignore", "values", *OPTION_KEYS)


class MappingError(Exception):
    def __init__(self, message: str, hint: str | None = None):
        super().__init__(message)
        self.message = message
        self.hint = hint


@dataclass(frozen=True)
class KindMapping:
    columns: dict[str, tuple[str, ...]] = field(default_factory=dict)  # store name → CSV headers
    ignore: frozenset[str] = frozenset()
    values: dict[str, dict[str, str]] = field(default_factory=dict)  # store name → {cell text: replacement}
    options: Options = field(default_factory=Options)  # delimiter, header, formats, currency, …


@dataclass(frozen=True)
class Mapping:
    source: str
    encoding: str | None = None
    title: str = ""
    kinds: dict[str, KindMapping] = field(default_factory=dict)

    def for_kind(self, kind: str) -> KindMapping:
        return self.kinds.get(kind, KindMapping())


def load_mapping(path: Path) -> Mapping:
    """Read and shape-check a mapping file; raise :class:`MappingError` when it is unusable."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8-sig"))
    except OSError as exc:
        raise MappingError(tr("cannot read the mapping: {reason}", reason=exc.strerror)) from None
    except UnicodeDecodeError:
        raise MappingError(tr("the mapping is not UTF-8 text"), tr("save it as UTF-8")) from None
    except tomllib.TOMLDecodeError as exc:
        raise MappingError(tr("the mapping is not valid TOML: {problem}", problem=exc)) from None
    except RecursionError:
        raise MappingError(tr("the mapping nests arrays or tables too deeply to be a mapping")) from None
    title = data.pop("title", "")
    if not isinstance(title, str):
        raise MappingError(tr("title must be text"))
    encoding = data.pop("encoding", None)
    if encoding is not None:
        if not isinstance(encoding, str) or not is_text_encoding(encoding):
            raise MappingError(
                tr("encoding {encoding} is not a known text encoding", encoding=repr(encoding)),
                tr("e.g. utf-8 or cp932"),
            )
    kinds: dict[str, KindMapping] = {}
    for kind, table in data.items():
        if kind not in KINDS:
            hint = did_you_mean(kind, KINDS) or tr("tables: {tables}", tables=", ".join(KINDS))
            raise MappingError(tr("[{kind}] is not a kind of import", kind=kind), hint)
        kinds[kind] = _kind_mapping(kind, table)
    return Mapping(path.as_posix(), encoding, title, kinds)


def _kind_mapping(kind: str, table: Any) -> KindMapping:
    if not isinstance(table, dict):
        raise MappingError(tr("'{kind}' must be a table: [{kind}.columns]", kind=kind))
    unknown = sorted(set(table) - set(_KIND_KEYS))
    if unknown:
        hint = did_you_mean(unknown[0], _KIND_KEYS) or tr("keys: {keys}", keys=", ".join(_KIND_KEYS))
        raise MappingError(tr("[{kind}] has an unknown key '{key}'", kind=kind, key=unknown[0]), hint)
    try:
        options = parse_options(kind, table)
    except OptionError as exc:
        raise MappingError(f"[{kind}] {exc.message}", exc.hint) from None
    columns: dict[str, tuple[str, ...]] = {}
    for name, headers in _table(table.get("columns", {}), f"{kind}.columns").items():
        if isinstance(headers, str):
            headers = [headers]
        if not isinstance(headers, list) or not headers or not all(isinstance(h, str) and h.strip() for h in headers):
            raise MappingError(
                tr("[{kind}.columns] {name} must be a CSV header or a list of headers", kind=kind, name=name)
            )
        columns[name] = tuple(h.strip() for h in headers)
    for name, _ in options.join:
        if name in columns:
            raise MappingError(
                tr("[{kind}] {name} is both in [{kind}.columns] and in [{kind}.join]", kind=kind, name=name),
                tr("keep one of the two"),
            )
    ignore = table.get("ignore", [])
    if not isinstance(ignore, list) or not all(isinstance(h, str) for h in ignore):
        raise MappingError(tr("[{kind}] ignore must be a list of CSV headers", kind=kind))
    values: dict[str, dict[str, str]] = {}
    for name, translations in _table(table.get("values", {}), f"{kind}.values").items():
        pairs = _table(translations, f"{kind}.values.{name}")
        if not all(isinstance(v, str | bool | int) for v in pairs.values()):
            raise MappingError(
                tr("[{kind}.values.{name}] values must be text, numbers or true/false", kind=kind, name=name)
            )
        values[name] = {k.strip(): _text(v) for k, v in pairs.items()}
    return KindMapping(columns, frozenset(h.strip() for h in ignore), values, options)


def _table(value: Any, where: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise MappingError(tr("[{where}] must be a table", where=where))
    return value


def _text(value: str | bool | int) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)
