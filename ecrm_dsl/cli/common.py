"""Shared pieces of the commands: exit codes, loading the configuration, printing findings."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from enum import IntEnum
from pathlib import Path
from typing import TYPE_CHECKING

import click

from ecrm_dsl.cli import paint
from ecrm_dsl.cli.render import SourceLines, render_json, render_text
from ecrm_dsl.cli.terminal import echo_painted
from ecrm_dsl.language.diagnostics import Diagnostic, DiagnosticError, Severity
from ecrm_dsl.language.i18n import DEFAULT, language, lookup, n_, tr, use
from ecrm_dsl.project.config import ProjectConfig, load_config

if TYPE_CHECKING:
    from ecrm_dsl.build.pipeline import Build


class ExitCode(IntEnum):
    OK = 0
    FINDINGS = 1  # lint found something; compile refused
    USAGE = 2  # bad arguments or configuration
    INTERNAL = 3


@contextmanager
def in_english() -> Iterator[None]:
    """Machine formats (diff's and preview's JSON) read the same on every machine: their sentences in English,
    whatever ``--lang`` says."""
    spoken = language()
    use(DEFAULT)
    try:
        yield
    finally:
        use(spoken)


def alternatives(names: list[str]) -> str:
    """``a or b or c``, in the current language (for "did you mean …?")."""
    said = names[0] if names else ""
    for name in names[1:]:
        said = tr("{choices} or {name}", choices=said, name=name)
    return said


def project_config(ctx: click.Context, start: Path | None = None) -> ProjectConfig:
    path = ctx.obj.get("config_path") if ctx.obj else None
    try:
        return load_config(Path(path) if path else None, start)
    except DiagnosticError as exc:
        fail_with(exc.diagnostics, Path.cwd(), ExitCode.USAGE)
        raise AssertionError("unreachable") from None


def fail_with(findings: list[Diagnostic], root: Path, code: ExitCode) -> None:
    text = render_text(findings, SourceLines(root), 1).rstrip("\n").rsplit("\n", 1)[0]
    echo_painted(text, paint.findings, err=True)
    raise SystemExit(int(code))


def print_findings(findings: list[Diagnostic], root: Path, files: int, fmt: str, *, err: bool = False) -> None:
    if fmt == "json":
        click.echo(render_json(findings, files), nl=False, err=err)
    else:
        echo_painted(render_text(findings, SourceLines(root), files), paint.findings, nl=False, err=err)


def built_plan(
    ctx: click.Context,
    command: str,
    *,
    config: ProjectConfig | None = None,
    refused: str = n_("stopped; fix the errors above first"),
    warnings: bool = False,
) -> Build:
    """The project built through the one pipeline; on refusal, the findings on standard error and exit 1.

    Reported errors (and warnings, with ``warnings``) are printed as lint prints them, together with the errors
    that a rule selection or suppression comment hides but that refuse the plan all the same, and why.
    ``refused`` is the English sentence, marked with ``n_()`` where it is written (said in the current language).
    """
    from ecrm_dsl.build.pipeline import build  # the compiler is loaded only by the commands that need a plan

    config = config if config is not None else project_config(ctx)
    result = build(config)
    shown = [d for d in result.lint.diagnostics if warnings or d.effective_severity == Severity.ERROR]
    shown += result.silenced_blocking
    if shown:
        print_findings(
            sorted(set(shown), key=Diagnostic.sort_key), config.root, len(result.lint.files), "text", err=True
        )
    if result.silenced_blocking:
        codes = ", ".join(sorted({d.code for d in result.silenced_blocking}))
        because = tr(
            "{codes} cannot be silenced for a plan: the plan would be wrong or the runtime would fail (see 'Which "
            "errors can be silenced' in the README)",
            codes=codes,
        )
        click.echo(f"ecrm {command}: {because}", err=True)
    if not result.ok:
        click.echo(f"ecrm {command}: {lookup(refused)}", err=True)
        raise SystemExit(int(ExitCode.FINDINGS))
    return result
