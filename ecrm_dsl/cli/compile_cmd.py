"""``ecrm compile``: write the execution plan (and its source map) for the project's scenarios."""

from __future__ import annotations

from pathlib import Path

import click

from ecrm_dsl.cli.common import built_plan
from ecrm_dsl.language.i18n import n_, trn
from ecrm_dsl.plan.document import canonical_json


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

    Refuses (exit 1) while the project has errors; warnings are shown on standard error. Errors that would
    make the plan wrong refuse it even where a rule selection or a suppression comment hides them.
    """
    result = built_plan(ctx, "compile", refused=n_("not compiled; fix the errors above first"), warnings=True)
    assert result.plan is not None and result.source_map is not None
    plan, smap = result.plan, result.source_map
    text = canonical_json(plan)
    if output is None:
        click.echo(text, nl=False)
    else:
        output.parent.mkdir(parents=True, exist_ok=True)
        _write(output, text)
        _write(source_map or output.with_name(output.stem + ".map.json"), canonical_json(smap))
        count = len(plan["scenarios"])
        click.echo(
            trn("wrote {path} ({count} scenario)", "wrote {path} ({count} scenarios)", count, path=output, count=count),
            err=True,
        )
    if source_map is not None and output is None:
        _write(source_map, canonical_json(smap))


def _write(path: Path, text: str) -> None:
    """Write through a temporary file so a crash never leaves half a plan behind."""
    temporary = path.with_name(path.name + ".tmp")
    temporary.write_text(text, encoding="utf-8")
    temporary.replace(path)
