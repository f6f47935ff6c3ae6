"""Binding a CSV header row to store columns, through the mapping file when there is one."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from ecrm_dsl.importer.formats import CellParser, conversion_note, parser_for
from ecrm_dsl.importer.layouts import Column
from ecrm_dsl.importer.mapping import KindMapping, MappingError
from ecrm_dsl.importer.options import WHITESPACE
from ecrm_dsl.importer.problems import Problem, did_you_mean
from ecrm_dsl.language.i18n import n_, tr


@dataclass(frozen=True, slots=True)
class Unresolved:
    """Why a name is not a column of this kind of import."""

    message: str
    hint: str | None = None


# A kind's columns beyond its fixed layout (custom attributes, event properties): a Column or why not.
Resolver = Callable[[str], Column | Unresolved]


def fixed_only(name: str) -> Column | Unresolved:
    return Unresolved(tr("is not a column of this import"))


@dataclass(frozen=True, slots=True)
class Bound:
    index: int  # position in the row
    header: str
    column: Column
    translate: dict[str, str] = field(default_factory=dict)  # cell text → replacement, from the mapping
    parse: CellParser | None = None  # the mapping's date format or currency; None: the type's own parsing
    strip: str = ""  # characters the mapping removes from both ends of each cell
    joined: tuple[int, ...] = ()  # positions of the cells read after this one, joined by a space (join)

    @property
    def label(self) -> str:
        return label(self.header, self.column.name)

    def text(self, cells: list[str]) -> str:
        """The cell this column reads: its own, or its joined cells separated by a space."""
        if not self.joined:
            return cells[self.index]
        return " ".join(part for i in (self.index, *self.joined) if (part := cells[i].strip()))


def label(header: str, name: str) -> str:
    return f"'{header}'" if header == name else f"'{header}' ({name})"


@dataclass(frozen=True)
class Binding:
    bound: tuple[Bound, ...]
    width: int  # cells in the header row (or names in the mapping's fields)
    headerless: bool = False  # the columns are named by the mapping's fields, not by a header row
    width_hint: str = n_("a value with a comma or a line break must be in double quotes")  # shown with lookup()

    def get(self, name: str) -> Bound | None:
        return next((b for b in self.bound if b.column.name == name), None)

    def has(self, name: str) -> bool:
        return self.get(name) is not None

    def width_problem(self, cells: int) -> str:
        if self.headerless:
            return tr("the row has {cells} fields but the mapping's fields name {width}", cells=cells, width=self.width)
        return tr("the row has {cells} fields but the header has {width}", cells=cells, width=self.width)


def resolve(name: str, columns: dict[str, Column], extra: Resolver) -> Column | Unresolved:
    found = columns.get(name)
    return found if found is not None else extra(name)


def check_mapping(mapping: KindMapping, kind: str, columns: dict[str, Column], extra: Resolver) -> None:
    """Every store name in the mapping must be a column of this kind (or the mapping has a typo)."""
    for name in mapping.columns:
        found = resolve(name, columns, extra)
        if isinstance(found, Unresolved):
            hint = found.hint or did_you_mean(name, columns) or tr("columns: {columns}", columns=", ".join(columns))
            raise MappingError(f"[{kind}.columns] {name}: {found.message}", hint)
    for name in mapping.values:
        if isinstance(resolve(name, columns, extra), Unresolved):
            raise MappingError(
                tr("[{kind}.values.{name}]: '{name}' is not a column of this import", kind=kind, name=name),
                did_you_mean(name, columns),
            )
    for name, _ in mapping.options.join:
        if isinstance(resolve(name, columns, extra), Unresolved):
            raise MappingError(_not_a_column(kind, "join", name), did_you_mean(name, columns))
    _check_fields(mapping, kind, columns, extra)
    for name, _ in mapping.options.strip:
        if isinstance(resolve(name, columns, extra), Unresolved):
            raise MappingError(_not_a_column(kind, "strip", name), did_you_mean(name, columns))
    for name, _ in mapping.options.date_formats:
        found = resolve(name, columns, extra)
        if isinstance(found, Unresolved) or found.type not in ("date", "datetime"):
            dated = [n for n, c in columns.items() if c.type in ("date", "datetime")]
            raise MappingError(
                tr(
                    "[{kind}.date_formats] {name}: is not a date or datetime column of this import",
                    kind=kind,
                    name=name,
                ),
                did_you_mean(name, dated) or tr("date columns: {columns}", columns=", ".join(dated)),
            )


def _not_a_column(kind: str, key: str, name: str) -> str:
    return tr("[{kind}.{key}] {name}: is not a column of this import", kind=kind, key=key, name=name)


def _check_fields(mapping: KindMapping, kind: str, columns: dict[str, Column], extra: Resolver) -> None:
    """Without a header row, the mapping's fields are the header: each must be a column or ignored."""
    by_header = names_by_header(mapping)
    joined = joined_headers(mapping)
    for field_name in mapping.options.shape.fields:
        if field_name in mapping.ignore or field_name in joined:
            continue
        for name in by_header.get(field_name, [field_name]):
            found = resolve(name, columns, extra)
            if isinstance(found, Unresolved) and not (mapping.options.ignore_unmapped and field_name not in by_header):
                raise MappingError(
                    f"[{kind}] fields: {label(field_name, name)} {found.message}",
                    found.hint
                    or did_you_mean(name, columns)
                    or tr("map it under [{kind}.columns], or list it under ignore", kind=kind),
                )


def names_by_header(mapping: KindMapping) -> dict[str, list[str]]:
    """The store columns each CSV header of the mapping fills (usually one); a join counts by its first header."""
    by_header: dict[str, list[str]] = {}
    for name, headers in mapping.columns.items():
        for header in headers:
            by_header.setdefault(header, []).append(name)
    for name, (first, *_) in mapping.options.join:
        by_header.setdefault(first, []).append(name)
    return by_header


def joined_headers(mapping: KindMapping) -> set[str]:
    """The headers a join reads after its first one: they are part of that column, not columns of their own."""
    return {header for _, headers in mapping.options.join for header in headers[1:]}


def headers_of(mapping: KindMapping, name: str) -> tuple[str, ...]:
    """The CSV headers the mapping reads ``name`` from: alternatives, or the headers of a join."""
    return mapping.columns.get(name) or dict(mapping.options.join).get(name) or (name,)


def bind(
    header: list[str], columns: dict[str, Column], mapping: KindMapping, extra: Resolver
) -> tuple[Binding, list[Problem], list[str]]:
    """The columns the header provides, the problems with it (at line 1), and notes about the mapping."""
    by_header = names_by_header(mapping)
    joins = dict(mapping.options.join)
    joined = joined_headers(mapping)
    positions = {h.strip(): i for i, h in reversed(list(enumerate(header)))}
    problems: list[Problem] = []
    bound: list[Bound] = []
    first: dict[str, str] = {}
    skipped: list[str] = []
    for index, raw in enumerate(header):
        text = raw.strip()
        if not text or text in mapping.ignore or text in joined:
            continue
        names = by_header.get(text)
        if names is None and text in mapping.columns:
            problems.append(
                Problem(
                    1,
                    tr(
                        "is not read: the mapping takes {name} from {headers}",
                        name=text,
                        headers=", ".join(f"'{h}'" for h in mapping.columns[text]),
                    ),
                    tr("add it to ignore in the mapping"),
                    f"'{text}'",
                )
            )
            continue
        for name in names or [text]:
            found = resolve(name, columns, extra)
            if isinstance(found, Unresolved):
                if names is None and mapping.options.ignore_unmapped:
                    skipped.append(text)
                    continue
                hint = found.hint or did_you_mean(name, columns)
                problems.append(Problem(1, found.message, hint, label(text, name)))
                continue
            if name in first:
                problems.append(
                    Problem(
                        1,
                        tr("gives {name} a second time (also in '{header}')", name=name, header=first[name]),
                        tr("keep one of the two, or ignore one in a mapping"),
                        label(text, name),
                    )
                )
                continue
            parts = joins.get(name, ())
            if parts and parts[0] != text:
                parts = ()  # the column comes from another header here; a join is read from its first header
            lacking = [h for h in parts[1:] if h not in positions]
            if lacking:
                problems.append(
                    Problem(
                        1,
                        tr(
                            "is read joined with {joined} (join), but the file has no {missing}",
                            joined=", ".join(repr(h) for h in parts[1:]),
                            missing=tr(" or ").join(repr(h) for h in lacking),
                        ),
                        tr("export {headers} together", headers=tr(" and ").join(repr(h) for h in parts)),
                        label(text, name),
                    )
                )
                continue
            first[name] = text
            parse = parser_for(found, mapping.options)
            strip = dict(mapping.options.strip).get(name, "")
            also = tuple(positions[h] for h in parts[1:])
            shown = "+".join(parts) if parts else text
            bound.append(Bound(index, shown, found, mapping.values.get(name, {}), parse, strip, also))
    present = {h.strip() for h in header}
    absent = [
        name
        for name, headers in mapping.columns.items()
        if not any(h in present for h in headers) and not columns.get(name, Column(name, "")).required
    ]
    notes = (
        [
            tr(
                "the mapping names columns this file does not have, so they are not imported: {columns}",
                columns=", ".join(absent),
            )
        ]
        if absent
        else []
    )
    if skipped:
        shown = ", ".join(f"'{h}'" for h in dict.fromkeys(skipped))
        notes.append(tr("columns the mapping does not read (ignore_unmapped): {headers}", headers=shown))
    currency = mapping.options.currency
    converted = [b.column.name for b in bound if b.column.type == "money"]
    if currency.converts and converted:
        notes.append(conversion_note(currency, converted))
    shape = mapping.options.shape
    return Binding(tuple(bound), len(header), not shape.header, _width_hint(shape.delimiter)), problems, notes


def _width_hint(delimiter: str) -> str:
    if delimiter == WHITESPACE:
        return tr("fields are separated by spaces, so a value cannot contain one")
    if delimiter == ",":
        return tr("a value with a comma or a line break must be in double quotes")
    if delimiter == "\t":
        return tr("a value with a tab or a line break in it must be in double quotes")
    return tr("a value with '{delimiter}' or a line break in it must be in double quotes", delimiter=delimiter)


def missing_required(binding: Binding, required: Iterable[str], mapping: KindMapping) -> list[Problem]:
    problems = []
    for name in required:
        if not binding.has(name):
            headers = headers_of(mapping, name)
            joiner = tr(" and ") if name in dict(mapping.options.join) else tr(" or ")
            shown = joiner.join(f"'{h}'" for h in headers)
            problems.append(
                Problem(1, tr("the required column {name} is missing (header {headers})", name=name, headers=shown))
            )
    return problems
