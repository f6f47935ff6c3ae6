"""Running one import: read the file as a stream, check every row, write in batches inside one transaction,
and commit only if no row had a problem (a dry run never commits)."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, tzinfo
from pathlib import Path

from sqlalchemy import Engine

from ecrm_dsl.importer.convert import convert
from ecrm_dsl.importer.counts import Counts
from ecrm_dsl.importer.csv_source import DEFAULT_ENCODING, CsvSource
from ecrm_dsl.importer.header import bind, check_mapping, missing_required
from ecrm_dsl.importer.kinds import LOADERS, LoadContext, Loader
from ecrm_dsl.importer.mapping import KindMapping
from ecrm_dsl.importer.problems import InputError, Problems
from ecrm_dsl.importer.row_rules import row_rules
from ecrm_dsl.language.customer_schema import CustomerSchema
from ecrm_dsl.store.tables import TABLES, StoreTables


@dataclass(frozen=True)
class ImportRequest:
    kind: str  # customers | orders | order_items | subscriptions | events
    path: Path
    shop_tz: tzinfo  # naive times in the file are in this timezone
    encoding: str = DEFAULT_ENCODING
    mapping: KindMapping = field(default_factory=KindMapping)
    dry_run: bool = False
    max_problems: int = 100
    batch_size: int = 1000
    now: datetime | None = None  # when catalogue changes happen (product events); default: the import's time


@dataclass
class ImportResult:
    rows: int  # data rows read
    counts: dict[str, Counts]  # by table (and "order.placed events")
    problems: Problems
    notes: list[str]
    committed: bool
    seconds: float

    @property
    def ok(self) -> bool:
        return not self.problems


def make_loader(request: ImportRequest, schema: CustomerSchema, tables: StoreTables = TABLES) -> Loader:
    """The loader for the request's kind; raises MappingError if the mapping names a column it does not have."""
    ctx = LoadContext(
        schema,
        tables,
        request.shop_tz,
        Problems(request.max_problems),
        request.batch_size,
        request.mapping.options,
        request.now or datetime.now(UTC),
    )
    loader = LOADERS[request.kind](ctx)
    check_mapping(request.mapping, request.kind, loader.columns, loader.extra)
    return loader


def run_import(
    engine: Engine,
    request: ImportRequest,
    schema: CustomerSchema,
    tables: StoreTables = TABLES,
    progress: Callable[[int, int], None] | None = None,
) -> ImportResult:
    """Import ``request.path``; the store is unchanged unless every row is good (and it is not a dry run).

    ``progress`` is told the rows and the bytes of the file read so far, after every batch of rows.
    """
    started = time.perf_counter()
    loader = make_loader(request, schema, tables)
    problems = loader.ctx.problems
    rows = 0
    notes: list[str] = []
    with engine.connect() as conn:
        transaction = conn.begin()
        try:
            try:
                with CsvSource(request.path, request.encoding, request.mapping.options.shape) as source:
                    binding, header_problems, notes = bind(
                        source.header.cells, loader.columns, request.mapping, loader.extra
                    )
                    header_problems += missing_required(binding, loader.required(binding), request.mapping)
                    rules, rule_problems = row_rules(source.header.cells, binding, request.mapping.options)
                    for problem in header_problems + rule_problems:
                        problems.add(problem)
                    if not problems:
                        loader.begin(conn, binding)
                        for raw in source.records():
                            rows += 1
                            record = rules.apply(raw)
                            if record is None:
                                continue
                            values = convert(record, binding, request.shop_tz, problems)
                            if values is not None:
                                loader.add(record.line, values)
                            if progress is not None and rows % request.batch_size == 0:
                                progress(rows, source.bytes_read)
                        loader.finish()
                        if (skipped := rules.note()) is not None:
                            notes.append(skipped)
            except InputError as exc:
                problems.add(exc.problem)
            committed = not problems and not request.dry_run
            if committed:
                transaction.commit()
            else:
                transaction.rollback()
        except BaseException:
            transaction.rollback()
            raise
    return ImportResult(rows, loader.counts, problems, notes, committed, time.perf_counter() - started)
