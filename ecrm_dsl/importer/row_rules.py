"""What a mapping says about rows before their cells are read: rows to skip, and cells an export leaves empty.

- ``only_rows_where``: only rows whose cell under a header is one of the given values are read (EC-CUBE's
  order CSV has a line per fee, discount and tax besides the product lines); the report counts the others.
- ``fill_down`` (orders): a line whose order id is the one of the line before takes that line's order cells
  where it leaves them empty — Shopify writes an order's columns on its first line only.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ecrm_dsl.importer.csv_source import Record
from ecrm_dsl.importer.header import Binding
from ecrm_dsl.importer.layouts import ORDER
from ecrm_dsl.importer.options import Options
from ecrm_dsl.importer.problems import Problem
from ecrm_dsl.language.i18n import tr, trn


@dataclass
class RowRules:
    wanted: list[tuple[int, str, frozenset[str]]]  # (cell index, header, values read)
    key: int | None  # index of the order id cell, when filling down
    fill: list[int]  # indices of the order cells filled down
    skipped: int = 0
    _previous: list[str] | None = field(default=None, repr=False)

    def apply(self, record: Record) -> Record | None:
        """The record to read (with cells filled down), or None to skip it."""
        cells = record.cells
        if any(index >= len(cells) or cells[index].strip() not in values for index, _, values in self.wanted):
            self.skipped += 1
            return None
        if self.key is None or self.key >= len(cells):
            return record
        previous, self._previous = self._previous, cells
        if previous is None or len(previous) != len(cells) or not cells[self.key].strip():
            return record
        if cells[self.key].strip() != previous[self.key].strip():
            return record
        filled = list(cells)
        for index in self.fill:
            # A short row (a stray line of one cell, repeated) has no cell there: the reader reports it later.
            if index < len(filled) and not filled[index].strip():
                filled[index] = previous[index]
        self._previous = filled
        return Record(record.line, filled)

    def note(self) -> str | None:
        if not self.skipped:
            return None
        where = tr(" and ").join(
            tr("'{header}' is {values}", header=header, values=tr(" or ").join(sorted(values)))
            for _, header, values in self.wanted
        )
        return trn(
            "{count:,} row was skipped: the mapping reads only rows where {where} (only_rows_where)",
            "{count:,} rows were skipped: the mapping reads only rows where {where} (only_rows_where)",
            self.skipped,
            count=self.skipped,
            where=where,
        )


def row_rules(header: list[str], binding: Binding, options: Options) -> tuple[RowRules, list[Problem]]:
    """The rules for a file with ``header``; a header the mapping names but the file lacks is a problem."""
    problems, wanted = [], []
    headers = [h.strip() for h in header]
    for name, values in options.only_rows_where:
        if name not in headers:
            problems.append(
                Problem(
                    1,
                    tr(
                        "the mapping reads only rows by '{header}' (only_rows_where), but the file has no such column",
                        header=name,
                    ),
                )
            )
        else:
            wanted.append((headers.index(name), name, values))
    key = binding.get("id") if options.fill_down else None
    order_cells = [b for b in binding.bound if b.column.name in ORDER and b.column.name != "id"]
    fill = [i for b in order_cells for i in (b.index, *b.joined)] if key else []
    return RowRules(wanted, key.index if key else None, fill), problems
