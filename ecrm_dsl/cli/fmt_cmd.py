"""``ecrm fmt``: rewrite sources in the canonical layout, or (``--check``, ``--diff``) show what would change."""

from __future__ import annotations

import difflib
from pathlib import Path

import click

from ecrm_dsl.cli.common import ExitCode, project_config
from ecrm_dsl.cli.render import SourceLines, render_text
from ecrm_dsl.format import FileResult, format_file, write_atomically
from ecrm_dsl.format.files import UnsupportedFile, expand, only_project_files, project_files
from ecrm_dsl.language.i18n import tr, trn


@click.command("fmt")
@click.argument("paths", nargs=-1, type=click.Path(exists=True, path_type=Path))
@click.option("--check", is_flag=True, help="Write nothing; print the diffs; exit 1 if any file would change.")
@click.option("--diff", "show_diff", is_flag=True, help="Write nothing; print the diff of each file that would change.")
@click.option(
    "--only-project-files",
    "only_project_files_",
    is_flag=True,
    help="Skip named files that are not the project's sources (for pre-commit, which passes every YAML file).",
)
@click.pass_context
def fmt_command(
    ctx: click.Context, paths: tuple[Path, ...], check: bool, show_diff: bool, only_project_files_: bool
) -> None:
    """Format scenario, segment, template, schema and policy files (.ecrm, .yaml, .yml) in one canonical layout.

    Comments are kept, and a file is only rewritten once the result is checked to mean the same. Without PATHS,
    formats the project's sources; folders are searched recursively. Diffs go to standard output, everything
    else to standard error.

    Exit status: 0 done (or, with --check, nothing to change); 1 a file would change (--check), does not
    parse, or cannot be read; 2 usage or configuration error; 3 the formatter refused its own result.
    """
    config = project_config(ctx, paths[0] if paths else None)
    try:
        files = expand(list(paths), strict=not only_project_files_) if paths else project_files(config)
    except UnsupportedFile as exc:
        raise click.UsageError(str(exc)) from None
    if only_project_files_:
        files = only_project_files(config, files)
    write = not (check or show_diff)
    results = [format_file(path, config.display(path)) for path in files]
    for result in results:
        _report(result, config.root, write=write)
    click.echo(_summary(results, write=write), err=True)
    ctx.exit(int(_exit_code(results, check=check)))


def _report(result: FileResult, root: Path, *, write: bool) -> None:
    if result.findings:
        rendered = render_text(result.findings, SourceLines(root), 1).rstrip("\n").rsplit("\n", 1)[0]
        click.echo(rendered, err=True)
        unreadable = all(d.code in ("E001", "E002") for d in result.findings)
        if unreadable:
            why = tr("cannot format {file}: it cannot be read (left unchanged)", file=result.display)
        else:
            why = tr("cannot format {file}: it does not parse (left unchanged)", file=result.display)
        click.echo(f"error: {why}", err=True)  # the severity word stays English, as lint's does
    elif result.internal is not None:
        why = tr(
            "cannot format {file}: internal error: {error} (left unchanged)", file=result.display, error=result.internal
        )
        click.echo(f"error: {why}", err=True)
    elif result.changed and result.formatted is not None:
        if write:
            write_atomically(result.path, result.formatted)
            click.echo(tr("reformatted {file}", file=result.display), err=True)
        else:
            click.echo(unified_diff(result.display, result.original, result.formatted), nl=False)
            click.echo(tr("would reformat {file}", file=result.display), err=True)


def unified_diff(name: str, before: str, after: str) -> str:
    """A ``git diff``-style unified diff (a/NAME, b/NAME), marking a last line without a newline."""
    lines = difflib.unified_diff(
        before.splitlines(keepends=True), after.splitlines(keepends=True), f"a/{name}", f"b/{name}"
    )
    return "".join(line if line.endswith("\n") else line + "\n\\ No newline at end of file\n" for line in lines)


def _summary(results: list[FileResult], *, write: bool) -> str:
    if not results:
        return tr("no files to format")
    changed = sum(1 for r in results if r.changed)
    failed = sum(1 for r in results if r.formatted is None)
    if write:
        reformatted = trn("{count} file reformatted", "{count} files reformatted", changed, count=changed)
    else:
        reformatted = trn(
            "{count} file would be reformatted", "{count} files would be reformatted", changed, count=changed
        )
    unchanged = tr("{count} unchanged", count=len(results) - changed - failed)
    if not failed:
        return tr("{reformatted}, {unchanged}", reformatted=reformatted, unchanged=unchanged)
    failures = tr("{count} could not be formatted", count=failed)
    return tr("{reformatted}, {unchanged}, {failed}", reformatted=reformatted, unchanged=unchanged, failed=failures)


def _exit_code(results: list[FileResult], *, check: bool) -> ExitCode:
    if any(r.internal is not None for r in results):
        return ExitCode.INTERNAL
    if any(r.findings for r in results) or (check and any(r.changed for r in results)):
        return ExitCode.FINDINGS
    return ExitCode.OK
