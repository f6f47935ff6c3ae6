"""Shared pieces of the commands: exit codes, loading the configuration, printing findings."""

from __future__ import annotations

from enum import IntEnum
from pathlib import Path

import click

from ecrm_dsl.cli.render import SourceLines, render_json, render_text
from ecrm_dsl.language.diagnostics import Diagnostic, DiagnosticError
from ecrm_dsl.project.config import ProjectConfig, load_config


class ExitCode(IntEnum):
    OK = 0
    FINDINGS = 1  # lint found something; compile refused
    USAGE = 2  # bad arguments or configuration
    INTERNAL = 3


def project_config(ctx: click.Context, start: Path | None = None) -> ProjectConfig:
    path = ctx.obj.get("config_path") if ctx.obj else None
    try:
        return load_config(Path(path) if path else None, start)
    except DiagnosticError as exc:
        fail_with(exc.diagnostics, Path.cwd(), ExitCode.USAGE)
        raise AssertionError("unreachable") from None


def fail_with(findings: list[Diagnostic], root: Path, code: ExitCode) -> None:
    click.echo(render_text(findings, SourceLines(root), 1).rstrip("\n").rsplit("\n", 1)[0], err=True)
    raise SystemExit(int(code))


def print_findings(findings: list[Diagnostic], root: Path, files: int, fmt: str, *, err: bool = False) -> None:
    if fmt == "json":
        click.echo(render_json(findings, files), nl=False, err=err)
    else:
        click.echo(render_text(findings, SourceLines(root), files, color=False), nl=False, err=err)
