"""``ecrm convert``: turn a YAML scenario file into the text syntax, or the reverse."""

from __future__ import annotations

from pathlib import Path

import click

from ecrm_dsl.cli.common import ExitCode, print_findings
from ecrm_dsl.language.diagnostics import Severity
from ecrm_dsl.language.i18n import tr
from ecrm_dsl.project.workspace import parse_scenario_file
from ecrm_dsl.syntax.text_printer import print_text
from ecrm_dsl.syntax.yaml_printer import print_yaml


@click.command("convert")
@click.argument("source", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--to", "target", type=click.Choice(["yaml", "text"]), help="Output syntax (default: the other one).")
@click.option(
    "-o", "--output", type=click.Path(dir_okay=False, path_type=Path), help="File to write (default: standard output)."
)
@click.option("--schema", "schema_ref", help="yaml-language-server $schema reference for YAML output.")
def convert_command(source: Path, target: str | None, output: Path | None, schema_ref: str | None) -> None:
    """Convert SOURCE between YAML (.yaml/.yml) and text (.ecrm); the meaning, and the plan, stay the same.

    Comments are not carried over.
    """
    scenarios, findings = parse_scenario_file(source, source.as_posix())
    errors = [d for d in findings if d.effective_severity == Severity.ERROR]
    if errors or not scenarios:
        print_findings(findings, Path.cwd(), 1, "text", err=True)
        raise SystemExit(int(ExitCode.FINDINGS))
    target = target or ("yaml" if source.suffix == ".ecrm" else "text")
    text = print_yaml(scenarios, schema_ref) if target == "yaml" else print_text(scenarios)
    if output is None:
        click.echo(text, nl=False)
    else:
        output.write_text(text, encoding="utf-8")
        click.echo(tr("wrote {path}", path=output), err=True)
