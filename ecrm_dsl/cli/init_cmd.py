"""``ecrm init``: create a starter project that lints clean and compiles, with its editor settings."""

from __future__ import annotations

import shutil
from pathlib import Path

import click

from ecrm_dsl.cli.common import ExitCode, fail_with
from ecrm_dsl.language.diagnostics import DiagnosticError
from ecrm_dsl.language.i18n import tr
from ecrm_dsl.project.config import load_config

STARTER = Path(__file__).resolve().parent.parent / "starter"


@click.command("init")
@click.argument("directory", type=click.Path(file_okay=False, path_type=Path), default=".")
@click.option(
    "--no-editor",
    is_flag=True,
    help="Do not write .ecrm/schemas and the VS Code settings (.vscode/settings.json, .vscode/extensions.json).",
)
def init_command(directory: Path, no_editor: bool) -> None:
    """Create a starter project in DIRECTORY: ecrm.toml, customer schema, policies, a segment, two templates
    and the F2 step mail. Existing files are never overwritten."""
    starter_files = sorted(p for p in STARTER.rglob("*") if p.is_file())
    clashes = [p.relative_to(STARTER) for p in starter_files if (directory / p.relative_to(STARTER)).exists()]
    if clashes:
        message = tr("{path} already exists; nothing was written", path=directory / clashes[0])
        click.echo(f"ecrm init: {message}", err=True)
        raise SystemExit(int(ExitCode.USAGE))
    for source in starter_files:
        target = directory / source.relative_to(STARTER)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source, target)
        click.echo(tr("created {path}", path=target))
    if not no_editor:
        from ecrm_dsl.cli.schema_cmd import write_editor_files

        try:
            config = load_config(directory / "ecrm.toml")
        except DiagnosticError as exc:
            fail_with(exc.diagnostics, directory, ExitCode.USAGE)
        write_editor_files(config)
    click.echo(tr("next: cd {directory} && ecrm lint && ecrm compile -o plan.json", directory=directory))
