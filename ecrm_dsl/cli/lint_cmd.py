"""``ecrm lint``: check scenario sources and report every finding."""

from __future__ import annotations

from pathlib import Path

import click

from ecrm_dsl.cli.common import ExitCode, print_findings, project_config
from ecrm_dsl.lint import lint


@click.command("lint")
@click.argument("paths", nargs=-1, type=click.Path(exists=True, path_type=Path))
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["text", "json"]),
    default="text",
    show_default=True,
    help="text for people, json for tools.",
)
@click.option(
    "--fail-on",
    type=click.Choice(["warning", "error"]),
    default="warning",
    show_default=True,
    help="The least severe finding that makes the exit code 1.",
)
@click.pass_context
def lint_command(ctx: click.Context, paths: tuple[Path, ...], fmt: str, fail_on: str) -> None:
    """Check scenarios (and the segments, templates, schema and policies they use).

    With PATHS, report findings in those files or folders only; without, lint the whole project.
    Exit status: 0 clean, 1 findings, 2 usage or configuration error.
    """
    config = project_config(ctx, paths[0] if paths else None)
    result = lint(config, list(paths) or None)
    print_findings(result.diagnostics, config.root, len(result.files), fmt)
    failing = result.errors if fail_on == "error" else len(result.diagnostics)
    ctx.exit(int(ExitCode.FINDINGS if failing else ExitCode.OK))
