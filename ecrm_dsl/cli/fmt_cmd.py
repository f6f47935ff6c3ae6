"""``ecrm fmt``: rewrite sources in the canonical layout, or (``--check``, ``--diff``) show what would change."""

from __future__ import annotations

import difflib
from pathlib import Path

import click

from ecrm_dsl.cli.common import ExitCode, project_config
from ecrm_dsl.cli.render import SourceLines, render_text
from ecrm_dsl.format import FileResult, format_file, write_atomically
from ecrm_dsl.format.files import UnsupportedFile, expand, only_project_files, project_files


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
        reason = "it cannot be read" if unreadable else "it does not parse"
        click.echo(f"error: cannot format {result.display}: {reason} (left unchanged)", err=True)
    elif result.internal is not None:
        click.echo(
            f"error: cannot format {result.display}: internal error: {result.internal} (left unchanged)", err=True
        )
    elif result.changed and result.formatted is not None:
        if write:
            write_atomically(result.path, result.formatted)
            click.echo(f"reformatted {result.display}", err=True)
        else:
            click.echo(unified_diff(result.display, result.original, result.formatted), nl=False)
            click.echo(f"would reformat {result.display}", err=True)


def unified_diff(name: str, before: str, after: str) -> str:
    """A ``git diff``-style unified diff (a/NAME, b/NAME), marking a last line without a newline."""
    lines = difflib.unified_diff(
        before.splitlines(keepends=True), after.splitlines(keepends=True), f"a/{name}", f"b/{name}"
    )
    return "".join(line if line.endswith("\n") else line + "\n\\ No newline at end of file\n" for line in lines)


def _count(number: int, what: str) -> str:
    return f"{number} file{'' if number == 1 else 's'} {what}"


def _summary(results: list[FileResult], *, write: bool) -> str:
    if not results:
        return "no files to format"
    changed = sum(1 for r in results if r.changed)
    failed = sum(1 for r in results if r.formatted is None)
    parts = [_count(changed, "reformatted" if write else "would be reformatted")]
    parts.append(f"{len(results) - changed - failed} unchanged")
    if failed:
        parts.append(f"{failed} could not be formatted")
    return ", ".join(parts)


def _exit_code(results: list[FileResult], *, check: bool) -> ExitCode:
    if any(r.internal is not None for r in results):
        return ExitCode.INTERNAL
    if any(r.findings for r in results) or (check and any(r.changed for r in results)):
        return ExitCode.FINDINGS
    return ExitCode.OK
