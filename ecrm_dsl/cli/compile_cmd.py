"""``ecrm compile``: write the execution plan (and its source map) for the project's scenarios."""

from __future__ import annotations

from pathlib import Path

import click

from ecrm_dsl.build.compiler import compile_workspace
from ecrm_dsl.cli.common import ExitCode, print_findings, project_config
from ecrm_dsl.language.diagnostics import Severity
from ecrm_dsl.plan.document import canonical_json
from ecrm_dsl.project.lint import lint


@click.command("compile")
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Plan file to write (default: standard output).",
)
@click.option(
    "--source-map",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Source map file (default: next to --output as NAME.map.json).",
)
@click.pass_context
def compile_command(ctx: click.Context, output: Path | None, source_map: Path | None) -> None:
    """Compile every scenario of the project into a deterministic JSON execution plan.

    Refuses (exit 1) while the project has errors; warnings are shown on standard error.
    """
    config = project_config(ctx)
    result = lint(config)
    errors = [d for d in result.diagnostics if d.effective_severity == Severity.ERROR]
    if result.diagnostics:
        print_findings(result.diagnostics, config.root, len(result.files), "text", err=True)
    if errors:
        click.echo("ecrm compile: not compiled; fix the errors above first", err=True)
        ctx.exit(int(ExitCode.FINDINGS))
    plan, smap = compile_workspace(result.workspace)
    text = canonical_json(plan)
    if output is None:
        click.echo(text, nl=False)
    else:
        output.parent.mkdir(parents=True, exist_ok=True)
        _write(output, text)
        _write(source_map or output.with_name(output.stem + ".map.json"), canonical_json(smap))
        click.echo(f"wrote {output} ({len(plan['scenarios'])} scenarios)", err=True)
    if source_map is not None and output is None:
        _write(source_map, canonical_json(smap))


def _write(path: Path, text: str) -> None:
    """Write through a temporary file so a crash never leaves half a plan behind."""
    temporary = path.with_name(path.name + ".tmp")
    temporary.write_text(text, encoding="utf-8")
    temporary.replace(path)
