"""``ecrm import``: load customers, orders, order lines, subscriptions or events from CSV into the store."""

from __future__ import annotations

import time
import zoneinfo
from collections.abc import Callable
from pathlib import Path
from typing import NoReturn

import click
from sqlalchemy.exc import SQLAlchemyError

from ecrm_dsl.cli.common import ExitCode, print_findings, project_config
from ecrm_dsl.cli.progress import Bar
from ecrm_dsl.cli.runtime_cmds import parse_now
from ecrm_dsl.importer import (
    DEFAULT_ENCODING,
    KINDS,
    ImportRequest,
    ImportResult,
    Mapping,
    MappingError,
    detect,
    is_text_encoding,
    make_loader,
    mapping_named,
    open_engine,
    run_import,
    shipped_names,
    shipped_path,
)
from ecrm_dsl.importer.counts import Counts
from ecrm_dsl.language.diagnostics import Severity
from ecrm_dsl.language.i18n import tr, trn
from ecrm_dsl.project.config import ProjectConfig
from ecrm_dsl.project.resources import CustomerSchema, Policies
from ecrm_dsl.project.workspace import load_workspace
from ecrm_dsl.store.database import DEFAULT_STORE


@click.command("import")
@click.argument("kind", type=click.Choice(KINDS))
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--store",
    envvar="ECRM_STORE",
    help=f"SQLite file or database URL (default: $ECRM_STORE, else {DEFAULT_STORE} in the project folder).",
)
@click.option(
    "--mapping",
    "mapping_name",
    metavar="NAME|FILE",
    help="A shipped mapping (see --list-mappings; chosen from the header row when one fits) or a TOML file naming "
    "the CSV header of each store column and how the export is written: see the README, 'Customer store and import'.",
)
@click.option(
    "--list-mappings",
    is_flag=True,
    is_eager=True,
    expose_value=False,
    callback=lambda ctx, _param, value: _list_mappings(ctx) if value else None,
    help="List the shipped mappings and exit.",
)
@click.option(
    "--timezone", "timezone_name", help="Timezone of times written without an offset (default: the policies' timezone)."
)
@click.option(
    "--encoding",
    help="Encoding of the file (default: the mapping's, else UTF-8 with or without BOM; cp932 for Shift_JIS).",
)
@click.option("--dry-run", is_flag=True, help="Check everything and show what would change; write nothing.")
@click.option(
    "--now",
    "now_text",
    help="products: when the restocks and price drops the file shows happen (ISO 8601 with offset; default now).",
)
@click.option(
    "--max-errors",
    type=click.IntRange(min=1),
    default=100,
    show_default=True,
    help="Problems to show; the rest are counted.",
)
@click.pass_context
def import_command(
    ctx: click.Context,
    kind: str,
    file: Path,
    store: str | None,
    mapping_name: str | None,
    timezone_name: str | None,
    encoding: str | None,
    dry_run: bool,
    now_text: str | None,
    max_errors: int,
) -> None:
    """Import KIND (customers, orders, order_items, subscriptions, events, products or coupons) from the CSV FILE.

    Every row is checked; bad rows are reported as FILE:LINE and nothing is written unless the whole file is
    good. Rows are upserted by their natural key, so importing a file again changes nothing. An export of a
    platform with a shipped mapping (Shopify, EC-CUBE 4) is recognised by its header row.
    Exit status: 0 imported, 1 bad rows (nothing imported), 2 usage, configuration or store error.
    """
    config = project_config(ctx)
    schema, policies = _project_schema(config)
    if encoding is not None:
        _encoding(encoding)
    if mapping_name is not None:
        mapping = _mapping(mapping_name)
        file_encoding = encoding or mapping.encoding or DEFAULT_ENCODING
    else:
        mapping, detected_encoding = _detected(file, kind, encoding)
        file_encoding = encoding or detected_encoding or DEFAULT_ENCODING
    try:
        now = parse_now(now_text) if now_text is not None else None
    except click.BadParameter as exc:
        exc.param_hint = "--now"
        raise
    request = ImportRequest(
        kind=kind,
        path=file,
        shop_tz=_timezone(timezone_name or policies.timezone),
        encoding=_encoding(file_encoding),
        mapping=mapping.for_kind(kind),
        dry_run=dry_run,
        max_problems=max_errors,
        now=now,
    )
    try:
        make_loader(request, schema)
    except MappingError as exc:
        _usage(f"{mapping.source}: {exc.message}" + (f" — {exc.hint}" if exc.hint else ""))
    store_path = store or str(config.root / DEFAULT_STORE)
    try:
        engine = open_engine(store_path)
        try:
            with Bar(tr("{kind} from {file}", kind=kind, file=file.name), total=file.stat().st_size) as bar:
                result = run_import(engine, request, schema, progress=_shown_on(bar))
                bar.summary = _read_summary(result)
        finally:
            engine.dispose()
    except SQLAlchemyError as exc:
        reason = getattr(exc, "orig", None) or exc
        _usage(tr("the store {store} failed: {reason}; nothing was imported", store=store_path, reason=reason))
    _report(result, str(file), store_path, dry_run)
    ctx.exit(int(ExitCode.OK if result.ok else ExitCode.FINDINGS))


def _shown_on(bar: Bar) -> Callable[[int, int], None] | None:
    """The import's progress hook: rows read and their rate beside a bar of the file's bytes."""
    if not bar.live:
        return None

    def show(rows: int, bytes_read: int) -> None:
        elapsed = time.perf_counter() - started
        if elapsed > 0:
            detail = tr("{rows} rows, {rate} rows/s", rows=f"{rows:,}", rate=f"{rows / elapsed:,.0f}")
        else:
            detail = tr("{rows} rows", rows=f"{rows:,}")
        bar.update(bytes_read, detail=detail)

    started = time.perf_counter()
    return show


def _read_summary(result: ImportResult) -> str:
    fields = {"rows": f"{result.rows:,}", "seconds": f"{result.seconds:.1f}"}
    if result.seconds > 0:
        return trn(
            "ecrm import: read {rows} row in {seconds}s ({rate} rows/s)",
            "ecrm import: read {rows} rows in {seconds}s ({rate} rows/s)",
            result.rows,
            rate=f"{result.rows / result.seconds:,.0f}",
            **fields,
        )
    return trn(
        "ecrm import: read {rows} row in {seconds}s",
        "ecrm import: read {rows} rows in {seconds}s",
        result.rows,
        **fields,
    )


def _project_schema(config: ProjectConfig) -> tuple[CustomerSchema, Policies]:
    """The project's customer schema and policies; refuses while either file has errors."""
    workspace = load_workspace(config)
    files = {config.display(config.customer_schema), config.display(config.policies)}
    errors = [d for d in workspace.diagnostics if d.span.file in files and d.effective_severity == Severity.ERROR]
    if errors:
        print_findings(errors, config.root, len(files), "text", err=True)
        _usage(tr("fix the customer schema and policies first"))
    return workspace.schema, workspace.policies


def _mapping(name: str) -> Mapping:
    try:
        return mapping_named(name)
    except MappingError as exc:
        _usage(f"{name}: {exc.message}" + (f" — {exc.hint}" if exc.hint else ""))


def _detected(file: Path, kind: str, encoding: str | None) -> tuple[Mapping, str | None]:
    """The shipped mapping whose headers fit the file, said on stderr; none (the store's own names) if none fits."""
    try:
        detected = detect(file, kind, encoding)
    except MappingError as exc:  # a shipped mapping that does not load is a broken installation
        _usage(tr("a shipped mapping is unusable: {message}", message=exc.message))
    if not detected.mappings:
        return Mapping(""), None
    names = [m.source for m in detected.mappings]
    if len(names) > 1:
        _usage(
            tr(
                "the header of {file} fits several shipped mappings ({names}); choose one with --mapping {first}, or "
                "give a mapping file",
                file=file,
                names=", ".join(names),
                first=names[0],
            )
        )
    mapping = detected.mappings[0]
    shown = {"utf-8-sig": "UTF-8", "cp932": "Shift_JIS (cp932)"}.get(detected.encoding or "", detected.encoding)
    click.echo(
        tr(
            "ecrm import: {file}: the header row fits the shipped mapping '{name}' ({title}); read as {encoding}. "
            "Give --mapping to choose another.",
            file=file,
            name=mapping.source,
            title=mapping.title,
            encoding=shown,
        ),
        err=True,
    )
    return mapping, detected.encoding


def _list_mappings(ctx: click.Context) -> None:
    click.echo(tr("Shipped mappings (--mapping NAME; chosen from a file's header row when exactly one fits):"))
    for name in shipped_names():
        mapping = mapping_named(name)
        click.echo(f"  {name:<10} {mapping.title}")
        kinds = tr(
            "kinds: {kinds}; encoding: {encoding}", kinds=", ".join(mapping.kinds), encoding=mapping.encoding or "utf-8"
        )
        click.echo(f"  {'':<10} {kinds}")
        click.echo(f"  {'':<10} " + tr("file: {path}", path=shipped_path(name)))
    ctx.exit(int(ExitCode.OK))


def _timezone(name: str) -> zoneinfo.ZoneInfo:
    try:
        return zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        _usage(tr("unknown timezone '{name}' — use an IANA name such as Asia/Tokyo", name=name))


def _encoding(name: str) -> str:
    if not is_text_encoding(name):
        _usage(tr("'{name}' is not a text encoding — e.g. utf-8 or cp932 (Shift_JIS)", name=name))
    return name


def _usage(message: str) -> NoReturn:
    click.echo(f"ecrm import: {message}", err=True)
    raise SystemExit(int(ExitCode.USAGE))


def _counted(counts: Counts) -> str:
    """What the import did to one table: ``3 inserted, 0 updated, 1 unchanged (2 repeated rows)``."""
    fields = {"inserted": counts.inserted, "updated": counts.updated, "unchanged": counts.unchanged}
    if counts.repeated:
        return tr(
            "{inserted} inserted, {updated} updated, {unchanged} unchanged ({repeated} repeated rows)",
            repeated=counts.repeated,
            **fields,
        )
    return tr("{inserted} inserted, {updated} updated, {unchanged} unchanged", **fields)


def _report(result: ImportResult, display: str, store: str, dry_run: bool) -> None:
    for note in result.notes:
        click.echo(tr("note: {note}", note=note), err=True)
    if not result.ok:
        for line in result.problems.report(display):
            click.echo(line, err=True)
        problems, rows = result.problems.total, len(result.problems.bad_lines)
        lines = trn("{count} line", "{count} lines", rows, count=rows)
        click.echo(
            trn(
                "ecrm import: nothing imported — {problems} problem on {lines} of {file}; the store is unchanged",
                "ecrm import: nothing imported — {problems} problems on {lines} of {file}; the store is unchanged",
                problems,
                problems=problems,
                lines=lines,
                file=display,
            ),
            err=True,
        )
        return
    click.echo(trn("{file}: {count} row", "{file}: {count} rows", result.rows, file=display, count=result.rows))
    for table, counts in result.counts.items():
        click.echo(f"  {table}: {_counted(counts)}")
    if dry_run:
        click.echo(tr("dry run: nothing was written to {store}", store=store))
    else:
        click.echo(tr("imported into {store} in {seconds}s", store=store, seconds=f"{result.seconds:.2f}"))
