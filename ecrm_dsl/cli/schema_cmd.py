"""``ecrm schema``: the JSON Schemas of the YAML files, copied into a project for editors.

``ecrm schema export DIR`` writes (or refreshes) the copies; ``ecrm schema vscode`` writes them to
``.ecrm/schemas/`` and the VS Code settings that point the project's YAML files at them (``ecrm init`` does the
same for a new project).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from pathlib import Path

import click

from ecrm_dsl.cli.common import ExitCode, project_config
from ecrm_dsl.language.i18n import lookup, n_, tr
from ecrm_dsl.project.config import ProjectConfig
from ecrm_dsl.project.editor_files import (
    RECOMMENDED_EXTENSIONS,
    SCHEMA_COPIES,
    Merged,
    export_schemas,
    merge_recommendations,
    merge_settings,
    package_version,
    vscode_settings,
)

# Why project/editor_files.py could not merge a settings file, as it says it (English there): marked here for
# the catalogue, so that the sentence below is said whole in the current language.
_REFUSALS = (
    n_("it is not plain JSON (comments or trailing commas?)"),
    n_("it is not a JSON object"),
    n_('its "recommendations" is not a list'),
)


@click.group("schema")
def schema_command() -> None:
    """Copy the JSON Schemas of the YAML files into the project for editors: `ecrm schema export DIR`,
    `ecrm schema vscode`."""


@schema_command.command("export")
@click.argument("directory", type=click.Path(file_okay=False, path_type=Path))
def export_command(directory: Path) -> None:
    """Write the schemas of scenario, segment, template, preset, customer schema and policies files into
    DIRECTORY (the project's copies live in .ecrm/schemas), stamped with this version of ecrm-dsl."""
    changed = _exported(directory)
    for path in changed:
        click.echo(tr("wrote {path}", path=path))
    if not changed:
        click.echo(_up_to_date(directory))


@schema_command.command("vscode")
@click.pass_context
def vscode_command(ctx: click.Context) -> None:
    """Write .ecrm/schemas and the VS Code settings for the current project: .vscode/settings.json maps each
    schema to the folders ecrm.toml names, .vscode/extensions.json recommends the extensions. Existing settings
    are kept; a settings file with comments is left alone (exit 1) and what to add is printed."""
    if not write_editor_files(project_config(ctx)):
        raise SystemExit(int(ExitCode.FINDINGS))


def write_editor_files(config: ProjectConfig) -> bool:
    """Schema copies and VS Code settings for the project; False when a settings file had to be left alone."""
    root = config.root
    written = _exported(root / SCHEMA_COPIES)
    for path in written:
        click.echo(tr("wrote {path}", path=_shown(path)))
    if not written:
        click.echo(_up_to_date(_shown(root / SCHEMA_COPIES)))
    settings = vscode_settings(config)
    done = _merge_into(root / ".vscode" / "settings.json", lambda text: merge_settings(text, settings), settings)
    wanted = {"recommendations": list(RECOMMENDED_EXTENSIONS)}
    return _merge_into(root / ".vscode" / "extensions.json", merge_recommendations, wanted) and done


def _merge_into(path: Path, merge: Callable[[str | None], Merged], wanted: Mapping[str, object]) -> bool:
    """Merge our settings into one JSON file; print what to add instead when the file cannot be merged."""
    shown = _shown(path)
    existing: str | None = None
    try:
        existing = path.read_text(encoding="utf-8") if path.is_file() else None
    except UnicodeDecodeError:
        merged = Merged(None, refused=tr("it is not UTF-8 text"))
    except OSError as exc:
        merged = Merged(None, refused=tr("it cannot be read ({reason})", reason=exc.strerror))
    else:
        merged = merge(existing)
    if merged.refused is not None:
        click.echo(
            "ecrm: "
            + tr(
                "left {path} alone: {reason}. Add these settings to it yourself:",
                path=shown,
                reason=lookup(merged.refused),
            )
            + "\n"
            + json.dumps(wanted, indent=2, ensure_ascii=False),
            err=True,
        )
        return False
    if merged.text is not None and merged.changed:
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(merged.text, encoding="utf-8")
        except OSError as exc:
            click.echo("ecrm: " + tr("cannot write {path}: {reason}", path=shown, reason=exc.strerror), err=True)
            raise SystemExit(int(ExitCode.USAGE)) from None
        click.echo(tr("updated {path}", path=shown) if existing is not None else tr("created {path}", path=shown))
    else:
        click.echo(tr("{path} already has these settings", path=shown))
    return True


def _exported(folder: Path) -> list[Path]:
    try:
        return export_schemas(folder)
    except OSError as exc:
        message = tr("cannot write the schemas into {path}: {reason}", path=_shown(folder), reason=exc.strerror)
        click.echo(f"ecrm: {message}", err=True)
        raise SystemExit(int(ExitCode.USAGE)) from None


def _up_to_date(folder: object) -> str:
    return tr("{path}: the schemas are up to date (ecrm-dsl {version})", path=folder, version=package_version())


def _shown(path: Path) -> str:
    """A path as the user would type it: relative to the current folder when inside it."""
    absolute = path.absolute()
    here = Path.cwd()
    return absolute.relative_to(here).as_posix() if absolute.is_relative_to(here) else str(absolute)
